#include "base/fsutil.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdlib.h>

#include <filesystem>
#include <thread>
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

namespace blackout {
namespace {

std::string TempDirForTest() {
  char tmpl[] = "/tmp/blackout-fs-XXXXXX";
  EXPECT_NE(mkdtemp(tmpl), nullptr);
  return tmpl;
}

// What is not a regular file is never renamed over: a FIFO (like a pipe or
// /dev/stdout) is written in place, through a symlink too; a directory or a
// socket is refused and left as it was.
TEST(WriteFileAtomic, NeverReplacesWhatIsNotARegularFile) {
  std::string dir = TempDirForTest();
  std::string fifo = dir + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::filesystem::create_symlink(fifo, dir + "/link");
  for (const std::string& target : {fifo, dir + "/link"}) {
    std::string got;
    std::thread reader([&] { got = ReadFile(fifo); });
    WriteFileAtomic(target, "through the pipe\n");
    reader.join();
    EXPECT_EQ(got, "through the pipe\n");
    EXPECT_TRUE(std::filesystem::is_fifo(fifo));
  }
  std::filesystem::create_directory(dir + "/d");
  try {
    WriteFileAtomic(dir + "/d", "x");
    FAIL();
  } catch (const InfraError& e) {
    EXPECT_NE(std::string(e.what()).find("a directory, not a regular file"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(std::filesystem::is_directory(dir + "/d"));
  int sock = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string sock_path = dir + "/s";
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock_path.c_str());
  ASSERT_EQ(bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_THROW(WriteFileAtomic(sock_path, "x"), InfraError);
  EXPECT_TRUE(std::filesystem::is_socket(sock_path));
  close(sock);
  // No temporary left anywhere.
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  }
  std::filesystem::remove_all(dir);
}

// A character device is written in place: /dev/null stays /dev/null.
TEST(WriteFileAtomic, WritesACharacterDeviceInPlace) {
  WriteFileAtomic("/dev/null", "discarded");
  struct stat st;
  ASSERT_EQ(stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

// Input files are regular files of a sane size; anything else is refused by
// name without being read (a FIFO would hang, /dev/zero would never end).
TEST(ReadInputFile, RefusesWhatIsNotARegularFileOfASaneSize) {
  std::string dir = TempDirForTest();
  ASSERT_EQ(mkfifo((dir + "/fifo").c_str(), 0600), 0);
  WriteFileAtomic(dir + "/big", std::string(2000, 'x'));
  WriteFileAtomic(dir + "/ok", "duration: 5s\n");
  struct Case {
    std::string path, want;
  } cases[] = {
      {dir, "a directory, not a regular file"},
      {dir + "/fifo", "a FIFO, not a regular file"},
      {"/dev/zero", "a character device, not a regular file"},
      {dir + "/big", "2000 bytes, more than the 1000 a config may have"},
      {dir + "/missing", "No such file"},
  };
  for (const Case& c : cases) {
    try {
      ReadInputFile(c.path, 1000, "config");
      ADD_FAILURE() << c.path;
    } catch (const InfraError& e) {
      EXPECT_NE(std::string(e.what()).find(c.want), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(c.path), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(ReadInputFile(dir + "/ok", 1000, "config"), "duration: 5s\n");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace blackout
