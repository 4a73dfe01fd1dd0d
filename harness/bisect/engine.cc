// Bayesian bisection for hangs that reproduce only sometimes.
//
// The problem. Candidates 0..n-1 are ordered builds; the old end behaves one
// way, the new end the other, and one candidate c (the culprit) is the first
// to behave like the new end. For a regression the new side hangs: a run of a
// candidate i >= c hangs with probability p, a run of i < c hangs with
// probability q (usually 0: a good kernel does not freeze). One run is a noisy
// look at "is c <= i?": a Z-channel. git bisect and ktest answer each look with
// k repeats and then trust it; a single unlucky "good" sends the search the
// wrong way for ever, and nobody says how sure the answer is.
//
// The model. We keep P(culprit = c | runs) for every c. With hangs k_i and
// quiet runs f_i per candidate, the likelihood of c is
//     prod_{i<c} q^k_i (1-q)^f_i  *  prod_{i>=c} p^k_i (1-p)^f_i.
// When p is unknown it is integrated out under its prior: with weight w the bug
// is deterministic (p = 1, so no quiet run may sit on the hanging side), else
// p ~ Beta(a, b) and the second product becomes B(a + K_c, b + F_c) / B(a, b),
// with K_c and F_c the hangs and quiet runs on the hanging side of c. The point
// mass lets a deterministic bug bisect in few runs after calibration. K_c and
// F_c are sums over a prefix or suffix, so one pass with prefix sums gives the
// whole posterior in O(n) (in log space: hundreds of runs underflow doubles
// otherwise). The prior over c is
// uniform on 1..n-1: the old end is assumed to behave like the old end (it is
// never "the culprit"), the new end is assumed to behave like the new end; the
// run that made someone start the bisection is not counted again.
//
// What to test. Calibration first: with p unknown, the hanging end is run
// until it has hung twice, so p has data before it steers the search (and a
// "bad" end that never hangs is found out early). Then, with one slot, the
// candidate j whose run maximises the expected information about c:
//     I(j) = H(c) - E_outcome[H(c | outcome)].
// A run of j hangs with probability m_c (the posterior mean of p given c) if
// c <= j, else q, and one observation updates the posterior by exactly that
// factor, so H(c | outcome) needs only sums of x log x over a prefix and a
// suffix: all j are scored in O(n). With M slots (several guests at once) the
// posterior quantiles i/(M+1) are tested instead: cheap, and they spread the
// slots over the mass (a candidate may take several slots once the mass sits
// on two neighbours). Skipped candidates (build failure, boot failure,
// infra-error) are never chosen; their neighbours are.
//
// The prior on p. The engine must be right at each fixed p, not just on
// average over the prior, and the prior decides how far a streak of hangs can
// fool it. Calibration ends after two hangs; at p = 0.5 a quarter of the
// bisections see them on the first two runs, and a heavy point mass on p = 1
// then makes single quiet runs look final: with weight 0.5 the simulator named
// the wrong culprit in 0.9% of 4000 bisections at n = 64, p = 0.5, against
// 0.25% with weight 0.1, for the same mean runs (39.6 and 39.8). The price is
// paid only by deterministic bugs: about 20 runs at n = 1024 instead of 16
// (pass p = 1 when the bug is known to be deterministic: log2(n) runs then).
//
// When to stop. When one culprit holds at least 1 - alpha (1 - alpha/2 while p
// is unknown: its estimate is the weak link). With p known the posterior is
// calibrated: at n = 1024, p = 0.1 it claimed 99.05% at the stop and was right
// in 99.10% of 6000 bisections (five seeds; one seed's 98.3% of 1000 and an
// earlier 97.0% of 300 were noise). With p unknown it was not: at p = 0.1 it
// claimed 99.5% and was right in 97.9% (n = 1024) and 98.9% (n = 64) of
// bisections, and alpha/4 does not fix that. The wrong answers come from the
// search itself: it leaves a candidate once it hangs, so a culprit placed too
// far right sees mostly the runs that hung, its p looks like 0.3, and sixty
// quiet runs of its neighbour then seem final. So with p unknown the answer
// must also hold 1 - alpha with p set to the low end of the 99% (Wilson)
// interval of the hang rate on the named culprit's hanging side: a pessimist
// who believes the quiet runs of a bad neighbour were luck. At n = 1024, 1000
// bisections each: right in 99.8% / 99.5% / 99.8% at p = 0.1 / 0.3 / 0.5, for
// 363 / 112 / 62 runs against 307 / 98 / 54 without it (97.9% / 99.4% /
// 99.9% right); the 95% interval's low end costs less (333 / 101 / 56) but
// leaves p = 0.1 at 99.2%, too near the line to trust. A culprit whose side
// has no quiet run at all is a deterministic bug's and is spared the
// pessimist (it would cost such a bug 6 of its 15 runs at n = 64 and buys
// nothing: those bisections were right every time).
// If only skipped candidates separate the top culprits, no test can help:
// Next() returns nothing and the caller reports the ambiguity.
//
// What not knowing p costs. The search itself is not slower: at n = 1024,
// p = 0.1 the top culprit passes 50% after about 127 runs with p unknown and
// 141 with p known. The end is: from there to the stop takes about 190 runs
// against 60. By then the culprit's side has seen few hangs (K = 7 hangs and
// F = 52 quiet runs, say), and "the culprit is one to the left and p is
// smaller" stays possible: f quiet runs of the left neighbour count against
// it only as (F / (F + f))^(K + 1), not (1 - p)^f, so once f passes F each run
// teaches half as much. More hangs would help, but a hang costs 1/p runs and
// brings as many quiet runs, which dilute f again; by that arithmetic the
// neighbour's runs stay the best buy. The gap is the price of p's
// uncertainty, and a prior that rules out small p pays it back in accuracy
// (tried: truncating p below 0.03 gives 296 runs at 97.7% instead of 320 at
// 98.7%, 300 bisections). How well p must be known to do better: told 0.75 p
// (a safe lower bound within 25%) the engine needs 236 / 74 / 41 runs at
// n = 1024, p = 0.1 / 0.3 / 0.5; told 0.5 p, 323 / 105 / 60, no fewer than
// with p unknown (`bisect simulate --told-p`, 500 trials). A bound within
// 25% at 99% takes about (2.33 / 0.25)^2 = 87 hangs, 870 runs at p = 0.1:
// p cannot be learnt that well for less than it saves.
//
// A run is an exposure, not a coin flip (RunModel::kExposure). A run shows
// more than "hung or not": how long it ran until it hung or ended. On the
// hanging side a run hangs at a rate per second of workload (exponential
// time to hang), so a run that hung after 40 s and one that stayed quiet for
// 180 s are data of different weight: with K hangs in T seconds of exposure
// on c's hanging side the likelihood is rate^K e^(-rate T), and with the rate
// unknown, under Gamma(a, b), b^a Gamma(a + K) / (Gamma(a) (b + T)^(a + K)):
// the same prefix-sum structure as the coin model, with T in place of F. The
// prior is nearly scale-free (a = 0.5, b = 1 s): the calibration hangs set
// the scale, as they set p's.
//
// The shape of the time to hang. A constant rate is an assumption, and a
// costly one when it is wrong: where hangs come early or very late (a boot
// either meets the race soon or hardly ever: a Weibull time to hang of shape
// 0.5) the fitted rate is dominated by the fast hangs, a short quiet run of a
// bad neighbour looks final, and the engine that assumed the exponential was
// right in 92.3% of bisections (n = 64, mean 40 s, runs of 180 s). So by
// default the shape is unknown too: Weibull with shape k on a grid from 0.5
// to 2 under a uniform prior. With shape k the time t is exponential in t^k,
// so each shape keeps the closed-form rate integral (T becomes the sum of
// t^k, and each hang adds k t^(k-1)) and the posterior sums the shapes. Hang
// times are read to a second (the heartbeat's period): shorter ones count as
// 1 s. In the same world it was right in 99.7%, for 16.7 guest-minutes
// against 16.0. A steady rate costs it: a few hangs cannot tell the shapes
// apart, and the heavy tail's hypothesis keeps quiet runs weaker evidence
// (26.1 against 23.2 guest-minutes at a 40 s mean and 600 s runs, 14.0
// against 9.7 at n = 8, a 15 s mean, 120 s runs, 40 s overhead); a rising
// hazard (shape 2) it learns and uses (21.3 against 24.2). `shape:
// exponential` in a plan is the old model, for a rate known to be steady.
//
// Runs end early. A hang ends a run (the time it took is the datum); a quiet
// run is worth what its length rules out, and that is front-loaded: the
// chance a hanging build has stayed quiet decays as ((b+T)/(b+T+d))^(a+K), so
// the last seconds of a long quiet run add little once the bug's hangs are
// known to come fast. The engine therefore sets each run's length ahead
// (NextDuration): among lengths from max_duration_s down by factors of
// sqrt(2), the one whose expected information about the culprit per expected
// guest-second (the run's overhead plus E[min(time to hang, d)]) is highest;
// beyond it a longer quiet run can no longer change the next decision much
// for its cost. Calibration runs are the longest (the rate is unknown then).
//
// Its stop has the coin model's pessimist too (each shape's rate at its 1%
// quantile from the culprit side's K hangs in its exposure): without it the
// exposure engine was right in only 97.7-98.7% of bisections at some rates.
// With the shape unknown the pessimist also guards a culprit whose side
// never ran quiet (the coin model's deterministic shortcut): a heavy tail's
// hangs come within seconds, runs chosen short then hang every time, and
// the shortcut let one short quiet run of a bad neighbour end the search
// (97.2% right with it, 99.6% without, Weibull 0.5).
//
// The endgame (Endgame()): once one culprit holds half the mass, the
// information score is the wrong guide, as it cannot value a run of the
// culprit itself (it hangs whichever of c and c - 1 is the culprit) though
// that run's hang sharpens the rate that every quiet second of c - 1 is
// judged by. The engine then weighs a run of c against one of c - 1 by the
// expected gain in the stop's margin per guest-second: at n = 64, a 120 s
// mean and 600 s runs it cut 75.1 guest-minutes to 64.8 (500 bisections,
// exponential shape), and 26.6 to 22.5 at a 40 s mean and 180 s runs.
//
// What it buys, in the simulator's time-to-hang world (`bisect simulate
// --hang-time`, 300 trials, 10 s overhead, shape unknown, every cell right in
// at least 99.7%): hangs after 40 s on average, runs of up to 600 s: 26
// guest-minutes to the answer against 111 for the coin engine at n = 64
// (4.2x), 34 against 142 at n = 1024 (4.2x); a 120 s mean: 73 against 121
// (1.7x); runs of up to 180 s and a 40 s mean: 27 against 40 (1.5x). At 180 s
// the coin engine is close to what any strategy can do: each quiet step must
// rule out a 40 s bug to about e^-6, 250 s of quiet, which a 180 s run almost
// gives. When the bug is slow (a mean hang time near or past the run length)
// a run's length cannot be cut and the exposure engine gains nothing (347
// against 345 guest-minutes at a 600 s mean and 600 s runs, 369 against 320
// with 180 s runs): there the coin model is the better choice, and it stays
// the default.
//
// A fix search (the old end hangs, the first quiet candidate is wanted) is the
// same search on the reversed list; the class maps indices at its boundary.
#include "harness/bisect/engine.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "results/stats.h"

