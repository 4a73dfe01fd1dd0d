#include "kernels/bzimage.h"

#include <lzma.h>

#include <zlib.h>

#include <cstdlib>
#include <gtest/gtest.h>

#include "base/test_tmpdir.h"

#include "base/error.h"
#include "base/fsutil.h"
#include "kernels/fake_kernel_test_util.h"

namespace blackout {
namespace {

using testing_util::FakeBzImage;

std::string TempDir() { return testing_util::TestTempDir("bz"); }

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

// Debian 13's kernels carry a zstd payload.
TEST(BzImage, ExtractsAZstdPayload) {
  std::string dir = TempDir();
  std::string elf = std::string("\x7f" "ELF\x02\x01\x01", 7) + std::string(100000, 'z');
  WriteFileAtomic(dir + "/vmlinuz", FakeBzImage(elf, true));
  EXPECT_EQ(InspectBzImage(dir + "/vmlinuz").compression, "zstd");
  ExtractVmlinux(dir + "/vmlinuz", dir + "/vmlinux");
  EXPECT_EQ(ReadFile(dir + "/vmlinux"), elf);
}

// Packages' compressed modules (Debian 13: .ko.xz) are read whole.
TEST(DecompressFile, XzGzipAndZstdByTheirMagic) {
  std::string dir = TempDir();
  std::string module = std::string("\x7f" "ELF\x02\x01\x01", 7) + std::string(5000, 'm');
  std::string xz(module.size() + 1024, '\0');
  size_t xz_size = 0;
  ASSERT_EQ(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, nullptr, reinterpret_cast<const uint8_t*>(module.data()),
                                    module.size(), reinterpret_cast<uint8_t*>(xz.data()), &xz_size, xz.size()),
            LZMA_OK);
  xz.resize(xz_size);
  WriteFileAtomic(dir + "/m.ko.xz", xz);
  WriteFileAtomic(dir + "/m.ko.gz", testing_util::Gzip(module));
  WriteFileAtomic(dir + "/m.ko.zst", testing_util::Zstd(module));
  for (const char* f : {"/m.ko.xz", "/m.ko.gz", "/m.ko.zst"}) EXPECT_EQ(DecompressFile(dir + f), module) << f;
  WriteFileAtomic(dir + "/m.ko", module);
  EXPECT_THROW(DecompressFile(dir + "/m.ko"), InfraError);
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
