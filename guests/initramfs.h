// Writes initramfs images: a gzip'd cpio (newc) archive built with libarchive
// from host files and generated text, with the device nodes the kernel needs
// before /dev is mounted.
#pragma once

#include <string>
#include <vector>

namespace blackout {

class Initramfs {
 public:
  void AddDir(const std::string& path);
  // Copies a host file into the image (contents read when Write runs).
  void AddFile(const std::string& path, const std::string& host_path, int mode = 0755);
  void AddText(const std::string& path, const std::string& content, int mode = 0644);
  void AddSymlink(const std::string& path, const std::string& target);
  void AddCharDevice(const std::string& path, int major, int minor, int mode = 0600);

  // Writes the archive to out_path (atomically), gzip'd or (gzip false) a
  // plain cpio a shell's cpio reads from a raw disk. Parent directories of
  // every entry are created implicitly. Throws InfraError naming a missing
  // host file.
  void Write(const std::string& out_path, bool gzip = true) const;

  // Writes the image to out_path from a cache of built images in cache_dir,
  // keyed by the sha256 of every entry (paths, modes, text, and each host
  // file's path, size, mtime and inode): runs of one kernel and workload
  // build it once. A miss builds it into the cache; the newest kCacheKeep
  // images are kept. Returns true on a hit.
  bool WriteCached(const std::string& out_path, const std::string& cache_dir) const;
  // The cached image itself (built on a miss): a path that stays the same for
  // the same contents, for boots whose saved state names it.
  std::string Cached(const std::string& cache_dir, bool* hit = nullptr) const;
  static constexpr size_t kCacheKeep = 16;

  // The paths in the image, sorted: for tests and for the run's record.
  std::vector<std::string> Paths() const;

 private:
  struct Entry {
    enum Kind { kDir, kFile, kText, kSymlink, kCharDev } kind;
    std::string path, source;
    int mode = 0;
    int major = 0, minor = 0;
  };
  std::vector<Entry> entries_;
};

// True if the ELF file at path has no program interpreter (a static binary
// that can run in an initramfs with no libraries).
bool IsStaticElf(const std::string& path);

}  // namespace blackout