namespace blackout {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

double LogBeta(double a, double b) { return std::lgamma(a) + std::lgamma(b) - std::lgamma(a + b); }

double XLogX(double x) { return x > 0 ? x * std::log(x) : 0; }

double EntropyBits(const std::vector<double>& p) {
  double h = 0;
  for (double x : p) h -= XLogX(x);
  return h / std::log(2.0);
}

}  // namespace

std::vector<double> UnknownHangShapes() { return {0.5, 0.71, 1, 1.41, 2}; }

double ZChannelCapacity(double p) {
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  double s = 1 - p;  // a hanging build that runs quiet
  return std::log2(1 + (1 - s) * std::pow(s, s / (1 - s)));
}

int RunsToTrust(double p, double alpha) {
  if (p >= 1) return 1;
  return std::max(1, static_cast<int>(std::ceil(std::log(alpha) / std::log1p(-p) - 1e-9)));
}

Bisector::Bisector(BisectModel model) : model_(model) {
  size_t n = static_cast<size_t>(std::max(2, model_.n));
  model_.n = static_cast<int>(n);
  hangs_.assign(n, 0);
  quiet_.assign(n, 0);
  exposure_.assign(n, 0);
  const bool exposure = model_.run_model == BisectModel::RunModel::kExposure;
  shapes_ = !exposure || model_.rate || model_.shapes.empty() ? std::vector<double>{1} : model_.shapes;
  for (double& k : shapes_) k = std::min(8.0, std::max(0.1, k));
  model_.shapes = shapes_;
  if (ShapeMixture()) {
    exposure_k_.assign(shapes_.size(), std::vector<double>(n, 0));
    log_hang_.assign(n, 0);
  }
  skipped_.assign(n, false);
}

