#include "harness/bisect/simulate.h"

#include <algorithm>
#include <random>

namespace blackout {
namespace {

struct World {
  int culprit;
  double p, q;
  std::mt19937_64* rng;
  bool Run(int i) {
    std::bernoulli_distribution hang(i >= culprit ? p : q);
    return hang(*rng);
  }
};

}  // namespace

SimResult SimulateBayes(const SimConfig& cfg) {
  std::mt19937_64 rng(cfg.seed);
  std::uniform_int_distribution<int> pick(1, cfg.n - 1);
  SimResult r;
  for (int t = 0; t < cfg.trials; ++t) {
    World w{pick(rng), cfg.p, cfg.q, &rng};
    BisectModel m;
    m.n = cfg.n;
    m.q = cfg.q;
    if (cfg.p_known) m.p = std::min(1.0, cfg.p * cfg.told_p);
    Bisector b(m);
    int runs = 0, rounds = 0;
    while (!b.Done(cfg.alpha) && runs < cfg.max_runs) {
      std::vector<int> next = b.Next(cfg.slots);
      if (next.empty()) break;
      for (int c : next) b.Record(c, w.Run(c) ? Outcome::kHang : Outcome::kQuiet);
      runs += static_cast<int>(next.size());
      ++rounds;
    }
    r.accuracy += b.State().best == w.culprit;
    r.mean_runs += runs;
    r.mean_rounds += rounds;
  }
  r.accuracy /= cfg.trials;
  r.mean_runs /= cfg.trials;
  r.mean_rounds /= cfg.trials;
  return r;
}

SimResult SimulateGitBisect(const SimConfig& cfg, int k) {
  std::mt19937_64 rng(cfg.seed);
  std::uniform_int_distribution<int> pick(1, cfg.n - 1);
  SimResult r;
  for (int t = 0; t < cfg.trials; ++t) {
    World w{pick(rng), cfg.p, cfg.q, &rng};
    int good = 0, bad = cfg.n - 1, runs = 0;
    while (bad - good > 1) {
      int mid = good + (bad - good) / 2;
      bool hung = false;
      for (int i = 0; i < k && !hung; ++i) {
        ++runs;
        hung = w.Run(mid);
      }
      (hung ? bad : good) = mid;
      ++r.mean_rounds;
    }
    r.accuracy += bad == w.culprit;
    r.mean_runs += runs;
  }
  r.accuracy /= cfg.trials;
  r.mean_runs /= cfg.trials;
  r.mean_rounds /= cfg.trials;
  return r;
}

SimResult TuneGitBisect(const SimConfig& cfg, double target, int* k) {
  SimResult r;
  for (*k = 1; *k <= 200; ++*k) {
    r = SimulateGitBisect(cfg, *k);
    if (r.accuracy >= target) break;
  }
  return r;
}

}  // namespace blackout
