// Looks inside an x86 bzImage: checks it is one, reads its version string, and
// extracts the raw ELF vmlinux from its compressed payload. Xen boots the ELF
// directly, which saves the 6-7 s Xen spends decompressing xz under TCG.
#pragma once

#include <string>

namespace blackout {

struct BzImageInfo {
  std::string version;      // "6.1.0-57-amd64 (debian-kernel@...) #1 SMP ..."
  std::string compression;  // "xz", "gzip"
  int boot_protocol = 0;    // e.g. 0x20f
};

// Throws ConfigError naming the path when the file is not an x86 bzImage.
BzImageInfo InspectBzImage(const std::string& path);

// Writes the decompressed payload (an ELF vmlinux) to out_path. Throws when the
// payload's compression is unsupported or it does not decompress to an ELF.
void ExtractVmlinux(const std::string& bzimage_path, const std::string& out_path);

}  // namespace blackout
