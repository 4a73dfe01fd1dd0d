#include "harness/bisect_run.h"

#include <filesystem>
#include <future>
#include <mutex>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "base/error.h"
#include "base/fsutil.h"
#include "base/subprocess.h"
#include "base/units.h"
#include "base/yaml_reader.h"
#include "kernels/catalogue.h"
#include "results/stats.h"

namespace blackout {
namespace {

std::string Percent(double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", 100 * p);
  return buf;
}

}  // namespace

const char* BisectEndName(BisectEnd end) {
  switch (end) {
    case BisectEnd::kFound: return "found";
    case BisectEnd::kUndecided: return "undecided";
    case BisectEnd::kNoRepro: return "no-repro";
    case BisectEnd::kBudget: return "budget";
    case BisectEnd::kInterrupted: return "interrupted";
  }
  return "?";
}

std::vector<std::string> GitCandidates(const std::string& repo, const std::string& good, const std::string& bad) {
  CommandOptions o;
  o.timeout_s = 60;
  CommandResult g = RunCommand({"git", "-C", repo, "rev-parse", "--verify", good + "^{commit}"}, o);
  CommandResult b = RunCommand({"git", "-C", repo, "rev-parse", "--verify", bad + "^{commit}"}, o);
  std::vector<std::string> problems;
  if (!g.ok()) problems.push_back("git " + repo + ": unknown revision '" + good + "'");
  if (!b.ok()) problems.push_back("git " + repo + ": unknown revision '" + bad + "'");
  if (!problems.empty()) throw ConfigError(problems);
  std::string good_hash = g.output.substr(0, g.output.find('\n'));
  std::string list = RunChecked({"git", "-C", repo, "rev-list", "--reverse", "--first-parent", good + ".." + bad}, o);
  std::vector<std::string> out = {good_hash};
  std::istringstream in(list);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(line);
  }
  if (out.size() < 2) throw ConfigError({"git " + repo + ": no commits between " + good + " and " + bad});
  return out;
}

