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

// A whole xz, gzip or zstd file, decompressed (chosen by its magic): a
// package's compressed kernel modules (.ko.xz in Debian 13). Throws
// InfraError naming the file when it is none of them or is damaged.
std::string DecompressFile(const std::string& path);

// What an ELF file's notes say, for the kernels and binaries blackout boots.
struct ElfNotesInfo {
  bool is_64bit = false;
  bool pvh_entry = false;  // Xen's PHYS32_ENTRY note: QEMU boots the ELF directly (PVH)
  bool xen_pv = false;     // Xen's guest-info notes (a PV kernel's ENTRY note)
  std::string abi_floor;   // GNU ABI tag, "3.2.0": the oldest kernel a static binary runs on
};

// Reads the ELF header and its notes (PT_NOTE segments, else SHT_NOTE
// sections); reads only headers and notes, never the whole file. Throws
// ConfigError naming the path when it is not an ELF file.
ElfNotesInfo InspectElfNotes(const std::string& path);

}  // namespace blackout
