// blackout: finds and bisects kernel hangs in Xen PV guests.
//
// main() parses flags, dispatches to a subcommand and maps its outcome to an
// exit code. Everything else lives in the libraries the tests link.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include "base/error.h"
#include "base/log.h"
#include "base/units.h"
#include "base/fsutil.h"
#include "base/error.h"
#include "harness/analyze.h"
#include "kernels/catalogue.h"
#include "kernels/kernel.h"
#include "harness/bisect_run.h"
#include "harness/bisect_sim.h"
#include "harness/config.h"
#include "harness/results_cmd.h"
#include "harness/run.h"
#include "results/store.h"
#include "results/verdict.h"
#include "workloads/workload.h"

#ifndef BLACKOUT_VERSION
#define BLACKOUT_VERSION "dev"
#endif

namespace blackout {
namespace {

std::atomic<bool> g_interrupted{false};

void OnSignal(int) { g_interrupted = true; }

void InstallSignalHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

const char kExitCodes[] = R"(Exit codes of run:
  0 pass          no heartbeat gap over the stall threshold, workload finished
  1 stall         heartbeats paused past the stall threshold, then resumed
  2 lockup        no heartbeat for the lockup timeout, or a kernel lockup report
  3 crash         panic, Oops, BUG, Xen domain crash
  4 boot-failure  the first heartbeat never came
  5 infra-error   host or harness fault, never the kernel's
  6 build-failure a git kernel did not build
  64 bad usage or config    130 interrupted)";

const char kTestExitCodes[] = R"(Exit codes of test (for git bisect run):
  0   good: no run's verdict is in --bad (with --runs or --p: all runs passed)
  1   bad: a run's verdict is in --bad (the runs stop at the first)
  125 skip: boot-failure, infra-error, build-failure, or this commit's kernel
      cannot be used (image missing, not a bzImage, no Xen PV support)
  128 a flag, the run config or the workload file is wrong, or the host failed
      before the run could start (e.g. --results not writable): git bisect run stops
  130 interrupted (git bisect run stops))";

const char kBisectExitCodes[] = R"(Exit codes of bisect start and resume:
  0 found: one candidate holds 1 - alpha
  1 ended without a culprit: undecided, no-repro or budget (see the report)
  5 infra-error: the host or harness failed
  64 bad usage or plan    130 interrupted (bisect resume continues))";

struct RunFlags {
  std::string config_path;
  std::string results = "blackout-results";
  std::string kernel;
  std::string workload;
  std::string duration;
  std::string accel;
  bool keep_scratch = false;
  bool console = false;
  bool dump_memory = false;
  std::string console_cap;
};

// A catalogue name, else package[=version].
KernelSpec SpecByName(const std::string& name) {
  if (const CatalogueKernel* k = BuiltinCatalogue().Find(name)) return k->spec;
  KernelSpec s;
  size_t eq = name.find('=');
  s.package = name.substr(0, eq);
  s.version = eq == std::string::npos ? "" : name.substr(eq + 1);
  return s;
}

// The run the flags ask for (config file, then flags over it). Throws
// ConfigError.
RunRequest RequestFromFlags(const RunFlags& f) {
  RunConfig config = f.config_path.empty() ? DefaultConfig() : LoadConfig(f.config_path);
  // Flags override the file.
  if (!f.kernel.empty()) config.kernel = SpecByName(f.kernel);
  if (!f.workload.empty()) {
    config.workload = WorkloadByNameOrFile(f.workload, config.workload);
    std::vector<std::string> misfits = WorkloadMisfits(config.workload, config.guest.vcpus);
    for (std::string& m : misfits) m = "--workload " + f.workload + ": " + m;
    if (!misfits.empty()) throw ConfigError(misfits);
  }
  if (!f.duration.empty()) {
    auto d = ParseDuration(f.duration);
    if (!d || *d < 1) throw ConfigError({"--duration: '" + f.duration + "' is not a duration of at least 1s"});
    config.workload.duration_s = *d;
  }
  if (!f.accel.empty()) config.accel = f.accel;

  RunRequest req;
  req.config = config;
  req.results_root = f.results;
  req.keep_scratch = f.keep_scratch;
  if (!f.console_cap.empty()) {
    auto cap = ParseSize(f.console_cap);
    if (!cap || *cap < (64u << 10)) {
      throw ConfigError({"--console-cap: '" + f.console_cap + "' is not a size of at least 64K"});
    }
    req.console_cap = *cap;
  }
  req.echo_console = f.console;
  req.dump_memory = f.dump_memory;
  req.interrupted = &g_interrupted;
  return req;
}

