// Kernel and hypervisor artifacts, resolved from a spec and kept in the
// content-addressed cache (<cache>/apt/<package>_<version>/), so a second run
// of the same kernel fetches and extracts nothing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "kernels/apt.h"

namespace blackout {

struct KernelSpec {
  std::string source = "apt";                 // apt | deb | path | git
  std::string package = "linux-image-amd64";  // apt: a meta-package is followed
  std::string version;                        // apt: empty means the candidate apt offers
  std::string deb;                            // deb: path to the .deb
  std::string sha256;                         // deb: required; the package is refused otherwise
  std::string image;                          // path: a bzImage
  std::string modules;                        // path: optional lib/modules/<release> directory
  std::string config;                         // path: optional kernel config
  std::string repo;                           // git: a repository (a local path)
  std::string rev;                            // git: any revision git understands; path: the
                                              // commit a bisection's build step built it from
  std::string config_base = "tinyconfig";     // git: a make target (tinyconfig, defconfig) or a file
  std::vector<std::string> fragments;         // git: kernels/configs names or files, merged in order
  AptArchive archive;                         // apt: where from; empty is the host's apt
  // "apt linux-image-6.1.0-50-amd64=6.1.176-1", "... from bullseye main (the host's Debian mirror)"
  std::string Describe() const;
};

// A git kernel with the defaults: tinyconfig plus kernels/configs/xen-pv-guest.
KernelSpec GitKernelSpec(const std::string& repo, const std::string& rev);

struct KernelArtifact {
  // How the kernel is named wherever it is shown or matched (result.json's
  // kernel.id, the results store, reports, compare): its release, and for a
  // git kernel also its commit and config id, "6.1.192+@1234abcd5678:0a1b2c3d"
  // (two commits of one tree share a release).
  std::string id;
  std::string package;
  std::string version;      // package version, e.g. 6.1.192-3
  std::string release;      // uname -r, e.g. 6.1.0-57-amd64
  std::string sha256;       // of the package: the artifact's content hash
  std::string dir;          // cache entry
  std::string bzimage;      // boot/vmlinuz-*
  std::string vmlinux;      // raw ELF, extracted from bzimage once
  std::string config;       // boot/config-*
  std::string modules_dir;  // lib/modules/<release>
  bool xen_pv = false;      // can boot as a Xen PV guest (XenPvSupport)
  std::string xen_pv_why;   // how the config says so, or why not
  std::string xen_console = "console=hvc0";  // the PV console's command line (XenPvSupport)
  bool x86_64 = true;       // a 64-bit kernel (blackout's guests and agent are x86-64)
  bool pvh_entry = true;    // the vmlinux has Xen's PVH entry note: QEMU boots it directly
  bool loadable_modules = true;  // CONFIG_MODULES=y: without it every driver is built in
};

// Whether a kernel config makes a Xen PV guest, and how the config says so or
// why not. From 4.14, CONFIG_XEN_PV=y; before it (the symbol did not exist),
// CONFIG_XEN=y, which then meant PV, with CONFIG_PARAVIRT (3.2 also spells
// CONFIG_PARAVIRT_GUEST).
// The console the heartbeats come on: hvc0 (CONFIG_HVC_XEN, every pvops
// kernel since 2.6.26), or xvc0 for the classic XenLinux kernels of that era
// (CONFIG_XEN without pvops; `xencons=xvc console=xvc0`). A PV kernel with
// neither could boot but never be heard, and is refused as such.
struct XenPvSupport {
  bool pv = false;
  std::string why;  // "CONFIG_XEN_PV=y", "CONFIG_XEN=y (before 4.14)", "no CONFIG_XEN: ..."
  std::string console = "console=hvc0";
};
XenPvSupport XenPvFromConfig(const std::string& config_text);
// Fills an artifact's xen_pv, xen_pv_why, xen_console, x86_64 and loadable_modules from its
// config, and pvh_entry (and a 32-bit class) from its vmlinux's notes (when it is there).
void ReadKernelTraits(const std::string& config_text, KernelArtifact* k);
// Whether the config builds a 64-bit x86 kernel (CONFIG_64BIT or CONFIG_X86_64).
bool Is64BitConfig(const std::string& config_text);

// A Xen hypervisor package, from the host's apt or an archive.
struct XenSpec {
  std::string package = "xen-hypervisor-4.17-amd64";
  std::string version;  // empty: the candidate its archive offers
  AptArchive archive;
  std::string Describe() const;
};

struct XenArtifact {
  std::string package;
  std::string version;
  AptArchive archive;  // the toolstack comes from the same one
  std::string elf;  // the hypervisor, gunzipped (QEMU's multiboot loader wants ELF)
};

// Thrown when a git kernel does not build: its own result (a bisection skips
// the commit), with the build log kept.
struct KernelBuildError : InfraError {
  KernelBuildError(const std::string& what, std::string log) : InfraError(what), log(std::move(log)) {}
  std::string log;
};

// Resolves and, when not cached yet, downloads and unpacks (or builds) a
// kernel. Safe to call from several blackout processes at once.
//
// git: the commit is checked out in one build directory per (repository,
// config) under <cache>/git-build/ (a `git clone --shared` of the repository,
// so the user's tree is never touched), configured once (the base, then the
// fragments merged as merge_config.sh does, then olddefconfig, then checked:
// a fragment option that did not survive is a ConfigError naming it), and
// built out of tree (O=) with `make -jN bzImage` through ccache; building
// commit after commit there recompiles only what changed. The log is kept in
// <cache>/git-build/<id>/logs/<commit>.log; the artifact (bzImage, the ELF
// vmlinux, .config) in <cache>/git/<commit>_<config id>.
KernelArtifact FetchKernel(const KernelSpec& spec, const std::string& cache_dir);

// Same for Xen's hypervisor package (xen-hypervisor-4.17-amd64 by default).
XenArtifact FetchXen(const XenSpec& spec, const std::string& cache_dir);

// The config fragments shipped in kernels/configs/ (compiled in), by name
// without ".config".
std::vector<std::string> BuiltinFragmentNames();

// Xen's toolstack for a dom0 that starts domUs: Debian's xen-utils-<series>
// (xl, the C xenstored, xenconsoled, xenconsole, xen-init-dom0) and
// xenstore-utils, at the hypervisor's own version, unpacked together with the
// packages they depend on that this host lacks (libxen*, libyajl, ...), so
// ldd can resolve their libraries from the tree first and the host second.
struct XenToolsArtifact {
  std::string version;
  std::string root;                   // the unpacked tree
  std::string bin_dir;                // root/usr/lib/xen-<series>/bin
  std::vector<std::string> lib_dirs;  // root's library directories
};
XenToolsArtifact FetchXenTools(const XenArtifact& xen, const std::string& cache_dir);

// pvgrub: GRUB's Xen PV build from Debian's grub-xen-host (through the
// host's apt), a PV kernel that finds /boot/grub/grub.cfg on the domU's own
// disks and boots what it says. Returns grub-x86_64-xen.bin's path in the
// cache; version gets the package's version.
std::string FetchPvGrub(const std::string& cache_dir, std::string* version);

// libvirt's daemon with its libxl driver (Debian's libvirt-daemon-driver-xen,
// libvirt-daemon, libvirt0 and what they need that this host lacks), for a
// dom0 that is a libvirt Xen host (`blackout xen-host`). Xen's libraries come
// at the toolstack's version, so the driver and xl share one libxl.
struct XenLibvirtArtifact {
  std::string version;
  std::string root;                   // the unpacked tree: usr/sbin/libvirtd, usr/lib/...
  std::vector<std::string> lib_dirs;  // root's library directories
};
XenLibvirtArtifact FetchXenLibvirt(const XenToolsArtifact& tools, const std::string& cache_dir);

// "y"/"m"/"" for CONFIG_name in a kernel config file's text.
std::string ConfigValue(const std::string& config_text, const std::string& name);

}  // namespace blackout