void Bisector::Record(int candidate, Outcome outcome, double exposure_s) {
  if (candidate < 0 || candidate >= model_.n) return;
  size_t i = static_cast<size_t>(In(candidate));
  ++runs_;
  if (!(exposure_s >= 0) || !std::isfinite(exposure_s)) exposure_s = 0;
  switch (outcome) {
    case Outcome::kHang: hangs_[i] += 1; exposure_[i] += exposure_s; break;
    case Outcome::kQuiet: quiet_[i] += 1; exposure_[i] += exposure_s; break;
    case Outcome::kSkip: skipped_[i] = true; return;
    case Outcome::kOther: return;
  }
  if (ShapeMixture()) {
    // A hang's time is known to about a second (the heartbeat's period), and
    // a zero would make the density of a heavy-tailed shape infinite.
    double t = std::max(1.0, exposure_s);
    for (size_t g = 0; g < shapes_.size(); ++g) exposure_k_[g][i] += std::pow(t, shapes_[g]);
    if (outcome == Outcome::kHang) log_hang_[i] += std::log(t);
  }
}

Bisector::Sums Bisector::PrefixSums() const {
  size_t n = hangs_.size();
  Sums s{std::vector<double>(n + 1, 0), std::vector<double>(n + 1, 0), std::vector<double>(n + 1, 0), {}, {}};
  for (size_t i = 0; i < n; ++i) {
    s.k[i + 1] = s.k[i] + hangs_[i];
    s.f[i + 1] = s.f[i] + quiet_[i];
    s.t[i + 1] = s.t[i] + exposure_[i];
  }
  if (ShapeMixture()) {
    s.u.assign(shapes_.size(), std::vector<double>(n + 1, 0));
    s.log_hang.assign(n + 1, 0);
    for (size_t i = 0; i < n; ++i) {
      for (size_t g = 0; g < shapes_.size(); ++g) s.u[g][i + 1] = s.u[g][i] + exposure_k_[g][i];
      s.log_hang[i + 1] = s.log_hang[i] + log_hang_[i];
    }
  }
  return s;
}

