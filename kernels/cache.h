// The kernel cache's layout, in one place: <cache>/<kind>/<key>/ entries
// (kind apt, deb, path, git, images; xen-tools under apt), each filled in a private
// temporary directory and renamed into place under its lock, complete when
// it holds .complete (whose mtime says when it was last used); git build
// directories under <cache>/git-build/ and ccache's under <cache>/ccache.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/fsutil.h"

namespace blackout {

// A key as a directory name (':' and '/' become '_').
std::string SafeKey(std::string key);

// The key of a package at a version under kind "apt".
std::string AptEntryKey(const std::string& package, const std::string& version);

// The complete entry <cache>/<kind>/<key>, or "" when there is none (never
// fills, never waits).
std::string CachedEntry(const std::string& cache_dir, const std::string& kind, const std::string& key);

// The entry <cache>/<kind>/<key>, filled by `fill` into a private temporary
// directory and renamed into place, under a lock: concurrent blackouts wait
// for one another, and a crash mid-fill leaves only a temporary that the
// next fill removes. A fill ends with a manifest (.manifest: each file's
// size, mtime and sha256); on use the entry is checked against it (size and
// mtime, the hash where they differ), and a damaged or unverifiable entry is
// filled again, never used. Marks the entry used; inside a CacheHoldScope
// the entry stays share-locked until the scope ends.
std::string CacheEntry(const std::string& cache_dir, const std::string& key,
                       const std::function<void(const std::string& tmp)>& fill, const std::string& kind = "apt");

// "" when the entry in dir matches its manifest, else what is wrong. full:
// hash every file, not only those whose size or mtime changed.
std::string CheckCacheEntry(const std::string& dir, bool full);

// `blackout kernels verify`: every entry checked in full; damaged ones are
// removed (the next use fills them again). Returns (entry, problem) pairs;
// entries in use by a run are skipped and say so.
std::vector<std::pair<std::string, std::string>> VerifyCache(const std::string& cache_dir);

// While one lives, the cache entries this thread uses (CacheEntry) stay
// share-locked, so `kernels gc` and `kernels verify` leave them alone; a run
// holds one for its whole length.
class CacheHoldScope {
 public:
  CacheHoldScope();
  ~CacheHoldScope();
  CacheHoldScope(const CacheHoldScope&) = delete;
  CacheHoldScope& operator=(const CacheHoldScope&) = delete;

 private:
  std::map<std::string, std::shared_ptr<FileLock>> holds_;  // entry -> its shared lock
  std::map<std::string, std::shared_ptr<FileLock>>* outer_;
};

// The cache entries (<cache>/apt/*, <cache>/deb/*, <cache>/path/*,
// <cache>/git/*) with their size and when they were last used; with
// `rebuilt`, also the files blackout makes again whenever they are missing
// (built initramfs images in <cache>/initramfs/, saved dom0 states in
// <cache>/dom0-state/), which have no manifest and take no lock: a run
// that has one open keeps reading it after it is removed.
struct CacheEntryInfo {
  std::string path;
  uint64_t bytes = 0;
  int64_t last_used = 0;  // seconds since the epoch
  bool rebuilt = false;   // one of the rebuilt files above
};
std::vector<CacheEntryInfo> ListCache(const std::string& cache_dir, bool rebuilt = false);
// Removes least recently used entries and rebuilt files until the cache holds
// at most max_bytes. Returns what it removed. Entries in use (locked) are
// skipped.
std::vector<CacheEntryInfo> TrimCache(const std::string& cache_dir, uint64_t max_bytes);

}  // namespace blackout
