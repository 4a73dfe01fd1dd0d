#include "kernels/cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>

#include "base/error.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/subprocess.h"
#include "kernels/deb.h"

namespace blackout {
namespace fs = std::filesystem;
namespace {

// Marks an entry as used now, for `blackout kernels gc`.
void Touch(const std::string& dir) {
  std::error_code ec;
  fs::last_write_time(dir + "/.complete", fs::file_time_type::clock::now(), ec);
}

// The shared locks this thread's run holds on the entries it uses.
thread_local std::map<std::string, std::shared_ptr<FileLock>>* t_holds = nullptr;

constexpr char kManifest[] = ".manifest";
constexpr char kManifestHeader[] = "# blackout cache manifest v1: size mtime_ns sha256 path";

struct FileState {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
};

std::optional<FileState> StateOf(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return FileState{static_cast<uint64_t>(st.st_size),
                   static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

// Records every regular file of the entry being filled in dir: its size,
// mtime and sha256, so a later use can tell it is still what was filled.
void WriteManifest(const std::string& dir) {
  std::vector<std::string> rel, abs;
  for (const auto& f : fs::recursive_directory_iterator(dir)) {
    std::error_code ec;
    if (!f.is_regular_file(ec) || f.is_symlink(ec)) continue;
    std::string r = fs::relative(f.path(), dir).string();
    if (r == kManifest || r == ".complete") continue;
    rel.push_back(r);
    abs.push_back(f.path().string());
  }
  std::vector<std::string> sha = Sha256Files(abs);
  std::string text = std::string(kManifestHeader) + "\n";
  for (size_t i = 0; i < rel.size(); ++i) {
    auto st = StateOf(abs[i]);
    if (!st) throw InfraError("cache manifest " + dir + ": " + rel[i] + " vanished");
    text += std::to_string(st->size) + " " + std::to_string(st->mtime_ns) + " " + sha[i] + " " + rel[i] + "\n";
  }
  WriteFileAtomic(dir + "/" + kManifest, text);
}

}  // namespace

std::string CheckCacheEntry(const std::string& dir, bool full) {
  std::string text;
  try {
    text = ReadFile(dir + "/" + kManifest);
  } catch (const InfraError&) {
    return "no manifest (filled by an older blackout, or cut short)";
  }
  std::istringstream lines(text);
  std::string line;
  if (!std::getline(lines, line) || line != kManifestHeader) return "manifest of an unknown version";
  std::vector<std::string> suspects, want;
  while (std::getline(lines, line)) {
    std::istringstream w(line);
    uint64_t size = 0;
    int64_t mtime = 0;
    std::string sha, rel;
    if (!(w >> size >> mtime >> sha) || !std::getline(w, rel) || rel.size() < 2) return "manifest line damaged";
    rel.erase(0, 1);
    std::string path = dir + "/" + rel;
    auto st = StateOf(path);
    if (!st) return rel + " is missing";
    // Cheap first: size and mtime; the hash where they differ (or always, full).
    if (full || st->size != size || st->mtime_ns != mtime) {
      if (st->size != size) return rel + " has " + std::to_string(st->size) + " bytes, not " + std::to_string(size);
      suspects.push_back(path);
      want.push_back(sha);
    }
  }
  std::vector<std::string> got = Sha256Files(suspects);
  for (size_t i = 0; i < suspects.size(); ++i) {
    if (got[i] != want[i]) return fs::relative(suspects[i], dir).string() + " changed (sha256 " + got[i].substr(0, 12) + ")";
  }
  return "";
}

CacheHoldScope::CacheHoldScope() : outer_(t_holds) { t_holds = &holds_; }

CacheHoldScope::~CacheHoldScope() { t_holds = outer_; }

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
  // Held by this run already (checked then): a second lock of our own would
  // wait on the first for ever.
  if (t_holds && t_holds->count(dir)) return dir;
  // The common case under a shared lock, so runs using one entry at once
  // never wait for each other: complete and matching its manifest.
  {
    auto shared = std::make_shared<FileLock>(dir + ".lock", FileLock::Mode::kShared);
    if (fs::exists(dir + "/.complete") && CheckCacheEntry(dir, false).empty()) {
      Touch(dir);
      if (t_holds) (*t_holds)[dir] = shared;  // a run keeps it until it ends
      return dir;
    }
  }
  // Missing or damaged: fill it under the exclusive lock (waiting for runs
  // that still hold the old one), unless another blackout just did.
  auto lock = std::make_shared<FileLock>(dir + ".lock");
  auto hold = [&] {
    if (t_holds) {
      lock->Downgrade();
      (*t_holds)[dir] = lock;
    }
  };
  if (fs::exists(dir + "/.complete")) {
    std::string damage = CheckCacheEntry(dir, false);
    if (damage.empty()) {
      Touch(dir);
      hold();
      return dir;
    }
    // Never used, never an abort: a damaged entry is fetched again.
    Log("cache entry " + dir + " is damaged (" + damage + "): filling it again");
  }
  for (const auto& e : fs::directory_iterator(root)) {
    std::string name = e.path().filename().string();
    if (name.rfind(SafeKey(key) + ".tmp.", 0) == 0) fs::remove_all(e.path());
  }
  std::string tmp = dir + ".tmp." + std::to_string(getpid());
  MakeDirs(tmp);
  fill(tmp);
  WriteManifest(tmp);
  WriteFileAtomic(tmp + "/.complete", key + "\n");
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::rename(tmp, dir, ec);
  if (ec) throw InfraError("install cache entry " + dir + ": " + ec.message());
  hold();
  return dir;
}

std::vector<std::pair<std::string, std::string>> VerifyCache(const std::string& cache_dir) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const CacheEntryInfo& e : ListCache(cache_dir)) {
    CheckInterrupted("kernels verify");
    FileLock lock(e.path + ".lock", FileLock::Mode::kTryExclusive);
    if (!lock.held()) {
      out.push_back({e.path, "in use by a run: not checked"});
      continue;
    }
    std::string damage = CheckCacheEntry(e.path, true);
    if (damage.empty()) continue;
    std::error_code ec;
    fs::remove_all(e.path, ec);
    out.push_back({e.path, damage + (ec ? "; could not remove: " + ec.message() : "; removed")});
  }
  return out;
}