// Runs it and prints the verdict line; returns run's exit code.
int Execute(const RunRequest& req) {
  RunOutcome out = RunOnce(req);
  std::printf("%s: %s (%s)\n", VerdictName(out.verdict), out.title.c_str(), out.run_dir.c_str());
  std::fflush(stdout);
  if (out.config_error) return kExitUsage;
  if (out.interrupted) return kExitInterrupted;
  return VerdictExitCode(out.verdict);
}

int CmdRun(const RunFlags& f) { return Execute(RequestFromFlags(f)); }

struct AnalyzeFlags {
  std::string path;
  std::string nonce;
  int vcpus = 0;
  std::string stall = "2s";
  std::string lockup = "30s";
  bool json = false;
};

// One line per notable event, for people.
std::string Describe(const DetectorEvent& e) {
  const nlohmann::json& d = e.data;
  if (e.type == "report") {
    return d["kind"].get<std::string>() + ": " +
           ShownTitle(d["title"].get<std::string>(), d.value("discounted", std::string()));
  }
  if (e.type == "freeze") {
    char buf[160];
    std::snprintf(buf, sizeof buf, "%.2fs %s freeze of vCPU %s (%s)", d["length_s"].get<double>(),
                  d["whole_guest"].get<bool>() ? "whole-guest" : "partial", d["vcpus"].dump().c_str(),
                  d["cause"].get<std::string>().c_str());
    return buf;
  }
  if (e.type == "agent") return "agent " + d.value("event", std::string("?"));
  return d.dump();
}

int CmdAnalyze(const AnalyzeFlags& f) {
  AnalyzeOptions o;
  o.nonce = f.nonce;
  o.vcpus = f.vcpus;
  auto stall = ParseDuration(f.stall);
  auto lockup = ParseDuration(f.lockup);
  if (!stall || !lockup) throw ConfigError({"--stall/--lockup: not a duration"});
  o.stall_s = *stall;
  o.lockup_s = *lockup;
  std::string text;
  try {
    text = ReadFile(f.path);
  } catch (const InfraError& e) {
    throw ConfigError({e.what()});
  }
  Analysis a = AnalyzeConsole(text, o);
  if (f.json) {
    nlohmann::json events = nlohmann::json::array();
    for (const DetectorEvent& e : a.events) {
      nlohmann::json j = e.data;
      j["t"] = e.t;
      j["type"] = e.type;
      events.push_back(j);
    }
    nlohmann::json freezes = nlohmann::json::array();
    for (const Freeze& fr : a.freezes) freezes.push_back(FreezeJson(fr));
    nlohmann::json out = {{"verdict", VerdictName(a.verdict)}, {"title", a.title}, {"nonce", a.nonce},
                          {"vcpus", a.vcpus}, {"freezes", freezes}, {"events", events}, {"stats", a.stats}};
    std::printf("%s\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    for (const DetectorEvent& e : a.events) {
      if (e.type == "agent" || e.type == "stop" || e.type == "verdict") continue;
      std::printf("[+%.3f] %-15s %s\n", e.t, e.type.c_str(), StripEscapes(Describe(e)).c_str());
    }
    std::printf("%s: %s\n", VerdictName(a.verdict), StripEscapes(a.title).c_str());
  }
  return VerdictExitCode(a.verdict);
}

struct SimulateFlags {
  std::vector<int> n = {64, 1024};
  std::vector<double> p = {0.1, 0.3, 0.5, 1.0};
  int trials = 1000;
  double alpha = 0.01;
  double q = 0;
  int slots = 1;
  uint64_t seed = 1;
  double told_p = 1;
};

