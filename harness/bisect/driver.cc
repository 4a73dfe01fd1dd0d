#include "harness/bisect/driver.h"

#include <filesystem>
#include <atomic>
#include <future>
#include <map>
#include <set>
#include <mutex>
#include <thread>

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

namespace {

// The candidate that hangs before any test: the new end of a regression
// search, the old end of a fix search.
int HangingEnd(const BisectPlan& plan) {
  return plan.model.regression ? static_cast<int>(plan.candidates.size()) - 1 : 0;
}

}  // namespace

Chase ChaseOf(const BisectPlan& plan, const BisectRecord& record) {
  Chase chase;
  if (plan.bad == BadRule::kAnyBad) {
    chase.known = true;
    return chase;
  }
  if (!plan.chase.empty()) {
    chase.known = true;
    if (IsHangCluster(plan.chase)) {
      chase.cluster = plan.chase;
    } else {
      chase.title = plan.chase;
      chase.cluster = HangClusterOfTitle(plan.chase);
    }
    return chase;
  }
  int end = HangingEnd(plan);
  for (size_t i = 0; i < record.steps.size(); ++i) {
    const BisectStep& s = record.steps[i];
    std::optional<Verdict> v = ParseVerdict(s.verdict);
    if (s.candidate != end || s.outcome != Outcome::kHang || !v) continue;
    chase.known = true;
    chase.title = s.title;
    chase.cluster = HangCluster(*v, s.title);
    chase.step = static_cast<int>(i) + 1;
    break;
  }
  return chase;
}

std::string DescribeChase(const BisectPlan& plan, const Chase& chase) {
  if (plan.bad == BadRule::kAnyBad) return "any bad run (bad: any-bad)";
  if (!chase.known) return "the hanging end's first failure (not seen yet)";
  std::string what = chase.title.empty() ? "the cluster " + chase.cluster
                                         : "\"" + chase.title + "\" (" + chase.cluster + ")";
  std::string from = chase.step > 0 ? ", the hanging end's first failure (run " + std::to_string(chase.step) + ")"
                                    : ", from the plan";
  return what + from + "; counted: " + BadRuleName(plan.bad);
}

Outcome OutcomeOf(const BisectPlan& plan, const Chase& chase, Verdict v, const std::string& title) {
  if (!plan.bad_verdicts.count(v)) {
    if (v == Verdict::kPass) return Outcome::kQuiet;
    // A verdict that is neither (boot-failure, infra-error, or a kind of
    // failure the user did not count as bad) cannot say anything about the hang.
    return IsHang(v) ? Outcome::kQuiet : Outcome::kSkip;
  }
  // Not known yet: this failure of the hanging end becomes the chase.
  if (plan.bad == BadRule::kAnyBad || !chase.known) return Outcome::kHang;
  if (!chase.title.empty() && title == chase.title) return Outcome::kHang;
  if (plan.bad == BadRule::kSameTitle) return Outcome::kOther;
  return HangCluster(v, title) == chase.cluster ? Outcome::kHang : Outcome::kOther;
}

