#include "results/store.h"

#include <signal.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "base/error.h"

namespace blackout {
namespace {

// Every test runs on both stores: SQLite (always) and PostgreSQL (when
// tests/pg_store_check.sh has started a cluster and named it in
// BLACKOUT_TEST_PG, a URL whose database is "postgres").
class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  bool pg() const { return GetParam() == "postgresql"; }

  void SetUp() override {
    char tmpl[] = "/tmp/blackout-store-XXXXXX";
    dir_ = mkdtemp(tmpl);
    if (pg()) {
      const char* url = getenv("BLACKOUT_TEST_PG");
      admin_ = url ? url : "";
      if (admin_.empty()) {
        if (getenv("BLACKOUT_TEST_PG_REQUIRED")) FAIL() << "BLACKOUT_TEST_PG is not set";
        GTEST_SKIP() << "no PostgreSQL cluster (tests/pg_store_check.sh runs these)";
      }
      ASSERT_NE(admin_.find("/postgres?"), std::string::npos) << admin_;
    }
    db_ = pg() ? NewLocation() : dir_ + "/" + kStoreFileName;
  }
  void TearDown() override {
    std::filesystem::remove_all(dir_);
    for (const std::string& name : databases_) Admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  }

  // A store location nobody used yet: a file in a new directory, or a new
  // PostgreSQL database.
  std::string NewLocation() {
    std::string name = "t" + std::to_string(getpid()) + "_" + std::to_string(databases_.size() + dirs_++);
    if (!pg()) {
      std::filesystem::create_directories(dir_ + "/" + name);
      return dir_ + "/" + name + "/" + kStoreFileName;
    }
    Admin("CREATE DATABASE " + name);
    databases_.push_back(name);
    std::string url = admin_;
    url.replace(url.find("/postgres?"), 10, "/" + name + "?");
    return url;
  }

  // Raw SQL against the store, as another program would.
  void Sql(const std::string& sql, std::string where = "") {
    if (where.empty()) where = db_;
    if (pg()) {
      PgExec(where, sql);
      return;
    }
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(where.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "") << " in " << sql;
    sqlite3_free(err);
    sqlite3_close(db);
  }

  std::string dir_, db_, admin_;

