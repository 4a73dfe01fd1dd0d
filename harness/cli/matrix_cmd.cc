// `blackout matrix -c matrix.yaml`: the night's kernels x guests x workloads
// over the local slot or a pool of hosts, resumable and shardable, then each
// cell against the baseline matrix (harness/matrix.h).
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <cstdio>
#include <mutex>

#include "base/error.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/units.h"
#include "base/yaml_reader.h"
#include "harness/bisect/plan.h"
#include "harness/cli/command.h"
#include "harness/fleet.h"
#include "harness/matrix.h"
#include "harness/notify.h"
#include "harness/run.h"
#include "results/html_report.h"
#include "results/json_get.h"
#include "results/report.h"
#include "results/store.h"
#include "results/verdict.h"

namespace blackout {
namespace {

RunFilter RunsOf(const std::string& matrix) {
  RunFilter f;
  f.matrix = matrix;
  return f;
}

struct MatrixFlags {
  std::string config_path;
  std::string results = "blackout-results";
  std::string store;
  std::string id;
  std::string shard = "1/1";
  std::string baseline;  // "": the file's (previous by default)
  std::vector<std::string> hosts;
  std::string hosts_file;
  bool compare_only = false;
  bool no_compare = false;
  bool json = false;
};

// The baseline matrix's id: "previous" is the newest finished matrix of the
// same name started before this one; "none" is none. Throws ConfigError for
// an id the store does not hold.
std::string ResolveBaseline(const Store& store, const MatrixSpec& spec, const std::string& id,
                            const std::string& wanted) {
  if (wanted == "none") return "";
  std::vector<MatrixRow> all = store.Matrices(spec.name);
  std::string started;
  for (const MatrixRow& m : all) {
    if (m.id == id) started = m.started_at;
  }
  if (wanted == "previous") {
    for (const MatrixRow& m : all) {
      if (m.id != id && !m.finished_at.empty() && (started.empty() || m.started_at <= started)) return m.id;
    }
    return "";
  }
  for (const MatrixRow& m : store.Matrices()) {
    if (m.id == wanted) return m.id;
  }
  throw ConfigError({"baseline '" + wanted + "': no such matrix in " + store.path()});
}

// "12/32 done, 2 running, 18 left, 1 hang, ETA 6m": ninja's status line.
std::string StatusText(int done, int running, int total, int hangs, double elapsed_s) {
  int left = total - done - running;
  std::string eta = "?";
  if (done > 0) {
    double rest = elapsed_s / done * (total - done);
    eta = rest >= 90 ? std::to_string(static_cast<int>(rest / 60 + 0.5)) + "m" : std::to_string(static_cast<int>(rest)) + "s";
  }
  return std::to_string(done) + "/" + std::to_string(total) + " done, " + std::to_string(running) + " running, " +
         std::to_string(left) + " left, " + std::to_string(hangs) + " hang" + (hangs == 1 ? "" : "s") + ", ETA " + eta;
}

// The matrix against its baseline, a row per cell coloured worse / better /
// same, with the p-value in the text.
HtmlTable ComparisonTable(const MatrixReport& report) {
  HtmlTable t;
  t.id = "comparison";
  t.title = "Tonight (" + report.id + ") against " + (report.baseline.empty() ? "no baseline" : report.baseline);
  t.header = {"cell", "tonight: hangs/judged", "baseline", "Fisher p", "status", "new titles"};
  for (const CellComparison& c : report.cells) {
    HtmlTable::Row row;
    std::string titles;
    for (const std::string& title : c.new_titles) titles += (titles.empty() ? "" : "; ") + title;
    char p[32];
    std::snprintf(p, sizeof p, "%.4f", c.p);
    std::string status = c.status;
    if (c.status == "needs-more-runs") status += " (" + std::to_string(c.more_runs) + " more each)";
    row.cells = {c.key, std::to_string(c.hangs) + "/" + std::to_string(c.judged),
                 std::to_string(c.base_hangs) + "/" + std::to_string(c.base_judged), p, status, titles};
    row.status = c.status == "regression" ? "worse" : c.status == "better" ? "better" : "same";
    t.rows.push_back(row);
  }
  return t;
}

// Each cell's hang rate over the last nights of this matrix's name, oldest
// first, coloured by rate.
HtmlTable TrendTable(const Store& store, const MatrixSpec& spec, const std::string& id) {
  std::vector<MatrixRow> nights = store.Matrices(spec.name);  // newest first
  std::vector<std::string> ids;
  for (const MatrixRow& m : nights) {
    if (ids.size() < 10 && (m.id == id || !m.finished_at.empty())) ids.insert(ids.begin(), m.id);
  }
  HtmlTable t;
  t.id = "trend";
  t.title = "Hang rate per night (hangs/judged)";
  t.header = {"cell"};
  t.header.insert(t.header.end(), ids.begin(), ids.end());
  std::map<std::string, std::vector<std::pair<int, int>>> counts;  // cell -> per night (hangs, judged)
  for (size_t i = 0; i < ids.size(); ++i) {
    for (const RunRow& r : store.Runs(RunsOf(ids[i]))) {
      auto& v = counts[r.cell];
      v.resize(ids.size());
      v[i].first += IsHang(r.verdict);
      v[i].second += IsJudged(r.verdict);
    }
  }
  for (const MatrixCell& cell : spec.cells) {
    HtmlTable::Row row;
    row.cells = {cell.key};
    row.rates = {-1};
    std::vector<std::pair<int, int>> v = counts[cell.key];
    v.resize(ids.size());
    for (const auto& [h, j] : v) {
      row.cells.push_back(j ? std::to_string(h) + "/" + std::to_string(j) : "");
      row.rates.push_back(j ? static_cast<double>(h) / j : -1);
    }
    t.rows.push_back(row);
  }
  return t;
}

// The matrix's reports, beside its runs: <results>/matrices/<id>/ with the
// comparison (text and JSON), the HTML report (the comparison and the
// night-by-night trend above the matrix's runs) and JUnit. Returns the
// directory, absolute.
std::string WriteMatrixReports(const Store& store, const std::string& results, const MatrixSpec& spec,
                               const MatrixReport& report) {
  std::string dir = results + "/matrices/" + report.id;
  MakeDirs(dir);
  dir = std::filesystem::absolute(dir).lexically_normal().string();  // a path that means the same in a mail
  std::vector<ReportRun> runs = LoadReportRuns(store, RunsOf(report.id), true);
  HtmlOptions o;
  o.title = "blackout matrix " + report.id;
  o.tables = {ComparisonTable(report), TrendTable(store, spec, report.id)};
  WriteFileAtomic(dir + "/report.html", HtmlReport(runs, o));
  WriteFileAtomic(dir + "/junit.xml", JunitXml(runs));
  WriteFileAtomic(dir + "/kcidb.json",
                  KcidbJson(runs, "blackout").dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  WriteFileAtomic(dir + "/comparison.txt", MatrixReportText(report));
  WriteFileAtomic(dir + "/comparison.json", MatrixReportJson(report).dump(2) + "\n");
  return dir;
}

// The kernel a side's runs of a cell booted (its first run that got one).
BootedKernel BootedBy(const Store& store, const std::vector<RunRow>& runs, const std::string& cell) {
  for (const RunRow& r : runs) {
    if (r.cell != cell) continue;
    std::optional<nlohmann::json> result = store.RunResult(r.id);
    if (!result) continue;
    BootedKernel k{StrAt(*result, "/kernel/package"), StrAt(*result, "/kernel/version")};
    if (!k.package.empty() || !k.version.empty()) return k;
  }
  return {};
}

// on_regression: bisect. Each regressed cell, one after another: a plan from
// the cell's config over the range between the kernels the two nights
// booted, chasing the verdicts that made it regress; the culprit is printed
// and, with notify:, sent as a second message. A cell that cannot be
// bisected says why and the next goes on. False when interrupted.
bool BisectRegressions(const MatrixFlags& f, const MatrixSpec& spec, Store& store, const MatrixReport& report,
                       const std::vector<RunRow>& runs, const std::vector<RunRow>& base_runs) {
  for (const CellComparison& c : report.cells) {
    if (c.status != "regression") continue;
    auto cell = std::find_if(spec.cells.begin(), spec.cells.end(), [&](const MatrixCell& m) { return m.key == c.key; });
    if (cell == spec.cells.end()) continue;
    std::vector<std::string> bad;
    std::string title;
    for (const RunRow& r : runs) {
      if (r.cell != c.key || !IsHang(r.verdict)) continue;
      if (std::find(bad.begin(), bad.end(), r.verdict) == bad.end()) bad.push_back(r.verdict);
      if (title.empty()) title = r.title;
    }
    BootedKernel before = BootedBy(store, base_runs, c.key), now = BootedBy(store, runs, c.key);
    try {
      RegressionBisect rb;
      rb.results = f.results;
      rb.store = f.store;
      rb.hosts = f.hosts;
      rb.hosts_file = f.hosts_file;
      rb.source = spec.source;
      rb.origin = {{"matrix", report.id}, {"cell", c.key}, {"title", title}};
      bool git = spec.bisect_plan.IsMap() && spec.bisect_plan["git"].IsDefined();
      if (git && (before.version.empty() || now.version.empty() || before.version == now.version)) {
        throw ConfigError({"the two nights booted the same commit (or none): nothing to bisect"});
      }
      rb.yaml = RegressionPlan(spec, *cell, bad, before.version, now.version);
      if (!git) {
        std::vector<std::pair<std::string, KernelSpec>> candidates;
        for (const BisectCandidate& bc : ParseBisectPlan(rb.yaml, spec.source).candidates) {
          candidates.emplace_back(bc.name, bc.config.kernel);
        }
        std::tie(rb.good, rb.bad) = RegressionRange(candidates, before, now);
        if (rb.good.empty()) {
          Log("bisection of " + c.key + ": the nights' kernels (" + before.package + " " + before.version + ", " +
              now.package + " " + now.version + ") do not bound a range of the series: bisecting all of it");
        }
      }
      // With --json, stdout is the comparison alone: the bisection talks on stderr.
      rb.out = f.json ? stderr : stdout;
      std::fprintf(rb.out, "bisecting the regression of %s (%s)\n", c.key.c_str(), TerminalSafe(title).c_str());
      std::fflush(rb.out);
      bool earlier = false;
      BisectionRow b = BisectRegression(rb, &earlier);
      std::fprintf(rb.out, "bisection of %s: %s, culprit %s (%.1f%%) after %d runs%s\n", c.key.c_str(),
                   b.status.c_str(), b.culprit.c_str(), 100 * b.probability, b.runs,
                   earlier ? (" (bisected before: " + b.path + ")").c_str() : "");
      if (!spec.notify.empty() && !earlier) {  // told once, when it ended
        for (const std::string& p : SendNotifications(spec.notify, CulpritMessage(report.id, c.key, b))) {
          std::fprintf(stderr, "blackout: notify: %s\n", p.c_str());
        }
      }
    } catch (const InterruptedError&) {
      return false;
    } catch (const Error& e) {
      std::fprintf(stderr, "blackout: bisection of %s not done: %s\n", c.key.c_str(), e.what());
    }
  }
  return true;
}

int CmdMatrix(const MatrixFlags& f) {
  MatrixSpec spec = LoadMatrix(f.config_path);
  Shard shard = ParseShard(f.shard);
  std::string id = f.id.empty() ? MatrixIdFor(spec.name, UtcStamp("%Y%m%d")) : f.id;
  if (id.size() > 100 || id.find_first_of("/\\ \t\n") != std::string::npos) {
    throw ConfigError({"--id: '" + Excerpt(id) + "' holds a slash or space"});
  }
  std::vector<PoolHost> hosts = HostsFromFlags(f.hosts, f.hosts_file);
  MakeDirs(f.results);
  Store store(Store::Locate(f.results, f.store));
  store.RecordMatrix({id, spec.name, UtcStamp("%Y-%m-%dT%H:%M:%SZ"), "", MatrixSpecJson(spec).dump()});

  bool interrupted = false;
  if (!f.compare_only) {
    std::vector<MatrixSlot> slots = MissingSlots(spec, shard, store.Runs(RunsOf(id)));
    size_t in_shard = 0;
    for (size_t i = 0; i < spec.cells.size(); ++i) {
      if (InShard(i, shard)) in_shard += static_cast<size_t>(spec.cells[i].repeats);
    }
    Log("matrix " + id + ": " + std::to_string(spec.cells.size()) + " cells, shard " + f.shard + " holds " +
        std::to_string(in_shard) + " runs, " + std::to_string(slots.size()) + " still to do");
    std::unique_ptr<HostPool> pool;
    if (!hosts.empty() && !slots.empty()) pool = OpenHostPool(hosts, spec.cells[slots[0].cell].config);
    std::mutex mu;
    int done = 0, running = 0, hangs = 0;
    auto t0 = std::chrono::steady_clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
    const int total = static_cast<int>(slots.size());
    RunConcurrently(total, pool ? pool->total_slots() : 1, [&](int i) {
      if (InterruptFlag()) return false;
      const MatrixSlot& slot = slots[static_cast<size_t>(i)];
      const MatrixCell& cell = spec.cells[slot.cell];
      RunRequest req;
      req.config = cell.config;
      req.results_root = f.results;
      req.store = f.store;
      req.interrupted = &InterruptFlag();
      req.matrix = {{"id", id}, {"name", spec.name}, {"cell", cell.key}, {"repeat", slot.repeat}};
      {
        std::lock_guard<std::mutex> lock(mu);
        ++running;
        Status("matrix " + StatusText(done, running, total, hangs, elapsed()));
      }
      RunOutcome out;
      bool go_on = true;
      try {
        out = RunOnPool(req, pool.get());
      } catch (const std::exception& e) {
        out.verdict = Verdict::kInfraError;
        out.title = std::string("blackout failed: ") + e.what();
        go_on = false;  // the store or the results root: every run would fail so
      }
      std::lock_guard<std::mutex> lock(mu);
      --running;
      ++done;
      if (IsHang(out.verdict)) ++hangs;
      if (out.interrupted) interrupted = true;
      ClearStatus();
      std::printf("%s #%d: %s: %s\n", cell.key.c_str(), slot.repeat + 1, VerdictName(out.verdict),
                  TerminalSafe(out.title).c_str());
      std::fflush(stdout);
      Status("matrix " + StatusText(done, running, total, hangs, elapsed()));
      return go_on && !out.interrupted && !out.config_error;
    });
    ClearStatus();
    if (pool && pool->size() > 1) std::printf("%s", pool->UsageTable(elapsed()).c_str());
  }
  if (interrupted || InterruptFlag()) {
    std::fprintf(stderr, "blackout: matrix %s interrupted; run the same command again to finish it\n", id.c_str());
    return kExitInterrupted;
  }

  if (f.no_compare) return 0;  // a shard: the comparison comes once the shards are merged
  std::vector<RunRow> runs = store.Runs(RunsOf(id));
  std::string baseline = ResolveBaseline(store, spec, id, f.baseline.empty() ? spec.baseline : f.baseline);
  std::vector<RunRow> base_runs;
  if (!baseline.empty()) base_runs = store.Runs(RunsOf(baseline));
  MatrixReport report = CompareMatrix(spec, id, runs, baseline, base_runs);
  if (report.complete) store.RecordMatrix({id, spec.name, "", UtcStamp("%Y-%m-%dT%H:%M:%SZ"), MatrixSpecJson(spec).dump()});
  std::string dir = WriteMatrixReports(store, f.results, spec, report);
  if (f.json) {
    std::printf("%s\n", MatrixReportJson(report).dump(2).c_str());
  } else {
    std::printf("%s", MatrixReportText(report).c_str());
    std::printf("reports: %s/{comparison.txt,comparison.json,report.html,junit.xml,kcidb.json}\n", dir.c_str());
  }
  int rc = report.ExitCode(spec.infra_limit);
  if (!spec.notify.empty() && (report.regressions() > 0 || spec.notify.always)) {
    std::vector<std::string> problems = SendNotifications(spec.notify, MatrixMessage(report, dir + "/report.html"));
    for (const std::string& p : problems) std::fprintf(stderr, "blackout: notify: %s\n", p.c_str());
    // Nobody was told: that is an infra problem even when nothing regressed.
    if (!problems.empty() && rc == 0) rc = 2;
  }
  if (spec.bisect && report.regressions() > 0) {
    if (!report.complete) {
      Log("on_regression: the bisection waits for the whole matrix (its shards merged)");
    } else if (!BisectRegressions(f, spec, store, report, runs, base_runs)) {
      return kExitInterrupted;
    }
  }
  return rc;
}

}  // namespace

void AddMatrixCommands(CLI::App& app, CommandTable& table) {
  auto f = std::make_shared<MatrixFlags>();
  CLI::App* cmd = app.add_subcommand(
      "matrix",
      "run a kernel matrix (kernels x guests x workloads x repeats) and compare each cell with a baseline matrix; "
      "exit 0 no regression, 1 regression, 2 infra problems, 64 bad input");
  cmd->add_option("-c,--config", f->config_path, "the matrix file (YAML)")->required();
  cmd->add_option("--results", f->results, "results root (its store is blackout.db)")->capture_default_str();
  AddStoreOption(cmd, f->store);
  cmd->add_option("--id", f->id, "the matrix's id (default NAME-YYYYMMDD, UTC: a night's runs resume into it)");
  cmd->add_option("--shard", f->shard, "run only shard I of N (1-based; cell i goes to shard i % N + 1)")
      ->capture_default_str();
  cmd->add_option("--baseline", f->baseline, "previous (the newest finished matrix of the same name), a matrix id, or none");
  cmd->add_option("--host", f->hosts, "a libvirt host to run on (repeatable: a pool)")->type_size(1)->allow_extra_args(false);
  cmd->add_option("--hosts", f->hosts_file, "a hosts file: a pool of hosts");
  CLI::Option* compare_only =
      cmd->add_flag("--compare-only", f->compare_only, "run nothing: compare what the store holds (after shards merged)");
  cmd->add_flag("--no-compare", f->no_compare, "run the shard's cells and stop (exit 0): compare after merging")
      ->excludes(compare_only);
  cmd->add_flag("--json", f->json, "print the comparison as JSON");
  table.Add(cmd, [f] { return CmdMatrix(*f); });
}

}  // namespace blackout