std::vector<CacheEntryInfo> ListCache(const std::string& cache_dir, bool rebuilt) {
  std::vector<CacheEntryInfo> out;
  // Their writers' temporaries are in use: left to the writers.
  for (const RebuiltFiles& kind : rebuilt ? std::vector<RebuiltFiles>{kInitramfsImages, kDom0States}
                                          : std::vector<RebuiltFiles>{}) {
    for (const CachedFile& f : CachedFiles(cache_dir + "/" + kind.dir, kind.ext)) {
      CacheEntryInfo info;
      info.path = f.path;
      info.bytes = f.bytes;
      info.last_used = std::chrono::duration_cast<std::chrono::seconds>(f.mtime.time_since_epoch()).count();
      info.rebuilt = true;
      out.push_back(info);
    }
  }
  for (const char* kind : {"apt", "deb", "path", "git", "images"}) {
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
  std::vector<CacheEntryInfo> all = ListCache(cache_dir, true);
  uint64_t total = 0;
  for (const auto& e : all) total += e.bytes;
  std::sort(all.begin(), all.end(), [](const CacheEntryInfo& a, const CacheEntryInfo& b) {
    return a.last_used < b.last_used;
  });
  std::vector<CacheEntryInfo> removed;
  for (const CacheEntryInfo& e : all) {
    if (total <= max_bytes) break;
    std::error_code ec;
    if (e.rebuilt) {
      if (!fs::remove(e.path, ec)) continue;
    } else {
      // An entry a run is filling or using is skipped, not waited for.
      FileLock lock(e.path + ".lock", FileLock::Mode::kTryExclusive);
      if (!lock.held()) continue;
      fs::remove_all(e.path, ec);
      if (ec) continue;
    }
    total -= e.bytes;
    removed.push_back(e);
  }
  return removed;
}

}  // namespace blackout
