#include "results/store.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <filesystem>
#include <functional>
#include <unordered_set>
#include <fstream>

#include "base/error.h"
#include "base/log.h"
#include "base/fsutil.h"
#include "results/db.h"
#include "results/json_get.h"

namespace blackout {
namespace {

// Each entry takes the schema from version i to i+1 (entry 0 creates v1).
// Shipped entries never change: a store written by an older blackout is
// brought forward by exactly these steps.
const char* const kMigrations[] = {
    // 1: runs
    R"(CREATE TABLE runs (
         id TEXT PRIMARY KEY,
         path TEXT NOT NULL,
         started_at TEXT NOT NULL,
         verdict TEXT NOT NULL,
         title TEXT NOT NULL DEFAULT '',
         kernel TEXT NOT NULL DEFAULT '',
         workload TEXT NOT NULL DEFAULT '',
         guest TEXT NOT NULL DEFAULT '',
         total_s REAL NOT NULL DEFAULT 0,
         result TEXT NOT NULL DEFAULT '{}');
       CREATE INDEX runs_started ON runs(started_at);)",
    // 2: filter columns, owners of in-flight runs, freezes
    R"(ALTER TABLE runs ADD COLUMN kernel_version TEXT NOT NULL DEFAULT '';
       ALTER TABLE runs ADD COLUMN accelerator TEXT NOT NULL DEFAULT '';
       ALTER TABLE runs ADD COLUMN host TEXT NOT NULL DEFAULT '';
       ALTER TABLE runs ADD COLUMN first_heartbeat_s REAL NOT NULL DEFAULT -1;
       ALTER TABLE runs ADD COLUMN worst_gap_s REAL NOT NULL DEFAULT 0;
       ALTER TABLE runs ADD COLUMN freeze_count INTEGER NOT NULL DEFAULT 0;
       ALTER TABLE runs ADD COLUMN owner_pid INTEGER;
       ALTER TABLE runs ADD COLUMN owner_start INTEGER;
       ALTER TABLE runs ADD COLUMN owner_host TEXT;
       CREATE TABLE freezes (
         run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
         idx INTEGER NOT NULL,
         host_start_s REAL NOT NULL,
         length_s REAL NOT NULL,
         vcpus TEXT NOT NULL,
         cause TEXT NOT NULL,
         PRIMARY KEY (run_id, idx));
       CREATE INDEX runs_kernel ON runs(kernel, workload, started_at);
       INSERT INTO freezes (run_id, idx, host_start_s, length_s, vcpus, cause)
         SELECT runs.id, CAST(f.key AS INTEGER),
                COALESCE(json_extract(f.value, '$.host_start_s'), 0),
                COALESCE(json_extract(f.value, '$.length_s'), 0),
                COALESCE((SELECT group_concat(v.value, ',') FROM json_each(f.value, '$.vcpus') v), ''),
                COALESCE(json_extract(f.value, '$.cause'), '')
         FROM runs, json_each(runs.result, '$.freezes') f
         WHERE json_valid(runs.result);
       UPDATE runs SET
         kernel_version = COALESCE(json_extract(result, '$.kernel.version'), ''),
         accelerator = COALESCE(json_extract(result, '$.accel.mode'), ''),
         host = COALESCE(json_extract(result, '$.host.hostname'), ''),
         first_heartbeat_s = COALESCE(json_extract(result, '$.timings.first_heartbeat_s'), -1),
         worst_gap_s = COALESCE((SELECT MAX(length_s) FROM freezes WHERE run_id = runs.id), 0),
         freeze_count = (SELECT COUNT(*) FROM freezes WHERE run_id = runs.id)
       WHERE json_valid(result);)",
    // 3: bisections
    R"(CREATE TABLE bisections (
         id TEXT PRIMARY KEY,
         path TEXT NOT NULL,
         started_at TEXT NOT NULL,
         updated_at TEXT NOT NULL,
         mode TEXT NOT NULL,
         search TEXT NOT NULL,
         good TEXT NOT NULL,
         bad TEXT NOT NULL,
         status TEXT NOT NULL,
         culprit TEXT NOT NULL DEFAULT '',
         probability REAL NOT NULL DEFAULT 0,
         runs INTEGER NOT NULL DEFAULT 0,
         p_estimate REAL NOT NULL DEFAULT 0);
       ALTER TABLE runs ADD COLUMN bisection TEXT NOT NULL DEFAULT '';)",
    // 4: matrices (one row per matrix: its spec, when it started and when
    // every cell had its runs); runs gain the matrix, cell and repeat they fill
    R"(CREATE TABLE matrices (
         id TEXT PRIMARY KEY,
         name TEXT NOT NULL,
         started_at TEXT NOT NULL,
         finished_at TEXT NOT NULL DEFAULT '',
         spec TEXT NOT NULL DEFAULT '{}');
       CREATE INDEX matrices_name ON matrices(name, started_at);
       ALTER TABLE runs ADD COLUMN matrix TEXT NOT NULL DEFAULT '';
       ALTER TABLE runs ADD COLUMN cell TEXT NOT NULL DEFAULT '';
       ALTER TABLE runs ADD COLUMN matrix_repeat INTEGER NOT NULL DEFAULT 0;
       UPDATE runs SET
         matrix = COALESCE(json_extract(result, '$.matrix.id'), ''),
         cell = COALESCE(json_extract(result, '$.matrix.cell'), ''),
         matrix_repeat = COALESCE(json_extract(result, '$.matrix.repeat'), 0)
       WHERE json_valid(result);
       CREATE INDEX runs_matrix ON runs(matrix, cell);)",
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kStoreSchemaVersion);

