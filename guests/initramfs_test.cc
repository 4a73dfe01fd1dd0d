#include "guests/initramfs.h"

#include <filesystem>
#include <gtest/gtest.h>

#include "base/error.h"
#include "base/fsutil.h"
#include "base/subprocess.h"

namespace blackout {
namespace {

std::string TempDir() {
  char tmpl[] = "/tmp/blackout-ir-XXXXXX";
  return mkdtemp(tmpl);
}

// Read back by the real cpio tool, the way the kernel's unpacker would see it.
TEST(Initramfs, RealCpioReadsItBack) {
  std::string dir = TempDir();
  WriteFileAtomic(dir + "/host-file", "payload");
  Initramfs img;
  img.AddDir("proc");
  img.AddCharDevice("dev/console", 5, 1);
  img.AddText("init", "#!/bin/sh\n", 0755);
  img.AddFile("bin/tool", dir + "/host-file");
  img.AddSymlink("bin/sh", "busybox");
  img.Write(dir + "/img.cpio.gz");
  std::string listing = RunChecked({"sh", "-c", "zcat " + dir + "/img.cpio.gz | cpio -itv 2>/dev/null"});
  EXPECT_NE(listing.find("crw-------"), std::string::npos) << listing;
  EXPECT_NE(listing.find("dev/console"), std::string::npos);
  EXPECT_NE(listing.find("bin/sh -> busybox"), std::string::npos) << listing;
  RunChecked({"sh", "-c", "mkdir " + dir + "/x && cd " + dir + "/x && zcat ../img.cpio.gz | cpio -id --no-absolute-filenames 2>/dev/null; true"});
  EXPECT_EQ(ReadFile(dir + "/x/bin/tool"), "payload");
  EXPECT_EQ(img.Paths(), (std::vector<std::string>{"bin", "bin/sh", "bin/tool", "dev", "dev/console", "init", "proc"}));
  std::filesystem::remove_all(dir);
}

// The same contents give the same bytes (no time in the cpio entries or the
// gzip header): a remote host's content-addressed copy is found again.
TEST(Initramfs, SameContentsSameBytes) {
  std::string dir = TempDir();
  Initramfs img;
  img.AddText("init", "#!/bin/sh\n", 0755);
  img.Write(dir + "/a.cpio.gz");
  std::string a = ReadFile(dir + "/a.cpio.gz");
  ASSERT_GT(a.size(), 10u);
  EXPECT_EQ(a.substr(4, 4), std::string(4, '\0')) << "gzip MTIME is set";
  std::filesystem::last_write_time(dir + "/a.cpio.gz", std::filesystem::file_time_type::clock::now());
  img.Write(dir + "/b.cpio.gz");
  EXPECT_EQ(ReadFile(dir + "/b.cpio.gz"), a);
  std::filesystem::remove_all(dir);
}

TEST(Initramfs, MissingHostFileIsNamed) {
  std::string dir = TempDir();
  Initramfs img;
  img.AddFile("bin/x", "/nonexistent/blackout-tool");
  try {
    img.Write(dir + "/img.cpio.gz");
    FAIL();
  } catch (const InfraError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/blackout-tool"), std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

TEST(IsStaticElf, TellsStaticFromDynamic) {
  EXPECT_TRUE(IsStaticElf(AGENT_PATH));
  EXPECT_FALSE(IsStaticElf("/bin/sh"));
}

}  // namespace
}  // namespace blackout
