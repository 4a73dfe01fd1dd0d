// Kernel and hypervisor artifacts, resolved from a spec and kept in the
// content-addressed cache (<cache>/apt/<package>_<version>/), so a second run
// of the same kernel fetches and extracts nothing.
#pragma once

#include <string>

namespace blackout {

struct KernelSpec {
  std::string package = "linux-image-amd64";  // a meta-package is followed
  std::string version;                        // empty: the candidate apt offers
};

struct KernelArtifact {
  std::string package;
  std::string version;      // package version, e.g. 6.1.192-3
  std::string release;      // uname -r, e.g. 6.1.0-57-amd64
  std::string sha256;       // of the package: the artifact's content hash
  std::string dir;          // cache entry
  std::string bzimage;      // boot/vmlinuz-*
  std::string vmlinux;      // raw ELF, extracted from bzimage once
  std::string config;       // boot/config-*
  std::string modules_dir;  // lib/modules/<release>
  bool xen_pv = false;      // CONFIG_XEN_PV=y
};

struct XenArtifact {
  std::string package;
  std::string version;
  std::string elf;  // the hypervisor, gunzipped (QEMU's multiboot loader wants ELF)
};

// Resolves and, when not cached yet, downloads and unpacks a kernel package.
// Safe to call from several blackout processes at once.
KernelArtifact FetchKernel(const KernelSpec& spec, const std::string& cache_dir);

// Same for Xen's hypervisor package (xen-hypervisor-4.17-amd64 by default).
XenArtifact FetchXen(const std::string& package, const std::string& version,
                     const std::string& cache_dir);

// "y"/"m"/"" for CONFIG_name in a kernel config file's text.
std::string ConfigValue(const std::string& config_text, const std::string& name);

}  // namespace blackout