 private:
  void Admin(const std::string& sql) { PgExec(admin_, sql); }
  static void PgExec(const std::string& url, const std::string& sql) {
    PGconn* c = PQconnectdb(url.c_str());
    ASSERT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
    PGresult* r = PQexec(c, sql.c_str());
    EXPECT_TRUE(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK)
        << PQresultErrorMessage(r) << " in " << sql;
    PQclear(r);
    PQfinish(c);
  }
  std::vector<std::string> databases_;
  int dirs_ = 0;
};

INSTANTIATE_TEST_SUITE_P(Store, StoreTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

nlohmann::json Result(const std::string& id, const std::string& verdict, int freezes = 0,
                      const std::string& started = "2026-11-20T10:00:00Z", const std::string& release = "6.1.0-57-amd64") {
  nlohmann::json r = {{"schema", 1},
                      {"run_id", id},
                      {"started_at", started},
                      {"verdict", verdict},
                      {"title", verdict == "pass" ? "pass" : verdict + ": 3.50s freeze of vCPU 1 (guest-internal)"},
                      {"kernel", {{"package", "linux-image-" + release}, {"version", "6.1.192-1"}, {"release", release}}},
                      {"accel", {{"mode", "tcg"}}},
                      {"host", {{"hostname", "ci-7"}}},
                      {"config", {{"workload", {{"name", "pv-spinlock-race"}}}, {"guest", {{"type", "xen-pv-dom0"}}}}},
                      {"timings", {{"total_s", 42.5}, {"first_heartbeat_s", 8.25}}}};
  r["freezes"] = nlohmann::json::array();
  for (int i = 0; i < freezes; ++i) {
    r["freezes"].push_back({{"host_start_s", 10.0 + i * 5}, {"length_s", 2.5 + i}, {"vcpus", {1}}, {"cause", "guest-internal"}});
  }
  return r;
}

TEST_P(StoreTest, RunsRoundTripAndFilter) {
  Store s(db_);
  EXPECT_EQ(s.schema_version(), kStoreSchemaVersion);
  s.RecordRun(Result("a", "pass", 0, "2026-11-20T10:00:00Z"), "/r/a");
  s.RecordRun(Result("b", "stall", 2, "2026-11-21T03:00:00Z"), "/r/b");
  s.RecordRun(Result("c", "lockup", 1, "2026-11-22T03:00:00Z", "6.1.0-50-amd64"), "/r/c");

  std::optional<RunRow> b = s.FindRun("b");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->verdict, "stall");
  EXPECT_EQ(b->kernel, "6.1.0-57-amd64");
  EXPECT_EQ(b->kernel_version, "6.1.192-1");
  EXPECT_EQ(b->workload, "pv-spinlock-race");
  EXPECT_EQ(b->guest, "xen-pv-dom0");
  EXPECT_EQ(b->accelerator, "tcg");
  EXPECT_EQ(b->host, "ci-7");
  EXPECT_EQ(b->path, "/r/b");
  EXPECT_DOUBLE_EQ(b->worst_gap_s, 3.5);
  EXPECT_EQ(b->freeze_count, 2);
  EXPECT_DOUBLE_EQ(b->first_heartbeat_s, 8.25);
  ASSERT_EQ(s.Freezes("b").size(), 2u);
  EXPECT_EQ(s.Freezes("b")[1].vcpus, "1");
  EXPECT_EQ((*s.RunResult("b"))["title"], Result("b", "stall")["title"]);

  auto ids = [&](RunFilter f) {
    std::vector<std::string> out;
    for (const RunRow& r : s.Runs(f)) out.push_back(r.id);
    return out;
  };
  EXPECT_EQ(ids({}), (std::vector<std::string>{"c", "b", "a"}));  // newest first
  RunFilter f;
  f.kernel = "6.1.0-57*";
  EXPECT_EQ(ids(f), (std::vector<std::string>{"b", "a"}));
  f = {};
  f.verdict = "lockup";
  EXPECT_EQ(ids(f), (std::vector<std::string>{"c"}));
  f = {};
  f.title = "FREEZE OF VCPU";
  EXPECT_EQ(ids(f), (std::vector<std::string>{"c", "b"}));
  f = {};
  f.since = "2026-11-21";
  f.until = "2026-11-21";
  EXPECT_EQ(ids(f), (std::vector<std::string>{"b"}));
  f = {};
  f.limit = 1;
  f.oldest_first = true;
  EXPECT_EQ(ids(f), (std::vector<std::string>{"a"}));
  f = {};
  f.workload = "fio-*";
  EXPECT_TRUE(ids(f).empty());

  // Recording a run again replaces it, freezes included.
  s.RecordRun(Result("b", "pass", 0, "2026-11-21T03:00:00Z"), "/r/b");
  EXPECT_EQ(s.FindRun("b")->verdict, "pass");
  EXPECT_TRUE(s.Freezes("b").empty());
}

// Two commits of one git tree share a release (6.1.192+): each run is its
// kernel's id, release plus commit and config, so lists, filters, compare
// globs and the report's matrix keep them apart.
TEST_P(StoreTest, GitKernelsAreTheirCommits) {
  Store s(db_);
  nlohmann::json hangs = Result("g1", "lockup", 1, "2026-11-20T10:00:00Z", "6.1.192+");
  hangs["kernel"]["id"] = "6.1.192+@1111aaaa2222:0a1b2c3d";
  nlohmann::json quiet = Result("g2", "pass", 0, "2026-11-20T11:00:00Z", "6.1.192+");
  quiet["kernel"]["id"] = "6.1.192+@3333bbbb4444:0a1b2c3d";
  s.RecordRun(hangs, "/r/g1");
  s.RecordRun(quiet, "/r/g2");
  s.RecordRun(Result("old", "pass", 0, "2026-11-19T10:00:00Z", "6.1.0-57-amd64"), "/r/old");  // no id: its release
  EXPECT_EQ(s.FindRun("g1")->kernel, "6.1.192+@1111aaaa2222:0a1b2c3d");
  EXPECT_EQ(s.FindRun("g2")->kernel, "6.1.192+@3333bbbb4444:0a1b2c3d");
  EXPECT_EQ(s.FindRun("old")->kernel, "6.1.0-57-amd64");
  RunFilter f;
  f.kernel = "6.1.192+@1111*";
  ASSERT_EQ(s.Runs(f).size(), 1u);
  EXPECT_EQ(s.Runs(f)[0].id, "g1");
  f.kernel = "6.1.192+@*";
  EXPECT_EQ(s.Runs(f).size(), 2u);
}

// Runs placed on a pool open the store from several threads at once (and
// several processes): a new store is made once, none of them fails.
TEST_P(StoreTest, ManyOpenANewStoreAtOnce) {
  for (int round = 0; round < (pg() ? 5 : 40); ++round) {
    std::string path = pg() ? NewLocation() : dir_ + "/r" + std::to_string(round) + "/" + kStoreFileName;
    std::atomic<int> failed{0};
    std::vector<std::thread> openers;
    for (int i = 0; i < 8; ++i) {
      openers.emplace_back([&] {
        try {
          Store s(path);
          s.schema_version();
        } catch (const std::exception& e) {
          ++failed;
          ADD_FAILURE() << e.what();
        }
      });
    }
    for (auto& t : openers) t.join();
    EXPECT_EQ(failed.load(), 0);
  }
}

TEST_P(StoreTest, BadResultIsRefusedAndNothingIsWritten) {
  Store s(db_);
  nlohmann::json r = Result("x", "stall", 1);
  r.erase("verdict");
  EXPECT_THROW(s.RecordRun(r, "/r/x"), InfraError);
  EXPECT_FALSE(s.FindRun("x"));
  // A batch with one bad result writes none of it.
  EXPECT_THROW(s.RecordRuns({{Result("y", "pass"), "/r/y"}, {r, "/r/x"}}), InfraError);
  EXPECT_FALSE(s.FindRun("y"));
  // Wrong types in a result do not crash the store.
  nlohmann::json odd = Result("z", "stall");
  odd["freezes"] = {{{"length_s", "long"}}, 7};
  odd["timings"] = "soon";
  s.RecordRun(odd, "/r/z");
  EXPECT_EQ(s.FindRun("z")->freeze_count, 1);
}

TEST_P(StoreTest, MigratesFromVersion1) {
  CreateStoreAtVersion(db_, 1);
  nlohmann::json r = Result("old", "stall", 2);
  std::string json = r.dump();
  for (size_t p = 0; (p = json.find('\'', p)) != std::string::npos; p += 2) json.insert(p, "'");
  Sql("INSERT INTO runs (id, path, started_at, verdict, title, kernel, workload, guest, total_s, result) VALUES "
      "('old', '/r/old', '2026-01-01T00:00:00Z', 'stall', 't', '6.1.0-57-amd64', 'pv-spinlock-race', 'xen-pv-dom0', 4, '" +
      json + "')");
  Store s(db_);
  EXPECT_EQ(s.schema_version(), kStoreSchemaVersion);
  std::optional<RunRow> old = s.FindRun("old");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->verdict, "stall");
  EXPECT_EQ(old->accelerator, "tcg");        // filled from the stored result
  EXPECT_EQ(old->kernel_version, "6.1.192-1");
  EXPECT_DOUBLE_EQ(old->worst_gap_s, 3.5);
  EXPECT_EQ(old->freeze_count, 2);
  EXPECT_DOUBLE_EQ(old->first_heartbeat_s, 8.25);
  ASSERT_EQ(s.Freezes("old").size(), 2u);
  EXPECT_EQ(s.Freezes("old")[0].cause, "guest-internal");
  EXPECT_EQ(old->bisection, "");
  s.RecordBisection({"b1", "/r/bisect/b1", "2026-01-02T00:00:00Z", "2026-01-02T01:00:00Z", "series", "regression",
                     "a", "z", "found", "m", 0.995, 30, 0.4});
  EXPECT_EQ(s.Bisections().size(), 1u);
}

