// A bisection over real builds: the plan (candidates and the run config for
// each), the loop that asks the engine what to test, runs it in an injected
// world, records every step in the bisection's log before the next starts,
// and resumes from that log after a crash or Ctrl-C.
#pragma once

#include <functional>
#include <optional>
#include <stdexcept>
#include <set>
#include <string>
#include <vector>

#include "harness/bisect.h"
#include "harness/bisect_log.h"
#include "results/store.h"
#include "harness/config.h"
#include "results/verdict.h"

namespace blackout {

struct BisectCandidate {
  std::string name;
  RunConfig config;
};

// git mode with a build step: each commit is checked out in the bisection's
// own clone of the repository (git clone --shared, so the user's tree and its
// worktrees are never touched) and built by `command`; the image it leaves is
// the candidate's kernel. A build that fails, or leaves no image, is a skip.
struct GitBuild {
  std::string repo;
  std::string command;   // run with sh -c in the checkout, BLACKOUT_COMMIT set
  std::string image;     // the kernel image the build leaves, relative to the checkout
  std::string modules;   // optional: its lib/modules/<release> directory, relative
  std::string config;    // optional: its kernel config (.config), relative
  std::string workload;  // optional: a workload YAML the build leaves, overriding the run's
};

struct BisectPlan {
  std::vector<BisectCandidate> candidates;  // oldest first
  std::optional<GitBuild> build;
  BisectModel model;
  std::set<Verdict> bad_verdicts = {Verdict::kLockup, Verdict::kStall, Verdict::kCrash};
  double alpha = 0.01;
  int slots = 1;
  int max_runs = 300;
  int calibration_limit = 40;  // runs of the hanging end before giving up on it
  int infra_retries = 2;       // an infra-error is retried this often, then skipped
  std::string yaml;            // the plan's text, kept in the log for resume
  std::string source;
};

// Parses a bisect plan (see README "Bisection"). good/bad, when set, name the
// ends of a sub-range of the series (or git revisions, in git mode). Throws
// ConfigError with every problem.
BisectPlan ParseBisectPlan(const std::string& yaml, const std::string& source, const std::string& good = "",
                           const std::string& bad = "");

// The commits from good to bad, oldest first, good included (git rev-list
// --reverse --first-parent good..bad). Throws ConfigError for unknown revisions.
std::vector<std::string> GitCandidates(const std::string& repo, const std::string& good, const std::string& bad);

// One run of one candidate.
struct CandidateResult {
  Verdict verdict = Verdict::kInfraError;
  std::string title;
  std::string run_dir;  // or the build log, when the build failed
  bool interrupted = false;
  bool build_failed = false;  // a skip, never retried
};

// Checks out and builds one commit (git mode with a build step) in
// <dir>/checkout, logging to <dir>/builds/<commit>.log, and returns the run
// config that boots what it built. Throws BuildFailed.
struct BuildFailed : std::runtime_error {
  BuildFailed(const std::string& what, std::string log) : std::runtime_error(what), log(std::move(log)) {}
  std::string log;
};
RunConfig BuildCandidate(const GitBuild& build, const BisectCandidate& candidate, const std::string& dir);

class BisectWorld {
 public:
  virtual ~BisectWorld() = default;
  virtual CandidateResult Run(const BisectCandidate& candidate) = 0;
  // True if Run may be called from several threads at once: then a round of
  // several slots runs its candidates at the same time.
  virtual bool Parallel() const { return false; }
};

enum class BisectEnd {
  kFound,        // one candidate holds the required probability
  kUndecided,    // only skipped candidates separate the most likely culprits
  kNoRepro,      // the hanging end did not hang twice within the calibration limit
  kBudget,       // max_runs spent
  kInterrupted,  // Ctrl-C: resume continues
};
const char* BisectEndName(BisectEnd end);

// What a verdict means to the engine.
Outcome OutcomeOf(const BisectPlan& plan, Verdict verdict);

// Replays the log into an engine.
Bisector Replay(const BisectPlan& plan, const BisectRecord& record);

// Runs the bisection in dir (whose log.jsonl must exist) until it ends,
// appending each step. Steps already in the log are not run again.
// on_step runs after each step is persisted (the results store indexes it).
BisectEnd DriveBisection(const BisectPlan& plan, const std::string& dir, BisectWorld& world,
                         const std::function<void(const std::string&)>& say,
                         const std::function<void()>& on_step = {});

// The bisection's row in the results store; status is "running" or a
// BisectEndName.
BisectionRow BisectionSummary(const BisectPlan& plan, const BisectRecord& record, const std::string& dir,
                              const std::string& status);

// When the plan gives p: a warning line if the runs on the hanging side of
// `culprit` make that p implausibly high (above the 99% Wilson interval of
// its hang rate, after at least 5 runs), else "".
std::string GivenPWarning(const BisectPlan& plan, const BisectRecord& record, int culprit);

// The status or final report, for people: top candidates, runs, p, runs left,
// the warning above, and the evidence on both sides of the most likely culprit.
std::string DescribeBisection(const BisectPlan& plan, const BisectRecord& record);

}  // namespace blackout
