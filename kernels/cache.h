// The kernel cache's layout, in one place: <cache>/<kind>/<key>/ entries
// (kind apt, deb, path, git, xen-tools under apt), each filled in a private
// temporary directory and renamed into place under its lock, complete when
// it holds .complete (whose mtime says when it was last used); git build
// directories under <cache>/git-build/ and ccache's under <cache>/ccache.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

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
// next fill removes. Marks the entry used.
std::string CacheEntry(const std::string& cache_dir, const std::string& key,
                       const std::function<void(const std::string& tmp)>& fill, const std::string& kind = "apt");

// The cache entries (<cache>/apt/*, <cache>/deb/*, <cache>/path/*,
// <cache>/git/*) with their size and when they were last used.
struct CacheEntryInfo {
  std::string path;
  uint64_t bytes = 0;
  int64_t last_used = 0;  // seconds since the epoch
};
std::vector<CacheEntryInfo> ListCache(const std::string& cache_dir);
// Removes least recently used entries until the cache holds at most max_bytes.
// Returns the entries removed. Entries in use (locked) are skipped.
std::vector<CacheEntryInfo> TrimCache(const std::string& cache_dir, uint64_t max_bytes);

}  // namespace blackout
