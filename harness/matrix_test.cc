#include "harness/matrix.h"

#include <gtest/gtest.h>

#include <set>

#include "base/error.h"
#include "harness/bisect/plan.h"

namespace blackout {
namespace {

const char kMatrix[] = R"(name: nightly
kernels: [linux-image-amd64, linux-image-6.1.0-56-amd64]
guests: [xen-pv-domu, hvm]
workloads: [smoke, sched-mix]
repeats: 2
duration: 20s
exclude:
  - {kernel: linux-image-6.1.0-56-amd64, guest: hvm}
overrides:
  - {match: {guest: hvm}, repeats: 5, duration: 10s}
  - {match: {kernel: linux-image-6.1.0-56-amd64, workload: sched-mix}, workload: {name: sched-mix, faults: [{kind: panic, at: 2s}]}}
compare: {confidence: 0.9, infra_limit: 0.5}
)";

std::vector<std::string> Problems(const std::string& text) {
  try {
    ParseMatrix(text, "m.yaml");
  } catch (const ConfigError& e) {
    return e.problems();
  }
  return {};
}

TEST(Matrix, CellsAreTheProductLessExclusionsWithOverrides) {
  MatrixSpec m = ParseMatrix(kMatrix, "m.yaml");
  EXPECT_EQ(m.name, "nightly");
  ASSERT_EQ(m.cells.size(), 6u);  // 2 x 2 x 2, less the two excluded hvm cells
  EXPECT_EQ(m.cells[0].key, "linux-image-amd64 / xen-pv-domu / smoke");
  EXPECT_EQ(m.cells[0].repeats, 2);
  EXPECT_EQ(m.cells[0].config.workload.duration_s, 20);
  EXPECT_EQ(m.cells[0].config.guest.type, "xen-pv-domu");
  EXPECT_EQ(m.cells[2].key, "linux-image-amd64 / hvm / smoke");
  EXPECT_EQ(m.cells[2].repeats, 5);
  EXPECT_EQ(m.cells[2].config.workload.duration_s, 10);
  EXPECT_EQ(m.cells[2].config.guest.type, "hvm");
  EXPECT_EQ(m.cells[5].key, "linux-image-6.1.0-56-amd64 / xen-pv-domu / sched-mix");
  EXPECT_EQ(m.cells[5].config.kernel.package, "linux-image-6.1.0-56-amd64");
  EXPECT_EQ(m.cells[5].config.workload.name, "sched-mix");
  // The override's workload, under the cell's own label, with the matrix's duration.
  ASSERT_EQ(m.cells[5].config.workload.faults.size(), 1u);
  EXPECT_EQ(m.cells[5].config.workload.duration_s, 20);
  EXPECT_TRUE(m.cells[1].config.workload.faults.empty());
  EXPECT_DOUBLE_EQ(m.confidence, 0.9);
  EXPECT_DOUBLE_EQ(m.infra_limit, 0.5);
  EXPECT_EQ(m.baseline, "previous");
}

TEST(Matrix, ProblemsAreAllPlaced) {
  auto p = Problems("name: nightly\nkernels: [linux-image-amd64]\nrepeat: 3\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].rfind("m.yaml:3:1: ", 0), 0u) << p[0];
  p = Problems("name: a b\nkernels: [linux-image-amd64]\nexclude: [{guest: hvm}]\n");
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].rfind("m.yaml:1:7: 'name' must be", 0), 0u) << p[0];
  EXPECT_EQ(p[1].rfind("m.yaml:3:11: this exclude matches no cell", 0), 0u) << p[1];
  p = Problems("name: n\nkernels: [linux-image-amd64, linux-image-amd64]\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find("two cells are both 'linux-image-amd64 / xen-pv-dom0 / pv-spinlock-race'"), std::string::npos)
      << p[0];
  p = Problems("name: n\nkernels: [linux-image-amd64]\nguests: [nosuch]\nrepeats: 0\n");
  ASSERT_EQ(p.size(), 2u) << p[0];
  p = Problems("name: n\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find("a matrix needs 'kernels'"), std::string::npos);
  p = Problems("name: n\nkernels: [linux-image-amd64]\nexclude: [{kernel: linux-image-amd64}]\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find("every cell is excluded"), std::string::npos);
  // A workload that does not fit a guest of the matrix is the cell's problem.
  p = Problems("name: n\nkernels: [linux-image-amd64]\nguests: [{type: hvm, vcpus: 1}]\n"
               "workloads: [{name: smoke, faults: [{kind: freeze, vcpu: 1, at: 1s, length: 1s}]}]\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find("cell linux-image-amd64 / hvm / smoke:"), std::string::npos) << p[0];
}

TEST(Matrix, ShardsSplitTheCellsOnceEach) {
  EXPECT_THROW(ParseShard("0/2"), ConfigError);
  EXPECT_THROW(ParseShard("3/2"), ConfigError);
  EXPECT_THROW(ParseShard("1/2x"), ConfigError);
  EXPECT_THROW(ParseShard("1"), ConfigError);
  for (int n : {1, 2, 3, 7}) {
    std::multiset<size_t> seen;
    for (int i = 1; i <= n; ++i) {
      Shard s = ParseShard(std::to_string(i) + "/" + std::to_string(n));
      for (size_t c = 0; c < 20; ++c) {
        if (InShard(c, s)) seen.insert(c);
      }
    }
    ASSERT_EQ(seen.size(), 20u) << n;
    for (size_t c = 0; c < 20; ++c) EXPECT_EQ(seen.count(c), 1u);
  }
}

RunRow Row(const std::string& cell, int repeat, const std::string& verdict, const std::string& title = "") {
  RunRow r;
  r.cell = cell;
  r.repeat = repeat;
  r.verdict = verdict;
  r.title = title;
  return r;
}

TEST(Matrix, MissingSlotsRedoInfraErrorsOnly) {
  MatrixSpec m = ParseMatrix("name: n\nkernels: [linux-image-amd64]\nworkloads: [smoke, sched-mix]\nrepeats: 3\n", "m");
  const std::string a = m.cells[0].key, b = m.cells[1].key;
  std::vector<RunRow> runs = {Row(a, 0, "pass"), Row(a, 1, "infra-error"), Row(a, 2, "running"), Row(b, 1, "lockup")};
  std::vector<MatrixSlot> missing = MissingSlots(m, Shard{}, runs);
  ASSERT_EQ(missing.size(), 3u);
  EXPECT_EQ(missing[0].cell, 0u);
  EXPECT_EQ(missing[0].repeat, 1);  // the infra-error is run again
  EXPECT_EQ(missing[1].cell, 1u);
  EXPECT_EQ(missing[1].repeat, 0);
  EXPECT_EQ(missing[2].repeat, 2);
  // Shard 2 of 2 holds only the second cell.
  EXPECT_EQ(MissingSlots(m, ParseShard("2/2"), runs).size(), 2u);
}

TEST(Matrix, ACellThatStartedHangingIsARegression) {
  MatrixSpec m = ParseMatrix("name: n\nkernels: [linux-image-amd64]\nworkloads: [smoke, sched-mix]\nrepeats: 8\n", "m");
  const std::string a = m.cells[0].key, b = m.cells[1].key;
  std::vector<RunRow> base, tonight;
  for (int i = 0; i < 8; ++i) {
    base.push_back(Row(a, i, "pass"));
    base.push_back(Row(b, i, "pass"));
    tonight.push_back(Row(a, i, "lockup", "lockup: no heartbeat from vCPU 1 for 10.00s"));
    tonight.push_back(Row(b, i, i == 0 ? "stall" : "pass", "stall: 3.00s freeze"));
  }
  MatrixReport r = CompareMatrix(m, "n-2", tonight, "n-1", base);
  ASSERT_EQ(r.cells.size(), 2u);
  EXPECT_EQ(r.cells[0].status, "regression");
  EXPECT_LT(r.cells[0].p, 0.001);
  ASSERT_EQ(r.cells[0].new_titles.size(), 1u);
  EXPECT_EQ(r.cells[0].new_titles[0], "lockup: no heartbeat from vCPU 1 for 10.00s");
  // One stall in eight against none: not enough runs to tell.
  EXPECT_EQ(r.cells[1].status, "needs-more-runs");
  EXPECT_GT(r.cells[1].more_runs, 0);
  EXPECT_EQ(r.regressions(), 1);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.ExitCode(0.25), 1);
  std::string text = MatrixReportText(r);
  EXPECT_NE(text.find("new title: lockup: no heartbeat from vCPU 1"), std::string::npos) << text;
  EXPECT_EQ(MatrixReportJson(r)["cells"][0]["status"], "regression");
  // The same nights the other way round: better, no regression.
  MatrixReport back = CompareMatrix(m, "n-1", base, "n-2", tonight);
  EXPECT_EQ(back.cells[0].status, "better");
  EXPECT_EQ(back.ExitCode(0.25), 0);
}

TEST(Matrix, NoBaselineAndInfraErrors) {
  MatrixSpec m = ParseMatrix("name: n\nkernels: [linux-image-amd64]\nrepeats: 4\n", "m");
  const std::string a = m.cells[0].key;
  std::vector<RunRow> tonight = {Row(a, 0, "pass"), Row(a, 1, "infra-error"), Row(a, 2, "infra-error"),
                                 Row(a, 3, "pass")};
  MatrixReport r = CompareMatrix(m, "n-1", tonight, "", {});
  EXPECT_EQ(r.cells[0].status, "new");
  EXPECT_FALSE(r.complete);  // two slots still want a run with a verdict
  EXPECT_EQ(r.infra, 2);
  EXPECT_EQ(r.ExitCode(0.25), 2);  // half the runs were the infrastructure's
  EXPECT_EQ(r.ExitCode(0.5), 0);
}

// A regressed cell's bisect plan says the cell's own run: every candidate of
// a series without kernels of its own runs exactly the cell's config.
TEST(Matrix, RegressionPlanRunsTheCellsConfig) {
  std::string text = std::string(kMatrix) +
                     "config: {thresholds: {lockup: 6s}}\n"
                     "on_regression: {bisect: {series: [{name: a}, {name: b}], bisect: {p: 1, max_runs: 9}}}\n";
  MatrixSpec m = ParseMatrix(text, "m.yaml");
  ASSERT_TRUE(m.bisect);
  for (const MatrixCell& cell : m.cells) {
    std::string yaml = RegressionPlan(m, cell, {"lockup", "crash"});
    BisectPlan plan = ParseBisectPlan(yaml, "m.yaml");
    ASSERT_EQ(plan.candidates.size(), 2u) << yaml;
    const RunConfig& got = plan.candidates[1].config;
    EXPECT_EQ(got.kernel.Describe(), cell.config.kernel.Describe()) << cell.key;
    EXPECT_EQ(got.guest.type, cell.config.guest.type) << cell.key;
    EXPECT_EQ(got.guest.vcpus, cell.config.guest.vcpus) << cell.key;
    EXPECT_EQ(got.workload.name, cell.config.workload.name) << cell.key;
    EXPECT_DOUBLE_EQ(got.workload.duration_s, cell.config.workload.duration_s) << cell.key;
    EXPECT_EQ(got.workload.faults.size(), cell.config.workload.faults.size()) << cell.key << "\n" << yaml;
    EXPECT_DOUBLE_EQ(got.thresholds.lockup_s, 6) << cell.key;
    EXPECT_TRUE(plan.model.regression);
    EXPECT_EQ(plan.bad_verdicts, (std::set<Verdict>{Verdict::kLockup, Verdict::kCrash}));
    EXPECT_EQ(plan.model.p, 1);
    EXPECT_EQ(plan.max_runs, 9);
  }
}

TEST(Matrix, RegressionPlanFindsTheKernelsCatalogueSeries) {
  MatrixSpec m = ParseMatrix(std::string(kMatrix) + "on_regression: bisect\n", "m.yaml");
  ASSERT_TRUE(m.bisect);
  // linux-image-6.1.0-56-amd64 is debian-6.1.0-56, of the series debian-6.1.
  BisectPlan plan = ParseBisectPlan(RegressionPlan(m, m.cells[5], {"lockup"}), "m.yaml");
  EXPECT_EQ(plan.candidates.front().name, "debian-6.1.0-47");
  EXPECT_EQ(plan.candidates.front().config.workload.faults.size(), 1u);
  // The meta-package is in no series: said, not guessed.
  try {
    RegressionPlan(m, m.cells[0], {"lockup"});
    FAIL() << "a plan without a series";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("in no catalogue series"), std::string::npos) << e.what();
  }
  // Between the kernels the two nights booted.
  std::vector<std::pair<std::string, KernelSpec>> cands;
  for (const BisectCandidate& c : plan.candidates) cands.emplace_back(c.name, c.config.kernel);
  auto range = RegressionRange(cands, {"linux-image-6.1.0-50-amd64", "6.1.176-1"}, {"linux-image-6.1.0-53-amd64", ""});
  EXPECT_EQ(range, std::make_pair(std::string("debian-6.1.0-50"), std::string("debian-6.1.0-53")));
  range = RegressionRange(cands, {"linux-image-6.1.0-53-amd64", ""}, {"linux-image-6.1.0-50-amd64", ""});
  EXPECT_EQ(range, std::make_pair(std::string(), std::string()));  // backwards: all of it
  range = RegressionRange(cands, {"linux-image-5.10.0-30-amd64", ""}, {"linux-image-6.1.0-50-amd64", ""});
  EXPECT_EQ(range, std::make_pair(std::string(), std::string()));
}

TEST(Matrix, OnRegressionProblemsArePlaced) {
  auto p = Problems(std::string(kMatrix) + "on_regression: yes\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find("m.yaml:13:16:"), std::string::npos) << p[0];
  p = Problems(std::string(kMatrix) + "on_regression: {bisect: {git: {repo: /src, good: v1}}}\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find("takes no good or bad"), std::string::npos) << p[0];
  p = Problems(std::string(kMatrix) + "on_regression: {bisect: {series: debian-6.1, bisect: {terms: fix}}}\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find("chases the regression"), std::string::npos) << p[0];
}

TEST(Matrix, CulpritMessageNamesTheCulprit) {
  BisectionRow b;
  b.id = "abc123";
  b.path = "/r/bisect/abc123";
  b.status = "found";
  b.culprit = "debian-6.1.0-52";
  b.probability = 0.995;
  b.runs = 17;
  b.good = "debian-6.1.0-50";
  b.bad = "debian-6.1.0-53";
  NotifyMessage m = CulpritMessage("nightly-20261202", "k / hvm / idle", b);
  EXPECT_EQ(m.subject, "blackout: nightly-20261202: k / hvm / idle: culprit debian-6.1.0-52 (99.5%)");
  EXPECT_NE(m.body.find("culprit: debian-6.1.0-52 with probability 99.5%"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("debian-6.1.0-50..debian-6.1.0-53 (17 runs)"), std::string::npos) << m.body;
  EXPECT_EQ(m.json["culprit"], "debian-6.1.0-52");
  EXPECT_EQ(m.json["log"], "/r/bisect/abc123/log.jsonl");
}

}  // namespace
}  // namespace blackout
