// The statistics behind `blackout compare`: hang rates with Wilson intervals,
// Fisher's exact test on two rates, the Mann-Whitney U test on freeze
// lengths, and the runs needed to detect a given drop. Distributions come
// from Boost.Math; nothing here does I/O.
#pragma once

#include <string>
#include <vector>

namespace blackout {

struct Interval {
  double low = 0, high = 0;
};

// The Wilson score interval for k successes in n trials (0 <= k <= n, n > 0).
Interval WilsonInterval(int k, int n, double confidence = 0.95);

// Fisher's exact test on the 2x2 table [[a, b], [c, d]]: the two-sided p-value
// (tables as or less likely than the observed one, as R's fisher.test).
double FisherExactTwoSided(int a, int b, int c, int d);

struct MannWhitney {
  double u = 0;  // U of the first sample
  double p = 1;  // two-sided, normal approximation with tie and continuity corrections
};
MannWhitney MannWhitneyU(const std::vector<double>& x, const std::vector<double>& y);

// Linear-interpolated quantile (q in [0, 1]) of unsorted values; 0 if empty.
double Quantile(std::vector<double> values, double q);

// Runs per side to tell rate p1 from rate p2 with a two-sided test at
// `confidence` and the given power (normal approximation).
int RunsToDetect(double p1, double p2, double confidence = 0.95, double power = 0.8);

// Two sets of runs, compared.
struct Sample {
  std::string name;
  int hangs = 0, runs = 0;
  std::vector<double> freeze_lengths;  // the worst freeze of each run that had one
};

struct Comparison {
  Interval a_rate, b_rate;
  double fisher_p = 1;
  MannWhitney lengths;
  bool lengths_compared = false;
  std::string sentence;  // the answer in one line
};

Comparison Compare(const Sample& a, const Sample& b, double confidence = 0.95);

}  // namespace blackout
