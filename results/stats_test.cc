#include "results/stats.h"

#include <gtest/gtest.h>

namespace blackout {
namespace {

// Reference numbers from SciPy 1.10 (Debian 12's python3-scipy):
//   stats.binomtest(k, n).proportion_ci(method='wilson')
//   stats.fisher_exact(table).pvalue
//   stats.mannwhitneyu(x, y, alternative='two-sided', method='asymptotic')
//   numpy.percentile
TEST(Stats, WilsonIntervalMatchesScipy) {
  Interval a = WilsonInterval(8, 20);
  EXPECT_NEAR(a.low, 0.21880653237281705, 1e-12);
  EXPECT_NEAR(a.high, 0.6134184992377467, 1e-12);
  Interval b = WilsonInterval(0, 30);
  EXPECT_NEAR(b.low, 0.0, 1e-12);
  EXPECT_NEAR(b.high, 0.11351339317396875, 1e-12);
  Interval c = WilsonInterval(30, 30);
  EXPECT_NEAR(c.low, 0.8864866068260312, 1e-12);
  EXPECT_NEAR(c.high, 1.0, 1e-12);
  Interval d = WilsonInterval(1, 10);
  EXPECT_NEAR(d.low, 0.017876213095072896, 1e-12);
  EXPECT_NEAR(d.high, 0.4041500267952385, 1e-12);
}

TEST(Stats, FisherExactMatchesScipy) {
  EXPECT_NEAR(FisherExactTwoSided(8, 12, 1, 19), 0.019656019656019652, 1e-12);
  EXPECT_NEAR(FisherExactTwoSided(3, 7, 2, 8), 1.0, 1e-12);
  EXPECT_NEAR(FisherExactTwoSided(0, 30, 6, 24), 0.023720703916957266, 1e-12);
  EXPECT_DOUBLE_EQ(FisherExactTwoSided(0, 0, 0, 0), 1.0);
}

TEST(Stats, MannWhitneyMatchesScipy) {
  MannWhitney m = MannWhitneyU({2.1, 3.5, 2.8, 9.3, 4.4, 2.2, 6.1}, {2.0, 2.05, 2.3, 2.1, 2.2, 2.4, 2.1, 3.0});
  EXPECT_DOUBLE_EQ(m.u, 46.5);
  EXPECT_NEAR(m.p, 0.03639761000366493, 1e-12);
  MannWhitney ties = MannWhitneyU({1, 2, 2, 3, 3, 3, 4}, {3, 4, 4, 5, 5, 6});
  EXPECT_DOUBLE_EQ(ties.u, 3.5);
  EXPECT_NEAR(ties.p, 0.012999854364387305, 1e-12);
  EXPECT_DOUBLE_EQ(MannWhitneyU({}, {1}).p, 1.0);
  EXPECT_DOUBLE_EQ(MannWhitneyU({2, 2}, {2, 2}).p, 1.0);
}

TEST(Stats, QuantilesMatchNumpy) {
  std::vector<double> x = {2.1, 3.5, 2.8, 9.3, 4.4, 2.2, 6.1};
  EXPECT_NEAR(Quantile(x, 0.95), 8.34, 1e-9);
  EXPECT_NEAR(Quantile(x, 0.5), 3.5, 1e-12);
  EXPECT_DOUBLE_EQ(Quantile(x, 1), 9.3);
  EXPECT_DOUBLE_EQ(Quantile({}, 0.5), 0);
}

// Two-proportion sample size (normal approximation, 80% power): 75.12 and
// 57.67 before rounding up, as computed with scipy.stats.norm.ppf.
TEST(Stats, RunsToDetect) {
  EXPECT_EQ(RunsToDetect(0.2, 0.05), 76);
  EXPECT_EQ(RunsToDetect(0.5, 0.25), 58);
}

TEST(Stats, CompareSaysWhichHangsLess) {
  Sample a{"3.2.0-38", 8, 20, {2.1, 3.5, 2.8, 9.3, 4.4, 2.2, 6.1, 3.3}};
  Sample b{"3.2.0-39.62", 1, 20, {2.05}};
  Comparison c = Compare(a, b);
  EXPECT_NEAR(c.fisher_p, 0.019656019656019652, 1e-12);
  EXPECT_EQ(c.sentence.rfind("3.2.0-39.62 hangs less than 3.2.0-38 (5% vs 40%, Fisher p=0.020)", 0), 0u) << c.sentence;
}

TEST(Stats, CompareSaysHowManyRunsItWouldTake) {
  Sample a{"A", 3, 10, {}};
  Sample b{"B", 2, 10, {}};
  Comparison c = Compare(a, b);
  EXPECT_EQ(c.sentence,
            "no difference detected (30% vs 20%, Fisher p=1.000); to detect a drop from 30% to 8% at 95% "
            "confidence you need 47 runs each");
  Sample none{"C", 0, 0, {}};
  EXPECT_NE(Compare(a, none).sentence.find("C has no runs"), std::string::npos);
}

}  // namespace
}  // namespace blackout
