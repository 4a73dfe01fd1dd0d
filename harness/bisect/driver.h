// The loop of a bisection over real builds: it asks the engine what to test,
// runs it in an injected world (harness/bisect/world.h is the real one),
// records every step in the bisection's log before the next starts, resumes
// from that log after a crash or Ctrl-C, and describes where it stands.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "harness/bisect/engine.h"
#include "harness/bisect/plan.h"
#include "harness/bisect/log.h"
#include "results/store.h"
#include "harness/config.h"
#include "results/verdict.h"

namespace blackout {

// One run of one candidate.
struct CandidateResult {
  Verdict verdict = Verdict::kInfraError;
  std::string title;
  std::string run_dir;  // or the build log, when the build failed
  bool interrupted = false;
  bool build_failed = false;  // a skip, never retried
  // The workload seconds the run was exposed for (until its hang, or its
  // end): the exposure model's datum. 0 when unknown.
  double exposure_s = 0;
  // The plan's input is wrong (a candidate's kernel image is missing): the
  // bisection stops with a ConfigError (exit 64), nothing recorded, to be
  // resumed once the plan is mended; never retried as an infra-error.
  bool config_error = false;
};

class BisectWorld {
 public:
  virtual ~BisectWorld() = default;
  virtual CandidateResult Run(const BisectCandidate& candidate) = 0;
  // True if Run may be called from several threads at once: then a round of
  // several slots runs its candidates at the same time.
  virtual bool Parallel() const { return false; }
  // Makes a candidate ready to run (builds it), so that Run only boots it.
  // With PreparesAhead, the driver calls it for the candidate about to run,
  // then, from another thread while that candidate's Run goes on, for the
  // candidates the bisection needs next if the run hangs and if it does not
  // (never two Prepares at once, never a Prepare beside another Prepare's
  // Run). Returns false when the candidate could not be made ready (a
  // failed build): Run meets the failure again and reports it. cancel (may
  // be null) is set when the bisection no longer needs the candidate (its
  // run ended the other way): Prepare should end soon and keep nothing.
  virtual bool Prepare(const BisectCandidate&, const std::atomic<bool>* /*cancel*/) { return true; }
  virtual bool PreparesAhead() const { return false; }
};

enum class BisectEnd {
  kFound,        // one candidate holds the required probability
  kUndecided,    // only skipped candidates separate the most likely culprits
  kNoRepro,      // the hanging end did not hang twice within the calibration limit
  kBudget,       // max_runs spent
  kInterrupted,  // Ctrl-C: resume continues
};
const char* BisectEndName(BisectEnd end);

// What the bisection chases: the plan's `chase` (a title or a cluster), else
// the title and cluster of the hanging end's first bad run (the driver runs
// the hanging end first until it fails). With bad: any-bad, everything.
struct Chase {
  bool known = false;
  std::string title;    // empty when only a cluster is chased
  std::string cluster;  // empty with any-bad
  int step = 0;         // the log step whose failure set it; 0: the plan
};
Chase ChaseOf(const BisectPlan& plan, const BisectRecord& record);
std::string DescribeChase(const BisectPlan& plan, const Chase& chase);

// What a run's verdict and title mean to the engine: a bad verdict of the
// chased bug is a hang, one of another bug kOther; a pass (or a hang verdict
// the plan does not count as bad) is quiet; the rest (boot-failure,
// infra-error) a skip.
Outcome OutcomeOf(const BisectPlan& plan, const Chase& chase, Verdict verdict, const std::string& title);

// Replays the log into an engine.
Bisector Replay(const BisectPlan& plan, const BisectRecord& record);

// The candidates a bisection will want after candidate c's next run: the
// next pick if it hangs, then if it does not (each once, c left out).
std::vector<int> LikelyNext(const BisectPlan& plan, const Bisector& engine, int c);
// How a run counts: a failed build is a skip, else by its verdict and title.
Outcome ResultOutcome(const BisectPlan& plan, const Chase& chase, const CandidateResult& r);
// The candidate a bisection runs next once c's run r is recorded, or -1
// when it is then done.
int NextAfter(const BisectPlan& plan, const Chase& chase, const Bisector& engine, int c, const CandidateResult& r);

// Runs the bisection in dir (whose log.jsonl must exist) until it ends,
// appending each step. Steps already in the log are not run again.
// on_step runs after each step is persisted (the results store indexes it).
// With a world that prepares ahead, a build ahead for a candidate the
// bisection will not run next is cancelled when the run ends.
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