// The shape mixture: with shape k the time to hang t is exponential in t^k
// (rate r), so K hangs at times t_i and exposure U = sum of t^k (hangs and
// quiet runs) have likelihood prod(k r t_i^(k-1)) e^(-r U), and with r
// integrated out under Gamma(a, b): k^K e^((k-1) sum log t_i) b^a
// Gamma(a + K) / (Gamma(a) (b + U)^(a + K)). One term per shape; the shapes'
// prior is uniform.
void Bisector::ShapeTerms(const Sums& s, size_t from, std::vector<double>* terms) const {
  size_t n = hangs_.size();
  double k = s.k[n] - s.k[from], lt = s.log_hang[n] - s.log_hang[from];
  double a = model_.rate_prior_a, b = model_.rate_prior_b;
  terms->assign(shapes_.size(), 0);
  for (size_t g = 0; g < shapes_.size(); ++g) {
    double shape = shapes_[g], u = s.u[g][n] - s.u[g][from];
    double l = k * std::log(shape) + (shape - 1) * lt - std::log(static_cast<double>(shapes_.size()));
    if (fixed_rates_.empty()) {
      l += std::lgamma(a + k) - (a + k) * std::log(b + u) - std::lgamma(a) + a * std::log(b);
    } else if (fixed_rates_[g] <= 0) {
      l = kNegInf;  // a pessimist who rules this shape out
    } else {
      l += k * std::log(fixed_rates_[g]) - fixed_rates_[g] * u;
    }
    (*terms)[g] = l;
  }
}

double Bisector::Survival(const Sums& s, size_t c, const std::vector<double>& terms, double t) const {
  size_t n = hangs_.size();
  double k = s.k[n] - s.k[c];
  double mx = *std::max_element(terms.begin(), terms.end());
  double z = 0, surv = 0;
  for (size_t g = 0; g < shapes_.size(); ++g) {
    double w = std::exp(terms[g] - mx);
    double tk = std::pow(std::max(0.0, t), shapes_[g]);
    double u = s.u[g][n] - s.u[g][c];
    double sg = fixed_rates_.empty()
                    ? std::exp((model_.rate_prior_a + k) * (std::log(model_.rate_prior_b + u) -
                                                            std::log(model_.rate_prior_b + u + tk)))
                    : std::exp(-fixed_rates_[g] * tk);
    z += w;
    surv += w * sg;
  }
  return z > 0 ? surv / z : 1;
}

// E[min(T, d)] = integral of the survival from 0 to d; with t = d x^2 the
// steep start of a heavy tail is sampled finely (Simpson's rule, 16 steps).
double Bisector::ExpectedWorkload(const Sums& s, size_t c, double d) const {
  if (!ShapeMixture()) {
    // P(hang within d) / rate, at the rate's posterior mean.
    double rate = SteadyRate(s, c);
    return rate > 0 ? std::min(d, SteadyHangChance(s, c, d) / rate) : d;
  }
  std::vector<double> terms;
  ShapeTerms(s, c, &terms);
  const int steps = 16;
  double sum = 0;
  for (int i = 0; i <= steps; ++i) {
    double x = static_cast<double>(i) / steps;
    double f = Survival(s, c, terms, d * x * x) * 2 * d * x;
    sum += f * (i == 0 || i == steps ? 1 : (i % 2 ? 4 : 2));
  }
  return std::min(d, sum / (3 * steps));
}

double Bisector::SteadyRate(const Sums& s, size_t c) const {
  if (model_.rate) return *model_.rate;
  size_t n = hangs_.size();
  return (model_.rate_prior_a + s.k[n] - s.k[c]) / (model_.rate_prior_b + s.t[n] - s.t[c]);
}

// With the rate's posterior Gamma(a + K, b + T), E[1 - e^(-rate d)] is
// 1 - ((b + T) / (b + T + d))^(a + K).
double Bisector::SteadyHangChance(const Sums& s, size_t c, double d) const {
  if (model_.rate) return -std::expm1(-*model_.rate * d);
  size_t n = hangs_.size();
  double a = model_.rate_prior_a + s.k[n] - s.k[c], b = model_.rate_prior_b + s.t[n] - s.t[c];
  return -std::expm1(a * (std::log(b) - std::log(b + d)));
}

