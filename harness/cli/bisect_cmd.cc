// `blackout bisect`: start, resume, status, log, reset and simulate.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/units.h"
#include "harness/bisect/driver.h"
#include "harness/bisect/simulate.h"
#include "harness/bisect/world.h"
#include "harness/cli/command.h"
#include "harness/config.h"
#include "harness/fleet.h"
#include "harness/run.h"
#include "results/store.h"

namespace blackout {
namespace {

const char kBisectExitCodes[] = R"(Exit codes of bisect start and resume:
  0 found: one candidate holds 1 - alpha
  1 ended without a culprit: undecided, no-repro or budget (see the report)
  5 infra-error: the host or harness failed
  64 bad usage or plan    130 interrupted (bisect resume continues))";

struct BisectFlags {
  std::string config_path;
  std::string results = "blackout-results";
  std::string store;
  std::string good, bad;
  std::vector<std::string> hosts;  // --host, repeatable: the runs go to these libvirt hosts
  std::string hosts_file;
  bool check = false;  // start --check: read the plan, say what it would bisect, run nothing
};

struct SimulateFlags {
  std::vector<int> n = {64, 1024};
  std::vector<double> p = {0.1, 0.3, 0.5, 1.0};
  int trials = 1000;
  double alpha = 0.01;
  double q = 0;
  int slots = 1;
  uint64_t seed = 1;
  double told_p = 1;
  std::vector<double> hang_time;  // mean seconds to hang: the time-to-hang world
  double weibull = 1;
  std::string shape = "unknown";  // the exposure engine's: unknown (a grid of Weibull shapes) or exponential
  int git_k = 0;  // git bisect's repeats per step; 0: the smallest k that reaches 1 - alpha (an oracle's)
  std::string duration = "180s";
  std::string overhead = "30s";
};

// git bisect's column: k repeats per step as --git-k says (what a user who
// does not know p would pick), else the smallest k that reaches 1 - alpha in
// the same world (what only someone who knew p could pick).
SimResult GitColumn(const SimConfig& c, const SimulateFlags& f, int* k) {
  if (f.git_k > 0) {
    *k = f.git_k;
    return SimulateGitBisect(c, f.git_k);
  }
  return TuneGitBisect(c, 1 - f.alpha, k);
}

// The time-to-hang world: the exposure engine (choosing run lengths) beside
// the coin engine and git bisect (k repeats tuned to the same accuracy), both
// with runs of the full duration, in guest-minutes (overhead included; a
// hang ends a run).
int CmdSimulateTime(const SimulateFlags& f) {
  std::optional<double> duration = ParseDuration(f.duration), overhead = ParseDuration(f.overhead);
  if (!duration || *duration < 1) throw ConfigError({"--duration: '" + f.duration + "' is not a duration of at least 1s"});
  if (!overhead) throw ConfigError({"--overhead: '" + f.overhead + "' is not a duration"});
  std::printf("runs of up to %gs (+%gs overhead); time to hang %s (shape %g); the exposure engine assumes %s\n",
              *duration, *overhead, f.weibull == 1 ? "exponential" : "Weibull", f.weibull,
              f.shape == "exponential" ? "an exponential" : "any shape from 0.5 to 2");
  std::printf("%6s %6s %5s | %-27s | %-27s | %-29s | %s\n", "n", "hang", "p(run)", "exposure, rate unknown",
              "coin, p unknown", "git bisect (k)", "coin/exposure");
  for (int n : f.n) {
    for (double mean : f.hang_time) {
      SimConfig c;
      c.n = n;
      c.alpha = f.alpha;
      c.trials = f.trials;
      c.seed = f.seed;
      c.mean_hang_s = mean;
      c.weibull_k = f.weibull;
      c.duration_s = *duration;
      c.overhead_s = *overhead;
      double p = SimHangProbability(c);
      c.p = p;
      c.exposure = true;
      if (f.shape == "exponential") c.shapes = {1};
      SimResult exposure = SimulateBayes(c);
      c.exposure = false;
      SimResult coin = SimulateBayes(c);
      int k = 0;
      SimResult git = GitColumn(c, f, &k);
      std::printf("%6d %5.0fs %5.2f | acc %.3f %6.1f %7.1f min | acc %.3f %6.1f %7.1f min | acc %.3f %6.1f %7.1f min (%2d) | %6.2f\n",
                  n, mean, p, exposure.accuracy, exposure.mean_runs, exposure.mean_guest_minutes, coin.accuracy,
                  coin.mean_runs, coin.mean_guest_minutes, git.accuracy, git.mean_runs, git.mean_guest_minutes, k,
                  coin.mean_guest_minutes / exposure.mean_guest_minutes);
      std::fflush(stdout);
    }
  }
  std::printf("means over %d trials: accuracy, runs, guest-minutes\n", f.trials);
  return 0;
}

// The engine against a synthetic world, beside git bisect with k repeats tuned
// to the same accuracy and the information bound log2(n)/C(p).
int CmdSimulate(const SimulateFlags& f) {
  if (!f.hang_time.empty()) return CmdSimulateTime(f);
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
      SimResult git = GitColumn(c, f, &k);
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
  Store store(Store::Locate(f.results, f.store));
  store.RecordBisection(BisectionSummary(plan, LoadBisectLog(dir), dir, status));
}

// The status line between steps: runs so far and the posterior's top.
void ShowPosterior(const BisectPlan& plan, const std::string& dir) {
  BisectRecord rec = LoadBisectLog(dir);
  BisectState st = Replay(plan, rec).State();
  char buf[200];
  std::snprintf(buf, sizeof buf, "bisect: %zu runs, most likely culprit %s at %.1f%% (stop at %.1f%%)",
                rec.steps.size(),
                st.best >= 0 ? plan.candidates[static_cast<size_t>(st.best)].name.substr(0, 40).c_str() : "?",
                100 * st.best_probability, 100 * (1 - plan.alpha));
  Status(buf, true);
}

BisectEnd Drive(const BisectFlags& f, const BisectPlan& plan, const std::string& dir) {
  // With hosts, each run takes a slot of the pool (a round's runs spread
  // over it); a host that fails a run is drained and the run goes elsewhere.
  std::unique_ptr<HostPool> pool;
  if (!f.hosts.empty() || !f.hosts_file.empty()) pool = OpenHostPool(HostsFromFlags(f.hosts, f.hosts_file), plan.candidates.front().config);
  auto t0 = std::chrono::steady_clock::now();
  RunWorld world(f.results, f.store, plan, dir, &InterruptFlag(), pool.get());
  IndexBisection(f, plan, dir, "running");
  BisectEnd end = DriveBisection(
      plan, dir, world, [](const std::string& s) { Log(s); },
      [&] {
        IndexBisection(f, plan, dir, "running");
        ShowPosterior(plan, dir);
      });
  IndexBisection(f, plan, dir, BisectEndName(end));
  if (pool) {
    ClearStatus();
    std::printf("%s", pool->UsageTable(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()).c_str());
  }
  return end;
}

int FinishBisection(const BisectPlan& plan, const std::string& dir, BisectEnd end) {
  ClearStatus();
  std::printf("%s", DescribeBisection(plan, LoadBisectLog(dir)).c_str());
  std::printf("bisection %s (%s)\n", BisectEndName(end), dir.c_str());
  switch (end) {
    case BisectEnd::kFound: return 0;
    case BisectEnd::kInterrupted: return kExitInterrupted;
    default: return 1;
  }
}

// A new bisection's directory and log (`config`: what was asked, kept for
// resume), made the results root's current one. Returns the directory.
std::string NewBisection(const BisectFlags& f, const BisectPlan& plan, nlohmann::json config) {
  std::string id = NewNonce().substr(0, 12);
  std::string dir = BisectRoot(f) + "/" + id;
  std::vector<std::string> names;
  for (const BisectCandidate& c : plan.candidates) names.push_back(c.name);
  config["started_at"] = UtcStamp("%Y-%m-%dT%H:%M:%SZ");
  CreateBisectLog(dir, config, names);
  WriteFileAtomic(BisectRoot(f) + "/current", id + "\n");
  Log("bisection " + id + " over " + std::to_string(names.size()) + " candidates in " + dir);
  return dir;
}

int CmdBisectStart(const BisectFlags& f) {
  std::string text = ReadConfigText(f.config_path, "bisect plan");
  BisectPlan plan = ParseBisectPlan(text, f.config_path, f.good, f.bad);
  if (f.check) {
    std::printf("%s: %zu candidates, %s from %s to %s, %s model, bad: %s\n", f.config_path.c_str(),
                plan.candidates.size(), plan.model.regression ? "regression" : "fix",
                plan.candidates.front().name.c_str(), plan.candidates.back().name.c_str(),
                plan.model.run_model == BisectModel::RunModel::kExposure ? "exposure" : "coin",
                BadRuleName(plan.bad));
    return 0;
  }
  std::string pointer = BisectRoot(f) + "/current";
  if (std::ifstream(pointer)) {
    throw ConfigError({"a bisection is in progress under " + BisectRoot(f) +
                       " (blackout bisect resume, or blackout bisect reset to start over)"});
  }
  std::string dir = NewBisection(f, plan, {{"yaml", text}, {"source", f.config_path}, {"good", f.good}, {"bad", f.bad}});
  return FinishBisection(plan, dir, Drive(f, plan, dir));
}

}  // namespace