BisectPlan ParseBisectPlan(const std::string& yaml, const std::string& source, const std::string& good,
                           const std::string& bad) {
  BisectPlan plan;
  plan.yaml = yaml;
  plan.source = source;
  YamlReader r(source);
  auto root = r.Parse(yaml);
  if (!root) r.Checkpoint();
  const YAML::Node& n = *root;
  r.CheckMap(n, "bisect plan", {"series", "git", "run", "bisect"});
  RunConfig base = DefaultConfig();
  if (n["run"].IsDefined()) base = ParseConfigNode(n["run"], r);
  base.source = source;

  if (YAML::Node b = n["bisect"]; b.IsDefined() &&
      r.CheckMap(b, "bisect", {"terms", "bad_verdicts", "alpha", "p", "false_positive", "slots", "max_runs"})) {
    if (auto t = r.String(b, "terms")) {
      if (*t == "regression") {
        plan.model.regression = true;
      } else if (*t == "fix") {
        plan.model.regression = false;
      } else {
        r.Error(b["terms"], "'terms' must be regression (find the first hanging build) or fix (the first quiet one)");
      }
    }
    if (YAML::Node v = b["bad_verdicts"]; v.IsDefined()) {
      plan.bad_verdicts.clear();
      if (!v.IsSequence()) r.Error(v, "'bad_verdicts' must be a list of verdicts");
      for (const YAML::Node& x : v) {
        auto verdict = x.IsScalar() ? ParseVerdict(x.Scalar()) : std::nullopt;
        if (!verdict || *verdict == Verdict::kPass || *verdict == Verdict::kBootFailure ||
            *verdict == Verdict::kInfraError || *verdict == Verdict::kBuildFailure) {
          r.Error(x, "a bad verdict is one of stall, lockup, crash");
        } else {
          plan.bad_verdicts.insert(*verdict);
        }
      }
    }
    auto number = [&](const char* key, double lo, double hi) -> std::optional<double> {
      auto s = r.String(b, key);
      if (!s) return std::nullopt;
      char* end = nullptr;
      double v = std::strtod(s->c_str(), &end);
      if (*end != '\0' || !(v >= lo && v <= hi)) {
        r.Error(b[key], std::string("'") + key + "' must be a number from " + std::to_string(lo) + " to " +
                            std::to_string(hi));
        return std::nullopt;
      }
      return v;
    };
    if (auto a = number("alpha", 1e-9, 0.5)) plan.alpha = *a;
    if (auto p = number("p", 0.001, 1)) plan.model.p = *p;
    if (auto q = number("false_positive", 0, 0.5)) plan.model.q = *q;
    plan.slots = static_cast<int>(r.Int(b, "slots", 1, 64).value_or(1));
    plan.max_runs = static_cast<int>(r.Int(b, "max_runs", 1, 100000).value_or(300));
  }

  YAML::Node series = n["series"];
  YAML::Node git = n["git"];
  if (series.IsDefined() == git.IsDefined()) r.Error(n, "a bisect plan needs either 'series' or 'git'");
  if (series.IsDefined() && series.IsScalar()) {
    // A catalogue series by name (kernels/catalogue.yaml), oldest first.
    const Catalogue& cat = BuiltinCatalogue();
    const CatalogueSeries* found = nullptr;
    for (const CatalogueSeries& cs : cat.series) {
      if (cs.name == series.Scalar()) found = &cs;
    }
    if (!found) {
      std::string known;
      for (const CatalogueSeries& cs : cat.series) known += (known.empty() ? "" : ", ") + cs.name;
      r.Error(series, "no catalogue series named '" + series.Scalar() + "' (known: " + known + ")");
    } else {
      for (const std::string& k : found->kernels) {
        BisectCandidate cand{k, base};
        cand.config.kernel = cat.Find(k)->spec;
        plan.candidates.push_back(cand);
      }
    }
  } else if (series.IsDefined()) {
    if (!series.IsSequence()) r.Error(series, "'series' must be a list of candidates, oldest first");
    for (const YAML::Node& c : series) {
      if (!r.CheckMap(c, "candidate", {"name", "kernel", "workload"})) continue;
      BisectCandidate cand;
      cand.config = base;
      auto name = r.String(c, "name");
      if (!name) r.Error(c, "a candidate needs a 'name'");
      cand.name = name.value_or("?");
      if (c["kernel"].IsDefined()) ParseKernelSpec(c["kernel"], r, &cand.config.kernel);
      if (YAML::Node w = c["workload"]; w.IsDefined()) {
        cand.config.workload = ParseWorkloadValue(w, r, base.workload);
        for (const std::string& problem : WorkloadMisfits(cand.config.workload, cand.config.guest.vcpus)) {
          r.Error(w, problem);
        }
      }
      plan.candidates.push_back(cand);
    }
  } else if (git.IsDefined() && r.CheckMap(git, "git", {"repo", "good", "bad", "build", "image", "modules", "config", "workload"})) {
    auto repo = r.String(git, "repo");
    auto g = r.String(git, "good");
    auto b = r.String(git, "bad");
    if (!repo || !g || !b) r.Error(git, "git needs 'repo', 'good' and 'bad'");
    auto command = r.String(git, "build");
    auto image = r.String(git, "image");
    if (command.has_value() != image.has_value()) r.Error(git, "a git build needs both 'build' (a command) and 'image'");
    if (command && image && repo) {
      GitBuild build;
      build.repo = *repo;
      build.command = *command;
      build.image = *image;
      build.modules = r.String(git, "modules").value_or("");
      build.config = r.String(git, "config").value_or("");
      build.workload = r.String(git, "workload").value_or("");
      plan.build = build;
    }
    if (repo && g && b) {
      r.Checkpoint();
      for (const std::string& rev : GitCandidates(*repo, good.empty() ? *g : good, bad.empty() ? *b : bad)) {
        plan.candidates.push_back(BisectCandidate{rev, base});
      }
    }
  }
  r.Checkpoint();
  if (series.IsDefined() && (!good.empty() || !bad.empty())) {
    auto find = [&](const std::string& name, size_t fallback) {
      if (name.empty()) return fallback;
      for (size_t i = 0; i < plan.candidates.size(); ++i) {
        if (plan.candidates[i].name == name) return i;
      }
      throw ConfigError({source + ": no candidate named '" + name + "' in the series"});
    };
    size_t lo = find(good, 0), hi = find(bad, plan.candidates.size() - 1);
    if (lo >= hi) throw ConfigError({source + ": '" + good + "' must come before '" + bad + "' in the series"});
    plan.candidates = std::vector<BisectCandidate>(plan.candidates.begin() + static_cast<long>(lo),
                                                   plan.candidates.begin() + static_cast<long>(hi) + 1);
  }
  if (plan.candidates.size() < 2) throw ConfigError({source + ": a bisection needs at least two candidates"});
  plan.model.n = static_cast<int>(plan.candidates.size());
  return plan;
}