// m_c: the posterior mean of p given culprit c (p itself when known); in the
// exposure model, of 1 - exp(-rate * duration) (SteadyHangChance, or the
// shape mixture's survival).
std::vector<double> Bisector::HangMean(const Sums& sums, double duration_s) const {
  size_t n = hangs_.size();
  std::vector<double> m(n, 0);
  for (size_t c = 1; c < n; ++c) {
    double k = sums.k[n] - sums.k[c], f = sums.f[n] - sums.f[c];
    if (model_.run_model == BisectModel::RunModel::kExposure) {
      if (!ShapeMixture()) {
        m[c] = SteadyHangChance(sums, c, duration_s);
      } else if (SameSide(c)) {
        m[c] = m[c - 1];
      } else {
        std::vector<double> terms;
        ShapeTerms(sums, c, &terms);
        m[c] = 1 - Survival(sums, c, terms, duration_s);
      }
    } else if (model_.p) {
      m[c] = *model_.p;
    } else {
      double flaky_mean = (model_.prior_a + k) / (model_.prior_a + model_.prior_b + k + f);
      double w = model_.deterministic_weight;
      if (w <= 0 || f > 0) {
        m[c] = flaky_mean;
      } else {
        // Posterior weight of "deterministic" given the hanging side's K hangs:
        // w * 1 against (1 - w) * B(a + K, b) / B(a, b).
        double flaky = std::log1p(-w) + LogBeta(model_.prior_a + k, model_.prior_b) -
                       LogBeta(model_.prior_a, model_.prior_b);
        double det = std::log(w);
        double pw = 1 / (1 + std::exp(flaky - det));
        m[c] = pw + (1 - pw) * flaky_mean;
      }
    }
  }
  return m;
}

std::vector<double> Bisector::InternalPosterior() const {
  size_t n = hangs_.size();
  Sums sums = PrefixSums();
  const std::vector<double>& kpre = sums.k;
  const std::vector<double>& fpre = sums.f;
  const bool exposure = model_.run_model == BisectModel::RunModel::kExposure;
  const double q = exposure ? 0 : model_.q;
  std::vector<double> logp(n, kNegInf);
  size_t mix_c = 0;  // the shape mixture's term, kept while c's side stays the same
  double mix_l = 0;
  for (size_t c = 1; c < n; ++c) {
    double kq = kpre[c], fq = fpre[c];              // quiet side: i < c
    double kh = kpre[n] - kpre[c], fh = fpre[n] - fpre[c];  // hanging side: i >= c
    double l = 0;
    if (q <= 0) {
      if (kq > 0) continue;
    } else {
      l += kq * std::log(q) + fq * std::log1p(-q);
    }
    if (exposure) {
      // K hangs in T seconds of exposure on the hanging side: rate^K e^(-rate T),
      // or with the rate integrated out under Gamma(a, b):
      // b^a Gamma(a + K) / (Gamma(a) (b + T)^(a + K)).
      double th = sums.t[n] - sums.t[c];
      if (ShapeMixture()) {
        if (!SameSide(c) || mix_c != c - 1) {
          std::vector<double> terms;
          ShapeTerms(sums, c, &terms);
          double mx = *std::max_element(terms.begin(), terms.end());
          double z = 0;
          for (double x : terms) z += std::exp(x - mx);
          mix_l = mx + std::log(z);
        }
        mix_c = c;
        l += mix_l;
      } else if (model_.rate) {
        l += kh * std::log(*model_.rate) - *model_.rate * th;
      } else {
        double a = model_.rate_prior_a, b = model_.rate_prior_b;
        l += std::lgamma(a + kh) - (a + kh) * std::log(b + th) - std::lgamma(a) + a * std::log(b);
      }
    } else if (model_.p) {
      double p = *model_.p;
      if (p >= 1) {
        if (fh > 0) continue;
      } else {
        l += kh * std::log(p) + fh * std::log1p(-p);
      }
    } else {
      // Mixture prior: deterministic (p = 1: no quiet run may sit on the
      // hanging side) or flaky with p ~ Beta(a, b), integrated out.
      double w = model_.deterministic_weight;
      double flaky = std::log1p(-w) + LogBeta(model_.prior_a + kh, model_.prior_b + fh) -
                     LogBeta(model_.prior_a, model_.prior_b);
      double both = flaky;
      if (w > 0 && fh == 0) {
        double det = std::log(w);
        double hi = std::max(det, flaky);
        both = hi + std::log(std::exp(det - hi) + std::exp(flaky - hi));
      }
      l += w >= 1 ? (fh == 0 ? 0.0 : kNegInf) : both;
    }
    if (l == kNegInf) continue;
    logp[c] = l;
  }
  double mx = *std::max_element(logp.begin(), logp.end());
  std::vector<double> post(n, 0);
  if (mx == kNegInf) {
    // The data contradict the model (e.g. a hang on the quiet end with q = 0):
    // fall back to the prior rather than divide by zero; Done() stays false.
    for (size_t c = 1; c < n; ++c) post[c] = 1.0 / static_cast<double>(n - 1);
    return post;
  }
  double z = 0;
  for (size_t c = 1; c < n; ++c) {
    post[c] = logp[c] == kNegInf ? 0 : std::exp(logp[c] - mx);
    z += post[c];
  }
  for (double& x : post) x /= z;
  return post;
}

std::vector<double> Bisector::Posterior() const {
  std::vector<double> in = InternalPosterior();
  if (model_.regression) return in;
  // Internal culprit c (first hanging candidate of the reversed list) is the
  // caller's first quiet candidate n - c.
  std::vector<double> out(in.size(), 0);
  for (size_t c = 1; c < in.size(); ++c) out[in.size() - c] = in[c];
  return out;
}

