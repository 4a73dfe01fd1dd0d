#include "kernels/deb.h"

#include <filesystem>
#include <gtest/gtest.h>

#include "base/error.h"
#include "base/fsutil.h"
#include "base/subprocess.h"

namespace blackout {
namespace {

// Builds a real .deb with dpkg-deb (xz-compressed data.tar) and reads it back.
TEST(ExtractDeb, ReadsARealPackage) {
  char tmpl[] = "/tmp/blackout-deb-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string root = dir + "/pkg";
  MakeDirs(root + "/DEBIAN");
  MakeDirs(root + "/boot");
  MakeDirs(root + "/lib/modules/6.1.0-t/kernel");
  WriteFileAtomic(root + "/DEBIAN/control",
                  "Package: fake-kernel\nVersion: 1.0\nArchitecture: all\n"
                  "Maintainer: t <t@t>\nDescription: test\n");
  WriteFileAtomic(root + "/boot/vmlinuz-6.1.0-t", "kernel");
  WriteFileAtomic(root + "/lib/modules/6.1.0-t/kernel/a.ko", "module");
  WriteFileAtomic(root + "/lib/modules/6.1.0-t/modules.dep", "kernel/a.ko:\n");
  WriteFileAtomic(root + "/usr-share-skip", "no");
  RunChecked({"dpkg-deb", "-Zxz", "--build", root, dir + "/fake.deb"});

  int n = ExtractDeb(dir + "/fake.deb", dir + "/out", [](const std::string& p) {
    return p.rfind("boot/", 0) == 0 || p.rfind("lib/modules/", 0) == 0;
  });
  EXPECT_GE(n, 3);
  EXPECT_EQ(ReadFile(dir + "/out/boot/vmlinuz-6.1.0-t"), "kernel");
  EXPECT_EQ(ReadFile(dir + "/out/lib/modules/6.1.0-t/kernel/a.ko"), "module");
  EXPECT_FALSE(std::filesystem::exists(dir + "/out/usr-share-skip"));
  std::filesystem::remove_all(dir);
}

TEST(ExtractDeb, NotADebIsAClearError) {
  char tmpl[] = "/tmp/blackout-deb-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  WriteFileAtomic(dir + "/x.deb", "garbage");
  try {
    ExtractDeb(dir + "/x.deb", dir + "/out", [](const std::string&) { return true; });
    FAIL();
  } catch (const InfraError& e) {
    EXPECT_NE(std::string(e.what()).find(dir + "/x.deb"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace blackout
