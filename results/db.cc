#include "results/db.h"

#include <libpq-fe.h>
#include <sqlite3.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <regex>
#include <vector>

#include "base/error.h"
#include "base/log.h"

namespace blackout {

bool IsPostgresUrl(const std::string& location) {
  return location.rfind("postgresql://", 0) == 0 || location.rfind("postgres://", 0) == 0;
}

std::string RedactUrl(const std::string& url) {
  // scheme://user:secret@host -> scheme://user:***@host
  static const std::regex kUserInfo(R"(^([a-z]+://[^/@:]*):[^/@]*@)");
  static const std::regex kParam(R"(([?&]password=)[^&]*)");
  std::string out = std::regex_replace(url, kUserInfo, "$1:***@");
  return std::regex_replace(out, kParam, "$1***");
}

namespace {

// ---------------------------------------------------------------- SQLite

class SqliteStatement : public DbStatement {
 public:
  SqliteStatement(sqlite3* db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st_, nullptr) != SQLITE_OK) {
      throw InfraError("store: prepare '" + sql.substr(0, 60) + "': " + sqlite3_errmsg(db));
    }
  }
  ~SqliteStatement() override { sqlite3_finalize(st_); }
  void Bind(int i, const std::string& s) override {
    sqlite3_bind_text(st_, i, s.c_str(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  void Bind(int i, double d) override { sqlite3_bind_double(st_, i, d); }
  void Bind(int i, int64_t n) override { sqlite3_bind_int64(st_, i, n); }
  void Reset() override {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
  }
  bool Step() override {
    int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw InfraError(std::string("store: ") + sqlite3_errmsg(db_));
  }
  std::string Text(int c) const override {
    const unsigned char* t = sqlite3_column_text(st_, c);
    return t ? std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(sqlite3_column_bytes(st_, c)))
             : std::string();
  }
  double Double(int c) const override { return sqlite3_column_double(st_, c); }
  int64_t Int(int c) const override { return sqlite3_column_int64(st_, c); }
  bool IsNull(int c) const override { return sqlite3_column_type(st_, c) == SQLITE_NULL; }

 private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
};

class SqliteDb : public Db {
 public:
  SqliteDb(sqlite3* db, const std::string& path) : db_(db) { where_ = path; }
  ~SqliteDb() override { sqlite3_close(db_); }
  Dialect dialect() const override { return Dialect::kSqlite; }
  std::unique_ptr<DbStatement> Prepare(const std::string& sql) override {
    return std::make_unique<SqliteStatement>(db_, sql);
  }
  void Exec(const std::string& sql) override {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "?";
      sqlite3_free(err);
      throw InfraError("store: " + msg + " (in: " + sql.substr(0, 80) + ")");
    }
  }
  void Begin() override { Exec("BEGIN IMMEDIATE"); }
  void Commit() override { Exec("COMMIT"); }
  void Rollback() noexcept override { sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr); }
  void LockSchema() override {}
  int SchemaVersion() override {
    SqliteStatement s(db_, "PRAGMA user_version");
    return s.Step() ? static_cast<int>(s.Int(0)) : 0;
  }
  void SetSchemaVersion(int v) override { Exec("PRAGMA user_version=" + std::to_string(v)); }
  bool HasOtherTables() override {
    SqliteStatement s(db_, "SELECT COUNT(*) FROM sqlite_master");
    return s.Step() && s.Int(0) != 0;
  }

 private:
  sqlite3* db_;
};

// ---------------------------------------------------------------- PostgreSQL

// ?N -> $N outside quoted text.
std::string Renumber(const std::string& sql) {
  std::string out;
  out.reserve(sql.size());
  char quote = 0;
  for (char c : sql) {
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '?') {
      c = '$';
    }
    out += c;
  }
  return out;
}

std::string PgError(PGconn* conn, const PGresult* res) {
  std::string msg = res ? PQresultErrorMessage(res) : "";
  if (msg.empty()) msg = PQerrorMessage(conn);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  return msg.empty() ? "unknown error" : msg;
}

class PgStatement : public DbStatement {
 public:
  PgStatement(PGconn* conn, const std::string& sql) : conn_(conn), sql_(Renumber(sql)) {}
  ~PgStatement() override { PQclear(res_); }
  // PostgreSQL's text holds neither NUL nor broken UTF-8 (a hostile console's
  // bytes can reach a title): both become U+FFFD, as the JSON writer does.
  void Bind(int i, const std::string& s) override {
    std::string v = ValidUtf8(s);
    for (size_t p; (p = v.find('\0')) != std::string::npos;) v.replace(p, 1, "\xEF\xBF\xBD");
    Slot(i) = std::move(v);
  }
  void Bind(int i, double d) override {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", d);
    Slot(i) = buf;
  }
  void Bind(int i, int64_t n) override { Slot(i) = std::to_string(n); }
  void Reset() override {
    PQclear(res_);
    res_ = nullptr;
    row_ = -1;
    params_.clear();
  }
  bool Step() override {
    if (!res_) {
      std::vector<const char*> values;
      for (const auto& p : params_) values.push_back(p ? p->c_str() : nullptr);
      res_ = PQexecParams(conn_, sql_.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                          nullptr, 0);
      ExecStatusType st = PQresultStatus(res_);
      if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        std::string msg = PgError(conn_, res_);
        PQclear(res_);
        res_ = nullptr;
        throw InfraError("store: " + msg + " (in: " + sql_.substr(0, 80) + ")");
      }
    }
    return ++row_ < PQntuples(res_);
  }
  std::string Text(int c) const override {
    return std::string(PQgetvalue(res_, row_, c), static_cast<size_t>(PQgetlength(res_, row_, c)));
  }
  double Double(int c) const override { return std::strtod(PQgetvalue(res_, row_, c), nullptr); }
  int64_t Int(int c) const override { return std::strtoll(PQgetvalue(res_, row_, c), nullptr, 10); }
  bool IsNull(int c) const override { return PQgetisnull(res_, row_, c) != 0; }

 private:
  std::optional<std::string>& Slot(int i) {
    if (static_cast<size_t>(i) > params_.size()) params_.resize(static_cast<size_t>(i));
    return params_[static_cast<size_t>(i - 1)];
  }
  PGconn* conn_;
  std::string sql_;
  std::vector<std::optional<std::string>> params_;
  PGresult* res_ = nullptr;
  int row_ = -1;
};

