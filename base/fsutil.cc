#include "base/fsutil.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "base/error.h"

namespace blackout {
namespace fs = std::filesystem;

namespace {

const char* KindOf(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

void WriteAll(int fd, const std::string& content, const std::string& what) {
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw InfraError("write " + what + ": " + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
}

// Reads fd to its end (at most max_bytes) and closes it; errors name `what`
// ("read PATH").
std::string ReadToEnd(int fd, const std::string& what, uint64_t max_bytes) {
  std::string out;
  // One allocation of the file's size (a pipe or /proc file says 0: grown).
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 && static_cast<uint64_t>(st.st_size) <= max_bytes) {
    out.reserve(static_cast<size_t>(st.st_size));
  }
  char buf[1 << 16];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      throw InfraError(what + ": " + std::strerror(err));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) {  // it grew while we read
      close(fd);
      throw InfraError(what + ": more than " + std::to_string(max_bytes) + " bytes");
    }
  }
  close(fd);
  return out;
}

}  // namespace

std::string ReadFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InfraError("read " + path + ": " + std::strerror(errno));
  return ReadToEnd(fd, "read " + path, UINT64_MAX);
}

std::string ReadInputFile(const std::string& path, uint64_t max_bytes, const std::string& what) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) throw InfraError("read " + what + " " + path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) {
    throw InfraError("read " + what + " " + path + ": " + KindOf(st.st_mode) + ", not a regular file");
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    throw InfraError("read " + what + " " + path + ": " + std::to_string(st.st_size) + " bytes, more than the " +
                     std::to_string(max_bytes) + " a " + what + " may have");
  }
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InfraError("read " + what + " " + path + ": " + std::strerror(errno));
  return ReadToEnd(fd, "read " + what + " " + path, max_bytes);
}


void WriteFileAtomic(const std::string& path, const std::string& content, int mode) {
  // A path that exists and is not a regular file (after symlinks) is never
  // renamed over: /dev/null replaced by a regular file breaks every program
  // on the host. A character device or a FIFO (/dev/null, /dev/stdout, a
  // pipe) is written in place; anything else is refused.
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    if (!S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode)) {
      throw InfraError("write " + path + ": " + KindOf(st.st_mode) + ", not a regular file; refusing to replace it");
    }
    int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) throw InfraError("write " + path + ": " + std::strerror(errno));
    try {
      WriteAll(fd, content, path);
    } catch (...) {
      close(fd);
      throw;
    }
    close(fd);
    return;
  }
  // Unique per thread: parallel runs may write the same file at once.
  std::string tmp = path + ".tmp." + std::to_string(getpid()) + "." + std::to_string(syscall(SYS_gettid));
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw InfraError("write " + tmp + ": " + std::strerror(errno));
  try {
    WriteAll(fd, content, tmp);
  } catch (...) {
    close(fd);
    unlink(tmp.c_str());
    throw;
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    throw InfraError("sync " + tmp + ": " + std::strerror(err));
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    throw InfraError("rename " + tmp + " to " + path + ": " + std::strerror(err));
  }
  std::string dir = fs::path(path).parent_path().string();
  int dfd = open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  // Temporaries of this path left by writers that were killed mid-write go.
  std::string prefix = fs::path(path).filename().string() + ".tmp.";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir.empty() ? "." : dir, ec)) {
    std::string name = e.path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
    if (pid > 0 && kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) fs::remove(e.path(), ec);
  }
}

std::vector<CachedFile> CachedFiles(const std::string& dir, const std::string& ext, bool sweep) {
  std::vector<CachedFile> out;
  std::error_code ec;
  auto hour_ago = std::filesystem::file_time_type::clock::now() - std::chrono::hours(1);
  for (const auto& f : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = f.path().filename().string();
    auto mtime = f.last_write_time(ec);
    if (ec) continue;
    if (name.find(".tmp.") != std::string::npos) {
      if (sweep && mtime < hour_ago) std::filesystem::remove(f.path(), ec);
    } else if (f.path().extension() == ext && f.is_regular_file(ec)) {
      uint64_t bytes = f.file_size(ec);
      if (!ec) out.push_back({f.path().string(), bytes, mtime});
    }
  }
  return out;
}

void PruneNewest(const std::string& dir, const std::string& ext, size_t keep) {
  std::vector<CachedFile> kept = CachedFiles(dir, ext, true);
  std::sort(kept.begin(), kept.end(), [](const CachedFile& a, const CachedFile& b) { return a.mtime > b.mtime; });
  std::error_code ec;
  for (size_t i = keep; i < kept.size(); ++i) std::filesystem::remove(kept[i].path, ec);
}

void MakeDirs(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) throw InfraError("create directory " + path + ": " + ec.message());
}

std::string CacheDir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg && *xdg) return std::string(xdg) + "/blackout";
  const char* home = std::getenv("HOME");
  if (home && *home) return std::string(home) + "/.cache/blackout";
  return "/var/cache/blackout";
}

std::string ExecutableDir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw InfraError("find own executable: " + ec.message());
  return exe.parent_path().string();
}

std::string ProcessStart(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!in || !std::getline(in, stat)) return "";
  size_t close = stat.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return "";
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
    if (i == 22) return field;
  }
  return "";
}

std::string Hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "?";
  return buf;
}

std::string MakeScratchDir(const std::string& parent) {
  std::string tmpl = parent + "/blackout-XXXXXX";
  if (!mkdtemp(tmpl.data())) throw InfraError("create scratch directory in " + parent + ": " + std::strerror(errno));
  long pid = static_cast<long>(getpid());
  WriteFileAtomic(tmpl + "/owner", std::to_string(pid) + " " + ProcessStart(pid) + "\n");
  return tmpl;
}

int SweepOrphanScratch(const std::string& parent) {
  int removed = 0;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(parent, ec)) {
    std::string name = e.path().filename().string();
    if (name.rfind("blackout-", 0) != 0 || name.size() != 15 || !e.is_directory(ec)) continue;
    std::ifstream owner(e.path() / "owner");
    long pid = 0;
    std::string start;
    if (!(owner >> pid >> start)) continue;  // not ours, or still being made
    if (ProcessStart(pid) == start) continue;  // its owner still runs
    fs::remove_all(e.path(), ec);
    if (!ec) ++removed;
  }
  return removed;
}

FileLock::FileLock(const std::string& path, Mode mode) {
  fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw InfraError("open lock " + path + ": " + std::strerror(errno));
  int op = mode == Mode::kShared ? LOCK_SH : mode == Mode::kTryExclusive ? LOCK_EX | LOCK_NB : LOCK_EX;
  while (flock(fd_, op) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK && mode == Mode::kTryExclusive) return;  // held_ stays false
    int err = errno;
    close(fd_);
    fd_ = -1;
    throw InfraError("lock " + path + ": " + std::strerror(err));
  }
  held_ = true;
}

void FileLock::Downgrade() {
  if (fd_ >= 0 && held_) {
    while (flock(fd_, LOCK_SH) != 0 && errno == EINTR) {
    }
  }
}

FileLock::~FileLock() {
  if (fd_ >= 0) close(fd_);  // closing releases the flock
}

}  // namespace blackout
