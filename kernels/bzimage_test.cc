#include "kernels/bzimage.h"

#include <zlib.h>

#include <cstdlib>
#include <gtest/gtest.h>

#include "base/error.h"
#include "base/fsutil.h"

namespace blackout {
namespace {

void Put32(std::string& d, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) d[off + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

std::string Gzip(const std::string& in) {
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
std::string FakeBzImage(const std::string& payload_plain) {
  std::string payload = Gzip(payload_plain);
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

std::string TempDir() {
  char tmpl[] = "/tmp/blackout-bz-XXXXXX";
  return mkdtemp(tmpl);
}

TEST(BzImage, InspectsAndExtractsTheElf) {
  std::string dir = TempDir();
  std::string elf = std::string("\x7f" "ELF\x02\x01\x01", 7) + std::string(200, 'k');
  WriteFileAtomic(dir + "/vmlinuz", FakeBzImage(elf));
  BzImageInfo info = InspectBzImage(dir + "/vmlinuz");
  EXPECT_EQ(info.compression, "gzip");
  EXPECT_EQ(info.version, "6.1.0-test (builder) #1 SMP");
  EXPECT_EQ(info.boot_protocol, 0x20f);
  ExtractVmlinux(dir + "/vmlinuz", dir + "/vmlinux");
  EXPECT_EQ(ReadFile(dir + "/vmlinux"), elf);
}

TEST(BzImage, RefusesWhatIsNotAKernel) {
  std::string dir = TempDir();
  WriteFileAtomic(dir + "/notes.txt", std::string(4096, 'x'));
  EXPECT_THROW(InspectBzImage(dir + "/notes.txt"), ConfigError);
  std::string elf_not = FakeBzImage(std::string(300, 'z'));
  WriteFileAtomic(dir + "/bad", elf_not);
  EXPECT_THROW(ExtractVmlinux(dir + "/bad", dir + "/out"), InfraError);
  std::string truncated = FakeBzImage("\x7f" "ELF");
  WriteFileAtomic(dir + "/short", truncated.substr(0, truncated.size() - 40));
  EXPECT_THROW(InspectBzImage(dir + "/short"), ConfigError);
}

}  // namespace
}  // namespace blackout