TEST_P(StoreTest, MigratesFromVersion2) {
  CreateStoreAtVersion(db_, 2);
  Sql("INSERT INTO runs (id, path, started_at, verdict, accelerator, worst_gap_s, freeze_count) VALUES "
      "('v2', '/r/v2', '2026-02-01T00:00:00Z', 'lockup', 'kvm', 31, 1);"
      "INSERT INTO freezes VALUES ('v2', 0, 5, 31, '0,1', 'guest-internal');");
  Store s(db_);
  std::optional<RunRow> r = s.FindRun("v2");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->accelerator, "kvm");
  EXPECT_DOUBLE_EQ(r->worst_gap_s, 31);
  EXPECT_EQ(s.Freezes("v2")[0].vcpus, "0,1");
  EXPECT_TRUE(s.Bisections().empty());
  RunFilter f;
  f.bisection = "none";
  EXPECT_TRUE(s.Runs(f).empty());
}

TEST_P(StoreTest, MigratesFromVersion3AndKeepsMatrices) {
  CreateStoreAtVersion(db_, 3);
  Sql("INSERT INTO runs (id, path, started_at, verdict, result) VALUES "
      "('v3', '/r/v3', '2026-03-01T00:00:00Z', 'pass', "
      "'{\"matrix\": {\"id\": \"nightly-20260301\", \"cell\": \"k / hvm / smoke\", \"repeat\": 2}}')");
  Store s(db_);
  std::optional<RunRow> r = s.FindRun("v3");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->matrix, "nightly-20260301");  // filled from the stored result
  EXPECT_EQ(r->cell, "k / hvm / smoke");
  EXPECT_EQ(r->repeat, 2);
  RunFilter f;
  f.matrix = "nightly-20260301";
  EXPECT_EQ(s.Runs(f).size(), 1u);
  f.matrix = "nightly-20260302";
  EXPECT_TRUE(s.Runs(f).empty());
  // A matrix row: inserted, then finished; an update without finished_at keeps it.
  s.RecordMatrix({"nightly-20260301", "nightly", "2026-03-01T00:00:00Z", "", "{}"});
  s.RecordMatrix({"nightly-20260301", "nightly", "", "2026-03-01T02:00:00Z", "{\"cells\": []}"});
  s.RecordMatrix({"nightly-20260301", "nightly", "", "", "{\"cells\": []}"});
  s.RecordMatrix({"other-20260301", "other", "2026-03-01T01:00:00Z", "", "{}"});
  std::vector<MatrixRow> m = s.Matrices("nightly");
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].started_at, "2026-03-01T00:00:00Z");
  EXPECT_EQ(m[0].finished_at, "2026-03-01T02:00:00Z");
  EXPECT_EQ(s.Matrices().size(), 2u);
}