// The same versions for PostgreSQL, in its dialect: DOUBLE PRECISION for
// REAL (PostgreSQL's REAL is 4 bytes), BIGINT for the owner's start time, and
// byte order ("C") on the columns runs are sorted by, as SQLite sorts. Columns
// filled from the stored result JSON are filled by Backfill (C++), not SQL.
const char* const kPgMigrations[] = {
    // 1: runs
    R"(CREATE TABLE runs (
         id TEXT COLLATE "C" PRIMARY KEY,
         path TEXT NOT NULL,
         started_at TEXT COLLATE "C" NOT NULL,
         verdict TEXT NOT NULL,
         title TEXT NOT NULL DEFAULT '',
         kernel TEXT NOT NULL DEFAULT '',
         workload TEXT NOT NULL DEFAULT '',
         guest TEXT NOT NULL DEFAULT '',
         total_s DOUBLE PRECISION NOT NULL DEFAULT 0,
         result TEXT NOT NULL DEFAULT '{}');
       CREATE INDEX runs_started ON runs(started_at);)",
    // 2: filter columns, owners of in-flight runs, freezes
    R"(ALTER TABLE runs
         ADD COLUMN kernel_version TEXT NOT NULL DEFAULT '',
         ADD COLUMN accelerator TEXT NOT NULL DEFAULT '',
         ADD COLUMN host TEXT NOT NULL DEFAULT '',
         ADD COLUMN first_heartbeat_s DOUBLE PRECISION NOT NULL DEFAULT -1,
         ADD COLUMN worst_gap_s DOUBLE PRECISION NOT NULL DEFAULT 0,
         ADD COLUMN freeze_count INTEGER NOT NULL DEFAULT 0,
         ADD COLUMN owner_pid BIGINT,
         ADD COLUMN owner_start BIGINT,
         ADD COLUMN owner_host TEXT;
       CREATE TABLE freezes (
         run_id TEXT COLLATE "C" NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
         idx INTEGER NOT NULL,
         host_start_s DOUBLE PRECISION NOT NULL,
         length_s DOUBLE PRECISION NOT NULL,
         vcpus TEXT NOT NULL,
         cause TEXT NOT NULL,
         PRIMARY KEY (run_id, idx));
       CREATE INDEX runs_kernel ON runs(kernel, workload, started_at);)",
    // 3: bisections
    R"(CREATE TABLE bisections (
         id TEXT COLLATE "C" PRIMARY KEY,
         path TEXT NOT NULL,
         started_at TEXT COLLATE "C" NOT NULL,
         updated_at TEXT NOT NULL,
         mode TEXT NOT NULL,
         search TEXT NOT NULL,
         good TEXT NOT NULL,
         bad TEXT NOT NULL,
         status TEXT NOT NULL,
         culprit TEXT NOT NULL DEFAULT '',
         probability DOUBLE PRECISION NOT NULL DEFAULT 0,
         runs INTEGER NOT NULL DEFAULT 0,
         p_estimate DOUBLE PRECISION NOT NULL DEFAULT 0);
       ALTER TABLE runs ADD COLUMN bisection TEXT NOT NULL DEFAULT '';)",
    // 4: matrices; runs gain the matrix, cell and repeat they fill
    R"(CREATE TABLE matrices (
         id TEXT COLLATE "C" PRIMARY KEY,
         name TEXT NOT NULL,
         started_at TEXT COLLATE "C" NOT NULL,
         finished_at TEXT NOT NULL DEFAULT '',
         spec TEXT NOT NULL DEFAULT '{}');
       CREATE INDEX matrices_name ON matrices(name, started_at);
       ALTER TABLE runs
         ADD COLUMN matrix TEXT NOT NULL DEFAULT '',
         ADD COLUMN cell TEXT NOT NULL DEFAULT '',
         ADD COLUMN matrix_repeat INTEGER NOT NULL DEFAULT 0;
       CREATE INDEX runs_matrix ON runs(matrix, cell);)",
};
static_assert(sizeof(kPgMigrations) / sizeof(kPgMigrations[0]) == kStoreSchemaVersion);

