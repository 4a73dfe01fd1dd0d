// The two databases the results store runs on, behind one small interface:
// SQLite (a file under the results root, the embedded default) and
// PostgreSQL (a server that many runners share, `--store postgresql://...`).
//
// Statements are written once with SQLite's numbered parameters (?1, ?2,
// ...); the PostgreSQL side renumbers them to $1, $2. Where the two dialects
// differ (column types, glob matching, the schema version's home) the store
// asks dialect() and says each form itself.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace blackout {

enum class Dialect { kSqlite, kPostgres };

// One statement: bind, then Step() until it returns false. Column readers
// are valid while Step() last returned true.
class DbStatement {
 public:
  virtual ~DbStatement() = default;
  virtual void Bind(int i, const std::string& s) = 0;
  virtual void Bind(int i, double d) = 0;
  virtual void Bind(int i, int64_t n) = 0;
  virtual void Reset() = 0;  // clears bindings and any result, for the next use
  virtual bool Step() = 0;   // throws InfraError
  virtual std::string Text(int c) const = 0;
  virtual double Double(int c) const = 0;
  virtual int64_t Int(int c) const = 0;
  virtual bool IsNull(int c) const = 0;
};

class Db {
 public:
  virtual ~Db() = default;
  virtual Dialect dialect() const = 0;
  virtual std::unique_ptr<DbStatement> Prepare(const std::string& sql) = 0;
  // Statements without parameters, several separated by ';'.
  virtual void Exec(const std::string& sql) = 0;
  // A write transaction. SQLite takes the write lock up front (IMMEDIATE) so
  // two writers queue instead of failing to upgrade; PostgreSQL's rows lock
  // on their own.
  virtual void Begin() = 0;
  virtual void Commit() = 0;
  virtual void Rollback() noexcept = 0;
  // Inside a transaction: no other blackout migrates this store until it
  // ends (SQLite's IMMEDIATE already is that lock; PostgreSQL takes an
  // advisory lock).
  virtual void LockSchema() = 0;
  // 0 for a database blackout never wrote to.
  virtual int SchemaVersion() = 0;
  virtual void SetSchemaVersion(int v) = 0;
  // Holds tables of its own while SchemaVersion() is 0: somebody else's.
  virtual bool HasOtherTables() = 0;
  // The file's path, or the URL without its password: for messages.
  const std::string& where() const { return where_; }

 protected:
  std::string where_;
};

// A store location names PostgreSQL when it is a postgresql:// or
// postgres:// URL; anything else is an SQLite file's path.
bool IsPostgresUrl(const std::string& location);
// The URL with any password replaced by "***" (user:secret@ and
// password=secret), for logs and errors.
std::string RedactUrl(const std::string& url);

// Opens (creating the file) an SQLite database in WAL mode with foreign
// keys on and a 30 s busy timeout.
std::unique_ptr<Db> OpenSqlite(const std::string& path);
// Reads an existing SQLite file only (also in a read-only directory).
std::unique_ptr<Db> OpenSqliteReadOnly(const std::string& path);
// Connects to PostgreSQL (libpq's URL syntax: user, password, host, port,
// database, ?host=/socket/dir, ?options=-csearch_path%3Dname). Read-only
// makes every transaction read-only.
std::unique_ptr<Db> OpenPostgres(const std::string& url, bool read_only);

}  // namespace blackout
