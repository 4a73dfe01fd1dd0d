#include "base/fsutil.h"

#include <sys/wait.h>
#include <unistd.h>

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

// A scratch directory left by a process that is gone is swept; one whose
// owner runs (us) stays, and so does a directory without an owner file.
TEST(Scratch, OrphansAreSweptLiveOnesKept) {
  char tmpl[] = "/tmp/blackout-sweep-test-XXXXXX";
  std::string parent = mkdtemp(tmpl);
  std::string mine = MakeScratchDir(parent);
  std::string orphan = MakeScratchDir(parent);
  pid_t child = fork();
  if (child == 0) _exit(0);
  int st;
  waitpid(child, &st, 0);  // reaped: that pid runs nothing now
  WriteFileAtomic(orphan + "/owner", std::to_string(child) + " 12345\n");
  std::string reused = MakeScratchDir(parent);  // our pid, another start time
  WriteFileAtomic(reused + "/owner", std::to_string(getpid()) + " 1\n");
  std::string foreign = parent + "/blackout-abcdef";
  std::filesystem::create_directory(foreign);
  EXPECT_EQ(SweepOrphanScratch(parent), 2);
  EXPECT_TRUE(std::filesystem::exists(mine));
  EXPECT_FALSE(std::filesystem::exists(orphan));
  EXPECT_FALSE(std::filesystem::exists(reused));
  EXPECT_TRUE(std::filesystem::exists(foreign));
  std::filesystem::remove_all(parent);
}

TEST(CacheDir, HonoursXdg) {
  setenv("XDG_CACHE_HOME", "/x/cache", 1);
  EXPECT_EQ(CacheDir(), "/x/cache/blackout");
  unsetenv("XDG_CACHE_HOME");
}

}  // namespace blackout