// A statement, finished on scope exit; Bind chains.
class Stmt {
 public:
  Stmt(Db& db, const std::string& sql) : s_(db.Prepare(sql)) {}
  Stmt& Bind(int i, const std::string& s) {
    s_->Bind(i, s);
    return *this;
  }
  Stmt& Bind(int i, double d) {
    s_->Bind(i, d);
    return *this;
  }
  Stmt& Bind(int i, int64_t n) {
    s_->Bind(i, n);
    return *this;
  }
  void Reset() { s_->Reset(); }
  bool Step() { return s_->Step(); }
  std::string Text(int c) const { return s_->Text(c); }
  double Double(int c) const { return s_->Double(c); }
  int64_t Int(int c) const { return s_->Int(c); }
  bool IsNull(int c) const { return s_->IsNull(c); }

 private:
  std::unique_ptr<DbStatement> s_;
};

// One write transaction, rolled back if the scope is left by an exception.
class Transaction {
 public:
  explicit Transaction(Db& db) : db_(db) { db_.Begin(); }
  ~Transaction() {
    if (!done_) db_.Rollback();
  }
  void Commit() {
    db_.Commit();
    done_ = true;
  }

 private:
  Db& db_;
  bool done_ = false;
};

// The owner of an in-flight run is alive: that pid runs, and it is the same
// process (its start time matches).
bool Alive(int64_t pid, int64_t start) {
  if (pid <= 0) return false;
  if (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return false;
  return ProcessStart(static_cast<long>(pid)) == std::to_string(start);
}

// Inside the caller's transaction.
void ApplyMigrations(Db& db, int from, int to) {
  const char* const* steps = db.dialect() == Dialect::kPostgres ? kPgMigrations : kMigrations;
  for (int v = from; v < to; ++v) {
    db.Exec(steps[v]);
    db.SetSchemaVersion(v + 1);
  }
}

std::unique_ptr<Db> OpenWritable(const std::string& where) {
  return IsPostgresUrl(where) ? OpenPostgres(where, false) : OpenSqlite(where);
}

}  // namespace

std::string GlobToRegex(const std::string& glob) {
  std::string re = "^";
  for (size_t i = 0; i < glob.size(); ++i) {
    char c = glob[i];
    if (c == '*') {
      re += ".*";
    } else if (c == '?') {
      re += '.';
    } else if (c == '[') {
      // As GLOB reads a set: a ']' right after '[' or '[^' / '[!' is a member.
      size_t from = i + 1;
      if (from < glob.size() && (glob[from] == '!' || glob[from] == '^')) ++from;
      size_t end = glob.find(']', from + 1);
      if (end == std::string::npos) {
        re += "\\[";  // no set: a literal '['
        continue;
      }
      std::string set = glob.substr(i + 1, end - i - 1);
      if (set[0] == '!') set[0] = '^';
      std::string safe;
      for (char d : set) safe += d == '\\' ? std::string("\\\\") : std::string(1, d);
      re += "[" + safe + "]";
      i = end;
    } else if (std::string("\\.^$|()+{}[]").find(c) != std::string::npos) {
      re += '\\';
      re += c;
    } else {
      re += c;
    }
  }
  return re + "$";
}

namespace {

const char kRunColumns[] =
    "id, path, started_at, verdict, title, kernel, kernel_version, workload, guest, accelerator, host, "
    "bisection, total_s, first_heartbeat_s, worst_gap_s, freeze_count, matrix, cell, matrix_repeat";

RunRow ReadRun(const Stmt& s) {
  RunRow r;
  r.id = s.Text(0);
  r.path = s.Text(1);
  r.started_at = s.Text(2);
  r.verdict = s.Text(3);
  r.title = s.Text(4);
  r.kernel = s.Text(5);
  r.kernel_version = s.Text(6);
  r.workload = s.Text(7);
  r.guest = s.Text(8);
  r.accelerator = s.Text(9);
  r.host = s.Text(10);
  r.bisection = s.Text(11);
  r.total_s = s.Double(12);
  r.first_heartbeat_s = s.Double(13);
  r.worst_gap_s = s.Double(14);
  r.freeze_count = static_cast<int>(s.Int(15));
  r.matrix = s.Text(16);
  r.cell = s.Text(17);
  r.repeat = static_cast<int>(s.Int(18));
  return r;
}

}  // namespace