// The engine against a synthetic world, beside git bisect with k repeats tuned
// to the same accuracy and the information bound log2(n)/C(p).
int CmdSimulate(const SimulateFlags& f) {
  char known_title[32] = "bayes, p known";
  if (f.told_p != 1) std::snprintf(known_title, sizeof known_title, "bayes, told %gp", f.told_p);
  std::printf("%6s %5s | %-17s | %-17s %7s | %-20s %6s\n", "n", "p", "bayes, p unknown", known_title, "bound",
              "git bisect (k)", "ratio");
  for (int n : f.n) {
    for (double p : f.p) {
      SimConfig c;
      c.n = n;
      c.p = p;
      c.q = f.q;
      c.alpha = f.alpha;
      c.slots = f.slots;
      c.trials = f.trials;
      c.seed = f.seed;
      c.told_p = f.told_p;
      SimResult unknown = SimulateBayes(c);
      c.p_known = true;
      SimResult known = SimulateBayes(c);
      c.p_known = false;
      int k = 0;
      SimResult git = TuneGitBisect(c, 1 - f.alpha, &k);
      double bound = std::log2(static_cast<double>(n)) / ZChannelCapacity(p);
      std::printf("%6d %5.2f | acc %.3f %7.1f | acc %.3f %7.1f %7.1f | acc %.3f %7.1f (%2d) %6.2f", n, p,
                  unknown.accuracy, unknown.mean_runs, known.accuracy, known.mean_runs, bound, git.accuracy,
                  git.mean_runs, k, unknown.mean_runs / git.mean_runs);
      // With several slots the wall time is the rounds, not the runs.
      if (f.slots > 1) std::printf(" | rounds %.1f / %.1f", unknown.mean_rounds, known.mean_rounds);
      std::printf("\n");
      std::fflush(stdout);
    }
  }
  std::printf("runs are means over %d trials; ratio = bayes (p unknown) / git bisect%s\n", f.trials,
              f.slots > 1 ? "; rounds: p unknown / p known, with git bisect's rounds its runs" : "");
  return 0;
}

// The real world of a bisection: each candidate is one `blackout run`.
// With a git build step, the candidate is built first; a failed build is a skip.
class RunWorld : public BisectWorld {
 public:
  RunWorld(std::string results, const BisectPlan& plan, std::string dir)
      : results_(std::move(results)), plan_(plan), dir_(std::move(dir)) {}
  CandidateResult Run(const BisectCandidate& c) override {
    RunRequest req;
    req.config = c.config;
    if (plan_.build) {
      try {
        Log("building " + c.name.substr(0, 12));
        req.config = BuildCandidate(*plan_.build, c, dir_);
      } catch (const BuildFailed& e) {
        CandidateResult r;
        r.title = e.what();
        r.run_dir = e.log;
        r.build_failed = true;
        return r;
      }
    }
    req.results_root = results_;
    req.interrupted = &g_interrupted;
    req.bisection = std::filesystem::path(dir_).filename().string();
    RunOutcome out = RunOnce(req);
    return {out.verdict, out.title, out.run_dir, out.interrupted};
  }
  // Runs of packaged kernels share nothing but locked caches and the store;
  // git builds share the bisection's one checkout, so they take turns.
  bool Parallel() const override { return !plan_.build; }

 private:
  std::string results_;
  const BisectPlan& plan_;
  std::string dir_;
};

struct BisectFlags {
  std::string config_path;
  std::string results = "blackout-results";
  std::string good, bad;
};

std::string BisectRoot(const BisectFlags& f) { return f.results + "/bisect"; }

// The bisection `current` points at, with its plan re-read from the log.
std::pair<std::string, BisectPlan> CurrentBisection(const BisectFlags& f) {
  std::string pointer = BisectRoot(f) + "/current";
  std::string id;
  try {
    id = ReadFile(pointer);
  } catch (const InfraError&) {
    throw ConfigError({"no bisection in progress under " + BisectRoot(f) + " (start one with blackout bisect start)"});
  }
  id = id.substr(0, id.find('\n'));
  std::string dir = BisectRoot(f) + "/" + id;
  BisectRecord rec = LoadBisectLog(dir);
  BisectPlan plan = ParseBisectPlan(rec.config.value("yaml", ""), rec.config.value("source", "bisect plan"),
                                    rec.config.value("good", ""), rec.config.value("bad", ""));
  return {dir, plan};
}

// The bisection's row in the results store, as of its log.
void IndexBisection(const BisectFlags& f, const BisectPlan& plan, const std::string& dir, const std::string& status) {
  Store store(Store::PathIn(f.results));
  store.RecordBisection(BisectionSummary(plan, LoadBisectLog(dir), dir, status));
}

BisectEnd Drive(const BisectFlags& f, const BisectPlan& plan, const std::string& dir) {
  RunWorld world(f.results, plan, dir);
  IndexBisection(f, plan, dir, "running");
  BisectEnd end = DriveBisection(
      plan, dir, world, [](const std::string& s) { Log(s); }, [&] { IndexBisection(f, plan, dir, "running"); });
  IndexBisection(f, plan, dir, BisectEndName(end));
  return end;
}

