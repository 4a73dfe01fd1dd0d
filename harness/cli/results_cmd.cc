#include "harness/cli/results_cmd.h"

#include "harness/cli/command.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "base/error.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "results/db.h"
#include "results/verdict.h"
#include "results/html_report.h"
#include "results/report.h"
#include "results/stats.h"

namespace blackout {
namespace {

// The store of a results root that exists: listing a root that was never
// used is a mistake worth saying, not an empty table. Reading commands never
// create a store (a root with run directories but no store reads as empty:
// results import indexes them); where they may write, they settle runs whose
// blackout died, and where they may not (a read-only copy) they only read.
std::unique_ptr<Store> OpenStore(const ResultsFlags& f, bool write = false) {
  std::string where = Store::Locate(f.results, f.store);
  if (IsPostgresUrl(where)) {
    if (!write) return std::make_unique<Store>(where, Store::ReadOnly{});
    auto store = std::make_unique<Store>(where);
    if (store->settled()) {
      std::fprintf(stderr, "blackout: %d run(s) left running by a blackout that died were settled\n", store->settled());
    }
    return store;
  }
  std::string path = where;
  if (!std::filesystem::exists(path) && !f.store.empty()) {
    if (!write) throw ConfigError({"--store: no store at " + path});
  } else if (!std::filesystem::exists(path)) {
    if (!std::filesystem::is_directory(f.results)) {
      throw ConfigError({"no results under " + f.results + " (use --results DIR, where blackout run wrote)"});
    }
    if (!write) return std::make_unique<Store>(":memory:");
  }
  bool writable = access(path.c_str(), W_OK) == 0 && access(f.results.c_str(), W_OK) == 0;
  if (!write && !writable) return std::make_unique<Store>(path, Store::ReadOnly{});
  auto store = std::make_unique<Store>(path);
  if (store->settled()) {
    std::fprintf(stderr, "blackout: %d run(s) left running by a blackout that died were settled\n", store->settled());
  }
  return store;
}

void CheckFilter(const RunFilter& f) {
  std::vector<std::string> problems;
  auto date = [&](const std::string& v, const char* flag) {
    if (v.empty()) return;
    bool ok = v.size() >= 10 && std::isdigit(static_cast<unsigned char>(v[0])) && v[4] == '-' && v[7] == '-';
    if (!ok) problems.push_back(std::string(flag) + ": '" + v + "' is not a date (YYYY-MM-DD[THH:MM:SSZ])");
  };
  date(f.since, "--since");
  date(f.until, "--until");
  static const char* const kVerdicts[] = {"pass",         "stall",       "lockup",        "crash",  "boot-failure",
                                          "infra-error", "build-failure", "running"};
  if (!f.verdict.empty() && std::find(std::begin(kVerdicts), std::end(kVerdicts), f.verdict) == std::end(kVerdicts)) {
    problems.push_back("--verdict: unknown verdict '" + f.verdict + "'");
  }
  if (f.limit < 0) problems.push_back("--limit: must be at least 0");
  if (!problems.empty()) throw ConfigError(problems);
}

std::string Pad(const std::string& s, size_t n) { return s.size() >= n ? s : s + std::string(n - s.size(), ' '); }

void Emit(const std::string& text, const std::string& output) {
  // Ctrl-C while the report was made: nothing is written, exit 130.
  CheckInterrupted("report (nothing written)");
  if (output.empty() || output == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  } else {
    WriteFileAtomic(output, text);
  }
}

// One side of a comparison, as a filter.
RunFilter SideFilter(const RunFilter& base, const std::string& side) {
  RunFilter f = base;
  f.limit = 0;
  if (side.rfind("runs:", 0) == 0) {
    std::stringstream ids(side.substr(5));
    for (std::string id; std::getline(ids, id, ',');) {
      if (!id.empty()) f.ids.push_back(id);
    }
    if (f.ids.empty()) throw ConfigError({"'" + side + "': no run ids after runs:"});
  } else if (side.rfind("bisection:", 0) == 0) {
    f.bisection = side.substr(10);
  } else {
    f.kernel = side;
  }
  return f;
}

Sample SampleOf(const Store& store, const RunFilter& f, const std::string& name) {
  Sample s;
  s.name = name;
  for (const RunRow& r : store.Runs(f)) {
    if (!IsJudged(r.verdict)) continue;  // the harness's fault, or no boot: says nothing of a hang
    ++s.runs;
    s.hangs += IsHang(r.verdict);
    if (r.freeze_count > 0) s.freeze_lengths.push_back(r.worst_gap_s);
  }
  return s;
}

}  // namespace

int CmdResultsList(const ResultsFlags& f) {
  CheckFilter(f.filter);
  auto store = OpenStore(f);
  std::vector<RunRow> rows = store->Runs(f.filter);
  if (f.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const RunRow& r : rows) out.push_back(RunRowJson(r));
    std::printf("%s\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }
  std::printf("%s %s %s %s %s %s %s\n", Pad("RUN", 25).c_str(), Pad("STARTED", 20).c_str(), Pad("KERNEL", 18).c_str(),
              Pad("WORKLOAD", 17).c_str(), Pad("VERDICT", 13).c_str(), Pad("WORST", 7).c_str(), "TITLE");
  for (const RunRow& r : rows) {
    char worst[32];
    std::snprintf(worst, sizeof worst, r.worst_gap_s > 0 ? "%.2fs" : "-", r.worst_gap_s);
    std::printf("%s %s %s %s %s %s %s\n", Pad(r.id, 25).c_str(), Pad(r.started_at, 20).c_str(),
                Pad(r.kernel, 18).c_str(), Pad(r.workload, 17).c_str(), Pad(r.verdict, 13).c_str(),
                Pad(worst, 7).c_str(), TerminalSafe(StripEscapes(r.title)).c_str());
  }
  std::fprintf(stderr, "%zu run(s)\n", rows.size());
  return 0;
}

int CmdResultsShow(const ResultsFlags& f, const std::string& run) {
  auto store = OpenStore(f);
  std::optional<RunRow> row = store->FindRun(run);
  if (!row) {
    // A unique prefix of an id will do.
    RunFilter all;
    std::vector<RunRow> hits;
    for (RunRow& r : store->Runs(all)) {
      if (r.id.rfind(run, 0) == 0) hits.push_back(std::move(r));
    }
    if (hits.size() > 1) throw ConfigError({"run '" + run + "' is ambiguous: " + std::to_string(hits.size()) + " runs start so"});
    if (hits.empty()) throw ConfigError({"no run '" + run + "' in " + (f.store.empty() ? Store::PathIn(f.results) : store->path())});
    row = hits[0];
  }
  nlohmann::json result = store->RunResult(row->id).value_or(nlohmann::json::object());
  if (f.json) {
    std::printf("%s\n", result.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }
  const RunRow& r = *row;
  std::printf("run         %s\nverdict     %s\ntitle       %s\nstarted     %s\nkernel      %s %s\n", r.id.c_str(),
              r.verdict.c_str(), TerminalSafe(StripEscapes(r.title)).c_str(), r.started_at.c_str(), r.kernel.c_str(), r.kernel_version.c_str());
  std::printf("workload    %s\nguest       %s (%s) on %s\n", r.workload.c_str(), r.guest.c_str(), r.accelerator.c_str(),
              r.host.c_str());
  if (r.first_heartbeat_s >= 0) std::printf("first beat  %.2fs\n", r.first_heartbeat_s);
  std::printf("total       %.1fs\n", r.total_s);
  if (!r.bisection.empty()) std::printf("bisection   %s\n", r.bisection.c_str());
  std::printf("directory   %s\n", r.path.c_str());
  std::vector<FreezeRow> freezes = store->Freezes(r.id);
  if (!freezes.empty()) std::printf("freezes:\n");
  for (const FreezeRow& fz : freezes) {
    std::printf("  at %8.2fs  %7.2fs  vCPU %-6s %s\n", fz.host_start_s, fz.length_s, fz.vcpus.c_str(), fz.cause.c_str());
  }
  if (result.contains("error") && result["error"].is_string()) {
    std::printf("error       %s\n", result["error"].get<std::string>().c_str());
  }
  return 0;
}

int CmdResultsImport(const ResultsFlags& f, const std::vector<std::string>& dirs) {
  std::vector<std::string> roots = dirs.empty() ? std::vector<std::string>{f.results} : dirs;
  if (!f.from.empty() && dirs.empty()) roots.clear();  // --from alone: only the other store
  for (const std::string& d : roots) {
    if (!std::filesystem::is_directory(d)) throw ConfigError({"import: " + d + " is not a directory"});
  }
  std::unique_ptr<Store> from;
  if (!f.from.empty()) {
    std::string where = Store::Locate("", f.from);
    if (!IsPostgresUrl(where) && !std::filesystem::is_regular_file(where)) {
      throw ConfigError({"--from: no store at " + where});
    }
    from = std::make_unique<Store>(where, Store::ReadOnly{});
  }
  // Other roots into this one (shards into a history): the first import makes it.
  if ((!dirs.empty() || from) && Store::Locate(f.results, f.store) == Store::PathIn(f.results)) MakeDirs(f.results);
  auto store = OpenStore(f, true);
  if (from && from->path() == store->path()) throw ConfigError({"--from: " + from->path() + " is the store itself"});
  int total = 0;
  for (const std::string& d : roots) total += ImportRunDirs(*store, d);
  if (from) total += ImportStore(*store, *from);
  std::printf("imported %d run(s)\n", total);
  return 0;
}

int CmdResultsBisections(const ResultsFlags& f) {
  auto store = OpenStore(f);
  std::vector<BisectionRow> rows = store->Bisections();
  if (f.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const BisectionRow& b : rows) {
      out.push_back({{"id", b.id}, {"path", b.path}, {"started_at", b.started_at}, {"updated_at", b.updated_at},
                     {"mode", b.mode}, {"search", b.search}, {"good", b.good}, {"bad", b.bad}, {"status", b.status},
                     {"culprit", b.culprit}, {"probability", b.probability}, {"runs", b.runs},
                     {"p_estimate", b.p_estimate}});
    }
    std::printf("%s\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }
  std::printf("%s %s %s %s %s %s\n", Pad("BISECTION", 13).c_str(), Pad("STARTED", 20).c_str(), Pad("STATUS", 11).c_str(),
              Pad("RUNS", 5).c_str(), Pad("P", 5).c_str(), "CULPRIT (PROBABILITY) IN GOOD..BAD");
  for (const BisectionRow& b : rows) {
    char runs[16], p[16];
    std::snprintf(runs, sizeof runs, "%d", b.runs);
    std::snprintf(p, sizeof p, "%.2f", b.p_estimate);
    std::printf("%s %s %s %s %s %s (%.2f%%) in %s..%s, %s %s\n", Pad(b.id, 13).c_str(), Pad(b.started_at, 20).c_str(),
                Pad(b.status, 11).c_str(), Pad(runs, 5).c_str(), Pad(p, 5).c_str(), b.culprit.c_str(),
                100 * b.probability, b.good.c_str(), b.bad.c_str(), b.mode.c_str(), b.search.c_str());
  }
  return 0;
}

int CmdReport(const ResultsFlags& f, const ReportFlags& r) {
  CheckFilter(f.filter);
  bool origin_ok = !r.origin.empty() && r.origin.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos;
  if (!origin_ok) throw ConfigError({"--origin: '" + r.origin + "' must be lowercase letters, digits and underscores (KCIDB)"});
  auto store = OpenStore(f);
  RunFilter filter = f.filter;
  std::vector<ReportRun> runs =
      LoadReportRuns(*store, filter, r.format != "html", [] { CheckInterrupted("report (nothing written)"); });
  std::string text;
  if (r.format == "html") {
    HtmlOptions o;
    o.title = r.title;
    o.detail = r.detail;
    text = HtmlReport(runs, o, [&](const RunRow& row) {
      return store->RunResult(row.id).value_or(nlohmann::json::object());
    });
  } else if (r.format == "junit") {
    text = JunitXml(runs);
  } else if (r.format == "kcidb") {
    text = KcidbJson(runs, r.origin).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } else if (r.format == "json") {
    text = RunsJson(runs).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } else {
    throw ConfigError({"--format: unknown format '" + r.format + "' (html, junit, kcidb, json)"});
  }
  Emit(text, r.output);
  if (!r.output.empty() && r.output != "-") {
    std::fprintf(stderr, "blackout: %s report of %zu run(s) in %s\n", r.format.c_str(), runs.size(), r.output.c_str());
  }
  return 0;
}

int CmdCompare(const ResultsFlags& f, const std::string& a, const std::string& b, double confidence) {
  CheckFilter(f.filter);
  if (!(confidence > 0.5 && confidence < 1)) throw ConfigError({"--confidence: must be between 0.5 and 1"});
  auto store = OpenStore(f);
  Sample sa = SampleOf(*store, SideFilter(f.filter, a), a);
  Sample sb = SampleOf(*store, SideFilter(f.filter, b), b);
  Comparison c = Compare(sa, sb, confidence);
  auto side = [&](const Sample& s, const Interval& ci) {
    nlohmann::json j = {{"name", s.name},
                        {"runs", s.runs},
                        {"hangs", s.hangs},
                        {"rate", s.runs ? static_cast<double>(s.hangs) / s.runs : 0.0},
                        {"rate_ci", {ci.low, ci.high}},
                        {"freezes", s.freeze_lengths.size()}};
    if (!s.freeze_lengths.empty()) {
      j["freeze_median_s"] = Quantile(s.freeze_lengths, 0.5);
      j["freeze_p95_s"] = Quantile(s.freeze_lengths, 0.95);
      j["freeze_max_s"] = Quantile(s.freeze_lengths, 1);
    }
    return j;
  };
  nlohmann::json out = {{"a", side(sa, c.a_rate)},
                        {"b", side(sb, c.b_rate)},
                        {"confidence", confidence},
                        {"fisher_p", c.fisher_p},
                        {"sentence", c.sentence}};
  if (c.lengths_compared) out["mann_whitney"] = {{"u", c.lengths.u}, {"p", c.lengths.p}};
  if (f.json) {
    std::printf("%s\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }
  for (const char* k : {"a", "b"}) {
    const nlohmann::json& s = out[k];
    std::printf("%s  %s: %d/%d hung (%.0f%%, %.0f%% CI %.0f%%-%.0f%%)", k[0] == 'a' ? "A" : "B",
                s["name"].get<std::string>().c_str(), s["hangs"].get<int>(), s["runs"].get<int>(),
                100 * s["rate"].get<double>(), 100 * confidence, 100 * s["rate_ci"][0].get<double>(),
                100 * s["rate_ci"][1].get<double>());
    if (s.contains("freeze_median_s")) {
      std::printf("; worst freeze per run: median %.2fs, p95 %.2fs, max %.2fs", s["freeze_median_s"].get<double>(),
                  s["freeze_p95_s"].get<double>(), s["freeze_max_s"].get<double>());
    }
    std::printf("\n");
  }
  std::printf("Fisher's exact test p=%.4f", c.fisher_p);
  if (c.lengths_compared) std::printf("; Mann-Whitney on freeze lengths U=%.1f p=%.4f", c.lengths.u, c.lengths.p);
  std::printf("\n%s\n", c.sentence.c_str());
  return 0;
}

namespace {

// The run filters shared by results, report and compare.
void AddFilters(CLI::App* app, RunFilter& f, bool with_limit) {
  app->add_option("--kernel", f.kernel, "kernel release or package version (glob: '6.1.0-5*')");
  app->add_option("--workload", f.workload, "workload name (glob)");
  app->add_option("--verdict", f.verdict, "one verdict: pass, stall, lockup, crash, boot-failure, infra-error, ...");
  app->add_option("--guest", f.guest, "guest profile: xen-pv-dom0, xen-pv-domu, hvm");
  app->add_option("--title", f.title, "a substring of the title (any case)");
  app->add_option("--since", f.since, "runs started on or after this date (YYYY-MM-DD or an ISO time)");
  app->add_option("--until", f.until, "runs started on or before this date");
  app->add_option("--bisection", f.bisection, "runs of one bisection (its id)");
  app->add_option("--matrix", f.matrix, "runs of one matrix (its id, e.g. nightly-20261201)");
  if (with_limit) {
    app->add_option("--limit", f.limit, "at most this many runs, newest first (0: all)");
    app->add_flag("--oldest-first", f.oldest_first, "oldest first");
  }
}

}  // namespace

void AddResultsCommands(CLI::App& app, CommandTable& table) {
  auto resf = std::make_shared<ResultsFlags>();
  CLI::App* results = app.add_subcommand("results", "the results store: list, show and import runs (alone: list)");
  results->add_option("--results", resf->results, "results root (its store is blackout.db)")->capture_default_str();
  AddFilters(results, resf->filter, true);
  results->add_flag("--json", resf->json, "print JSON");
  table.Add(results, [resf] { return CmdResultsList(*resf); });
  CLI::App* rlist = results->add_subcommand("list", "runs, newest first, filtered");
  AddFilters(rlist, resf->filter, true);
  rlist->add_flag("--json", resf->json, "print JSON");
  table.Add(rlist, [resf] { return CmdResultsList(*resf); });
  auto run_id = std::make_shared<std::string>();
  CLI::App* rshow = results->add_subcommand("show", "one run: verdict, kernel, freezes, directory");
  rshow->add_option("run", *run_id, "run id (or a unique prefix)")->required();
  rshow->add_flag("--json", resf->json, "print the run's result.json");
  table.Add(rshow, [resf, run_id] { return CmdResultsShow(*resf, *run_id); });
  CLI::App* rbis = results->add_subcommand("bisections", "bisections in the store: status, culprit, runs");
  rbis->add_flag("--json", resf->json, "print JSON");
  table.Add(rbis, [resf] { return CmdResultsBisections(*resf); });
  auto import_dirs = std::make_shared<std::vector<std::string>>();
  CLI::App* rimport = results->add_subcommand("import", "index run directories that are not in the store yet");
  rimport->add_option("dirs", *import_dirs, "results roots to scan (default: --results, unless --from)");
  rimport->add_option("--from", resf->from,
                      "copy another store's finished runs, bisections and matrices in (sqlite:PATH or "
                      "postgresql://...); again adds nothing");
  table.Add(rimport, [resf, import_dirs] { return CmdResultsImport(*resf, *import_dirs); });
  // `results SUB --results DIR` as well as `results --results DIR SUB`.
  for (CLI::App* sub : {results, rlist, rshow, rbis, rimport}) {
    if (sub != results) {
      sub->add_option("--results", resf->results, "results root (its store is blackout.db)")->capture_default_str();
    }
    AddStoreOption(sub, resf->store);
  }

  auto repf = std::make_shared<ReportFlags>();
  CLI::App* report = app.add_subcommand("report", "write a report over runs in the store: html, junit, kcidb or json");
  report->add_option("--results", resf->results, "results root")->capture_default_str();
  AddStoreOption(report, resf->store);
  report->add_option("--format", repf->format, "html, junit, kcidb or json")
      ->check(CLI::IsMember({"html", "junit", "kcidb", "json"}))
      ->capture_default_str();
  report->add_option("-o,--output", repf->output, "file to write (atomically); default stdout");
  report->add_option("--origin", repf->origin, "KCIDB origin: the CI system's name")->capture_default_str();
  report->add_option("--page-title", repf->title, "HTML page title")->capture_default_str();
  report->add_option("--detail", repf->detail, "HTML: runs shown with timelines (bad verdicts first), 0-1000")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  AddFilters(report, resf->filter, true);
  table.Add(report, [resf, repf] { return CmdReport(*resf, *repf); });

  auto cmp = std::make_shared<std::pair<std::string, std::string>>();
  auto confidence = std::make_shared<double>(0.95);
  CLI::App* compare = app.add_subcommand(
      "compare", "hang rates and freeze lengths of two kernels (or runs:ID,.. / bisection:ID), with the tests");
  compare->add_option("a", cmp->first, "A: kernel release or version glob, runs:ID,ID.. or bisection:ID")->required();
  compare->add_option("b", cmp->second, "B: the same forms")->required();
  compare->add_option("--results", resf->results, "results root")->capture_default_str();
  AddStoreOption(compare, resf->store);
  compare->add_option("--confidence", *confidence, "confidence level")->capture_default_str();
  compare->add_option("--workload", resf->filter.workload, "only this workload (glob)");
  compare->add_option("--guest", resf->filter.guest, "only this guest profile");
  compare->add_option("--since", resf->filter.since, "only runs started on or after this date");
  compare->add_option("--until", resf->filter.until, "only runs started on or before this date");
  compare->add_flag("--json", resf->json, "print JSON");
  table.Add(compare, [resf, cmp, confidence] { return CmdCompare(*resf, cmp->first, cmp->second, *confidence); });
}

}  // namespace blackout