RunRow RowFromResult(const nlohmann::json& result, const std::string& path) {
  RunRow r;
  r.id = StrAt(result, "/run_id");
  r.path = path;
  r.started_at = StrAt(result, "/started_at");
  r.verdict = StrAt(result, "/verdict");
  r.title = StrAt(result, "/title");
  // The kernel's identity (a git kernel's carries its commit); older
  // results have only the release.
  r.kernel = StrAt(result, "/kernel/id");
  if (r.kernel.empty()) r.kernel = StrAt(result, "/kernel/release");
  r.kernel_version = StrAt(result, "/kernel/version");
  // A kernel that never got built or fetched is named by what was asked for.
  if (r.kernel.empty()) r.kernel = StrAt(result, "/config/kernel");
  r.workload = StrAt(result, "/config/workload/name");
  r.guest = StrAt(result, "/config/guest/type");
  r.accelerator = StrAt(result, "/accel/mode");
  r.host = StrAt(result, "/host/hostname");
  r.bisection = StrAt(result, "/bisection");
  r.matrix = StrAt(result, "/matrix/id");
  r.cell = StrAt(result, "/matrix/cell");
  r.repeat = static_cast<int>(NumAt(result, "/matrix/repeat", 0));
  r.total_s = NumAt(result, "/timings/total_s", 0);
  r.first_heartbeat_s = NumAt(result, "/timings/first_heartbeat_s", -1);
  if (result.contains("freezes") && result["freezes"].is_array()) {
    for (const nlohmann::json& f : result["freezes"]) {
      if (!f.is_object()) continue;
      r.worst_gap_s = std::max(r.worst_gap_s, NumAt(f, "/length_s", 0));
      ++r.freeze_count;
    }
  }
  return r;
}

void CreateStoreAtVersion(const std::string& where, int version) {
  if (version < 1 || version >= kStoreSchemaVersion) throw InfraError("no older store schema " + std::to_string(version));
  std::unique_ptr<Db> db = OpenWritable(where);
  Transaction tx(*db);
  ApplyMigrations(*db, 0, version);
  tx.Commit();
}

Store::Store(const std::string& where) : path_(IsPostgresUrl(where) ? RedactUrl(where) : where) {
  // SQLite: one opener at a time (across processes and threads), since
  // SQLite answers "database is locked" at once, without waiting, to two
  // connections that both switch a new store to WAL or migrate it.
  // PostgreSQL's migration takes an advisory lock instead.
  std::optional<FileLock> opening;
  if (IsPostgresUrl(where)) {
    db_ = OpenPostgres(where, false);
  } else {
    std::error_code ec;
    std::filesystem::path parent = std::filesystem::path(where).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (where != ":memory:") opening.emplace(where + ".open-lock");
    db_ = OpenSqlite(where);
  }
  Migrate();
  Settle();
}