class PgDb : public Db {
 public:
  PgDb(PGconn* conn, const std::string& url) : conn_(conn) { where_ = RedactUrl(url); }
  ~PgDb() override { PQfinish(conn_); }
  Dialect dialect() const override { return Dialect::kPostgres; }
  std::unique_ptr<DbStatement> Prepare(const std::string& sql) override {
    Reconnect();
    return std::make_unique<PgStatement>(conn_, sql);
  }
  void Exec(const std::string& sql) override {
    Reconnect();
    PGresult* res = PQexec(conn_, sql.c_str());
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      std::string msg = PgError(conn_, res);
      PQclear(res);
      throw InfraError("store " + where_ + ": " + msg + " (in: " + sql.substr(0, 80) + ")");
    }
    PQclear(res);
  }
  void Begin() override {
    Exec("BEGIN");
    in_tx_ = true;
  }
  void Commit() override {
    in_tx_ = false;
    Exec("COMMIT");
  }
  void Rollback() noexcept override {
    in_tx_ = false;
    PQclear(PQexec(conn_, "ROLLBACK"));
  }
  // Any fixed key: only blackout's migrations take it.
  void LockSchema() override { Exec("SELECT pg_advisory_xact_lock(4242017)"); }
  int SchemaVersion() override {
    PgStatement has(conn_, "SELECT to_regclass('blackout_schema') IS NOT NULL");
    if (!has.Step() || has.Text(0) != "t") return 0;
    PgStatement s(conn_, "SELECT version FROM blackout_schema");
    return s.Step() ? static_cast<int>(s.Int(0)) : 0;
  }
  void SetSchemaVersion(int v) override {
    Exec("CREATE TABLE IF NOT EXISTS blackout_schema (version INTEGER NOT NULL)");
    Exec("DELETE FROM blackout_schema");
    Exec("INSERT INTO blackout_schema (version) VALUES (" + std::to_string(v) + ")");
  }
  bool HasOtherTables() override {
    PgStatement s(conn_, "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema()");
    return s.Step() && s.Int(0) != 0;
  }

 private:
  // A long matrix holds its store for hours: a connection the server dropped
  // between transactions is made again (inside one, the error stands).
  void Reconnect() {
    if (in_tx_ || PQstatus(conn_) == CONNECTION_OK) return;
    PQreset(conn_);
    if (PQstatus(conn_) != CONNECTION_OK) {
      throw InfraError("store " + where_ + ": connection lost and not made again: " + PgError(conn_, nullptr));
    }
  }
  PGconn* conn_;
  bool in_tx_ = false;
};

}  // namespace

std::unique_ptr<Db> OpenSqlite(const std::string& path) {
  std::error_code ec;
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw InfraError("open store " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db, 30000);
  auto out = std::make_unique<SqliteDb>(db, path);
  try {
    out->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
  } catch (const InfraError& e) {
    throw InfraError("open store " + path + ": " + e.what());
  }
  return out;
}

std::unique_ptr<Db> OpenSqliteReadOnly(const std::string& path) {
  auto open = [&](const std::string& name, int flags) {
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(name.c_str(), &db, flags, nullptr);
    if (rc == SQLITE_OK) {
      sqlite3_busy_timeout(db, 30000);
      // A WAL store in a read-only place has no -shm to map: probe it.
      if (sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr) == SQLITE_OK) return db;
    }
    sqlite3_close(db);
    return static_cast<sqlite3*>(nullptr);
  };
  sqlite3* db = open(path, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX);
  // Nobody can be writing a store we cannot write next to: read it as it is.
  if (!db) db = open("file:" + path + "?immutable=1", SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_FULLMUTEX);
  if (!db) throw InfraError("open store " + path + " for reading: not an SQLite store blackout can read");
  return std::make_unique<SqliteDb>(db, path);
}

std::unique_ptr<Db> OpenPostgres(const std::string& url, bool read_only) {
  // libpq waits forever on an unreachable host unless told otherwise.
  std::string conninfo = url;
  if (conninfo.find("connect_timeout=") == std::string::npos) {
    conninfo += (conninfo.find('?') == std::string::npos ? "?" : "&") + std::string("connect_timeout=15");
  }
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (!conn || PQstatus(conn) != CONNECTION_OK) {
    std::string msg = conn ? PgError(conn, nullptr) : "out of memory";
    PQfinish(conn);
    throw InfraError("open store " + RedactUrl(url) + ": " + msg);
  }
  auto db = std::make_unique<PgDb>(conn, url);
  // Quiet NOTICEs (CREATE ... IF NOT EXISTS says "already exists" on stderr).
  db->Exec("SET client_min_messages = warning");
  if (read_only) db->Exec("SET default_transaction_read_only = on");
  return db;
}

}  // namespace blackout
