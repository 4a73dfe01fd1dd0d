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

// Built once per contents: a second write of the same image is a hit with
// the same bytes; a changed text or host file is a new image; the cache
// keeps the newest kCacheKeep.
TEST(Initramfs, CachedByContents) {
  std::string dir = TempDir();
  std::string cache = dir + "/cache";
  WriteFileAtomic(dir + "/tool", "v1");
  auto image = [&](const std::string& conf) {
    Initramfs img;
    img.AddText("etc/conf", conf);
    img.AddFile("bin/tool", dir + "/tool");
    return img;
  };
  EXPECT_FALSE(image("a").WriteCached(dir + "/1.cpio.gz", cache));
  EXPECT_TRUE(image("a").WriteCached(dir + "/2.cpio.gz", cache));
  EXPECT_EQ(ReadFile(dir + "/1.cpio.gz"), ReadFile(dir + "/2.cpio.gz"));
  image("a").Write(dir + "/direct.cpio.gz");
  EXPECT_EQ(ReadFile(dir + "/2.cpio.gz"), ReadFile(dir + "/direct.cpio.gz"));
  EXPECT_FALSE(image("b").WriteCached(dir + "/3.cpio.gz", cache));
  WriteFileAtomic(dir + "/tool", "v2, longer");
  EXPECT_FALSE(image("a").WriteCached(dir + "/4.cpio.gz", cache));
  RunChecked({"sh", "-c", "mkdir " + dir + "/x && cd " + dir + "/x && zcat ../4.cpio.gz | cpio -id 2>/dev/null; true"});
  EXPECT_EQ(ReadFile(dir + "/x/bin/tool"), "v2, longer");
  for (size_t i = 0; i < Initramfs::kCacheKeep + 3; ++i) image("n" + std::to_string(i)).WriteCached(dir + "/n.cpio.gz", cache);
  size_t kept = 0;
  for (const auto& f : std::filesystem::directory_iterator(cache)) kept += f.path().extension() == ".gz";
  EXPECT_EQ(kept, Initramfs::kCacheKeep);
  // The newest are the ones kept.
  EXPECT_TRUE(image("n" + std::to_string(Initramfs::kCacheKeep + 2)).WriteCached(dir + "/n.cpio.gz", cache));
  Initramfs missing;
  missing.AddFile("bin/x", dir + "/nonexistent");
  EXPECT_THROW(missing.WriteCached(dir + "/m.cpio.gz", cache), InfraError);
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