int FinishBisection(const BisectPlan& plan, const std::string& dir, BisectEnd end) {
  std::printf("%s", DescribeBisection(plan, LoadBisectLog(dir)).c_str());
  std::printf("bisection %s (%s)\n", BisectEndName(end), dir.c_str());
  switch (end) {
    case BisectEnd::kFound: return 0;
    case BisectEnd::kInterrupted: return kExitInterrupted;
    default: return 1;
  }
}

int CmdBisectStart(const BisectFlags& f) {
  std::string text;
  try {
    text = ReadFile(f.config_path);
  } catch (const InfraError& e) {
    throw ConfigError({e.what()});
  }
  BisectPlan plan = ParseBisectPlan(text, f.config_path, f.good, f.bad);
  std::string pointer = BisectRoot(f) + "/current";
  if (std::ifstream(pointer)) {
    throw ConfigError({"a bisection is in progress under " + BisectRoot(f) +
                       " (blackout bisect resume, or blackout bisect reset to start over)"});
  }
  std::string id = NewNonce().substr(0, 12);
  std::string dir = BisectRoot(f) + "/" + id;
  std::vector<std::string> names;
  for (const BisectCandidate& c : plan.candidates) names.push_back(c.name);
  CreateBisectLog(dir,
                  {{"yaml", text},
                   {"source", f.config_path},
                   {"good", f.good},
                   {"bad", f.bad},
                   {"started_at", UtcStamp("%Y-%m-%dT%H:%M:%SZ")}},
                  names);
  WriteFileAtomic(pointer, id + "\n");
  Log("bisection " + id + " over " + std::to_string(names.size()) + " candidates in " + dir);
  return FinishBisection(plan, dir, Drive(f, plan, dir));
}

int CmdBisectResume(const BisectFlags& f) {
  auto [dir, plan] = CurrentBisection(f);
  return FinishBisection(plan, dir, Drive(f, plan, dir));
}

int CmdBisectStatus(const BisectFlags& f) {
  auto [dir, plan] = CurrentBisection(f);
  std::printf("%s", DescribeBisection(plan, LoadBisectLog(dir)).c_str());
  std::printf("bisection in %s\n", dir.c_str());
  return 0;
}

int CmdBisectLog(const BisectFlags& f) {
  auto [dir, plan] = CurrentBisection(f);
  std::printf("%s", ReadFile(dir + "/log.jsonl").c_str());
  return 0;
}

int CmdBisectReset(const BisectFlags& f) {
  std::string pointer = BisectRoot(f) + "/current";
  if (std::remove(pointer.c_str()) != 0) {
    throw ConfigError({"no bisection in progress under " + BisectRoot(f)});
  }
  std::printf("bisection reset (its log stays in %s)\n", BisectRoot(f).c_str());
  return 0;
}

// `blackout test` answers git bisect run: 0 good, 1 bad, 125 skip. git bisect
// run counts 1..127 (but 125) as bad and stops at anything over 127, so a
// problem that is the same for every commit (a flag, the run config, the
// workload file, a results store it cannot open) exits 128: it must stop the
// bisection, not skip every commit (125) or call it bad (64, 5). What depends
// on the commit (its kernel image missing or no bzImage, no Xen PV support, a
// failed build, a boot that never gave a heartbeat) and a run's infra-error
// verdict are skips.
constexpr int kExitStopBisect = 128;

int StopBisect(const std::vector<std::string>& problems) {
  for (const std::string& p : problems) std::fprintf(stderr, "blackout: %s\n", p.c_str());
  std::fprintf(stderr, "blackout: test exits %d so that git bisect run stops\n", kExitStopBisect);
  return kExitStopBisect;
}

struct TestFlags {
  std::vector<std::string> bad = {"lockup", "stall", "crash"};
  int runs = 0;        // at most this many runs; 0: from p, else one
  double p = 0;        // the hang rate per run of a bad build, when known
  double alpha = 0.01; // with p: the chance a bad build passes them all
};