BisectionRow BisectRegression(const RegressionBisect& r, bool* earlier) {
  *earlier = false;
  BisectFlags f;
  f.results = r.results;
  f.store = r.store;
  f.hosts = r.hosts;
  f.hosts_file = r.hosts_file;
  std::string pointer = BisectRoot(f) + "/current";
  std::string dir;
  BisectPlan plan;
  if (std::ifstream(pointer)) {
    // A killed matrix started again: its own bisection goes on; anybody
    // else's is left alone.
    auto [cur_dir, cur_plan] = CurrentBisection(f);
    if (LoadBisectLog(cur_dir).config.value("origin", nlohmann::json()) != r.origin) {
      throw InfraError("a bisection is in progress under " + BisectRoot(f) + " (" + cur_dir +
                       "): finish or reset it; the regression's bisection was not started");
    }
    dir = cur_dir;
    plan = cur_plan;
    Log("bisection of " + r.origin.value("cell", std::string("?")) + " resumed in " + dir);
  } else {
    // Ended before (the comparison run again): its row, not a second bisection.
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(BisectRoot(f), ec)) {
      std::string old_dir = entry.path().string();
      if (!std::filesystem::exists(old_dir + "/log.jsonl")) continue;
      BisectRecord rec;
      try {
        rec = LoadBisectLog(old_dir);
      } catch (const InfraError&) {
        continue;  // a torn or foreign log is not this one
      }
      if (rec.config.value("origin", nlohmann::json()) != r.origin) continue;
      Store store(Store::Locate(f.results, f.store));
      for (const BisectionRow& b : store.Bisections()) {
        if (b.path == old_dir && b.status != "running" && b.status != "interrupted") {
          *earlier = true;
          return b;
        }
      }
    }
    plan = ParseBisectPlan(r.yaml, r.source, r.good, r.bad);
    dir = NewBisection(f, plan,
                       {{"yaml", r.yaml}, {"source", r.source}, {"good", r.good}, {"bad", r.bad}, {"origin", r.origin}});
  }
  BisectEnd end = Drive(f, plan, dir);
  ClearStatus();
  std::fprintf(r.out, "%s", DescribeBisection(plan, LoadBisectLog(dir)).c_str());
  if (end == BisectEnd::kInterrupted) throw InterruptedError("bisection of the regression (matrix again resumes it)");
  // Ended: the results root is free for the next bisection.
  std::remove(pointer.c_str());
  return BisectionSummary(plan, LoadBisectLog(dir), dir, BisectEndName(end));
}

