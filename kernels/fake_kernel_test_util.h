// Test helpers: a minimal x86 bzImage (boot protocol fields blackout reads and
// a gzip payload) and a real .deb of it built with dpkg-deb.
#pragma once

#include <zlib.h>
#include <zstd.h>

#include <cstdint>
#include <string>

#include "base/fsutil.h"
#include "base/subprocess.h"

namespace blackout {
namespace testing_util {

inline void Put32(std::string& d, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) d[off + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

inline std::string Gzip(const std::string& in) {
  z_stream s{};
  deflateInit2(&s, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(in.size() + 1024, '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  s.avail_in = static_cast<uInt>(in.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  deflate(&s, Z_FINISH);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

// A minimal image with the boot protocol fields blackout reads: setup
// sectors, HdrS, version pointer, payload offset/length, and a gzip payload
// holding a fake 64-bit ELF.
// zstd as the kernel's build makes it: one frame, then the plain size (LE32).
inline std::string Zstd(const std::string& in) {
  std::string out(ZSTD_compressBound(in.size()), '\0');
  out.resize(ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 19));
  std::string size(4, '\0');
  Put32(size, 0, static_cast<uint32_t>(in.size()));
  return out + size;
}

inline std::string FakeBzImage(const std::string& payload_plain, bool zstd = false) {
  std::string payload = zstd ? Zstd(payload_plain) : Gzip(payload_plain);
  std::string d(5 * 512, '\0');
  d[0x1f1] = 4;  // setup_sects
  d.replace(0x202, 4, "HdrS");
  d[0x206] = 0x0f;
  d[0x207] = 0x02;  // protocol 2.15
  d[0x20e] = 0x00;
  d[0x20f] = 0x02;  // version string at 0x200 + 0x200
  std::string version = "6.1.0-test (builder) #1 SMP";
  d.replace(0x400, version.size(), version);
  Put32(d, 0x248, 16);  // payload offset from the protected-mode start
  Put32(d, 0x24c, static_cast<uint32_t>(payload.size()));
  d += std::string(16, '\0') + payload + "tail";
  return d;
}


inline std::string FakeElf() { return std::string("\x7f" "ELF\x02\x01\x01", 7) + std::string(200, 'k'); }

// A kernel package like Debian's: boot/vmlinuz-R, boot/config-R, a module.
inline std::string BuildKernelDeb(const std::string& dir, const std::string& release, bool xen_pv) {
  std::string root = dir + "/pkg-" + release;
  MakeDirs(root + "/DEBIAN");
  MakeDirs(root + "/boot");
  MakeDirs(root + "/lib/modules/" + release + "/kernel");
  WriteFileAtomic(root + "/DEBIAN/control", "Package: linux-image-" + release +
                                                "\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: t <t@t>\nDescription: t\n");
  WriteFileAtomic(root + "/boot/vmlinuz-" + release, FakeBzImage(FakeElf()));
  WriteFileAtomic(root + "/boot/config-" + release,
                  std::string("CONFIG_64BIT=y\nCONFIG_XEN=y\nCONFIG_XEN_PV=") + (xen_pv ? "y" : "n") + "\nCONFIG_HVC_XEN=y\n");
  WriteFileAtomic(root + "/lib/modules/" + release + "/kernel/brd.ko", "module");
  std::string deb = dir + "/linux-image-" + release + ".deb";
  RunChecked({"dpkg-deb", "-Zxz", "--build", root, deb});
  return deb;
}

}  // namespace testing_util
}  // namespace blackout