BisectState Bisector::State() const {
  BisectState s;
  std::vector<double> post = Posterior();
  auto best = std::max_element(post.begin(), post.end());
  s.best = static_cast<int>(best - post.begin());
  s.best_probability = *best;
  std::vector<double> in = InternalPosterior();
  size_t n = hangs_.size();
  Sums sums = PrefixSums();
  std::vector<double> m = HangMean(sums, model_.max_duration_s);
  for (size_t c = 1; c < n; ++c) s.p_estimate += in[c] * m[c];
  if (model_.run_model == BisectModel::RunModel::kExposure) {
    for (size_t c = 1; c < n; ++c) s.rate_estimate += in[c] * SteadyRate(sums, c);
  }
  if (ShapeMixture()) {
    s.shape_estimate = 0;
    std::vector<double> terms;
    double mean = 0;  // the shape's posterior mean given culprit c
    for (size_t c = 1; c < n; ++c) {
      if (!SameSide(c)) {
        ShapeTerms(sums, c, &terms);
        double mx = *std::max_element(terms.begin(), terms.end()), z = 0, m = 0;
        for (size_t g = 0; g < shapes_.size(); ++g) {
          double w = std::exp(terms[g] - mx);
          z += w;
          m += w * shapes_[g];
        }
        mean = m / z;
      }
      s.shape_estimate += in[c] * mean;
    }
  }
  s.entropy_bits = EntropyBits(post);
  double cap = ZChannelCapacity(s.p_estimate);
  s.expected_runs_left = cap > 0 ? s.entropy_bits / cap : std::numeric_limits<double>::infinity();
  s.runs = runs_;
  return s;
}

// With p unknown the posterior leans on an estimate of p that is poor while few
// hangs are seen (small p is overestimated, so quiet runs count for too much):
// stop at alpha / 2 then. Simulated at n = 1024, p = 0.1, 500 trials, point
// mass 0: accuracy 0.974 at alpha (292 runs), 0.995 at alpha / 2 (312 runs).
double Bisector::StopThreshold(double alpha) const {
  bool known = model_.run_model == BisectModel::RunModel::kExposure ? model_.rate.has_value() : model_.p.has_value();
  return 1 - (known ? alpha : alpha / 2);
}

bool Bisector::Done(double alpha) const {
  BisectState s = State();
  if (s.best_probability < StopThreshold(alpha)) return false;
  return PessimistPosterior(In(s.best)) >= 1 - alpha;
}

// p unknown: the answer must also hold at a pessimistic p, the low end of the
// 99% interval of the hang rate on the culprit's hanging side. The search
// leaves a candidate once it hangs, so the culprit's side is rich in hangs
// and p looks high; then a few quiet runs of a bad left neighbour pass for
// good ones (see "When to stop"). Returns 1 when no pessimist is needed (p
// known, or no quiet run on c's side below), 0 when the data cannot bound p
// yet.
double Bisector::PessimistPosterior(int c) const {
  const bool exposure = model_.run_model == BisectModel::RunModel::kExposure;
  if (exposure ? model_.rate.has_value() : model_.p.has_value()) return 1;
  size_t n = hangs_.size();
  double k = 0, f = 0, t = 0;
  std::vector<double> u(ShapeMixture() ? shapes_.size() : 0, 0);  // per shape: sum of t^shape
  for (size_t i = static_cast<size_t>(c); i < n; ++i) {
    k += hangs_[i];
    f += quiet_[i];
    t += exposure_[i];
    for (size_t g = 0; g < u.size(); ++g) u[g] += exposure_k_[g][i];
  }
  if (k + f <= 0) return 0;
  // No quiet run on c's side: a deterministic bug's, nothing to be
  // pessimistic about. Not with the shape unknown: there a heavy tail's
  // first hangs come within a second or two, runs chosen short then hang
  // every time, and one short quiet run of a bad neighbour looked final
  // (Weibull 0.5 world: 97.2% right with this shortcut, 99.6% without).
  if (f == 0 && !ShapeMixture()) return 1;
  Bisector pessimist = *this;
  if (exposure) {
    // The rate's 1% quantile given K hangs in T seconds: Gamma(K, T) by
    // Wilson and Hilferty's cube-root approximation (z = 2.326).
    if (k <= 0 || t <= 0) return 0;
    double g = 1 - 1 / (9 * k) - 2.326 * std::sqrt(1 / (9 * k));
    if (g <= 0) return 0;
    if (ShapeMixture()) {
      // Each shape's rate (per unit of t^shape) at its 1% quantile; the
      // shapes weighed by how well they explain the hangs at those rates.
      pessimist.fixed_rates_.assign(shapes_.size(), 0);
      for (size_t s = 0; s < shapes_.size(); ++s) {
        if (u[s] <= 0) return 0;
        pessimist.fixed_rates_[s] = k / u[s] * g * g * g;
      }
    } else {
      pessimist.model_.rate = k / t * g * g * g;
    }
  } else {
    double p_low = WilsonInterval(static_cast<int>(k), static_cast<int>(k + f), 0.99).low;
    if (p_low <= 0) return 0;
    pessimist.model_.p = std::min(1.0, p_low);
  }
  return pessimist.InternalPosterior()[static_cast<size_t>(c)];
}