TEST_P(StoreTest, NewerOrForeignDatabaseIsRefused) {
  { Store s(db_); }
  Sql(pg() ? "UPDATE blackout_schema SET version = 99" : "PRAGMA user_version=99");
  try {
    Store s(db_);
    FAIL() << "a newer store was opened";
  } catch (const InfraError& e) {
    EXPECT_NE(std::string(e.what()).find("newer than this blackout"), std::string::npos) << e.what();
  }
  std::string other = NewLocation();
  Sql("CREATE TABLE t (x INTEGER)", other);
  try {
    Store s(other);
    FAIL() << "somebody else's database was taken";
  } catch (const InfraError& e) {
    EXPECT_NE(std::string(e.what()).find("did not write"), std::string::npos) << e.what();
  }
}

// A blackout that dies mid-run leaves a "running" row; the next Store on
// this host settles it: infra-error, or the result.json the run had written.
TEST_P(StoreTest, RunInFlightWhenBlackoutDiedIsSettled) {
  std::filesystem::create_directories(dir_ + "/r2");
  std::ofstream(dir_ + "/r2/result.json") << Result("r2", "lockup", 1).dump();
  pid_t child = fork();
  if (child == 0) {
    Store s(db_);
    s.BeginRun("r1", dir_ + "/r1", Result("r1", "running"));
    s.BeginRun("r2", dir_ + "/r2", Result("r2", "running"));
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_EQ(status, 0);
  Store s(db_);
  EXPECT_EQ(s.settled(), 2);
  std::optional<RunRow> r1 = s.FindRun("r1");
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->verdict, "infra-error");
  EXPECT_NE(r1->title.find("exited mid-run"), std::string::npos);
  EXPECT_EQ(r1->kernel, "6.1.0-57-amd64");  // what was known at the start stays
  EXPECT_EQ(s.FindRun("r2")->verdict, "lockup");
  EXPECT_EQ(s.FindRun("r2")->freeze_count, 1);
}

