// The bisection engine: Bayesian bisection over an ordered list of candidates
// for a hang that reproduces only sometimes. Pure: it is told outcomes and says
// what to test next; the world (build, boot, judge) is injected by the caller.
// The design essay is at the top of bisect.cc.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace blackout {

// One test run's outcome, in the model's terms. kOther: the run failed, but
// not with the bug the bisection chases (another cluster or title): recorded
// and shown, evidence neither way (the other failure may have cut the run
// before the chased bug could show).
enum class Outcome { kHang, kQuiet, kSkip, kOther };

// The exposure model's default shapes of the time to hang (Weibull, scale
// unknown): a grid from a heavy tail (0.5: the hazard falls as 1/sqrt(t))
// through the exponential (1) to a rising hazard (2), uniform prior.
std::vector<double> UnknownHangShapes();

struct BisectModel {
  int n = 0;  // candidates, oldest first; 0 is the old end, n-1 the new end
  // true: the new end hangs and we look for the first hanging candidate (a
  // regression); false: the old end hangs and we look for the first quiet one
  // (a fix, the 2013 case: 3.2.0-38 froze, 3.2.0-39.62 did not).
  bool regression = true;
  std::optional<double> p;  // hang probability per run on the hanging side, if known
  // Prior on p when unknown: with weight deterministic_weight the bug is
  // deterministic (p = 1), else p ~ Beta(prior_a, prior_b). The weight is
  // small on purpose: a flaky bug often hangs on the first two or three runs
  // (a quarter of the time at p = 0.5), and a heavy point mass then makes the
  // search trust single quiet runs (see "The prior on p" in bisect.cc).
  double deterministic_weight = 0.1;
  double prior_a = 1;
  double prior_b = 1;
  double q = 0;             // false positives: hang probability on the quiet side

  // What a run shows. kCoin: hang or not (p per run). kExposure: the time it
  // ran until it hung or ended: on the hanging side a run hangs at rate
  // `rate` per second of workload (exponential time to hang; unknown rates
  // integrated out under Gamma(rate_prior_a, rate_prior_b)), so a long quiet
  // run weighs more than a short one, and the engine chooses each run's
  // length (NextDuration). q is not used (the quiet side never hangs).
  enum class RunModel { kCoin, kExposure };
  RunModel run_model = RunModel::kCoin;
  std::optional<double> rate;  // hangs per workload second on the hanging side, if known
  double rate_prior_a = 0.5;   // nearly scale-free: the calibration hangs decide the scale
  double rate_prior_b = 1;     // seconds
  // The shape of the time to hang, Weibull with an unknown scale: {1} is the
  // exponential (a constant hang rate); several shapes are a grid the engine
  // integrates over under a uniform prior (below 1 the hazard falls with
  // time, a heavy tail: most hangs come early and quiet runs prove less;
  // above 1 it rises). Each shape k is an exponential in t^k, so the rate
  // integral stays closed-form. With `rate` known the shape is 1.
  std::vector<double> shapes = UnknownHangShapes();
  double max_duration_s = 180; // the longest run the engine may choose
  double min_duration_s = 10;  // and the shortest
  double run_overhead_s = 30;  // what a run costs besides its workload (boot, teardown)
};

// Where a bisection stands.
struct BisectState {
  int best = -1;                 // the most probable culprit
  double best_probability = 0;
  double p_estimate = 0;         // posterior mean of p (exposure: of a run of max_duration_s hanging)
  double rate_estimate = 0;      // exposure: posterior mean of the hang rate per second
  double shape_estimate = 1;     // exposure: posterior mean of the time to hang's Weibull shape (1: steady)
  double entropy_bits = 0;       // uncertainty left about the culprit
  double expected_runs_left = 0; // entropy / channel capacity at p_estimate
  int runs = 0;                  // outcomes recorded (skips included)
};

class Bisector {
 public:
  explicit Bisector(BisectModel model);

  // Records one run of candidate i (0 <= i < n). exposure_s: the workload
  // seconds it ran until it hung or ended (the exposure model's datum; the
  // coin model ignores it).
  void Record(int candidate, Outcome outcome, double exposure_s = 0);

  // P(culprit = c) for c in [0, n); the culprit is the first candidate with the
  // new end's behaviour, so c = 0 has probability 0.
  std::vector<double> Posterior() const;
  BisectState State() const;

  // True once one candidate holds at least StopThreshold(alpha).
  bool Done(double alpha) const;
  // 1 - alpha with p known, 1 - alpha/2 with p unknown.
  double StopThreshold(double alpha) const;