// One run, or up to N for a hang that shows only sometimes (bad at the first
// bad verdict, good when all pass): git bisect run's model, with N chosen
// from the hang rate instead of guessed.
int CmdTest(const RunFlags& f, const TestFlags& t) {
  std::set<Verdict> bad;
  RunRequest req;
  int runs = 1;
  try {
    for (const std::string& b : t.bad) {
      auto v = ParseVerdict(b);
      if (!v || *v == Verdict::kPass || *v == Verdict::kBootFailure || *v == Verdict::kInfraError ||
          *v == Verdict::kBuildFailure) {
        throw ConfigError({"--bad: '" + b + "' is not one of stall, lockup, crash"});
      }
      bad.insert(*v);
    }
    if (t.runs > 0 && t.p > 0) throw ConfigError({"give --runs or --p, not both"});
    if (t.p > 0) runs = RunsToTrust(t.p, t.alpha);
    if (t.runs > 0) runs = t.runs;
    req = RequestFromFlags(f);
  } catch (const ConfigError& e) {
    return StopBisect(e.problems());
  }
  for (int i = 1; i <= runs; ++i) {
    std::string which = "run " + std::to_string(i) + " of " + std::to_string(runs);
    if (runs > 1) Log("test: " + which);
    int code;
    try {
      code = Execute(req);
    } catch (const Error& e) {
      return StopBisect({e.what()});
    }
    if (code == kExitInterrupted) return code;
    if (code == kExitUsage || code == VerdictExitCode(Verdict::kBootFailure) ||
        code == VerdictExitCode(Verdict::kInfraError) || code == VerdictExitCode(Verdict::kBuildFailure)) {
      Log("test: skip (" + which + ")");
      return 125;
    }
    for (Verdict v : bad) {
      if (code == VerdictExitCode(v)) {
        Log("test: bad (" + which + ")");
        return 1;
      }
    }
  }
  if (runs > 1) {
    std::string why;
    if (t.p > 0) {
      char buf[160];
      std::snprintf(buf, sizeof buf, ": a build that hangs in %.0f%% of its runs passes %d in a row %.2f%% of the time",
                    100 * t.p, runs, 100 * std::pow(1 - t.p, runs));
      why = buf;
    }
    Log("test: good (" + std::to_string(runs) + " runs passed)" + why);
  }
  return 0;
}

std::string Size(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fM", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

// Whether a catalogue kernel is in the cache, without fetching it.
std::string CachedEntry(const KernelSpec& spec) {
  if (spec.source == "apt" && !spec.version.empty()) {
    std::string key = spec.package + "_" + spec.version;
    for (char& c : key) {
      if (c == ':' || c == '/') c = '_';
    }
    std::string dir = CacheDir() + "/apt/" + key;
    if (std::ifstream(dir + "/.complete")) return dir;
  }
  return "";
}

int CmdKernelsList() {
  const Catalogue& cat = BuiltinCatalogue();
  for (const CatalogueKernel& k : cat.kernels) {
    std::printf("%-20s %-48s %s\n", k.name.c_str(), k.spec.Describe().c_str(),
                CachedEntry(k.spec).empty() ? "" : "cached");
  }
  for (const CatalogueSeries& s : cat.series) {
    std::printf("series %s: %zu kernels, %s .. %s\n", s.name.c_str(), s.kernels.size(), s.kernels.front().c_str(),
                s.kernels.back().c_str());
  }
  std::string fragments;
  for (const std::string& f : BuiltinFragmentNames()) fragments += (fragments.empty() ? "" : ", ") + f;
  std::printf("config fragments for git kernels (kernels/configs): %s\n", fragments.c_str());
  return 0;
}

int CmdKernelsFetch(const std::string& name, bool show) {
  KernelSpec spec = SpecByName(name);
  KernelArtifact k = FetchKernel(spec, CacheDir());
  uint64_t bytes = 0;
  for (const CacheEntryInfo& e : ListCache(CacheDir())) {
    if (e.path == k.dir) bytes = e.bytes;
  }
  std::printf("name:     %s\nsource:   %s\npackage:  %s\nversion:  %s\nrelease:  %s\nsha256:   %s\n"
              "xen pv:   %s\nsize:     %s unpacked\ncached:   %s\n",
              name.c_str(), spec.Describe().c_str(), k.package.c_str(), k.version.c_str(), k.release.c_str(),
              k.sha256.c_str(), k.xen_pv ? "yes (CONFIG_XEN_PV=y)" : "NO: cannot boot as a Xen PV guest",
              Size(bytes).c_str(), k.dir.c_str());
  (void)show;
  return 0;
}

int CmdKernelsGc(const std::string& max) {
  auto bytes = ParseSize(max);
  if (!bytes) throw ConfigError({"--max-size: '" + max + "' is not a size like 10G"});
  auto removed = TrimCache(CacheDir(), *bytes);
  for (const CacheEntryInfo& e : removed) std::printf("removed %s (%s)\n", e.path.c_str(), Size(e.bytes).c_str());
  uint64_t left = 0;
  for (const CacheEntryInfo& e : ListCache(CacheDir())) left += e.bytes;
  std::printf("cache %s: %s in use\n", CacheDir().c_str(), Size(left).c_str());
  return 0;
}

int CmdWorkloads() {
  for (const Workload& w : BuiltinWorkloads()) {
    std::printf("%-18s %6s  %s\n", w.name.c_str(), FormatSeconds(w.duration_s).c_str(), w.description.c_str());
  }
  return 0;
}

// The definition itself: a starting point to copy into a run config.
int CmdWorkloadShow(const std::string& name) {
  std::string yaml = BuiltinWorkloadYaml(name);
  if (yaml.empty()) throw ConfigError({"unknown workload '" + name + "' (see: blackout workloads list)"});
  std::fputs(yaml.c_str(), stdout);
  return 0;
}

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
  if (with_limit) {
    app->add_option("--limit", f.limit, "at most this many runs, newest first (0: all)");
    app->add_flag("--oldest-first", f.oldest_first, "oldest first");
  }
}