TEST_P(StoreTest, RunOfALiveOwnerIsLeftAlone) {
  Store a(db_);
  a.BeginRun("live", dir_ + "/live", Result("live", "running"));
  Store b(db_);
  EXPECT_EQ(b.settled(), 0);
  EXPECT_EQ(b.FindRun("live")->verdict, "running");
  a.RecordRun(Result("live", "pass"), dir_ + "/live");
  EXPECT_EQ(b.FindRun("live")->verdict, "pass");
}

// A writer SIGKILLed at random points: every run it reported committed is
// there, whole (its freezes with it), and no run is there in part.
TEST_P(StoreTest, KillMidWriteLosesNoCommittedRunAndLeavesNoHalfRun) {
  std::mt19937 rng(12345);
  std::set<std::string> committed;
  for (int round = 0; round < 20; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t child = fork();
    if (child == 0) {
      close(fds[0]);
      Store s(db_);
      for (int i = 0;; ++i) {
        std::string id = "k" + std::to_string(round) + "-" + std::to_string(i);
        s.RecordRun(Result(id, i % 3 ? "stall" : "pass", i % 5), "/r/" + id);
        std::string line = id + "\n";
        if (write(fds[1], line.data(), line.size()) < 0) _exit(1);
      }
    }
    close(fds[1]);
    // Most rounds let the writer commit a few runs first (opening a store on
    // a loaded machine can take longer than the random wait), then kill it
    // at a random point of what follows.
    std::string got;
    char buf[4096];
    for (int want = round % 4; std::count(got.begin(), got.end(), '\n') < want;) {
      ssize_t n = read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    usleep(std::uniform_int_distribution<int>(2000, 60000)(rng));
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) got.append(buf, static_cast<size_t>(n));
    close(fds[0]);
    for (size_t p = 0, e; (e = got.find('\n', p)) != std::string::npos; p = e + 1) committed.insert(got.substr(p, e - p));

    Store s(db_);
    std::vector<RunRow> rows = s.Runs({});
    std::set<std::string> present;
    for (const RunRow& r : rows) {
      present.insert(r.id);
      ASSERT_EQ(static_cast<int>(s.Freezes(r.id).size()), r.freeze_count) << r.id;
      ASSERT_EQ(static_cast<int>((*s.RunResult(r.id))["freezes"].size()), r.freeze_count) << r.id;
    }
    for (const std::string& id : committed) ASSERT_TRUE(present.count(id)) << "lost " << id << " in round " << round;
  }
  EXPECT_GT(committed.size(), 20u);
}

// Many runners write one store at once (two processes on SQLite's file,
// eight on PostgreSQL), each opening it as a new store would.
TEST_P(StoreTest, WritersAtOnce) {
  const int writers = pg() ? 8 : 2;
  std::vector<pid_t> kids;
  for (int w = 0; w < writers; ++w) {
    pid_t child = fork();
    if (child == 0) {
      try {
        Store s(db_);
        for (int i = 0; i < 100; ++i) {
          std::string id = "w" + std::to_string(w) + "-" + std::to_string(i);
          s.BeginRun(id, "/r", Result(id, "running"));
          s.RecordRun(Result(id, "stall", 2), "/r");
        }
      } catch (const std::exception& e) {
        fprintf(stderr, "writer %d: %s\n", w, e.what());
        _exit(1);
      }
      _exit(0);
    }
    kids.push_back(child);
  }
  for (pid_t k : kids) {
    int status = 0;
    waitpid(k, &status, 0);
    EXPECT_EQ(status, 0);
  }
  Store s(db_);
  std::vector<RunRow> rows = s.Runs({});
  EXPECT_EQ(rows.size(), static_cast<size_t>(writers * 100));
  for (const RunRow& r : rows) {
    ASSERT_EQ(r.verdict, "stall");
    ASSERT_EQ(s.Freezes(r.id).size(), 2u) << r.id;
  }
}