Store::Store(const std::string& where, ReadOnly) : path_(IsPostgresUrl(where) ? RedactUrl(where) : where) {
  if (IsPostgresUrl(where)) {
    db_ = OpenPostgres(where, true);
  } else {
    struct stat st;
    if (stat(where.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) throw InfraError("open store " + where + ": no such store");
    db_ = OpenSqliteReadOnly(where);
  }
  int v = db_->SchemaVersion();
  if (v == 0) {
    throw InfraError("open store " + path_ + ": no blackout store there yet (a writing command, e.g. blackout " +
                     "results import, makes it)");
  }
  if (v != kStoreSchemaVersion) {
    throw InfraError("open store " + path_ + ": schema version " + std::to_string(v) + ", this blackout reads " +
                     std::to_string(kStoreSchemaVersion) + " (a writing command, e.g. blackout results import, " +
                     "brings an older store forward)");
  }
}

Store::~Store() = default;

int Store::schema_version() const { return db_->SchemaVersion(); }

bool Store::shared() const { return db_->dialect() == Dialect::kPostgres; }

void Store::Migrate() {
  Transaction tx(*db_);
  db_->LockSchema();
  int v = db_->SchemaVersion();
  if (v > kStoreSchemaVersion) {
    throw InfraError("store " + path_ + " has schema version " + std::to_string(v) + ", newer than this blackout's " +
                     std::to_string(kStoreSchemaVersion) + ": use a newer blackout");
  }
  if (v == kStoreSchemaVersion) return;  // nothing to do (rolled back: it wrote nothing)
  if (v == 0 && db_->HasOtherTables()) {
    // Not ours unless empty: refuse to add tables to somebody else's database.
    throw InfraError("store " + path_ + " is a database blackout did not write" +
                     (shared() ? " (give blackout a database or schema of its own: ?options=-csearch_path%3Dblackout)"
                               : ""));
  }
  ApplyMigrations(*db_, v, kStoreSchemaVersion);
  if (db_->dialect() == Dialect::kPostgres && v > 0) Backfill(v);
  tx.Commit();
}

// PostgreSQL's migrations add columns empty; the columns each crossed
// version added are filled from the stored result JSON here, as SQLite's
// migrations do in SQL (json_extract over valid results).
void Store::Backfill(int from) {
  std::vector<std::tuple<std::string, std::string, nlohmann::json>> rows;
  {
    Stmt s(*db_, "SELECT id, path, result FROM runs");
    while (s.Step()) {
      nlohmann::json result = nlohmann::json::parse(s.Text(2), nullptr, false);
      if (result.is_object()) rows.emplace_back(s.Text(0), s.Text(1), std::move(result));
    }
  }
  for (const auto& [id, path, result] : rows) {
    RunRow r = RowFromResult(result, path);
    if (from < 2) {
      Stmt u(*db_,
             "UPDATE runs SET kernel_version = ?2, accelerator = ?3, host = ?4, first_heartbeat_s = ?5, "
             "worst_gap_s = ?6, freeze_count = ?7 WHERE id = ?1");
      u.Bind(1, id).Bind(2, r.kernel_version).Bind(3, r.accelerator).Bind(4, r.host).Bind(5, r.first_heartbeat_s);
      u.Bind(6, r.worst_gap_s).Bind(7, static_cast<int64_t>(r.freeze_count));
      u.Step();
      RecordFreezes(id, result);
    }
    if (from < 4) {
      Stmt u(*db_, "UPDATE runs SET matrix = ?2, cell = ?3, matrix_repeat = ?4 WHERE id = ?1");
      u.Bind(1, id).Bind(2, r.matrix).Bind(3, r.cell).Bind(4, static_cast<int64_t>(r.repeat));
      u.Step();
    }
  }
}

// Runs left "running" by a blackout that died: from their result.json if the
// run had written it, else infra-error. Only this host's owners can be checked.
void Store::Settle() {
  std::vector<std::tuple<std::string, std::string, int64_t, int64_t, std::string>> stale;
  {
    Stmt s(*db_, "SELECT id, path, COALESCE(owner_pid, 0), COALESCE(owner_start, -1), result FROM runs "
                "WHERE verdict = 'running' AND (owner_host IS NULL OR owner_host = ?1)");
    s.Bind(1, Hostname());
    while (s.Step()) {
      if (!Alive(s.Int(2), s.Int(3))) stale.emplace_back(s.Text(0), s.Text(1), s.Int(2), s.Int(3), s.Text(4));
    }
  }
  for (const auto& [id, path, pid, start, partial] : stale) {
    std::ifstream in(path + "/result.json");
    nlohmann::json result = nlohmann::json::parse(in, nullptr, false);
    if (in && !result.is_discarded() && result.value("run_id", "") == id) {
      RecordRun(result, path);
    } else {
      result = nlohmann::json::parse(partial, nullptr, false);
      if (!result.is_object()) result = nlohmann::json::object();
      result["run_id"] = id;
      result["verdict"] = "infra-error";
      result["title"] = "blackout exited mid-run (pid " + std::to_string(pid) + "); the run directory has what it wrote";
      result["error"] = result["title"];
      RecordRun(result, path);
    }
    ++settled_;
  }
}

void Store::BeginRun(const std::string& id, const std::string& path, const nlohmann::json& partial_result) {
  RunRow r = RowFromResult(partial_result, path);
  Transaction tx(*db_);
  Stmt s(*db_,
         "INSERT INTO runs (id, path, started_at, verdict, title, kernel, workload, guest, host, bisection, result, "
         "owner_pid, owner_start, owner_host, matrix, cell, matrix_repeat) "
         "VALUES (?1, ?2, ?3, 'running', '', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)");
  s.Bind(1, id).Bind(2, path).Bind(3, r.started_at).Bind(4, r.kernel).Bind(5, r.workload).Bind(6, r.guest);
  s.Bind(7, r.host).Bind(8, r.bisection).Bind(9, partial_result.dump());
  std::string start = ProcessStart(getpid());
  s.Bind(10, static_cast<int64_t>(getpid())).Bind(11, static_cast<int64_t>(start.empty() ? -1 : std::stoll(start)));
  s.Bind(12, Hostname()).Bind(13, r.matrix).Bind(14, r.cell).Bind(15, static_cast<int64_t>(r.repeat));
  s.Step();
  tx.Commit();
}

void Store::RecordRunLocked(const nlohmann::json& result, const std::string& path) {
  RunRow r = RowFromResult(result, path);
  if (r.id.empty()) throw InfraError("store: a result without a run_id (" + path + ")");
  if (r.verdict.empty()) throw InfraError("store: result " + r.id + " has no verdict");
  // An upsert, not delete-and-insert: two PostgreSQL writers settling the same
  // run at once would otherwise both miss the row and one fail on its key.
  {
    Stmt del(*db_, "DELETE FROM freezes WHERE run_id = ?1");
    del.Bind(1, r.id).Step();
  }
  Stmt s(*db_,
         "INSERT INTO runs (id, path, started_at, verdict, title, kernel, kernel_version, workload, guest, "
         "accelerator, host, bisection, total_s, first_heartbeat_s, worst_gap_s, freeze_count, result, matrix, cell, "
         "matrix_repeat) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20) "
         "ON CONFLICT (id) DO UPDATE SET path = excluded.path, started_at = excluded.started_at, "
         "verdict = excluded.verdict, title = excluded.title, kernel = excluded.kernel, "
         "kernel_version = excluded.kernel_version, workload = excluded.workload, guest = excluded.guest, "
         "accelerator = excluded.accelerator, host = excluded.host, bisection = excluded.bisection, "
         "total_s = excluded.total_s, first_heartbeat_s = excluded.first_heartbeat_s, "
         "worst_gap_s = excluded.worst_gap_s, freeze_count = excluded.freeze_count, result = excluded.result, "
         "matrix = excluded.matrix, cell = excluded.cell, matrix_repeat = excluded.matrix_repeat");
  s.Bind(1, r.id).Bind(2, r.path).Bind(3, r.started_at).Bind(4, r.verdict).Bind(5, r.title).Bind(6, r.kernel);
  s.Bind(7, r.kernel_version).Bind(8, r.workload).Bind(9, r.guest).Bind(10, r.accelerator).Bind(11, r.host);
  s.Bind(12, r.bisection).Bind(13, r.total_s).Bind(14, r.first_heartbeat_s).Bind(15, r.worst_gap_s);
  s.Bind(16, static_cast<int64_t>(r.freeze_count)).Bind(17, result.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  s.Bind(18, r.matrix).Bind(19, r.cell).Bind(20, static_cast<int64_t>(r.repeat));
  s.Step();
  RecordFreezes(r.id, result);
}

void Store::RecordFreezes(const std::string& id, const nlohmann::json& result) {
  if (result.contains("freezes") && result["freezes"].is_array()) {
    Stmt f(*db_, "INSERT INTO freezes (run_id, idx, host_start_s, length_s, vcpus, cause) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    int64_t idx = 0;
    for (const nlohmann::json& fz : result["freezes"]) {
      if (!fz.is_object()) continue;
      std::string vcpus;
      if (fz.contains("vcpus") && fz["vcpus"].is_array()) {
        for (const nlohmann::json& v : fz["vcpus"]) vcpus += (vcpus.empty() ? "" : ",") + v.dump();
      }
      f.Reset();
      f.Bind(1, id).Bind(2, idx++).Bind(3, NumAt(fz, "/host_start_s", 0)).Bind(4, NumAt(fz, "/length_s", 0));
      f.Bind(5, vcpus).Bind(6, StrAt(fz, "/cause"));
      f.Step();
    }
  }
}

void Store::RecordRun(const nlohmann::json& result, const std::string& path) {
  Transaction tx(*db_);
  RecordRunLocked(result, path);
  tx.Commit();
}

void Store::RecordRuns(const std::vector<std::pair<nlohmann::json, std::string>>& results) {
  Transaction tx(*db_);
  for (const auto& [result, path] : results) RecordRunLocked(result, path);
  tx.Commit();
}

void Store::ForEachRun(const RunFilter& f, bool with_results,
                       const std::function<void(RunRow&&, nlohmann::json&&)>& each) const {
  std::string sql = std::string("SELECT ") + kRunColumns + (with_results ? ", result" : "") + " FROM runs WHERE 1 = 1";
  std::vector<std::string> args;
  auto add = [&](const std::string& clause, const std::string& value) {
    if (value.empty()) return;
    args.push_back(value);
    std::string n = "?" + std::to_string(args.size());
    std::string c = clause;
    for (size_t p; (p = c.find("?")) != std::string::npos;) c.replace(p, 1, "\x01");
    for (size_t p; (p = c.find('\x01')) != std::string::npos;) c.replace(p, 1, n);
    sql += " AND " + c;
  };
  if (db_->dialect() == Dialect::kPostgres) {
    add("(kernel ~ ? OR kernel_version ~ ?)", f.kernel.empty() ? "" : GlobToRegex(f.kernel));
    add("workload ~ ?", f.workload.empty() ? "" : GlobToRegex(f.workload));
    add("strpos(lower(title), lower(?)) > 0", f.title);
  } else {
    add("(kernel GLOB ? OR kernel_version GLOB ?)", f.kernel);
    add("workload GLOB ?", f.workload);
    add("instr(lower(title), lower(?)) > 0", f.title);
  }
  add("verdict = ?", f.verdict);
  add("guest = ?", f.guest);
  add("started_at >= ?", f.since);
  // A bare date as the end means the whole of that day.
  add("started_at <= ?", f.until.size() == 10 ? f.until + "T99" : f.until);
  add("bisection = ?", f.bisection);
  add("matrix = ?", f.matrix);
  if (!f.ids.empty()) {
    sql += " AND id IN (";
    for (size_t i = 0; i < f.ids.size(); ++i) {
      args.push_back(f.ids[i]);
      sql += (i ? ", ?" : "?") + std::to_string(args.size());
    }
    sql += ")";
  }
  sql += f.oldest_first ? " ORDER BY started_at, id" : " ORDER BY started_at DESC, id DESC";
  if (f.limit > 0) sql += " LIMIT " + std::to_string(f.limit);
  Stmt s(*db_, sql);
  for (size_t i = 0; i < args.size(); ++i) s.Bind(static_cast<int>(i + 1), args[i]);
  const int result_column = 19;  // after kRunColumns
  while (s.Step()) {
    RunRow row = ReadRun(s);
    nlohmann::json result;
    if (with_results) {
      result = nlohmann::json::parse(s.Text(result_column), nullptr, false);
      if (result.is_discarded()) throw InfraError("store: run " + row.id + " has an unreadable result");
    }
    each(std::move(row), std::move(result));
  }
}

std::vector<RunRow> Store::Runs(const RunFilter& f) const {
  std::vector<RunRow> out;
  ForEachRun(f, false, [&](RunRow&& row, nlohmann::json&&) { out.push_back(std::move(row)); });
  return out;
}

std::optional<RunRow> Store::FindRun(const std::string& id) const {
  Stmt s(*db_, std::string("SELECT ") + kRunColumns + " FROM runs WHERE id = ?1");
  s.Bind(1, id);
  if (!s.Step()) return std::nullopt;
  return ReadRun(s);
}

std::optional<nlohmann::json> Store::RunResult(const std::string& id) const {
  Stmt s(*db_, "SELECT result FROM runs WHERE id = ?1");
  s.Bind(1, id);
  if (!s.Step()) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(s.Text(0), nullptr, false);
  if (j.is_discarded()) throw InfraError("store: run " + id + " has an unreadable result");
  return j;
}

std::vector<FreezeRow> Store::Freezes(const std::string& run_id) const {
  Stmt s(*db_, "SELECT run_id, host_start_s, length_s, vcpus, cause FROM freezes WHERE run_id = ?1 ORDER BY idx");
  s.Bind(1, run_id);
  std::vector<FreezeRow> out;
  while (s.Step()) out.push_back({s.Text(0), s.Double(1), s.Double(2), s.Text(3), s.Text(4)});
  return out;
}

void Store::RecordBisection(const BisectionRow& b) {
  Transaction tx(*db_);
  Stmt s(*db_,
         "INSERT INTO bisections (id, path, started_at, updated_at, mode, search, good, bad, status, culprit, "
         "probability, runs, p_estimate) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
         "ON CONFLICT(id) DO UPDATE SET updated_at = ?4, status = ?9, culprit = ?10, probability = ?11, runs = ?12, "
         "p_estimate = ?13");
  s.Bind(1, b.id).Bind(2, b.path).Bind(3, b.started_at).Bind(4, b.updated_at).Bind(5, b.mode).Bind(6, b.search);
  s.Bind(7, b.good).Bind(8, b.bad).Bind(9, b.status).Bind(10, b.culprit).Bind(11, b.probability);
  s.Bind(12, static_cast<int64_t>(b.runs)).Bind(13, b.p_estimate);
  s.Step();
  tx.Commit();
}

std::vector<BisectionRow> Store::Bisections() const {
  Stmt s(*db_,
         "SELECT id, path, started_at, updated_at, mode, search, good, bad, status, culprit, probability, runs, "
         "p_estimate FROM bisections ORDER BY started_at DESC");
  std::vector<BisectionRow> out;
  while (s.Step()) {
    BisectionRow b;
    b.id = s.Text(0);
    b.path = s.Text(1);
    b.started_at = s.Text(2);
    b.updated_at = s.Text(3);
    b.mode = s.Text(4);
    b.search = s.Text(5);
    b.good = s.Text(6);
    b.bad = s.Text(7);
    b.status = s.Text(8);
    b.culprit = s.Text(9);
    b.probability = s.Double(10);
    b.runs = static_cast<int>(s.Int(11));
    b.p_estimate = s.Double(12);
    out.push_back(b);
  }
  return out;
}

void Store::RecordMatrix(const MatrixRow& m) {
  Transaction tx(*db_);
  Stmt s(*db_,
         "INSERT INTO matrices (id, name, started_at, finished_at, spec) VALUES (?1, ?2, ?3, ?4, ?5) "
         "ON CONFLICT(id) DO UPDATE SET finished_at = CASE WHEN ?4 = '' THEN matrices.finished_at ELSE ?4 END, spec = ?5");
  s.Bind(1, m.id).Bind(2, m.name).Bind(3, m.started_at).Bind(4, m.finished_at).Bind(5, m.spec);
  s.Step();
  tx.Commit();
}

std::vector<MatrixRow> Store::Matrices(const std::string& name) const {
  Stmt s(*db_, std::string("SELECT id, name, started_at, finished_at, spec FROM matrices") +
                  (name.empty() ? "" : " WHERE name = ?1") + " ORDER BY started_at DESC, id DESC");
  if (!name.empty()) s.Bind(1, name);
  std::vector<MatrixRow> out;
  while (s.Step()) out.push_back({s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Text(4)});
  return out;
}

int ImportRunDirs(Store& store, const std::string& root) {
  std::error_code ec;
  std::vector<std::pair<nlohmann::json, std::string>> batch;
  int added = 0;
  auto flush = [&] {
    store.RecordRuns(batch);
    added += static_cast<int>(batch.size());
    batch.clear();
  };
  for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
    CheckInterrupted("results import (runs indexed so far are kept)");
    std::error_code entry_ec;
    if (!entry.is_directory(entry_ec)) continue;  // a file, or a symlink loop
    std::string path = entry.path().string();
    if (!std::filesystem::exists(path + "/result.json", entry_ec)) continue;  // killed before its result
    // One bad run directory is skipped with a warning naming it; the good
    // ones import.
    auto skip = [&](const std::string& why) { Log("results import: skipping " + path + ": " + why); };
    std::string text;
    try {
      text = ReadInputFile(path + "/result.json", 64 << 20, "result");
    } catch (const InfraError& e) {
      skip(e.what());
      continue;
    }
    nlohmann::json result = nlohmann::json::parse(text, nullptr, false);
    if (result.is_discarded() || !result.is_object()) {
      skip("result.json is not a JSON object");
      continue;
    }
    if (!result.contains("run_id") || !result["run_id"].is_string() || result["run_id"].get<std::string>().empty()) {
      skip("result.json has no run_id string");
      continue;
    }
    std::optional<RunRow> have = store.FindRun(result["run_id"].get<std::string>());
    if (have && have->verdict != "running") continue;
    batch.emplace_back(std::move(result), path);
    if (batch.size() >= 500) flush();
  }
  if (ec) throw InfraError("import " + root + ": " + ec.message());
  flush();
  return added;
}

std::string Store::Locate(const std::string& results_root, const std::string& store) {
  if (store.empty()) return PathIn(results_root);
  if (IsPostgresUrl(store)) return store;
  if (store.rfind("sqlite:", 0) == 0 && store.size() > 7) return store.substr(7);
  throw ConfigError({"--store: '" + RedactUrl(store) + "' is neither postgresql://[USER[:PASSWORD]@]HOST[:PORT]/DB" +
                     " nor sqlite:PATH"});
}

int ImportStore(Store& to, const Store& from) {
  std::vector<std::pair<nlohmann::json, std::string>> batch;
  int added = 0;
  auto flush = [&] {
    to.RecordRuns(batch);
    added += static_cast<int>(batch.size());
    batch.clear();
  };
  // The runs `to` has finished, from one query (not one per run of `from`).
  std::unordered_set<std::string> finished;
  for (const RunRow& r : to.Runs({})) {
    if (r.verdict != "running") finished.insert(r.id);
  }
  RunFilter all;
  all.oldest_first = true;
  for (const RunRow& r : from.Runs(all)) {
    CheckInterrupted("results import (runs copied so far are kept)");
    if (r.verdict == "running") continue;  // its owner still writes it there
    if (finished.count(r.id)) continue;
    std::optional<nlohmann::json> result = from.RunResult(r.id);
    if (!result || !result->is_object()) continue;
    batch.emplace_back(std::move(*result), r.path);
    if (batch.size() >= 500) flush();
  }
  flush();
  std::vector<BisectionRow> have_b = to.Bisections();
  for (const BisectionRow& b : from.Bisections()) {
    auto same = std::find_if(have_b.begin(), have_b.end(), [&](const BisectionRow& h) { return h.id == b.id; });
    // A bisection's newer state wins (updated after every step).
    if (same == have_b.end() || same->updated_at < b.updated_at) to.RecordBisection(b);
  }
  for (const MatrixRow& m : from.Matrices()) to.RecordMatrix(m);
  return added;
}

}  // namespace blackout
