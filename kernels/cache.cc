#include "kernels/cache.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "base/error.h"
#include "base/fsutil.h"

namespace blackout {
namespace fs = std::filesystem;
namespace {

// Marks an entry as used now, for `blackout kernels gc`.
void Touch(const std::string& dir) {
  std::error_code ec;
  fs::last_write_time(dir + "/.complete", fs::file_time_type::clock::now(), ec);
}

}  // namespace

std::string SafeKey(std::string key) {
  for (char& c : key) {
    if (c == ':' || c == '/') c = '_';
  }
  return key;
}

std::string CachedEntry(const std::string& cache_dir, const std::string& kind, const std::string& key) {
  std::string dir = cache_dir + "/" + kind + "/" + SafeKey(key);
  return fs::exists(dir + "/.complete") ? dir : "";
}

std::string AptEntryKey(const std::string& package, const std::string& version) { return package + "_" + version; }

std::string CacheEntry(const std::string& cache_dir, const std::string& key,
                       const std::function<void(const std::string& tmp)>& fill, const std::string& kind) {
  std::string root = cache_dir + "/" + kind;
  MakeDirs(root);
  std::string dir = root + "/" + SafeKey(key);
  FileLock lock(dir + ".lock");
  if (fs::exists(dir + "/.complete")) {
    Touch(dir);
    return dir;
  }
  for (const auto& e : fs::directory_iterator(root)) {
    std::string name = e.path().filename().string();
    if (name.rfind(SafeKey(key) + ".tmp.", 0) == 0) fs::remove_all(e.path());
  }
  std::string tmp = dir + ".tmp." + std::to_string(getpid());
  MakeDirs(tmp);
  fill(tmp);
  WriteFileAtomic(tmp + "/.complete", key + "\n");
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::rename(tmp, dir, ec);
  if (ec) throw InfraError("install cache entry " + dir + ": " + ec.message());
  return dir;
}

std::vector<CacheEntryInfo> ListCache(const std::string& cache_dir) {
  std::vector<CacheEntryInfo> out;
  for (const char* kind : {"apt", "deb", "path", "git"}) {
    std::string root = cache_dir + "/" + kind;
    if (!fs::is_directory(root)) continue;
    for (const auto& e : fs::directory_iterator(root)) {
      if (!e.is_directory() || !fs::exists(e.path() / ".complete")) continue;
      CacheEntryInfo info;
      info.path = e.path().string();
      std::error_code ec;
      for (const auto& f : fs::recursive_directory_iterator(e.path(), ec)) {
        if (f.is_regular_file(ec)) info.bytes += f.file_size(ec);
      }
      auto t = fs::last_write_time(e.path() / ".complete", ec);
      info.last_used = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
      out.push_back(info);
    }
  }
  return out;
}

std::vector<CacheEntryInfo> TrimCache(const std::string& cache_dir, uint64_t max_bytes) {
  std::vector<CacheEntryInfo> all = ListCache(cache_dir);
  uint64_t total = 0;
  for (const auto& e : all) total += e.bytes;
  std::sort(all.begin(), all.end(), [](const CacheEntryInfo& a, const CacheEntryInfo& b) {
    return a.last_used < b.last_used;
  });
  std::vector<CacheEntryInfo> removed;
  for (const CacheEntryInfo& e : all) {
    if (total <= max_bytes) break;
    // Take the entry's lock so a run that is filling or using it is not cut.
    FileLock lock(e.path + ".lock");
    std::error_code ec;
    fs::remove_all(e.path, ec);
    if (ec) continue;
    total -= e.bytes;
    removed.push_back(e);
  }
  return removed;
}

}  // namespace blackout