namespace {
double ClippedLogit(double x) {
  x = std::min(std::max(x, 1e-16), 1 - 1e-16);
  return std::log(x) - std::log1p(-x);
}
}  // namespace

// How far the stop is, in log-odds: the smaller margin of the two tests Done
// makes (the best culprit's posterior against StopThreshold, the pessimist's
// against 1 - alpha); >= 0 means done.
double Bisector::StopMargin(double alpha) const {
  std::vector<double> post = InternalPosterior();
  int c = static_cast<int>(std::max_element(post.begin(), post.end()) - post.begin());
  double m = ClippedLogit(post[static_cast<size_t>(c)]) - ClippedLogit(StopThreshold(alpha));
  double pess = PessimistPosterior(c);
  if (pess < 1) m = std::min(m, ClippedLogit(pess) - ClippedLogit(1 - alpha));
  return m;
}

// The endgame (exposure model): the posterior holds one culprit c at
// kEndgameLevel or more, and what is left is to make both tests of the stop
// pass. The information score cannot see half of that: a run of c, when the
// mass sits on c and c - 1, hangs either way and so teaches nothing about
// the culprit, yet its hang sharpens the rate on c's side, and every quiet
// second already spent on c - 1 then counts for more (both in the posterior,
// whose rate is integrated over a Gamma with K + 1/2 as its shape, and in the
// pessimist, whose 1% quantile g^3 is 0.20 of the estimate at K = 4 hangs and
// 0.36 at 8). So the endgame scores runs of c and of its left neighbour, each
// at the lengths NextDuration tries, by the expected gain in StopMargin per
// expected guest-second (overhead plus workload, a hang ending the run), and
// runs the best. A trace at n = 8, hangs after 15 s, runs of up to 120 s:
// six quiet runs of c - 1 (555 s) and one of c before the stop without it.
std::optional<Bisector::Pick> Bisector::Endgame(double alpha) const {
  if (model_.run_model != BisectModel::RunModel::kExposure || Calibrating()) return std::nullopt;
  std::vector<double> post = InternalPosterior();
  int c = static_cast<int>(std::max_element(post.begin(), post.end()) - post.begin());
  if (post[static_cast<size_t>(c)] < kEndgameLevel) return std::nullopt;
  const double now = StopMargin(alpha);
  if (now >= 0) return std::nullopt;
  Sums sums = PrefixSums();
  int left = c - 1;
  while (left > 0 && skipped_[static_cast<size_t>(left)]) --left;
  std::vector<int> options;
  if (!skipped_[static_cast<size_t>(c)]) options.push_back(c);
  if (left > 0) options.push_back(left);
  std::optional<Pick> best;
  double best_score = 0;
  for (double d = model_.max_duration_s; d >= model_.min_duration_s * 0.999; d /= std::sqrt(2.0)) {
    std::vector<double> m = HangMean(sums, d);
    for (int j : options) {
      // P(j hangs within d) under the posterior, and the rate on the side of
      // the culprit that makes it hang (c's: the endgame's assumption).
      double p_hang = 0;
      for (int x = 1; x <= j; ++x) p_hang += post[static_cast<size_t>(x)] * m[static_cast<size_t>(x)];
      double h = m[static_cast<size_t>(c)];
      double t_hang = h > 1e-12 ? std::max(0.0, (ExpectedWorkload(sums, static_cast<size_t>(c), d) - d * (1 - h)) / h) : d;
      auto after = [&](Outcome o, double secs) {
        Bisector b = *this;
        b.Record(In(j), o, secs);
        return b.StopMargin(alpha) - now;
      };
      double gain = (1 - p_hang) * after(Outcome::kQuiet, d);
      if (p_hang > 0) gain += p_hang * after(Outcome::kHang, t_hang);
      double cost = model_.run_overhead_s + p_hang * t_hang + (1 - p_hang) * d;
      if (gain > 0 && gain / cost > best_score) {
        best_score = gain / cost;
        best = Pick{j, d};
      }
    }
  }
  return best;
}

int Bisector::HangingEndRuns() const {
  size_t e = hangs_.size() - 1;
  return static_cast<int>(hangs_[e] + quiet_[e]);
}

bool Bisector::Calibrating() const {
  bool known = model_.run_model == BisectModel::RunModel::kExposure ? model_.rate.has_value() : model_.p.has_value();
  return !known && hangs_.back() < 2 && !skipped_.back();
}

