// File helpers every room needs: whole-file reads, crash-safe writes, the
// user's cache directory, advisory locks between blackout processes, and who
// owns what (process start times, the host's name).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace blackout {

// Reads a whole file; throws InfraError naming the path on failure.
std::string ReadFile(const std::string& path);

// A file the user hands blackout (a config, a workload, a log): it must be a
// regular file (after symlinks) of at most max_bytes; `what` names it in the
// error ("config", "workload file"). Throws InfraError otherwise, quoting
// nothing of the file.
std::string ReadInputFile(const std::string& path, uint64_t max_bytes, const std::string& what);

// Writes content to path so that a crash leaves either the old file or the new
// one, never a torn one: write a sibling temporary, fsync, rename, fsync the dir.
// A path that exists and is not a regular file is never renamed over: a
// character device or FIFO (/dev/null, /dev/stdout) is written in place,
// anything else (a directory, a socket, a block device) is refused.
void WriteFileAtomic(const std::string& path, const std::string& content, int mode = 0644);

// A file of a cache directory of whole files.
struct CachedFile {
  std::string path;
  uint64_t bytes = 0;
  std::filesystem::file_time_type mtime;
};
// The files in dir whose names end in `ext`, leaving out writers'
// temporaries (".tmp." in the name); with sweep, temporaries older than an
// hour (their writers died) are removed on the way. Errors are ignored: it
// is a cache.
std::vector<CachedFile> CachedFiles(const std::string& dir, const std::string& ext, bool sweep = false);
// Keeps the `keep` newest (by mtime) of CachedFiles(dir, ext, sweep: true).
void PruneNewest(const std::string& dir, const std::string& ext, size_t keep);

// The files blackout rebuilds whenever they are missing, kept in the cache
// beside its entries: a directory under CacheDir() and their extension.
struct RebuiltFiles {
  const char* dir;
  const char* ext;
};
inline constexpr RebuiltFiles kInitramfsImages{"initramfs", ".gz"};  // built images, by contents
inline constexpr RebuiltFiles kDom0States{"dom0-state", ".state"};   // saved dom0 states (xen-pv-domu)

// mkdir -p; throws InfraError on failure.
void MakeDirs(const std::string& path);

// $XDG_CACHE_HOME/blackout, else $HOME/.cache/blackout, else /var/cache/blackout.
std::string CacheDir();

// Absolute directory holding the running executable.
std::string ExecutableDir();

// A process's start time (clock ticks since boot, /proc/PID/stat field 22),
// or "" when there is no such process. With the pid it names one process
// for good: pids are reused, start times are not.
std::string ProcessStart(long pid);

// This host's name ("?" if it has none).
std::string Hostname();

// A fresh scratch directory PARENT/blackout-XXXXXX (short: unix socket paths
// in it are limited) holding an "owner" file naming this process (pid and its
// start time), so a later blackout can tell a directory whose owner is gone.
std::string MakeScratchDir(const std::string& parent = "/tmp");

// Removes the PARENT/blackout-* scratch directories whose owner process is
// gone (a blackout killed with SIGKILL cannot clean up after itself).
// Directories without an owner file are left alone. Returns how many went.
int SweepOrphanScratch(const std::string& parent = "/tmp");

// A flock() on a lock file, held for the object's lifetime. Exclusive keeps
// two blackout processes from filling one cache entry at once; shared marks
// an entry in use by a run (gc, which tries exclusive without waiting,
// skips it).
class FileLock {
 public:
  enum class Mode { kExclusive, kShared, kTryExclusive };
  explicit FileLock(const std::string& path, Mode mode = Mode::kExclusive);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  // False only for kTryExclusive when someone else holds the lock.
  bool held() const { return held_; }
  // Exclusive to shared (not atomic: flock releases, then takes).
  void Downgrade();

 private:
  int fd_ = -1;
  bool held_ = false;
};

}  // namespace blackout
