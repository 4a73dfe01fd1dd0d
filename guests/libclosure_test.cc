#include "guests/libclosure.h"

#include <unistd.h>

#include <filesystem>
#include <gtest/gtest.h>

#include "base/error.h"
#include "base/subprocess.h"

namespace blackout {
namespace {

bool Has(const std::vector<LibraryFile>& libs, const std::string& guest_path) {
  for (const LibraryFile& f : libs) {
    if (f.guest_path == guest_path) return true;
  }
  return false;
}

TEST(ParseLdd, ReadsEveryShape) {
  std::string out =
      "\tlinux-vdso.so.1 (0x00007ffc)\n"
      "\tlibz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x00007f01)\n"
      "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f02)\n"
      "\t/lib64/ld-linux-x86-64.so.2 (0x00007f03)\n";
  EXPECT_EQ(ParseLdd(out, "/usr/bin/x"),
            (std::vector<std::string>{"/lib/x86_64-linux-gnu/libz.so.1", "/lib/x86_64-linux-gnu/libc.so.6",
                                      "/lib64/ld-linux-x86-64.so.2"}));
  EXPECT_TRUE(ParseLdd("\tnot a dynamic executable\n", "/bin/busybox").empty());
}

TEST(ParseLdd, MissingLibraryNamesBinaryAndLibrary) {
  try {
    ParseLdd("\tlibrados.so.2 => not found\n", "/usr/bin/fio");
    FAIL();
  } catch (const InfraError& e) {
    EXPECT_NE(std::string(e.what()).find("/usr/bin/fio"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("librados.so.2 not found"), std::string::npos);
  }
}

TEST(LibraryClosure, RealToolsGetLoaderLibcAndLibgcc) {
  auto libs = LibraryClosure({"/usr/bin/stress-ng", "/usr/bin/fio"});
  EXPECT_TRUE(Has(libs, "/lib64/ld-linux-x86-64.so.2"));
  EXPECT_TRUE(Has(libs, "/lib/x86_64-linux-gnu/libc.so.6"));
  EXPECT_TRUE(Has(libs, "/lib/x86_64-linux-gnu/libgcc_s.so.1"));
  EXPECT_TRUE(Has(libs, "/lib/x86_64-linux-gnu/libaio.so.1"));  // fio's
  for (const LibraryFile& f : libs) EXPECT_TRUE(std::filesystem::is_regular_file(f.host_path)) << f.host_path;
  // Each library once.
  for (size_t i = 0; i < libs.size(); ++i) {
    for (size_t j = i + 1; j < libs.size(); ++j) EXPECT_NE(libs[i].guest_path, libs[j].guest_path);
  }
  EXPECT_TRUE(LibraryClosure({"/bin/busybox"}).empty());  // static
}

TEST(LibraryClosure, MissingBinaryIsNamed) {
  EXPECT_THROW(LibraryClosure({"/nonexistent/tool"}), InfraError);
}

// The closure really is enough: pack the tools into an initramfs, unpack it
// with the real cpio, and run them chrooted into it, where nothing of the
// host's libraries exists. Then ask the packed loader itself to resolve them.
TEST(LibraryClosure, PackedToolsRunChrootedInTheImage) {
  if (geteuid() != 0) GTEST_SKIP() << "chroot needs root";
  char tmpl[] = "/tmp/blackout-closure-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  Initramfs img;
  AddWithLibraries(img, {"/usr/bin/stress-ng", "/usr/bin/fio"});
  img.Write(dir + "/img.cpio.gz");
  RunChecked({"sh", "-c", "mkdir " + dir + "/root && cd " + dir +
                              "/root && zcat ../img.cpio.gz | cpio -id --no-absolute-filenames 2>/dev/null"});
  std::string root = dir + "/root";
  EXPECT_NE(RunChecked({"chroot", root, "/usr/bin/stress-ng", "--version"}).find("stress-ng"), std::string::npos);
  EXPECT_NE(RunChecked({"chroot", root, "/usr/bin/fio", "--version"}).find("fio-"), std::string::npos);
  for (const char* tool : {"/usr/bin/stress-ng", "/usr/bin/fio"}) {
    std::string list = RunChecked({"chroot", root, "/lib64/ld-linux-x86-64.so.2", "--list", tool});
    EXPECT_EQ(list.find("not found"), std::string::npos) << list;
    EXPECT_NE(list.find("libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6"), std::string::npos) << list;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace blackout