int Bisector::BestFor(const std::vector<double>& post, const Sums& sums, double duration_s,
                      double* expected_entropy) const {
  size_t n = hangs_.size();
  std::vector<double> m = HangMean(sums, duration_s);
  const double q = model_.run_model == BisectModel::RunModel::kExposure ? 0 : model_.q;
  // Prefix sums over c of x log x for the four cases (c <= j hangs / stays
  // quiet with m_c; c > j with q), and of the outcome probabilities.
  std::vector<double> ah(n + 1, 0), aq(n + 1, 0), bh(n + 1, 0), bq(n + 1, 0), zh(n + 1, 0), mass(n + 1, 0);
  for (size_t c = 0; c < n; ++c) {
    double x = post[c];
    ah[c + 1] = ah[c] + XLogX(x * m[c]);
    aq[c + 1] = aq[c] + XLogX(x * (1 - m[c]));
    bh[c + 1] = bh[c] + XLogX(x * q);
    bq[c + 1] = bq[c] + XLogX(x * (1 - q));
    zh[c + 1] = zh[c] + x * m[c];
    mass[c + 1] = mass[c] + x;
  }
  double h_now = 0;
  for (double x : post) h_now -= XLogX(x);
  double best_e = std::numeric_limits<double>::infinity();
  int best_j = -1;
  for (size_t j = 1; j < n; ++j) {
    if (skipped_[j]) continue;
    // Culprits c <= j (prefix j+1) would make j hang with m_c; c > j with q.
    double z_h = zh[j + 1] + q * (mass[n] - mass[j + 1]);
    double z_q = 1 - z_h;
    double e = -(ah[j + 1] + bh[n] - bh[j + 1]) + XLogX(z_h) - (aq[j + 1] + bq[n] - bq[j + 1]) + XLogX(z_q);
    if (e < best_e - 1e-12) {
      best_e = e;
      best_j = static_cast<int>(j);
    }
  }
  *expected_entropy = best_e;
  if (best_j < 0 || h_now - best_e <= 1e-9) return -1;
  return best_j;
}

double Bisector::NextDuration(double alpha) const {
  if (model_.run_model != BisectModel::RunModel::kExposure || Calibrating()) return model_.max_duration_s;
  if (std::optional<Pick> p = Endgame(alpha)) return p->duration_s;
  // Information per guest-second: a run of length d costs the overhead plus
  // its expected workload seconds, E[min(time to hang, d)], which for culprit
  // c <= j is (1 - E[e^(-rate d)]) / rate, taken at the rate's posterior mean.
  std::vector<double> post = InternalPosterior();
  Sums sums = PrefixSums();
  size_t n = hangs_.size();
  double h_now = 0;
  for (double x : post) h_now -= XLogX(x);
  double best_d = model_.max_duration_s, best_score = -1;
  for (double d = model_.max_duration_s; d >= model_.min_duration_s * 0.999; d /= std::sqrt(2.0)) {
    double e = 0;
    int j = BestFor(post, sums, d, &e);
    if (j < 0) continue;
    double cost = model_.run_overhead_s;
    size_t w_c = 0;  // ExpectedWorkload, kept while c's side stays the same
    double w = 0;
    for (size_t c = 1; c < n; ++c) {
      if (static_cast<int>(c) > j) {
        cost += post[c] * d;
        continue;
      }
      if (!SameSide(c) || w_c != c - 1) w = ExpectedWorkload(sums, c, d);
      w_c = c;
      cost += post[c] * w;
    }
    double score = (h_now - e) / cost;
    if (score > best_score) {
      best_score = score;
      best_d = d;
    }
  }
  return best_d;
}

std::vector<int> Bisector::Next(int slots, double alpha) const {
  size_t n = hangs_.size();
  int hanging_end = In(static_cast<int>(n) - 1);
  if (Calibrating()) return std::vector<int>(static_cast<size_t>(std::max(1, slots)), hanging_end);

  std::vector<int> out;
  if (std::optional<Pick> p = Endgame(alpha)) {
    return std::vector<int>(static_cast<size_t>(std::max(1, slots)), In(p->candidate));
  }
  std::vector<double> post = InternalPosterior();
  if (slots <= 1) {
    double e = 0;
    int j = BestFor(post, PrefixSums(), NextDuration(alpha), &e);
    if (j >= 0) out.push_back(In(j));
    return out;
  }
  // Several slots: the posterior quantiles i/(M+1). Testing j asks "is the
  // culprit at or before j?", so slot s takes the candidate whose P(c <= j) is
  // nearest s/(M+1) among those where the answer is still open (0 < P < 1) and
  // that are not skipped. Slots may share a candidate: when two neighbours
  // hold all the mass, the round runs the one between them M times.
  std::vector<double> cdf(n, 0);
  double acc = 0;
  for (size_t c = 0; c < n; ++c) cdf[c] = (acc += post[c]);
  const double eps = 1e-12;
  for (int s = 1; s <= slots; ++s) {
    double target = static_cast<double>(s) / (slots + 1);
    size_t pick = n;
    double best = std::numeric_limits<double>::infinity();
    for (size_t j = 1; j < n; ++j) {
      if (skipped_[j] || cdf[j] <= eps || cdf[j] >= 1 - eps) continue;
      double d = std::fabs(cdf[j] - target);
      if (d < best) {
        best = d;
        pick = j;
      }
    }
    if (pick == n) break;
    out.push_back(In(static_cast<int>(pick)));
  }
  return out;
}

}  // namespace blackout