namespace {

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

}  // namespace

void AddBisectCommands(CLI::App& app, CommandTable& table) {
  auto sf = std::make_shared<SimulateFlags>();
  auto bf = std::make_shared<BisectFlags>();
  CLI::App* bisect = app.add_subcommand("bisect", "find the build that broke (or fixed) a flaky hang");
  bisect->require_subcommand(1);
  bisect->add_option("--results", bf->results, "results root (bisections live in its bisect/)")->capture_default_str();
  AddStoreOption(bisect, bf->store);
  CLI::App* bstart = bisect->add_subcommand("start", "start a bisection from a plan and run it to the end");
  bstart->add_option("-c,--config", bf->config_path, "the bisect plan (YAML)")->required();
  bstart->add_option("--good", bf->good, "the old end: a series name or git revision (default: the plan's)");
  bstart->add_option("--bad", bf->bad, "the new end: a series name or git revision (default: the plan's)");
  bstart->add_flag("--check", bf->check, "read the plan and say what it would bisect; boot nothing");
  CLI::App* bresume = bisect->add_subcommand("resume", "continue the current bisection after a crash or Ctrl-C");
  for (CLI::App* cmd : {bstart, bresume}) {
    cmd->add_option("--host", bf->hosts, "run on this libvirt host (repeatable: a pool, runs spread over its slots)")
        ->type_size(1)
        ->allow_extra_args(false);
    cmd->add_option("--hosts", bf->hosts_file, "a hosts file (hosts: [{uri: URI, slots: N}, ...])");
  }
  bstart->footer(kBisectExitCodes);
  table.Add(bstart, [bf] { return CmdBisectStart(*bf); });
  bresume->footer(kBisectExitCodes);
  table.Add(bresume, [bf] { return CmdBisectResume(*bf); });
  table.Add(bisect->add_subcommand("status", "posterior, runs so far, estimated p, runs left"),
            [bf] { return CmdBisectStatus(*bf); });
  table.Add(bisect->add_subcommand("log", "print the current bisection's log (JSON lines)"),
            [bf] { return CmdBisectLog(*bf); });
  table.Add(bisect->add_subcommand("reset", "forget the current bisection (its log stays)"),
            [bf] { return CmdBisectReset(*bf); });
  CLI::App* simulate =
      bisect->add_subcommand("simulate", "run the bisection engine against a synthetic world");
  simulate->add_option("--n", sf->n, "candidate counts")->capture_default_str();
  simulate->add_option("--p", sf->p, "hang probabilities on the bad side")->capture_default_str();
  simulate->add_option("--trials", sf->trials, "trials per cell")->capture_default_str();
  simulate->add_option("--alpha", sf->alpha, "stop when one culprit holds 1 - alpha")->capture_default_str();
  simulate->add_option("--q", sf->q, "false-positive rate on the good side")->capture_default_str();
  simulate->add_option("--slots", sf->slots, "runs per round (parallel guests)")->capture_default_str();
  simulate->add_option("--seed", sf->seed, "random seed")->capture_default_str();
  simulate->add_option("--told-p", sf->told_p,
                       "the p-known column tells the engine p times this (a plan's p: guessed low or high)")
      ->check(CLI::Range(0.01, 100.0))
      ->capture_default_str();
  simulate->add_option("--hang-time", sf->hang_time,
                       "mean seconds to hang on the hanging side: simulate the time-to-hang world (exposure engine "
                       "beside the coin engine and git bisect, in guest-minutes) instead")
      ->check(CLI::PositiveNumber);
  simulate->add_option("--weibull", sf->weibull, "time-to-hang world: Weibull shape (1: exponential)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  simulate->add_option("--git-k", sf->git_k,
                       "git bisect's repeats per step (a user's guess); default: the smallest k that reaches "
                       "1 - alpha in the same world, which only someone who knew p could choose")
      ->check(CLI::Range(1, 200));
  simulate->add_option("--shape", sf->shape,
                       "time-to-hang world: what the exposure engine assumes of the time to hang: unknown (Weibull "
                       "shapes 0.5 to 2, as a plan's default) or exponential")
      ->check(CLI::IsMember({"unknown", "exponential"}))
      ->capture_default_str();
  simulate->add_option("--duration", sf->duration, "time-to-hang world: the longest run's workload")
      ->capture_default_str();
  simulate->add_option("--overhead", sf->overhead, "time-to-hang world: each run's boot and teardown")
      ->capture_default_str();
  table.Add(simulate, [sf] { return CmdSimulate(*sf); });
}

}  // namespace blackout
