#include "base/fsutil.h"

#include <stdlib.h>

#include <filesystem>
#include <gtest/gtest.h>

#include "base/error.h"

namespace blackout {

TEST(WriteFileAtomic, ReplacesWholeAndLeavesNoTemporary) {
  char tmpl[] = "/tmp/blackout-fs-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string path = std::string(tmpl) + "/f.json";
  WriteFileAtomic(path, "one");
  WriteFileAtomic(path, "two");
  EXPECT_EQ(ReadFile(path), "two");
  int entries = 0;
  for (auto& e : std::filesystem::directory_iterator(tmpl)) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
  std::filesystem::remove_all(tmpl);
}

TEST(ReadFile, MissingFileNamesThePath) {
  try {
    ReadFile("/nonexistent/blackout");
    FAIL();
  } catch (const InfraError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/blackout"), std::string::npos);
  }
}

TEST(CacheDir, HonoursXdg) {
  setenv("XDG_CACHE_HOME", "/x/cache", 1);
  EXPECT_EQ(CacheDir(), "/x/cache/blackout");
  unsetenv("XDG_CACHE_HOME");
}

}  // namespace blackout
