// A synthetic world for the bisection engine: n candidates, a culprit, a hang
// probability p on the hanging side and q on the other. Runs the real engine
// (and, for comparison, git bisect with k repeats per step) for many trials.
#pragma once

#include <cstdint>
#include <vector>

#include "harness/bisect/engine.h"

namespace blackout {

struct SimConfig {
  int n = 1024;
  double p = 0.3;
  double q = 0;
  bool p_known = false;
  // With p_known, the engine is told p * told_p (at most 1): below 1 it is
  // told too small a rate (safe, slower), above 1 too large (fast, wrong more).
  double told_p = 1;
  double alpha = 0.01;
  int slots = 1;
  int trials = 1000;
  uint64_t seed = 1;
  int max_runs = 20000;  // per trial, a guard against a stuck search

  // The time-to-hang world (mean_hang_s > 0): a run lasts up to duration_s of
  // workload plus overhead_s (boot, teardown); on the hanging side the time
  // to hang is exponential with mean mean_hang_s, or Weibull with shape
  // weibull_k and the same mean (a misfit check for the exponential model);
  // a hang ends the run. p is then P(time to hang < duration_s).
  double mean_hang_s = 0;
  double weibull_k = 1;
  double duration_s = 180;
  double overhead_s = 30;
  // The engine's exposure model (BisectModel::RunModel::kExposure), choosing
  // each run's length; with p_known it is told the rate 1 / mean_hang_s.
  bool exposure = false;
  std::vector<double> shapes = UnknownHangShapes();  // the exposure engine's (BisectModel::shapes)
};

struct SimResult {
  double accuracy = 0;   // share of trials that named the true culprit
  double mean_runs = 0;  // runs per trial (rounds x slots for parallel search)
  double mean_rounds = 0;
  double mean_guest_minutes = 0;  // overhead plus workload time of every run
  double mean_claimed = 0;        // the named culprit's posterior at the stop: what accuracy should be
};

// P(a run of duration_s on the hanging side hangs) in the time-to-hang world.
double SimHangProbability(const SimConfig& config);

SimResult SimulateBayes(const SimConfig& config);

// git bisect where each step runs the candidate up to k times and calls it bad
// at the first hang (as ktest's BISECT_TRIES and `git bisect run` loops do).
SimResult SimulateGitBisect(const SimConfig& config, int k);

// The smallest k whose simulated accuracy reaches target (k <= 200), and its
// result.
SimResult TuneGitBisect(const SimConfig& config, double target, int* k);

}  // namespace blackout