int Main(int argc, char** argv) {
  CLI::App app{"blackout: boots Xen PV guests, drives IO and scheduler stress, and detects\n"
               "lockups and short freezes from per-vCPU heartbeats on the serial console."};
  app.set_version_flag("--version", BLACKOUT_VERSION);
  app.require_subcommand(1);
  bool quiet = false;
  app.add_flag("-q,--quiet", quiet, "print only the verdict line");

  RunFlags rf;
  CLI::App* run = app.add_subcommand("run", "boot a guest, run a workload, print the verdict");
  run->add_option("-c,--config", rf.config_path, "YAML run config (default: the embedded default)");
  run->add_option("--results", rf.results, "results root; each run gets a directory in it")
      ->capture_default_str();
  run->add_option("--kernel", rf.kernel, "catalogue name or package[=version] (default: linux-image-amd64)");
  run->add_option("--workload", rf.workload,
                  "built-in workload name (see: blackout workloads list), or a workload YAML file");
  run->add_option("--duration", rf.duration, "workload duration, e.g. 60s, 10m, 8h");
  run->add_option("--accel", rf.accel, "auto, kvm or tcg")->check(CLI::IsMember({"auto", "kvm", "tcg"}));
  run->add_flag("--keep-scratch", rf.keep_scratch, "keep the initramfs and sockets in /tmp");
  run->add_option("--console-cap", rf.console_cap,
                  "keep at most this much of console.raw and console.log: the first quarter and the "
                  "latest three quarters (default 64M)");
  run->add_flag("--console", rf.console, "show the guest console (without heartbeats) on stderr");
  run->add_flag("--dump-memory", rf.dump_memory, "on a bad verdict, save guest memory (ELF) as evidence");
  run->footer(kExitCodes);

  CLI::App* workloads = app.add_subcommand("workloads", "the built-in workloads (alone: the same as list)");
  CLI::App* wlist = workloads->add_subcommand("list", "each built-in workload with its duration and a line on what it does");
  std::string wname;
  CLI::App* wshow = workloads->add_subcommand("show", "print a built-in workload's YAML definition");
  wshow->add_option("name", wname, "workload name")->required();

  CLI::App* kernels = app.add_subcommand("kernels", "the kernel catalogue and cache");
  kernels->require_subcommand(1);
  CLI::App* klist = kernels->add_subcommand("list", "catalogue kernels and series, and which are cached");
  std::string kname, kmax = "20G";
  CLI::App* kfetch = kernels->add_subcommand("fetch", "fetch and unpack a kernel into the cache");
  kfetch->add_option("name", kname, "catalogue name or package[=version]")->required();
  CLI::App* kshow = kernels->add_subcommand("show", "version, source, Xen PV support, size (fetches if needed)");
  kshow->add_option("name", kname, "catalogue name or package[=version]")->required();
  CLI::App* kgc = kernels->add_subcommand("gc", "trim the cache to a size, least recently used first");
  kgc->add_option("--max-size", kmax, "keep at most this much")->capture_default_str();

  RunFlags tf;
  TestFlags testf;
  CLI::App* test = app.add_subcommand(
      "test", "a build judged for `git bisect run`: exit 0 good, 1 bad, 125 skip, 128 stop (see test --help)");
  test->add_option("-c,--config", tf.config_path, "YAML run config");
  test->add_option("--results", tf.results, "results root")->capture_default_str();
  test->add_option("--kernel", tf.kernel, "catalogue name or package[=version]");
  test->add_option("--workload", tf.workload, "built-in workload name, or a workload YAML file");
  test->add_option("--duration", tf.duration, "workload duration");
  test->add_option("--bad", testf.bad, "verdicts that count as bad")->capture_default_str();
  test->add_option("--runs", testf.runs, "run up to N times: bad at the first bad verdict, good if all pass")
      ->check(CLI::Range(1, 10000));
  test->add_option("--p", testf.p,
                   "the hang rate per run of a bad build, if known: runs as often as it takes for a bad "
                   "build to pass them all with at most --alpha")
      ->check(CLI::Range(0.001, 1.0));
  test->add_option("--alpha", testf.alpha, "with --p: the chance a bad build passes")
      ->check(CLI::Range(1e-9, 0.5))
      ->capture_default_str();
  test->footer(kTestExitCodes);

  SimulateFlags sf;
  BisectFlags bf;
  CLI::App* bisect = app.add_subcommand("bisect", "find the build that broke (or fixed) a flaky hang");
  bisect->require_subcommand(1);
  bisect->add_option("--results", bf.results, "results root (bisections live in its bisect/)")->capture_default_str();
  CLI::App* bstart = bisect->add_subcommand("start", "start a bisection from a plan and run it to the end");
  bstart->add_option("-c,--config", bf.config_path, "the bisect plan (YAML)")->required();
  bstart->add_option("--good", bf.good, "the old end: a series name or git revision (default: the plan's)");
  bstart->add_option("--bad", bf.bad, "the new end: a series name or git revision (default: the plan's)");
  bstart->footer(kBisectExitCodes);
  CLI::App* bresume = bisect->add_subcommand("resume", "continue the current bisection after a crash or Ctrl-C");
  bresume->footer(kBisectExitCodes);
  CLI::App* bstatus = bisect->add_subcommand("status", "posterior, runs so far, estimated p, runs left");
  CLI::App* blog = bisect->add_subcommand("log", "print the current bisection's log (JSON lines)");
  CLI::App* breset = bisect->add_subcommand("reset", "forget the current bisection (its log stays)");
  CLI::App* simulate =
      bisect->add_subcommand("simulate", "run the bisection engine against a synthetic world");
  simulate->add_option("--n", sf.n, "candidate counts")->capture_default_str();
  simulate->add_option("--p", sf.p, "hang probabilities on the bad side")->capture_default_str();
  simulate->add_option("--trials", sf.trials, "trials per cell")->capture_default_str();
  simulate->add_option("--alpha", sf.alpha, "stop when one culprit holds 1 - alpha")->capture_default_str();
  simulate->add_option("--q", sf.q, "false-positive rate on the good side")->capture_default_str();
  simulate->add_option("--slots", sf.slots, "runs per round (parallel guests)")->capture_default_str();
  simulate->add_option("--seed", sf.seed, "random seed")->capture_default_str();
  simulate->add_option("--told-p", sf.told_p,
                       "the p-known column tells the engine p times this (a plan's p: guessed low or high)")
      ->check(CLI::Range(0.01, 100.0))
      ->capture_default_str();

  ResultsFlags resf;
  CLI::App* results = app.add_subcommand("results", "the results store: list, show and import runs (alone: list)");
  results->add_option("--results", resf.results, "results root (its store is blackout.db)")->capture_default_str();
  AddFilters(results, resf.filter, true);
  results->add_flag("--json", resf.json, "print JSON");
  CLI::App* rlist = results->add_subcommand("list", "runs, newest first, filtered");
  AddFilters(rlist, resf.filter, true);
  rlist->add_flag("--json", resf.json, "print JSON");
  std::string run_id;
  CLI::App* rshow = results->add_subcommand("show", "one run: verdict, kernel, freezes, directory");
  rshow->add_option("run", run_id, "run id (or a unique prefix)")->required();
  rshow->add_flag("--json", resf.json, "print the run's result.json");
  CLI::App* rbis = results->add_subcommand("bisections", "bisections in the store: status, culprit, runs");
  rbis->add_flag("--json", resf.json, "print JSON");
  std::vector<std::string> import_dirs;
  CLI::App* rimport = results->add_subcommand("import", "index run directories that are not in the store yet");
  rimport->add_option("dirs", import_dirs, "results roots to scan (default: --results)");

  ReportFlags repf;
  CLI::App* report = app.add_subcommand("report", "write a report over runs in the store: html, junit, kcidb or json");
  report->add_option("--results", resf.results, "results root")->capture_default_str();
  report->add_option("--format", repf.format, "html, junit, kcidb or json")
      ->check(CLI::IsMember({"html", "junit", "kcidb", "json"}))
      ->capture_default_str();
  report->add_option("-o,--output", repf.output, "file to write (atomically); default stdout");
  report->add_option("--origin", repf.origin, "KCIDB origin: the CI system's name")->capture_default_str();
  report->add_option("--page-title", repf.title, "HTML page title")->capture_default_str();
  report->add_option("--detail", repf.detail, "HTML: runs shown with timelines (bad verdicts first)")
      ->capture_default_str();
  AddFilters(report, resf.filter, true);

  std::string cmp_a, cmp_b;
  double confidence = 0.95;
  CLI::App* compare = app.add_subcommand(
      "compare", "hang rates and freeze lengths of two kernels (or runs:ID,.. / bisection:ID), with the tests");
  compare->add_option("a", cmp_a, "A: kernel release or version glob, runs:ID,ID.. or bisection:ID")->required();
  compare->add_option("b", cmp_b, "B: the same forms")->required();
  compare->add_option("--results", resf.results, "results root")->capture_default_str();
  compare->add_option("--confidence", confidence, "confidence level")->capture_default_str();
  compare->add_option("--workload", resf.filter.workload, "only this workload (glob)");
  compare->add_option("--guest", resf.filter.guest, "only this guest profile");
  compare->add_option("--since", resf.filter.since, "only runs started on or after this date");
  compare->add_option("--until", resf.filter.until, "only runs started on or before this date");
  compare->add_flag("--json", resf.json, "print JSON");

  AnalyzeFlags af;
  CLI::App* analyze = app.add_subcommand("analyze", "judge a saved console log (console.log or a plain log)");
  analyze->add_option("log", af.path, "the console log")->required();
  analyze->add_option("--nonce", af.nonce, "the run's nonce (default: the first record's)");
  analyze->add_option("--vcpus", af.vcpus, "vCPUs expected (default: from the agent's hello)");
  analyze->add_option("--stall", af.stall, "stall threshold")->capture_default_str();
  analyze->add_option("--lockup", af.lockup, "lockup timeout")->capture_default_str();
  analyze->add_flag("--json", af.json, "print the analysis as JSON");
  analyze->footer("Exit code: the verdict's, as for run.");

  app.footer(kExitCodes);  // set last: subcommands would inherit it
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    if (code == 0) return 0;
    return test->parsed() ? StopBisect({}) : kExitUsage;
  }
  SetLogQuiet(quiet);
  InstallSignalHandlers();
  try {
    if (*run) return CmdRun(rf);
    if (*wshow) return CmdWorkloadShow(wname);
    if (*workloads || *wlist) return CmdWorkloads();
    if (*analyze) return CmdAnalyze(af);
    if (*simulate) return CmdSimulate(sf);
    if (*klist) return CmdKernelsList();
    if (*kfetch) return CmdKernelsFetch(kname, false);
    if (*kshow) return CmdKernelsFetch(kname, true);
    if (*kgc) return CmdKernelsGc(kmax);
    if (*bstart) return CmdBisectStart(bf);
    if (*bresume) return CmdBisectResume(bf);
    if (*bstatus) return CmdBisectStatus(bf);
    if (*blog) return CmdBisectLog(bf);
    if (*breset) return CmdBisectReset(bf);
    if (*test) return CmdTest(tf, testf);
    if (*rshow) return CmdResultsShow(resf, run_id);
    if (*rimport) return CmdResultsImport(resf, import_dirs);
    if (*rbis) return CmdResultsBisections(resf);
    if (*results) return CmdResultsList(resf);
    if (*report) return CmdReport(resf, repf);
    if (*compare) return CmdCompare(resf, cmp_a, cmp_b, confidence);
  } catch (const ConfigError& e) {
    for (const std::string& p : e.problems()) std::fprintf(stderr, "blackout: %s\n", p.c_str());
    return kExitUsage;
  } catch (const Error& e) {
    std::fprintf(stderr, "blackout: %s\n", e.what());
    return VerdictExitCode(Verdict::kInfraError);
  }
  return kExitUsage;
}

}  // namespace
}  // namespace blackout

int main(int argc, char** argv) { return blackout::Main(argc, argv); }
