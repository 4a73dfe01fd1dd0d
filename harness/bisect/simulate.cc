#include "harness/bisect/simulate.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace blackout {
namespace {

double WeibullScale(const SimConfig& c) { return c.mean_hang_s / std::tgamma(1 + 1 / c.weibull_k); }

struct World {
  const SimConfig* cfg;
  int culprit;
  std::mt19937_64* rng;
  double guest_s = 0;
  // One run of candidate i lasting up to duration_s: hung or not, and the
  // workload seconds it ran (*exposure).
  bool Run(int i, double duration_s, double* exposure) {
    double p_side = i >= culprit ? cfg->p : cfg->q;
    bool hung = false;
    *exposure = duration_s;
    if (cfg->mean_hang_s > 0) {
      if (i >= culprit) {
        std::uniform_real_distribution<double> u(0, 1);
        double t = WeibullScale(*cfg) * std::pow(-std::log1p(-u(*rng)), 1 / cfg->weibull_k);
        hung = t < duration_s;
        if (hung) *exposure = t;
      }
    } else {
      std::bernoulli_distribution hang(p_side);
      hung = hang(*rng);
    }
    guest_s += cfg->overhead_s + *exposure;
    return hung;
  }
  bool Run(int i) {
    double e = 0;
    return Run(i, cfg->duration_s, &e);
  }
};

}  // namespace

double SimHangProbability(const SimConfig& c) {
  if (c.mean_hang_s <= 0) return c.p;
  return -std::expm1(-std::pow(c.duration_s / WeibullScale(c), c.weibull_k));
}

SimResult SimulateBayes(const SimConfig& cfg_in) {
  SimConfig cfg = cfg_in;
  if (cfg.mean_hang_s > 0) cfg.p = SimHangProbability(cfg);
  std::mt19937_64 rng(cfg.seed);
  std::uniform_int_distribution<int> pick(1, cfg.n - 1);
  SimResult r;
  for (int t = 0; t < cfg.trials; ++t) {
    World w{&cfg, pick(rng), &rng};
    BisectModel m;
    m.n = cfg.n;
    m.q = cfg.q;
    m.max_duration_s = cfg.duration_s;
    m.run_overhead_s = cfg.overhead_s;
    if (cfg.exposure) {
      m.run_model = BisectModel::RunModel::kExposure;
      m.shapes = cfg.shapes;
      if (cfg.p_known) m.rate = cfg.told_p / cfg.mean_hang_s;
    } else if (cfg.p_known) {
      m.p = std::min(1.0, cfg.p * cfg.told_p);
    }
    Bisector b(m);
    int runs = 0, rounds = 0;
    while (!b.Done(cfg.alpha) && runs < cfg.max_runs) {
      std::vector<int> next = b.Next(cfg.slots, cfg.alpha);
      if (next.empty()) break;
      double d = b.NextDuration(cfg.alpha);
      for (int c : next) {
        double exposure = 0;
        bool hung = w.Run(c, d, &exposure);
        b.Record(c, hung ? Outcome::kHang : Outcome::kQuiet, exposure);
      }
      runs += static_cast<int>(next.size());
      ++rounds;
    }
    BisectState st = b.State();
    r.accuracy += st.best == w.culprit;
    r.mean_claimed += st.best_probability;
    r.mean_runs += runs;
    r.mean_rounds += rounds;
    r.mean_guest_minutes += w.guest_s / 60;
  }
  r.mean_claimed /= cfg.trials;
  r.accuracy /= cfg.trials;
  r.mean_runs /= cfg.trials;
  r.mean_rounds /= cfg.trials;
  r.mean_guest_minutes /= cfg.trials;
  return r;
}

SimResult SimulateGitBisect(const SimConfig& cfg, int k) {
  std::mt19937_64 rng(cfg.seed);
  std::uniform_int_distribution<int> pick(1, cfg.n - 1);
  SimResult r;
  for (int t = 0; t < cfg.trials; ++t) {
    World w{&cfg, pick(rng), &rng};
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
    r.mean_guest_minutes += w.guest_s / 60;
  }
  r.accuracy /= cfg.trials;
  r.mean_runs /= cfg.trials;
  r.mean_rounds /= cfg.trials;
  r.mean_guest_minutes /= cfg.trials;
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