  // The candidates to test next, one per slot (fewer if fewer are useful).
  // With p unknown, the hanging end is run first until it has hung twice
  // (calibration). With one slot: the candidate that maximises the expected
  // information; with M slots: the posterior quantiles i/(M+1). Skipped
  // candidates are never chosen. Empty when no test can teach anything more
  // (e.g. only skipped candidates separate the two most likely culprits).
  // alpha: the stop's (as in Done). Once one culprit holds half the mass
  // (the endgame), the exposure model runs that culprit or its left
  // neighbour, whichever brings the stop nearer per guest-second.
  std::vector<int> Next(int slots, double alpha) const;
  // The workload length the next run should have: the coin model's runs all
  // last max_duration_s; the exposure model picks the length whose expected
  // information per guest-second (run_overhead_s + the expected workload
  // seconds, a hang ending the run) is highest for the candidate Next(1)
  // names, or in the endgame the endgame's length. Calibration runs are
  // max_duration_s long.
  double NextDuration(double alpha) const;

  // True while calibration runs are still due.
  bool Calibrating() const;
  // Runs of the hanging end so far, and hangs among them.
  int HangingEndRuns() const;

  const BisectModel& model() const { return model_; }

 private:
  // Internally every search is a regression search: a fix search runs on the
  // reversed list. These map between the caller's indices and ours.
  int In(int candidate) const { return model_.regression ? candidate : model_.n - 1 - candidate; }
  std::vector<double> InternalPosterior() const;
  // P(culprit = c) (internal index) for a pessimist who sets p or the rate to
  // the low end of its 99% interval on c's hanging side; 1 when none is
  // needed, 0 when the data cannot bound the rate yet.
  double PessimistPosterior(int c) const;
  // The stop's distance in log-odds (>= 0: Done).
  double StopMargin(double alpha) const;
  // The endgame's run (exposure model, one culprit at kEndgameLevel or more):
  // the culprit or its left neighbour, and the run's length, whichever gains
  // most StopMargin per expected guest-second; nothing outside the endgame.
  struct Pick {
    int candidate;  // internal index
    double duration_s;
  };
  std::optional<Pick> Endgame(double alpha) const;
  static constexpr double kEndgameLevel = 0.5;
  // Prefix sums over internal indices: hangs, quiet runs, exposure seconds.
  struct Sums {
    std::vector<double> k, f, t;
    std::vector<std::vector<double>> u;  // per shape: sum of max(t, 1 s)^shape
    std::vector<double> log_hang;        // sum of log max(t, 1 s) over hangs
  };
  Sums PrefixSums() const;
  bool ShapeMixture() const { return shapes_.size() > 1; }
  // True when c's hanging side holds the same runs as c - 1's (c - 1 never
  // ran): what depends only on the side can be reused.
  bool SameSide(size_t c) const { return c > 1 && hangs_[c - 1] == 0 && quiet_[c - 1] == 0 && exposure_[c - 1] == 0; }
  // Log-likelihood of K hangs in the hanging side's exposure, one term per
  // shape (shape mixture only): the rate integrated out, or fixed at
  // fixed_rates_[g] for the pessimist. side_from: the first internal index of
  // the hanging side.
  void ShapeTerms(const Sums& s, size_t side_from, std::vector<double>* terms) const;
  // P(a run of a candidate on c's hanging side stays quiet for t seconds)
  // under the shape mixture, given the weights ShapeTerms gives.
  double Survival(const Sums& s, size_t c, const std::vector<double>& terms, double t) const;
  // The hang rate per second on c's hanging side: the known rate, or the
  // posterior mean (a + K) / (b + T) of a steady rate.
  double SteadyRate(const Sums& s, size_t c) const;
  // With one shape (a steady rate): P(a run of d seconds on c's hanging side
  // hangs), 1 - E[e^(-rate d)] under the rate's posterior (or the known rate).
  double SteadyHangChance(const Sums& s, size_t c, double d) const;
  // Expected workload seconds of a run of length d on c's hanging side:
  // E[min(time to hang, d)].
  double ExpectedWorkload(const Sums& s, size_t c, double d) const;
  // m_c: P(a run of a candidate on c's hanging side hangs) given culprit c,
  // for a run of duration_s (the coin model ignores it).
  std::vector<double> HangMean(const Sums& s, double duration_s) const;
  // The best candidate for a run of duration_s and the expected entropy after
  // it; -1 when no run teaches anything.
  int BestFor(const std::vector<double>& post, const Sums& s, double duration_s, double* expected_entropy) const;

  BisectModel model_;
  std::vector<double> hangs_, quiet_, exposure_;  // per internal index
  std::vector<double> shapes_;                      // model_.shapes, or {1} with the rate known
  std::vector<std::vector<double>> exposure_k_;     // per shape, per internal index
  std::vector<double> log_hang_;                    // per internal index
  std::vector<double> fixed_rates_;                 // the pessimist's, per shape (mixture only)
  std::vector<bool> skipped_;
  int runs_ = 0;
};

// Capacity in bits per run of the Z-channel a test is: a bad build hangs with
// probability p, a good one never does.
double ZChannelCapacity(double p);

// How many quiet runs make a build good when a bad one hangs in p of its runs:
// the fewest N with (1 - p)^N <= alpha (at least 1). git bisect and ktest
// guess it; this is what the hang rate says (44 at p 0.1, 13 at 0.3, 7 at 0.5
// for alpha 0.01).
int RunsToTrust(double p, double alpha);

}  // namespace blackout