RunConfig BuildCandidate(const GitBuild& build, const BisectCandidate& candidate, const std::string& dir) {
  namespace fs = std::filesystem;
  const std::string& rev = candidate.name;
  std::string checkout = dir + "/checkout";
  MakeDirs(dir + "/builds");
  std::string log = dir + "/builds/" + rev + ".log";
  CommandOptions git;
  git.timeout_s = 600;
  if (!fs::exists(checkout + "/.git")) {
    RunChecked({"git", "clone", "-q", "--shared", "--no-checkout", build.repo, checkout}, git);
  }
  RunChecked({"git", "-C", checkout, "checkout", "-q", "--detach", "--force", rev}, git);
  RunChecked({"git", "-C", checkout, "clean", "-q", "-d", "-x", "--force"}, git);
  CommandOptions o;
  o.cwd = checkout;
  o.timeout_s = 6 * 3600;
  o.env = {"BLACKOUT_COMMIT=" + rev};
  CommandResult r = RunCommand({"sh", "-c", build.command}, o);
  WriteFileAtomic(log, "$ " + build.command + "\n" + r.output);
  if (!r.ok()) {
    std::string why = r.timed_out ? "timed out" : r.signal ? "killed by signal " + std::to_string(r.signal)
                                                           : "exit " + std::to_string(r.exit_code);
    throw BuildFailed("build of " + rev.substr(0, 12) + " failed (" + why + "): " + OutputTail(r.output, 3), log);
  }
  std::string image = checkout + "/" + build.image;
  if (!fs::is_regular_file(image)) throw BuildFailed("build of " + rev.substr(0, 12) + " left no " + build.image, log);
  RunConfig cfg = candidate.config;
  cfg.kernel = KernelSpec{};
  cfg.kernel.source = "path";
  cfg.kernel.image = image;
  if (!build.modules.empty()) cfg.kernel.modules = checkout + "/" + build.modules;
  if (!build.config.empty()) cfg.kernel.config = checkout + "/" + build.config;
  if (!build.workload.empty() && fs::exists(checkout + "/" + build.workload)) {
    std::string shown_as = build.workload + " (built from " + rev.substr(0, 12) + ")";
    YamlReader reader(shown_as);
    cfg.workload = ParseWorkloadFile(checkout + "/" + build.workload, reader, cfg.workload, shown_as);
    for (const std::string& problem : WorkloadMisfits(cfg.workload, cfg.guest.vcpus)) reader.Error(problem);
    try {
      reader.Checkpoint();
    } catch (const ConfigError& e) {
      throw BuildFailed(e.what(), log);
    }
  }
  return cfg;
}

Outcome OutcomeOf(const BisectPlan& plan, Verdict v) {
  if (plan.bad_verdicts.count(v)) return Outcome::kHang;
  if (v == Verdict::kPass) return Outcome::kQuiet;
  // A verdict that is neither (boot-failure, infra-error, or a kind of failure
  // the user did not count as bad) cannot say anything about the hang.
  if (v == Verdict::kStall || v == Verdict::kLockup || v == Verdict::kCrash) return Outcome::kQuiet;
  return Outcome::kSkip;
}

Bisector Replay(const BisectPlan& plan, const BisectRecord& record) {
  Bisector b(plan.model);
  for (const BisectStep& s : record.steps) b.Record(s.candidate, s.outcome);
  return b;
}

