// The results store: an index of every run, bisection and matrix, so history
// can be listed, filtered, compared and reported. The embedded default is an
// SQLite file under the results root (<root>/blackout.db); `--store
// postgresql://...` keeps the same tables in PostgreSQL, for many runners
// writing one history. The run directories stay the raw evidence; a row holds
// the run's result.json and the columns people filter on.
//
// Crash safety: every write is one transaction (SQLite in WAL mode, BEGIN
// IMMEDIATE), so a process killed at any point leaves the store as of its
// last commit. A run is recorded twice: when it starts (verdict "running",
// with its owner's pid, process start time and host) and when it ends. A
// "running" row whose owner is gone is the run that was in flight when
// blackout died: the next Store on that host settles it, from its
// result.json if the run got that far, else as an infra-error. Several
// processes may write one store at once (SQLite's locks with a busy timeout;
// PostgreSQL's row locks, runs written as upserts).
//
// Schema versions (SQLite: PRAGMA user_version; PostgreSQL: the table
// blackout_schema), each reached by one migration from the one before, in
// each dialect; a store newer than this binary is refused:
//   1  runs (id, path, started_at, verdict, title, kernel, workload, guest,
//      total_s, result JSON)
//   2  runs gain accelerator, host, kernel_version, first_heartbeat_s,
//      worst_gap_s, freeze_count and the owner columns; a freezes table (one
//      row per freeze), both filled from the stored result JSON
//   3  bisections (one row per bisection, updated after every step); runs
//      gain bisection
//   4  matrices (one row per matrix: name, spec, started and finished); runs
//      gain matrix, cell and matrix_repeat (the slot of the matrix they fill)
#pragma once

#include <nlohmann/json.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>


namespace blackout {

class Db;

inline constexpr int kStoreSchemaVersion = 4;
inline constexpr char kStoreFileName[] = "blackout.db";

struct RunRow {
  std::string id, path, started_at, verdict, title;
  std::string kernel, kernel_version, workload, guest, accelerator, host, bisection;
  double total_s = 0;
  double first_heartbeat_s = -1;  // -1: never came
  double worst_gap_s = 0;         // the longest freeze, 0 if none
  int freeze_count = 0;
  std::string matrix, cell;  // the matrix and its cell this run fills, or ""
  int repeat = 0;            // which of the cell's runs (0-based)
};

struct FreezeRow {
  std::string run_id;
  double host_start_s = 0, length_s = 0;
  std::string vcpus;  // "0,1"
  std::string cause;
};

// Which runs to list. Empty fields match everything; kernel and workload are
// glob patterns (kernel matches the release, e.g. 6.1.0-57-amd64, or the
// package version); title is a substring; since/until compare with started_at
// (ISO 8601, so a date like 2026-11-01 works).
struct RunFilter {
  std::string kernel, workload, verdict, guest, title, since, until, bisection, matrix;
  std::vector<std::string> ids;
  int limit = 0;  // 0: all
  bool oldest_first = false;
};

// A kernel matrix (blackout matrix): one per night and name by default.
struct MatrixRow {
  std::string id, name, started_at;
  std::string finished_at;  // "" until every cell had its runs
  std::string spec;         // the matrix's cells as JSON, for comparing against it later
};

struct BisectionRow {
  std::string id, path, started_at, updated_at;
  std::string mode;    // series | git
  std::string search;  // regression | fix
  std::string good, bad;
  std::string status;  // running | found | budget | no-repro | undecided | interrupted
  std::string culprit;
  double probability = 0;
  int runs = 0;
  double p_estimate = 0;
};

class Store {
 public:
  // Opens (creating) the store at `where` (an SQLite file's path, or a
  // postgresql:// URL), migrates it to this binary's schema and settles runs
  // whose owner died. Throws InfraError.
  explicit Store(const std::string& where);
  // Opens an existing store for reading only (results, report, compare):
  // creates nothing, migrates and settles nothing, and works on a store in a
  // read-only directory or file system. Throws InfraError when there is no
  // store or its schema is not this binary's.
  struct ReadOnly {};
  Store(const std::string& where, ReadOnly);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  static std::string PathIn(const std::string& results_root) { return results_root + "/" + kStoreFileName; }
  // Where a command's store is: --store when given (postgresql://..., or
  // sqlite:PATH), else the SQLite file under its results root. Throws
  // ConfigError for any other form.
  static std::string Locate(const std::string& results_root, const std::string& store);

  int schema_version() const;
  // The file's path, or the URL without its password.
  const std::string& path() const { return path_; }
  // PostgreSQL: a store many runners share.
  bool shared() const;
  // Runs settled when this Store opened (their owner had died).
  int settled() const { return settled_; }

  // A run starts: its row says "running" until RecordRun.
  void BeginRun(const std::string& id, const std::string& path, const nlohmann::json& partial_result);
  // A run's result.json (complete): inserted or replaces its row, with its
  // freezes, in one transaction.
  void RecordRun(const nlohmann::json& result, const std::string& path);
  // Many at once, one transaction (imports).
  void RecordRuns(const std::vector<std::pair<nlohmann::json, std::string>>& results);

  std::vector<RunRow> Runs(const RunFilter& filter) const;
  // The same runs, each with its stored result when asked (null otherwise),
  // from one query: a report over 100,000 runs is one round trip to
  // PostgreSQL, not 100,001. Throws InfraError for an unreadable result.
  void ForEachRun(const RunFilter& filter, bool with_results,
                  const std::function<void(RunRow&&, nlohmann::json&&)>& each) const;
  std::optional<RunRow> FindRun(const std::string& id) const;
  // The stored result.json of a run.
  std::optional<nlohmann::json> RunResult(const std::string& id) const;
  std::vector<FreezeRow> Freezes(const std::string& run_id) const;

  // Inserts a matrix, or updates its spec and (when given) finished_at.
  void RecordMatrix(const MatrixRow& m);
  // Newest first; name "" for all.
  std::vector<MatrixRow> Matrices(const std::string& name = "") const;

  void RecordBisection(const BisectionRow& b);
  std::vector<BisectionRow> Bisections() const;

 private:
  void Migrate();
  void Backfill(int from);
  void RecordFreezes(const std::string& id, const nlohmann::json& result);
  void Settle();
  void RecordRunLocked(const nlohmann::json& result, const std::string& path);
  std::string path_;
  std::unique_ptr<Db> db_;
  int settled_ = 0;
};

// Test hook: creates a store at `where` with the schema of `version` (< the
// current one), as an older blackout would have left it.
void CreateStoreAtVersion(const std::string& where, int version);

// Copies every finished run, bisection and matrix of `from` into `to` that
// `to` does not have finished yet (so importing twice adds nothing); runs
// still running in `from` are left out. Returns the runs added.
int ImportStore(Store& to, const Store& from);

// A shell glob as an anchored POSIX regex (PostgreSQL has no GLOB).
std::string GlobToRegex(const std::string& glob);

// Indexes every run directory under `root` that has a result.json and is not
// in the store yet; returns how many were added.
int ImportRunDirs(Store& store, const std::string& root);

// The row a result.json gives (what the store keeps in its columns).
RunRow RowFromResult(const nlohmann::json& result, const std::string& path);

}  // namespace blackout
