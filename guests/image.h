// Cloud images as guests: a disk image (raw or qcow2) that boots its own
// kernel, initrd and init, the way a provider's customers boot it.
//
// blackout never writes the image: every run boots a throwaway qcow2 overlay
// on it, and finds the agent on a second, read-only "config drive" (a FAT
// file system labelled CIDATA): cloud-init reads it as a NoCloud seed, whose
// user-data starts the agent as a transient systemd unit beating on the
// console. `blackout images build` makes such images from Debian packages
// (mmdebstrap, the cloud kernel, cloud-init, GRUB), cached by what they were
// made from, with a record of what was run.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "guests/boot.h"

namespace blackout {

// What `blackout images build NAME` makes: a Debian suite and its packages.
struct ImageRecipe {
  std::string name;   // debian-12
  std::string suite;  // bookworm
  std::vector<std::string> packages;
  std::string about;
};
const std::vector<ImageRecipe>& ImageRecipes();
// nullptr when there is no such recipe.
const ImageRecipe* FindImageRecipe(const std::string& name);

// A built image in the cache: CACHE/images/<sha256>.qcow2 with its record
// (<sha256>.json) beside it.
struct BuiltImage {
  std::string path;
  std::string record_path;
  std::string sha256;          // of the qcow2 file
  std::string kernel_release;  // 6.1.0-28-cloud-amd64
  double seconds = 0;          // how long the build took (0: it was cached)
  bool cached = false;
};

// Builds recipe `name` unless the cache holds an image of the same recipe
// (force: build again). Status lines go to `status`. Throws ConfigError for
// an unknown name, InfraError (the command and its output tail) when a tool
// fails; nothing half-made is left in the cache.
BuiltImage BuildImage(const std::string& name, const std::string& cache_dir, bool force,
                      const std::function<void(const std::string&)>& status = {});

// One menu entry of a grub.cfg, the way pygrub and pvgrub read it.
struct GrubEntry {
  std::string title;
  std::string kernel;  // the linux line's path (/boot/vmlinuz-...)
  std::string args;    // its command line
  std::string initrd;
  int line = 0;  // where the entry starts
};
// The menu entries of a grub.cfg and the index `set default=` picks. Throws
// ConfigError (source:line: what) for a file with no entry, an unterminated
// entry, an entry without a linux line, or a default past the entries.
std::vector<GrubEntry> ParseGrubCfg(const std::string& text, const std::string& source, int* default_entry = nullptr);

// What a run puts on the config drive.
struct ConfigDriveInputs {
  std::string instance_id;   // a fresh one per run: cloud-init runs its boot steps again
  std::string console;       // the device the agent beats on: /dev/hvc0 (Xen PV) or /dev/ttyS0 (hvm)
  std::string nonce;
  int heartbeat_ms = 200;
  std::string workload_conf;  // the agent's workload.conf
};
// The drive's text files, by name: user-data, meta-data, network-config
// (NoCloud's), agent.conf and workload.conf (the agent's).
std::map<std::string, std::string> ConfigDriveFiles(const ConfigDriveInputs& in);
// Writes a FAT image labelled CIDATA at path holding files and the agent
// (as blackout-agent). Throws InfraError with the tool's output on failure.
void WriteConfigDrive(const std::string& path, const std::map<std::string, std::string>& files,
                      const std::string& agent_path);

// What blackout can tell of an image without booting it.
struct ImageInfo {
  std::string format;         // raw | qcow2
  uint64_t virtual_size = 0;  // bytes the guest sees
  bool bios_bootable = false; // an MBR boot signature (hvm boots it)
  bool cloud_init = false;    // /usr/bin/cloud-init in its root file system
  bool systemd = false;       // /lib/systemd/systemd (or /usr/lib/...) in it
  bool needs_recovery = false;  // its ext4 journal was not cleanly closed
  uint64_t root_offset = 0;   // where the root file system starts (0: the whole disk)
  std::string grub_cfg;       // /boot/grub/grub.cfg, "" when it has none
  std::string kernel;         // the kernel grub.cfg boots by default, "" without a grub.cfg
  std::string kernel_compression;  // KernelCompression() of that kernel's file
};

// How a kernel file's code is packed: "elf" (a plain vmlinux), or a bzImage's
// payload: gzip, xz, lzma, bzip2, lzo, lz4, zstd, or "unknown".
std::string KernelCompression(const std::string& head);
// Why pvgrub cannot boot the image's default kernel, "" when it can: GRUB's
// Xen loader unpacks a plain, gzip, xz or lzo ELF payload only (Debian's own
// kernels since 2020 are lz4, which libxc and so pygrub read).
std::string PvgrubProblem(const std::string& path, const ImageInfo& info);
// Reads path through a sparse raw view in scratch_dir (removed after).
// Throws ConfigError when path is missing or is not a raw or qcow2 disk
// image, or has no Linux partition blackout can read.
ImageInfo InspectImage(const std::string& path, const std::string& scratch_dir);
// Why blackout will not run the image ("" when it will) with the agent put
// in the way `inject` says: "cloud-init" (a NoCloud config drive) needs
// cloud-init in the image; "overlay" (agent and unit written into the run's
// overlay) needs systemd and a root file system closed cleanly.
std::string ImageRefusal(const std::string& path, const ImageInfo& info, const std::string& inject = "cloud-init");

// Where `inject: overlay` puts the agent in the guest's root file system.
inline constexpr char kInjectedAgentDir[] = "/opt/blackout";
// The files `inject: overlay` adds to the image's root file system, by their
// path there: the systemd unit that starts the agent at boot (wanted by
// sysinit.target, after local-fs.target: the agent makes its mount points on
// the root), agent.conf and workload.conf (in kInjectedAgentDir, as on the
// config drive), and the unit's wants link (its text is the link's target).
std::map<std::string, std::string> InjectedFiles(const ConfigDriveInputs& in);
// A qcow2 overlay at overlay_path on image (never written) that holds `files`
// (InjectedFiles) and the agent (kInjectedAgentDir/blackout-agent) in the
// image's root file system: the root is copied to a sparse raw file in
// scratch_dir, written with debugfs, and only the clusters that differ from
// the image go into the overlay (qemu-img convert -B); the copy is removed.
// Throws InfraError with the tool's output on failure.
void MakeInjectedOverlay(const std::string& image, const ImageInfo& info,
                         const std::map<std::string, std::string>& files, const std::string& agent_path,
                         const std::string& overlay_path, const std::string& scratch_dir);

// A qcow2 overlay at overlay_path backed by image (never written); throws
// InfraError with qemu-img's output on failure.
void MakeOverlay(const std::string& image, const std::string& format, const std::string& overlay_path);

// What pygrub takes out of an image: its default entry's kernel and initrd
// (files in out_dir) and command line.
struct PygrubBoot {
  std::string kernel, ramdisk, args;
};
// Runs pygrub from Xen's toolstack (tools) on the image (a qcow2 one through
// a raw view in out_dir, removed after), as xl's bootloader= does in dom0.
// Throws InfraError with pygrub's output when it finds nothing to boot.
PygrubBoot RunPygrub(const std::string& image, const std::string& format, const XenToolsArtifact& tools,
                     const std::string& out_dir);

// The boot of an image guest: the workload's disks first, then a qcow2
// overlay on the image, then the read-only config drive with the agent. Type
// hvm: the firmware boots the overlay through the image's GRUB, the agent
// beats on /dev/ttyS0. Type xen-pv-domu: pygrub takes the image's kernel,
// initrd and command line out, dom0 starts the domU with them and the disks
// as xen-blkfront ones, the agent beats on /dev/hvc0 (in needs Xen, dom0's
// kernel and the toolstack). Files go to in.scratch_dir.
BootSpec AssembleImageBoot(const BootInputs& in, const ImageInfo& image);

}  // namespace blackout
