#include "results/stats.h"

#include <algorithm>
#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <cstdio>
#include <map>

namespace blackout {
namespace {

double NormalQuantile(double p) { return boost::math::quantile(boost::math::normal(), p); }

std::string Percent(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f%%", 100 * x);
  return buf;
}

std::string PValue(double p) {
  char buf[32];
  if (p < 0.001) return "p<0.001";
  std::snprintf(buf, sizeof buf, "p=%.3f", p);
  return buf;
}

}  // namespace

Interval WilsonInterval(int k, int n, double confidence) {
  if (n <= 0) return {0, 1};
  double z = NormalQuantile(1 - (1 - confidence) / 2);
  double p = static_cast<double>(k) / n;
  double z2n = z * z / n;
  double center = (p + z2n / 2) / (1 + z2n);
  double half = z * std::sqrt(p * (1 - p) / n + z2n / (4.0 * n)) / (1 + z2n);
  return {std::max(0.0, center - half), std::min(1.0, center + half)};
}

namespace {
double LogChoose(double n, double k) { return std::lgamma(n + 1) - std::lgamma(k + 1) - std::lgamma(n - k + 1); }
}  // namespace

// Sums the hypergeometric probabilities of the tables no likelier than the
// observed one. Each term from log-gamma: Boost's exact pdf factorises
// binomials into primes per call, which took 13 s for two sides of 25,000 runs.
double FisherExactTwoSided(int a, int b, int c, int d) {
  unsigned total = static_cast<unsigned>(a + b + c + d);
  if (total == 0) return 1;
  unsigned defective = static_cast<unsigned>(a + c);  // hangs
  unsigned sample = static_cast<unsigned>(a + b);     // runs of the first side
  unsigned lo = sample + defective > total ? sample + defective - total : 0;
  unsigned hi = std::min(defective, sample);
  double base = LogChoose(total, sample);
  auto log_pdf = [&](unsigned x) { return LogChoose(defective, x) + LogChoose(total - defective, sample - x) - base; };
  double observed = log_pdf(static_cast<unsigned>(a)) + std::log1p(1e-7);
  double p = 0;
  for (unsigned x = lo; x <= hi; ++x) {
    double lp = log_pdf(x);
    if (lp <= observed) p += std::exp(lp);
  }
  return std::min(1.0, p);
}

MannWhitney MannWhitneyU(const std::vector<double>& x, const std::vector<double>& y) {
  MannWhitney out;
  size_t n1 = x.size(), n2 = y.size();
  if (n1 == 0 || n2 == 0) return out;
  std::vector<std::pair<double, int>> all;
  for (double v : x) all.emplace_back(v, 0);
  for (double v : y) all.emplace_back(v, 1);
  std::sort(all.begin(), all.end());
  // Mid-ranks for ties, and the tie term of the variance.
  double r1 = 0, ties = 0;
  size_t n = all.size();
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && all[j].first == all[i].first) ++j;
    double rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
    double t = static_cast<double>(j - i);
    ties += t * t * t - t;
    for (size_t k = i; k < j; ++k) {
      if (all[k].second == 0) r1 += rank;
    }
    i = j;
  }
  double dn1 = static_cast<double>(n1), dn2 = static_cast<double>(n2), dn = static_cast<double>(n);
  out.u = r1 - dn1 * (dn1 + 1) / 2;
  double mu = dn1 * dn2 / 2;
  double var = dn1 * dn2 / 12 * ((dn + 1) - ties / (dn * (dn - 1)));
  if (var <= 0) return out;  // every value the same
  double z = (std::fabs(out.u - mu) - 0.5) / std::sqrt(var);
  if (z < 0) z = 0;
  out.p = std::min(1.0, 2 * boost::math::cdf(boost::math::complement(boost::math::normal(), z)));
  return out;
}

double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  double pos = q * static_cast<double>(v.size() - 1);
  size_t i = static_cast<size_t>(std::floor(pos));
  if (i + 1 >= v.size()) return v.back();
  double frac = pos - static_cast<double>(i);
  return v[i] + frac * (v[i + 1] - v[i]);
}

int RunsToDetect(double p1, double p2, double confidence, double power) {
  if (p1 == p2) return 0;
  double za = NormalQuantile(1 - (1 - confidence) / 2);
  double zb = NormalQuantile(power);
  double pbar = (p1 + p2) / 2;
  double num = za * std::sqrt(2 * pbar * (1 - pbar)) + zb * std::sqrt(p1 * (1 - p1) + p2 * (1 - p2));
  return static_cast<int>(std::ceil(num * num / ((p1 - p2) * (p1 - p2))));
}

Comparison Compare(const Sample& a, const Sample& b, double confidence) {
  Comparison c;
  c.a_rate = WilsonInterval(a.hangs, a.runs, confidence);
  c.b_rate = WilsonInterval(b.hangs, b.runs, confidence);
  c.fisher_p = FisherExactTwoSided(a.hangs, a.runs - a.hangs, b.hangs, b.runs - b.hangs);
  if (!a.freeze_lengths.empty() && !b.freeze_lengths.empty()) {
    c.lengths = MannWhitneyU(a.freeze_lengths, b.freeze_lengths);
    c.lengths_compared = true;
  }
  double alpha = 1 - confidence;
  double ra = a.runs ? static_cast<double>(a.hangs) / a.runs : 0;
  double rb = b.runs ? static_cast<double>(b.hangs) / b.runs : 0;
  if (a.runs == 0 || b.runs == 0) {
    c.sentence = "nothing to compare: " + (a.runs == 0 ? a.name : b.name) + " has no runs";
  } else if (c.fisher_p < alpha) {
    c.sentence = b.name + (rb < ra ? " hangs less than " : " hangs more than ") + a.name + " (" + Percent(rb) +
                 " vs " + Percent(ra) + ", Fisher " + PValue(c.fisher_p) + ")";
  } else {
    // What it would take: a drop from the higher rate seen to a quarter of it
    // (from 20% when neither side hung).
    double from = std::max({ra, rb, 0.0});
    if (from == 0) from = 0.2;
    double to = from / 4;
    c.sentence = "no difference detected (" + Percent(ra) + " vs " + Percent(rb) + ", Fisher " + PValue(c.fisher_p) +
                 "); to detect a drop from " + Percent(from) + " to " + Percent(to) + " at " +
                 Percent(confidence) + " confidence you need " + std::to_string(RunsToDetect(from, to, confidence)) +
                 " runs each";
  }
  if (c.lengths_compared && c.lengths.p < alpha) {
    double ma = Quantile(a.freeze_lengths, 0.5), mb = Quantile(b.freeze_lengths, 0.5);
    char buf[160];
    std::snprintf(buf, sizeof buf, "; %s's freezes are %s (median %.2fs vs %.2fs, Mann-Whitney %s)", b.name.c_str(),
                  mb < ma ? "shorter" : "longer", mb, ma, PValue(c.lengths.p).c_str());
    c.sentence += buf;
  }
  return c;
}

}  // namespace blackout