// results import --from: a shard's store moved into this one, twice.
TEST_P(StoreTest, ImportsAnotherStoreIdempotently) {
  std::string shard = dir_ + "/shard/" + kStoreFileName;
  {
    Store from(shard);
    from.RecordRun(Result("s1", "pass"), "/shard/s1");
    from.RecordRun(Result("s2", "lockup", 2), "/shard/s2");
    from.BeginRun("s3", "/shard/s3", Result("s3", "running"));  // its owner (this test) lives: left out
    from.RecordBisection({"b1", "/shard/bisect/b1", "2026-01-02T00:00:00Z", "2026-01-02T01:00:00Z", "series",
                          "regression", "a", "z", "running", "", 0.5, 3, 0.4});
    from.RecordMatrix({"nightly-20260102", "nightly", "2026-01-02T00:00:00Z", "2026-01-02T03:00:00Z", "{}"});
  }
  Store to(db_);
  to.RecordRun(Result("mine", "pass"), "/here/mine");
  Store from(shard, Store::ReadOnly{});
  EXPECT_EQ(ImportStore(to, from), 2);
  EXPECT_EQ(ImportStore(to, from), 0);
  EXPECT_EQ(to.Runs({}).size(), 3u);
  EXPECT_EQ(to.FindRun("s2")->path, "/shard/s2");
  EXPECT_EQ(to.Freezes("s2").size(), 2u);
  EXPECT_EQ((*to.RunResult("s2"))["title"], Result("s2", "lockup")["title"]);
  ASSERT_EQ(to.Bisections().size(), 1u);
  EXPECT_EQ(to.Bisections()[0].status, "running");
  ASSERT_EQ(to.Matrices().size(), 1u);
  EXPECT_EQ(to.Matrices()[0].finished_at, "2026-01-02T03:00:00Z");
}

// A title from a hostile console: bytes no text column of PostgreSQL takes
// (NUL, broken UTF-8) are stored replaced, never refused.
TEST_P(StoreTest, HostileTextIsStored) {
  Store s(db_);
  nlohmann::json r = Result("h", "lockup");
  r["title"] = std::string("lockup: \xff\xfe\0 in \xc3", 15);
  r["config"]["workload"]["name"] = std::string("w\0rk", 5);
  s.RecordRun(r, "/r/h");
  std::optional<RunRow> h = s.FindRun("h");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->title.rfind("lockup: ", 0), 0u) << h->title;
  EXPECT_EQ(s.RunResult("h")->value("verdict", ""), "lockup");
}

TEST_P(StoreTest, ImportsRunDirectoriesOnce) {
  for (const char* id : {"i1", "i2"}) {
    std::filesystem::create_directories(dir_ + "/" + id);
    std::ofstream(dir_ + "/" + id + "/result.json") << Result(id, "pass").dump();
  }
  std::filesystem::create_directories(dir_ + "/killed");  // no result.json
  std::filesystem::create_directories(dir_ + "/torn");
  std::ofstream(dir_ + "/torn/result.json") << "{\"run_id\": \"to";
  Store s(db_);
  EXPECT_EQ(ImportRunDirs(s, dir_), 2);
  EXPECT_EQ(ImportRunDirs(s, dir_), 0);
  EXPECT_EQ(s.FindRun("i1")->path, dir_ + "/i1");
}

TEST(GlobToRegexTest, SaysWhatGlobSays) {
  EXPECT_EQ(GlobToRegex("6.1.0-57*"), "^6\\.1\\.0-57.*$");
  EXPECT_EQ(GlobToRegex("a?c"), "^a.c$");
  EXPECT_EQ(GlobToRegex("[!ab]x"), "^[^ab]x$");
  EXPECT_EQ(GlobToRegex("[]a]"), "^[]a]$");
  EXPECT_EQ(GlobToRegex("(x)+[y"), "^\\(x\\)\\+\\[y$");
}

}  // namespace
}  // namespace blackout