Bisector Replay(const BisectPlan& plan, const BisectRecord& record) {
  Bisector b(plan.model);
  for (const BisectStep& s : record.steps) b.Record(s.candidate, s.outcome, s.exposure_s);
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
  Chase chase = ChaseOf(plan, record);
  if (chase.known) say("chasing " + DescribeChase(plan, chase));
  const bool exposure = plan.model.run_model == BisectModel::RunModel::kExposure;
  double duration_s = 0;  // the exposure model's length for this round's runs
  // One candidate's run, with its infra-error retries.
  auto run_one = [&](int c, int number, bool calibrating) {
    BisectCandidate cand = plan.candidates[static_cast<size_t>(c)];
    if (exposure) cand.config.workload.duration_s = duration_s;
    CandidateResult r;
    for (int attempt = 0; attempt <= plan.infra_retries; ++attempt) {
      say("run " + std::to_string(number) + ": candidate " + std::to_string(c) + " (" + cand.name + ")" +
          (calibrating ? ", calibrating" : "") + (exposure ? ", " + FormatSeconds(duration_s) : ""));
      r = world.Run(cand);
      if (r.interrupted) return r;
      if (r.config_error) {
        throw ConfigError({"candidate " + std::to_string(c) + " (" + cand.name + "): " + r.title +
                           " (nothing recorded: mend the plan and resume)"});
      }
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
    Outcome o = ResultOutcome(plan, chase, r);
    BisectStep s{c, o, r.build_failed ? "build-failure" : VerdictName(r.verdict), r.title, r.run_dir, r.exposure_s};
    AppendBisectStep(dir, s, ++step);
    record.steps.push_back(s);
    engine.Record(c, o, r.exposure_s);
    if (!chase.known && (chase = ChaseOf(plan, record)).known) say("  chasing " + DescribeChase(plan, chase));
    if (on_step) on_step();
    BisectState st = engine.State();
    say("  " + s.verdict + " -> " + OutcomeName(o) + "; most likely culprit " +
        plan.candidates[static_cast<size_t>(st.best)].name + " at " + Percent(st.best_probability));
  };
  for (;;) {
    if (engine.Done(plan.alpha)) return BisectEnd::kFound;
    if (step >= plan.max_runs) return BisectEnd::kBudget;
    if (engine.Calibrating() && engine.HangingEndRuns() >= plan.calibration_limit) return BisectEnd::kNoRepro;
    std::vector<int> next;
    bool calibrating = engine.Calibrating();
    if (!chase.known) {
      // The bug to chase is the hanging end's first failure: run it until it fails.
      if (engine.HangingEndRuns() >= plan.calibration_limit) return BisectEnd::kNoRepro;
      next = {HangingEnd(plan)};
      calibrating = true;
    } else {
      next = engine.Next(plan.slots, plan.alpha);
    }
    if (next.empty()) return BisectEnd::kUndecided;
    // The exposure model chooses the round's run length (one engine state, one length).
    if (exposure) duration_s = std::round(engine.NextDuration(plan.alpha));
    if (next.size() > 1 && world.Parallel()) {
      // The round's runs at once (one guest per slot); recorded in order once
      // all are back. An interrupted run is not recorded: resume does it again.
      // Candidates that are built are built first, one after another (a
      // failed one's run then meets its remembered failure).
      if (world.PreparesAhead()) {
        for (int c : next) world.Prepare(plan.candidates[static_cast<size_t>(c)], nullptr);
      }
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
    for (size_t i = 0; i < next.size(); ++i) {
      int c = next[i];
      CandidateResult r;
      // Build c now, then the likely next candidates while c's guest runs
      // (not when c's build failed: its Run meets the remembered failure).
      // (Not while the chased bug is still unknown: the next run is the same
      // hanging end, already built.)
      if (world.PreparesAhead() && !chase.known) {
        world.Prepare(plan.candidates[static_cast<size_t>(c)], nullptr);
        r = run_one(c, step + 1, calibrating);
      } else if (world.PreparesAhead() && world.Prepare(plan.candidates[static_cast<size_t>(c)], nullptr)) {
        std::mutex mu;
        bool stop = false;
        int building = -1;
        std::atomic<bool> cancel{false};
        std::vector<int> ahead = LikelyNext(plan, engine, c);
        std::thread builder([&] {
          for (int a : ahead) {
            {
              std::lock_guard<std::mutex> lock(mu);
              if (stop) break;
              building = a;
            }
            world.Prepare(plan.candidates[static_cast<size_t>(a)], &cancel);
            std::lock_guard<std::mutex> lock(mu);
            building = -1;
          }
        });
        // When c's run is back, a build for a candidate that will not run
        // next is ended rather than waited for; the one that will goes on.
        auto settle = [&](int want) {
          {
            std::lock_guard<std::mutex> lock(mu);
            stop = true;
            if (building >= 0 && building != want) cancel = true;
          }
          builder.join();
        };
        try {
          r = run_one(c, step + 1, calibrating);
        } catch (...) {
          settle(-1);
          throw;
        }
        int want = -1;
        if (!r.interrupted) want = i + 1 < next.size() ? next[i + 1] : NextAfter(plan, chase, engine, c, r);
        settle(want);
      } else {
        r = run_one(c, step + 1, calibrating);
      }
      if (r.interrupted) return BisectEnd::kInterrupted;
      record_one(c, r);
    }
  }
}

Outcome ResultOutcome(const BisectPlan& plan, const Chase& chase, const CandidateResult& r) {
  return r.build_failed ? Outcome::kSkip : OutcomeOf(plan, chase, r.verdict, r.title);
}

int NextAfter(const BisectPlan& plan, const Chase& chase, const Bisector& engine, int c, const CandidateResult& r) {
  Bisector after = engine;
  after.Record(c, ResultOutcome(plan, chase, r));
  if (after.Done(plan.alpha)) return -1;
  std::vector<int> next = after.Next(1, plan.alpha);
  return next.empty() ? -1 : next[0];
}

std::vector<int> LikelyNext(const BisectPlan& plan, const Bisector& engine, int c) {
  std::vector<int> out;
  for (Outcome o : {Outcome::kHang, Outcome::kQuiet}) {
    Bisector after = engine;
    after.Record(c, o);
    if (after.Done(plan.alpha)) continue;
    std::vector<int> next = after.Next(1, plan.alpha);
    if (!next.empty() && next[0] != c && std::find(out.begin(), out.end(), next[0]) == out.end()) {
      out.push_back(next[0]);
    }
  }
  return out;
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
    if (!hanging_side || s.outcome == Outcome::kSkip || s.outcome == Outcome::kOther) continue;
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
  if (plan.model.run_model == BisectModel::RunModel::kExposure) {
    double guest_s = 0;
    for (const BisectStep& s : record.steps) guest_s += s.exposure_s;
    std::snprintf(buf, sizeof buf,
                  "runs: %d (%.1f workload minutes); hang rate on the hanging side ~ 1 per %.0fs; next run %s\n",
                  st.runs, guest_s / 60, st.rate_estimate > 0 ? 1 / st.rate_estimate : 0.0,
                  FormatSeconds(engine.NextDuration(plan.alpha)).c_str());
    out << buf;
    if (plan.model.shapes.size() > 1) {
      // What the hangs say of the time to hang's shape (Weibull, 0.5 to 2).
      const char* kind = st.shape_estimate < 0.85   ? "a heavy tail: most hangs come early, some very late"
                         : st.shape_estimate > 1.2 ? "a rising hazard: hangs cluster after a while"
                                                   : "a steady rate";
      std::snprintf(buf, sizeof buf, "time to hang: shape ~ %.2f (%s)\n", st.shape_estimate, kind);
    } else {
      std::snprintf(buf, sizeof buf, "time to hang: exponential (shape: exponential in the plan)\n");
    }
  } else {
    std::snprintf(buf, sizeof buf, "runs: %d; p (hang rate on the hanging side) ~ %.2f%s; ~%.0f more runs expected\n",
                  st.runs, st.p_estimate, plan.model.p ? " (given)" : "", std::ceil(st.expected_runs_left));
  }
  out << buf;
  Chase chase = ChaseOf(plan, record);
  out << "chasing: " << DescribeChase(plan, chase) << "\n";
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
      hangs += s.outcome == Outcome::kHang;
      quiet += s.outcome == Outcome::kQuiet;
      if (dirs.size() < 600) dirs += "    " + s.verdict + " " + s.run_dir + "\n";
    }
    out << "  " << side << " " << plan.candidates[static_cast<size_t>(side)].name << ": " << hangs << " hang, "
        << quiet << " quiet\n"
        << dirs;
  }
  // Every title seen, per candidate; and the failures that were not the chased
  // bug (recorded, counted neither way).
  std::map<int, std::map<std::string, int>> titles;
  std::map<std::string, std::set<int>> also;
  for (const BisectStep& s : record.steps) {
    if (!IsHang(s.verdict)) continue;
    // Heartbeat titles name their verdict already ("lockup: no heartbeat ...").
    bool named = s.title.rfind(s.verdict + ":", 0) == 0;
    titles[s.candidate][named ? s.title : s.verdict + ": " + s.title] += 1;
    if (s.outcome == Outcome::kOther) also[s.title].insert(s.candidate);
  }
  for (const auto& [title, cands] : also) {
    std::string names;
    for (int c : cands) names += (names.empty() ? "" : ", ") + plan.candidates[static_cast<size_t>(c)].name;
    out << "also seen (not the chased bug, counted neither way): " << title << " on " << names << "\n";
  }
  if (!titles.empty()) out << "titles seen per candidate:\n";
  for (const auto& [c, seen] : titles) {
    out << "  " << c << " " << plan.candidates[static_cast<size_t>(c)].name << ":";
    const char* sep = " ";
    for (const auto& [title, count] : seen) {
      out << sep << title << (count > 1 ? " (x" + std::to_string(count) + ")" : "");
      sep = "; ";
    }
    out << "\n";
  }
  return out.str();
}

}  // namespace blackout