BisectEnd DriveBisection(const BisectPlan& plan, const std::string& dir, BisectWorld& world,
                         const std::function<void(const std::string&)>& say_once, const std::function<void()>& on_step) {
  BisectRecord record = LoadBisectLog(dir);
  Bisector engine = Replay(plan, record);
  int step = static_cast<int>(record.steps.size());
  // Parallel slots report from several threads: one line at a time.
  std::mutex say_mu;
  auto say = [&](const std::string& line) {
    std::lock_guard<std::mutex> lock(say_mu);
    say_once(line);
  };
  if (step > 0) say("resuming after " + std::to_string(step) + " recorded runs");
  // One candidate's run, with its infra-error retries.
  auto run_one = [&](int c, int number, bool calibrating) {
    const BisectCandidate& cand = plan.candidates[static_cast<size_t>(c)];
    CandidateResult r;
    for (int attempt = 0; attempt <= plan.infra_retries; ++attempt) {
      say("run " + std::to_string(number) + ": candidate " + std::to_string(c) + " (" + cand.name + ")" +
          (calibrating ? ", calibrating" : ""));
      r = world.Run(cand);
      if (r.interrupted) return r;
      if (r.build_failed || r.verdict == Verdict::kBuildFailure) {
        r.build_failed = true;
        say("build failed (" + r.title + "): skipping");
        break;
      }
      if (r.verdict != Verdict::kInfraError) break;
      say("infra-error (" + r.title + "): " + (attempt < plan.infra_retries ? "retrying" : "skipping"));
    }
    return r;
  };
  // Persist before the engine moves on: a crash after the append loses nothing.
  auto record_one = [&](int c, const CandidateResult& r) {
    Outcome o = r.build_failed ? Outcome::kSkip : OutcomeOf(plan, r.verdict);
    BisectStep s{c, o, r.build_failed ? "build-failure" : VerdictName(r.verdict), r.title, r.run_dir};
    AppendBisectStep(dir, s, ++step);
    engine.Record(c, o);
    if (on_step) on_step();
    BisectState st = engine.State();
    say("  " + s.verdict + " -> " + OutcomeName(o) + "; most likely culprit " +
        plan.candidates[static_cast<size_t>(st.best)].name + " at " + Percent(st.best_probability));
  };
  for (;;) {
    if (engine.Done(plan.alpha)) return BisectEnd::kFound;
    if (step >= plan.max_runs) return BisectEnd::kBudget;
    if (engine.Calibrating() && engine.HangingEndRuns() >= plan.calibration_limit) return BisectEnd::kNoRepro;
    std::vector<int> next = engine.Next(plan.slots);
    if (next.empty()) return BisectEnd::kUndecided;
    bool calibrating = engine.Calibrating();
    if (next.size() > 1 && world.Parallel()) {
      // The round's runs at once (one guest per slot); recorded in order once
      // all are back. An interrupted run is not recorded: resume does it again.
      std::vector<std::future<CandidateResult>> running;
      for (size_t i = 0; i < next.size(); ++i) {
        running.push_back(std::async(std::launch::async, run_one, next[i], step + 1 + static_cast<int>(i), calibrating));
      }
      std::vector<CandidateResult> results;
      for (auto& f : running) results.push_back(f.get());
      bool interrupted = false;
      for (size_t i = 0; i < next.size(); ++i) {
        if (results[i].interrupted) {
          interrupted = true;
        } else {
          record_one(next[i], results[i]);
        }
      }
      if (interrupted) return BisectEnd::kInterrupted;
      continue;
    }
    for (int c : next) {
      CandidateResult r = run_one(c, step + 1, calibrating);
      if (r.interrupted) return BisectEnd::kInterrupted;
      record_one(c, r);
    }
  }
}

