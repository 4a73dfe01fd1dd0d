// Temporary directories for unit tests that go when the test program ends:
// a test that fails half-way (or forgets) leaves nothing in /tmp.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

namespace blackout::testing_util {

class TempDirs {
 public:
  ~TempDirs() {
    // Only the process that made them (a forked child exits through here too).
    if (getpid() != owner_) return;
    for (const std::string& d : dirs_) {
      std::error_code ec;
      std::filesystem::remove_all(d, ec);
    }
  }
  std::string Make(const std::string& tag) {
    std::string tmpl = "/tmp/blackout-" + tag + "-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) return "";
    std::lock_guard<std::mutex> lock(mu_);
    dirs_.emplace_back(buf.data());
    return dirs_.back();
  }

 private:
  pid_t owner_ = getpid();
  std::mutex mu_;
  std::vector<std::string> dirs_;
};

// A fresh /tmp/blackout-TAG-XXXXXX, removed at exit.
inline std::string TestTempDir(const std::string& tag) {
  static TempDirs dirs;
  return dirs.Make(tag);
}

}  // namespace blackout::testing_util