BisectionRow BisectionSummary(const BisectPlan& plan, const BisectRecord& record, const std::string& dir,
                              const std::string& status) {
  BisectState st = Replay(plan, record).State();
  BisectionRow b;
  b.id = std::filesystem::path(dir).filename().string();
  b.path = dir;
  b.started_at = record.config.value("started_at", "");
  b.updated_at = UtcStamp("%Y-%m-%dT%H:%M:%SZ");
  b.mode = plan.build ? "git" : "series";
  b.search = plan.model.regression ? "regression" : "fix";
  if (!plan.candidates.empty()) {
    b.good = plan.candidates.front().name;
    b.bad = plan.candidates.back().name;
  }
  b.status = status;
  if (st.best >= 0) b.culprit = plan.candidates[static_cast<size_t>(st.best)].name;
  b.probability = st.best_probability;
  b.runs = st.runs;
  b.p_estimate = st.p_estimate;
  return b;
}

std::string GivenPWarning(const BisectPlan& plan, const BisectRecord& record, int culprit) {
  // The hanging side of the culprit: it and the later builds for a regression,
  // the earlier ones for a fix.
  int hangs = 0, runs = 0;
  for (const BisectStep& s : record.steps) {
    bool hanging_side = plan.model.regression ? s.candidate >= culprit : s.candidate < culprit;
    if (!hanging_side || s.outcome == Outcome::kSkip) continue;
    ++runs;
    hangs += s.outcome == Outcome::kHang;
  }
  if (runs < 5) return "";
  // 99%: status is read again and again, and a false alarm would restart a
  // bisection for nothing.
  Interval i = WilsonInterval(hangs, runs, 0.99);
  if (*plan.model.p <= i.high) return "";
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "warning: the plan's p %.2f looks too high: the hanging side of the top candidate hung in %d of "
                "%d runs (99%% interval %.2f-%.2f). The engine believes p, and a p set too high names the wrong "
                "culprit (see: blackout bisect simulate --told-p 2); start again without p, or with the "
                "interval's low end\n",
                *plan.model.p, hangs, runs, i.low, i.high);
  return buf;
}

std::string DescribeBisection(const BisectPlan& plan, const BisectRecord& record) {
  Bisector engine = Replay(plan, record);
  BisectState st = engine.State();
  std::vector<double> post = engine.Posterior();
  std::ostringstream out;
  bool done = engine.Done(plan.alpha);
  const char* what = plan.model.regression ? "first hanging build (regression)" : "first quiet build (fix)";
  out << (done ? "found the " : "looking for the ") << what << " among " << plan.candidates.size()
      << " candidates\n";
  std::vector<int> order(post.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return post[static_cast<size_t>(a)] > post[static_cast<size_t>(b)]; });
  out << "top candidates:\n";
  for (size_t i = 0; i < std::min<size_t>(5, order.size()); ++i) {
    size_t c = static_cast<size_t>(order[i]);
    if (post[c] <= 0) break;
    out << "  " << Percent(post[c]) << "  " << c << " " << plan.candidates[c].name << "\n";
  }
  char buf[256];
  std::snprintf(buf, sizeof buf, "runs: %d; p (hang rate on the hanging side) ~ %.2f%s; ~%.0f more runs expected\n",
                st.runs, st.p_estimate, plan.model.p ? " (given)" : "", std::ceil(st.expected_runs_left));
  out << buf;
  if (record.steps.empty()) return out.str();
  if (plan.model.p) out << GivenPWarning(plan, record, st.best);
  // Evidence on both sides of the most likely culprit.
  int culprit = st.best;
  int before = culprit - 1;  // the last candidate that behaves like the old end
  out << "evidence:\n";
  for (int side : {before, culprit}) {
    int hangs = 0, quiet = 0;
    std::string dirs;
    for (const BisectStep& s : record.steps) {
      if (s.candidate != side) continue;
      (s.outcome == Outcome::kHang ? hangs : quiet) += s.outcome != Outcome::kSkip;
      if (dirs.size() < 600) dirs += "    " + s.verdict + " " + s.run_dir + "\n";
    }
    out << "  " << side << " " << plan.candidates[static_cast<size_t>(side)].name << ": " << hangs << " hang, "
        << quiet << " quiet\n"
        << dirs;
  }
  return out.str();
}

}  // namespace blackout
