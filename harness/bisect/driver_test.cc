#include "harness/bisect/driver.h"

#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <thread>
#include <fstream>
#include <unistd.h>
#include <gtest/gtest.h>

#include "base/test_tmpdir.h"
#include <map>
#include <random>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "base/error.h"
#include "base/fsutil.h"
#include "base/subprocess.h"

namespace blackout {
namespace {

std::string TempDir() { return testing_util::TestTempDir("br"); }

// A real git repository with `count` numbered commits (file "n" holds i).
std::string MakeRepo(int count) {
  std::string repo = TempDir() + "/repo";
  MakeDirs(repo);
  RunChecked({"git", "-C", repo, "init", "-q"});
  for (int i = 0; i < count; ++i) {
    WriteFileAtomic(repo + "/n", std::to_string(i) + "\n");
    RunChecked({"git", "-C", repo, "add", "n"});
    RunChecked({"git", "-C", repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m",
                "commit " + std::to_string(i)});
    if (i == 0) RunChecked({"git", "-C", repo, "tag", "first"});
  }
  return repo;
}

// The fake world: reads the commit's number from the real repository and
// hangs with probability p from the culprit on; some commits cannot be built.
class FakeWorld : public BisectWorld {
 public:
  FakeWorld(std::string repo, int culprit, double p, std::set<int> broken, uint64_t seed)
      : repo_(std::move(repo)), culprit_(culprit), p_(p), broken_(std::move(broken)), rng_(seed) {}
  CandidateResult Run(const BisectCandidate& c) override {
    ++calls;
    int n = std::stoi(RunChecked({"git", "-C", repo_, "show", c.name + ":n"}));
    if (broken_.count(n)) return {Verdict::kBootFailure, "build failed", "", false};
    std::bernoulli_distribution hang(n >= culprit_ ? p_ : 0.0);
    return hang(rng_) ? CandidateResult{Verdict::kStall, "stall", "/runs/" + std::to_string(n), false}
                      : CandidateResult{Verdict::kPass, "pass", "/runs/" + std::to_string(n), false};
  }
  int calls = 0;

 private:
  std::string repo_;
  int culprit_;
  double p_;
  std::set<int> broken_;
  std::mt19937_64 rng_;
};

std::string GitPlan(const std::string& repo, const std::string& extra = "") {
  return "git:\n  repo: " + repo + "\n  good: first\n  bad: HEAD\n" + extra;
}

// A git plan over repo whose build step does nothing (the world fakes builds).
BisectPlan NoBuildPlan(const std::string& repo, const std::string& p) {
  return ParseBisectPlan(GitPlan(repo, "  build: 'true'\n  image: x\n") + "bisect: {p: " + p + "}\n", "plan.yaml");
}

// Creates the bisection log in dir for the plan's candidates.
void NewLog(const BisectPlan& plan, const std::string& dir, const nlohmann::json& config = {}) {
  std::vector<std::string> names;
  for (const BisectCandidate& c : plan.candidates) names.push_back(c.name);
  CreateBisectLog(dir, config, names);
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

int CommitNumber(const std::string& repo, const std::string& rev) {
  return std::stoi(RunChecked({"git", "-C", repo, "show", rev + ":n"}));
}

// Commit 9 brought a hang that shows on every second run of a commit from 9 on.
CandidateResult FlakyFromNine(int commit, int run) {
  return commit >= 9 && run % 2 == 0 ? CandidateResult{Verdict::kStall, "stall", "", false}
                                     : CandidateResult{Verdict::kPass, "pass", "", false};
}

// Drives a new bisection of plan with world to its end, which must be a
// find; returns the culprit's commit number.
int CulpritFound(const std::string& repo, const BisectPlan& plan, BisectWorld& world) {
  std::string dir = TempDir();
  NewLog(plan, dir, {{"yaml", "x"}});
  EXPECT_EQ(DriveBisection(plan, dir, world, [](const std::string&) {}), BisectEnd::kFound);
  BisectState st = Replay(plan, LoadBisectLog(dir)).State();
  return CommitNumber(repo, plan.candidates[static_cast<size_t>(st.best)].name);
}

TEST(GitCandidates, OldestFirstGoodIncluded) {
  std::string repo = MakeRepo(6);
  auto c = GitCandidates(repo, "first", "HEAD");
  ASSERT_EQ(c.size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(CommitNumber(repo, c[static_cast<size_t>(i)]), i);
  EXPECT_THROW(GitCandidates(repo, "nosuch", "HEAD"), ConfigError);
}

struct Case {
  int culprit;
  double p;
  std::set<int> broken;
};

class GitBisect : public testing::TestWithParam<Case> {};

// The table: a real repository, the real engine and log, a fake world.
TEST_P(GitBisect, FindsTheCulprit) {
  static std::string repo = MakeRepo(24);
  const Case& k = GetParam();
  BisectPlan plan = ParseBisectPlan(GitPlan(repo), "plan.yaml");
  ASSERT_EQ(plan.candidates.size(), 24u);
  std::string dir = TempDir() + "/b";
  NewLog(plan, dir);
  FakeWorld world(repo, k.culprit, k.p, k.broken, 42 + static_cast<uint64_t>(k.culprit));
  BisectEnd end = DriveBisection(plan, dir, world, [](const std::string&) {});
  BisectRecord rec = LoadBisectLog(dir);
  Bisector engine = Replay(plan, rec);
  if (k.broken.count(k.culprit) || k.broken.count(k.culprit - 1)) {
    // The culprit cannot be pinned down past a commit that does not build.
    EXPECT_EQ(end, BisectEnd::kUndecided);
  } else {
    EXPECT_EQ(end, BisectEnd::kFound);
    EXPECT_EQ(CommitNumber(repo, plan.candidates[static_cast<size_t>(engine.State().best)].name), k.culprit);
  }
  EXPECT_EQ(static_cast<int>(rec.steps.size()), world.calls);
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Table, GitBisect,
                         testing::Values(Case{1, 1.0, {}}, Case{23, 1.0, {}}, Case{9, 1.0, {}},
                                         Case{14, 0.5, {}}, Case{5, 0.3, {}}, Case{17, 1.0, {8, 12}},
                                         Case{12, 0.5, {11}}));

// Kill the bisection at every step boundary and resume: nothing recorded is
// run again, nothing is lost, and it ends where an uninterrupted one does.
TEST(DriveBisection, ResumesAfterAKillAtEveryStep) {
  std::string repo = MakeRepo(16);
  BisectPlan plan = ParseBisectPlan(GitPlan(repo), "plan.yaml");
  std::string full = TempDir() + "/b";
  NewLog(plan, full);
  FakeWorld world(repo, 11, 1.0, {}, 1);
  ASSERT_EQ(DriveBisection(plan, full, world, [](const std::string&) {}), BisectEnd::kFound);
  std::string text = ReadFile(full + "/log.jsonl");
  int total = world.calls;
  size_t pos = text.find('\n') + 1;
  for (int k = 0; k <= total; ++k) {
    std::string dir = TempDir() + "/b";
    MakeDirs(dir);
    WriteFileAtomic(dir + "/log.jsonl", text.substr(0, pos));
    FakeWorld again(repo, 11, 1.0, {}, 1);
    EXPECT_EQ(DriveBisection(plan, dir, again, [](const std::string&) {}), BisectEnd::kFound);
    EXPECT_EQ(again.calls, total - k) << "resumed after " << k << " steps";
    EXPECT_EQ(ReadFile(dir + "/log.jsonl"), text);
    pos = text.find('\n', pos) + 1;
  }
}

class InterruptingWorld : public BisectWorld {
 public:
  CandidateResult Run(const BisectCandidate&) override { return {Verdict::kInfraError, "", "", true}; }
};

TEST(DriveBisection, InterruptRecordsNothing) {
  BisectPlan plan = ParseBisectPlan("series:\n  - name: a\n  - name: b\n  - name: c\n", "plan.yaml");
  std::string dir = TempDir() + "/b";
  CreateBisectLog(dir, {}, {"a", "b", "c"});
  InterruptingWorld w;
  EXPECT_EQ(DriveBisection(plan, dir, w, [](const std::string&) {}), BisectEnd::kInterrupted);
  EXPECT_TRUE(LoadBisectLog(dir).steps.empty());
}

// A candidate whose input is wrong (its kernel image missing) stops the
// bisection with a ConfigError naming it, once, with nothing recorded: it is
// not an infra-error to retry run after run.
TEST(DriveBisection, ConfigErrorStopsWithNothingRecorded) {
  BisectPlan plan = ParseBisectPlan("series:\n  - name: a\n  - name: b\n  - name: c\n", "plan.yaml");
  plan.infra_retries = 3;
  std::string dir = TempDir() + "/b";
  CreateBisectLog(dir, {}, {"a", "b", "c"});
  class MissingImageWorld : public BisectWorld {
   public:
    CandidateResult Run(const BisectCandidate&) override {
      ++runs;
      CandidateResult r{Verdict::kInfraError, "kernel image /gone/bzImage does not exist", "", false};
      r.config_error = true;
      return r;
    }
    int runs = 0;
  } w;
  try {
    DriveBisection(plan, dir, w, [](const std::string&) {});
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("/gone/bzImage does not exist"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("candidate "), std::string::npos) << e.what();
  }
  EXPECT_EQ(w.runs, 1);
  EXPECT_TRUE(LoadBisectLog(dir).steps.empty());
}

// A world whose runs overlap in time: each takes a few milliseconds and
// counts how many are in flight at once.
class SlowParallelWorld : public BisectWorld {
 public:
  SlowParallelWorld(int culprit, double p) : culprit_(culprit), p_(p) {}
  CandidateResult Run(const BisectCandidate& c) override {
    int now = ++in_flight_;
    int seen = max_in_flight.load();
    while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    bool hang;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++calls;
      hang = std::stoi(c.name.substr(1)) >= culprit_ && std::bernoulli_distribution(p_)(rng_);
    }
    --in_flight_;
    return {hang ? Verdict::kStall : Verdict::kPass, hang ? "stall" : "pass", "/runs/" + c.name, false};
  }
  bool Parallel() const override { return true; }
  std::atomic<int> max_in_flight{0};
  int calls = 0;

 private:
  int culprit_;
  double p_;
  std::atomic<int> in_flight_{0};
  std::mutex mu_;
  std::mt19937_64 rng_{3};
};

// Slots run at the same time, and every run is recorded once, in the log's
// order, whatever order the runs finished in.
TEST(DriveBisection, SlotsRunAtOnce) {
  std::string yaml = "bisect:\n  slots: 3\n  p: 0.5\nseries:\n";
  for (int i = 0; i < 32; ++i) yaml += "  - name: c" + std::to_string(i) + "\n";
  BisectPlan plan = ParseBisectPlan(yaml, "plan.yaml");
  std::string dir = TempDir() + "/b";
  NewLog(plan, dir);
  SlowParallelWorld world(21, 0.5);
  ASSERT_EQ(DriveBisection(plan, dir, world, [](const std::string&) {}), BisectEnd::kFound);
  EXPECT_EQ(world.max_in_flight.load(), 3);
  BisectRecord rec = LoadBisectLog(dir);
  EXPECT_EQ(static_cast<int>(rec.steps.size()), world.calls);
  EXPECT_EQ(Replay(plan, rec).State().best, 21);
  std::filesystem::remove_all(dir);
}

// Candidates that are built (git mode with a build step) run their slots at
// once too: the round's builds first, one at a time and never beside a run
// (they share one checkout), then its runs together.
TEST(DriveBisection, BuiltSlotsRunAtOnceAfterTheirBuilds) {
  std::string yaml = "bisect:\n  slots: 3\n  p: 0.5\nseries:\n";
  for (int i = 0; i < 32; ++i) yaml += "  - name: c" + std::to_string(i) + "\n";
  BisectPlan plan = ParseBisectPlan(yaml, "plan.yaml");
  class BuildingWorld : public SlowParallelWorld {
   public:
    BuildingWorld() : SlowParallelWorld(21, 0.5) {}
    CandidateResult Run(const BisectCandidate& c) override {
      {
        std::lock_guard<std::mutex> lock(mu);
        EXPECT_TRUE(built.count(c.name)) << "ran unbuilt " << c.name;
        ++running;
      }
      CandidateResult r = SlowParallelWorld::Run(c);
      std::lock_guard<std::mutex> lock(mu);
      --running;
      return r;
    }
    bool Prepare(const BisectCandidate& c, const std::atomic<bool>*) override {
      std::lock_guard<std::mutex> lock(mu);
      EXPECT_EQ(running, 0) << "built " << c.name << " beside a run";
      built.insert(c.name);
      return true;
    }
    bool PreparesAhead() const override { return true; }
    std::mutex mu;
    std::set<std::string> built;
    int running = 0;
  } world;
  std::string dir = TempDir() + "/b";
  NewLog(plan, dir);
  ASSERT_EQ(DriveBisection(plan, dir, world, [](const std::string&) {}), BisectEnd::kFound);
  EXPECT_EQ(world.max_in_flight.load(), 3);
  EXPECT_EQ(Replay(plan, LoadBisectLog(dir)).State().best, 21);
  std::filesystem::remove_all(dir);
}

TEST(BisectPlan, SeriesWithOverridesAndRange) {
  BisectPlan plan = ParseBisectPlan(R"(
run:
  workload: smoke
bisect:
  terms: fix
  bad_verdicts: [stall]
  p: 0.5
series:
  - name: old
    kernel: linux-image-6.1.0-47-amd64
  - name: mid
    workload:
      faults: [{kind: freeze, vcpu: 1, length: 3s, probability: 0.5}]
  - name: new
)",
                                    "plan.yaml", "mid", "new");
  ASSERT_EQ(plan.candidates.size(), 2u);
  EXPECT_EQ(plan.candidates[0].name, "mid");
  EXPECT_EQ(plan.candidates[0].config.workload.name, "smoke");
  ASSERT_EQ(plan.candidates[0].config.workload.faults.size(), 1u);
  EXPECT_EQ(plan.candidates[0].config.workload.faults[0].probability, 0.5);
  EXPECT_FALSE(plan.model.regression);
  EXPECT_EQ(*plan.model.p, 0.5);
  Chase unknown;  // no chase in the plan and no run yet: the first failure is it
  EXPECT_EQ(OutcomeOf(plan, unknown, Verdict::kStall, "stall: 3s"), Outcome::kHang);
  EXPECT_EQ(OutcomeOf(plan, unknown, Verdict::kLockup, "INFO: task hung in foo"), Outcome::kQuiet);
  EXPECT_EQ(OutcomeOf(plan, unknown, Verdict::kInfraError, ""), Outcome::kSkip);
}

// examples/precise-fix-search.yaml: the 2013 fix search over the catalogue's
// pair, as shipped (a user with access to Ubuntu's old-releases runs it as is).
TEST(BisectPlan, ThePreciseFixSearchExampleParses) {
  std::string path = std::string(EXAMPLES_DIR) + "/precise-fix-search.yaml";
  BisectPlan plan = ParseBisectPlan(ReadFile(path), path);
  ASSERT_EQ(plan.candidates.size(), 2u);
  EXPECT_FALSE(plan.model.regression);
  EXPECT_EQ(plan.candidates[0].config.kernel.package, "linux-image-3.2.0-38-virtual");
  EXPECT_EQ(plan.candidates[0].config.kernel.version, "3.2.0-38.61");
  EXPECT_EQ(plan.candidates[1].config.kernel.version, "3.2.0-39.62");
  EXPECT_EQ(plan.candidates[1].config.kernel.archive.suite, "precise-updates");
  EXPECT_EQ(plan.candidates[1].config.guest.type, "xen-pv-domu");
  EXPECT_EQ(plan.candidates[1].config.xen.package, "xen-hypervisor-4.17-amd64");
}

// bad: same-cluster (the default) counts failures of the chased kind; a
// failure of another kind is kOther; same-title only the title; any-bad all.
TEST(BisectPlan, BadRuleDecidesWhichFailuresCount) {
  auto plan_with = [](const std::string& bisect) {
    return ParseBisectPlan("bisect: {" + bisect + "}\nseries:\n  - {name: a}\n  - {name: b}\n", "plan.yaml");
  };
  BisectPlan cluster = plan_with("chase: 'BUG: soft lockup in foo'");
  EXPECT_EQ(cluster.bad, BadRule::kSameCluster);
  Chase chase = ChaseOf(cluster, {});
  ASSERT_TRUE(chase.known);
  EXPECT_EQ(chase.cluster, "active-stall");
  EXPECT_EQ(OutcomeOf(cluster, chase, Verdict::kLockup, "INFO: rcu detected stall in bar"), Outcome::kHang);
  EXPECT_EQ(OutcomeOf(cluster, chase, Verdict::kStall, "stall: 3.10s on vCPU 1"), Outcome::kHang);
  EXPECT_EQ(OutcomeOf(cluster, chase, Verdict::kLockup, "INFO: task hung in foo"), Outcome::kOther);
  EXPECT_EQ(OutcomeOf(cluster, chase, Verdict::kCrash, "general protection fault in foo"), Outcome::kOther);
  EXPECT_EQ(OutcomeOf(cluster, chase, Verdict::kPass, "pass"), Outcome::kQuiet);

  BisectPlan title = plan_with("bad: same-title, chase: 'BUG: soft lockup in foo'");
  chase = ChaseOf(title, {});
  EXPECT_EQ(OutcomeOf(title, chase, Verdict::kLockup, "BUG: soft lockup in foo"), Outcome::kHang);
  EXPECT_EQ(OutcomeOf(title, chase, Verdict::kLockup, "INFO: rcu detected stall in bar"), Outcome::kOther);

  BisectPlan any = plan_with("bad: any-bad");
  chase = ChaseOf(any, {});
  EXPECT_EQ(OutcomeOf(any, chase, Verdict::kCrash, "general protection fault in foo"), Outcome::kHang);

  // Without `chase`, the hanging end's first failure is the bug.
  BisectPlan first = plan_with("terms: regression");
  BisectRecord record;
  record.steps.push_back({1, Outcome::kQuiet, "pass", "pass", ""});
  EXPECT_FALSE(ChaseOf(first, record).known);
  record.steps.push_back({1, Outcome::kHang, "lockup", "INFO: task hung in foo", ""});
  chase = ChaseOf(first, record);
  ASSERT_TRUE(chase.known);
  EXPECT_EQ(chase.cluster, "passive-hang");
  EXPECT_EQ(chase.step, 2);

  EXPECT_THROW(plan_with("bad: same-bug"), ConfigError);
  EXPECT_THROW(plan_with("bad: same-title, chase: active-stall"), ConfigError);

  // The report names each title once with its verdict; a heartbeat title
  // carries its verdict already.
  record.steps.push_back({1, Outcome::kOther, "lockup", "lockup: no heartbeat from vCPU 1 for 6.00s", ""});
  std::string report = DescribeBisection(first, record);
  EXPECT_NE(report.find(" lockup: INFO: task hung in foo; lockup: no heartbeat from vCPU 1 for 6.00s\n"),
            std::string::npos) << report;
}

// Two bugs: from commit 3 a hung task in a third of the runs (passive), from
// commit 9 a soft lockup in every second run (active). The hanging end's
// first run shows the soft lockup, so that is the chased bug and the hung
// tasks move nothing: commit 9. Counting any bad run (bad: any-bad) blames 3.
class TwoBugWorld : public BisectWorld {
 public:
  explicit TwoBugWorld(std::string repo) : repo_(std::move(repo)) {}
  CandidateResult Run(const BisectCandidate& c) override {
    int n = CommitNumber(repo_, c.name);
    int k = runs_[n]++;
    if (n >= 9 && k % 2 == 0) return {Verdict::kLockup, "BUG: soft lockup in ext4_writepages", "", false};
    if (n >= 3 && k % 3 == 1) return {Verdict::kLockup, "INFO: task hung in jbd2_journal_commit_transaction", "", false};
    return {Verdict::kPass, "pass", "", false};
  }

 private:
  std::string repo_;
  std::map<int, int> runs_;
};

// The exposure model over the driver: each run gets the length the engine
// chose (the candidate's workload duration) and records the time it ran; a
// bug that hangs in about 15 s is bisected with runs far shorter than 180 s.
class HangTimeWorld : public BisectWorld {
 public:
  CandidateResult Run(const BisectCandidate& c) override {
    int n = std::stoi(c.name.substr(1));
    double d = c.config.workload.duration_s;
    durations.push_back(d);
    CandidateResult r{Verdict::kPass, "pass", "", false};
    r.exposure_s = d;
    if (n >= 21) {
      double t = hang_(rng_);
      if (t < d) {
        r.verdict = Verdict::kLockup;
        r.title = "BUG: soft lockup in f";
        r.exposure_s = t;
      }
    }
    return r;
  }
  std::vector<double> durations;

 private:
  std::mt19937_64 rng_{5};
  std::exponential_distribution<double> hang_{1.0 / 15};
};

TEST(DriveBisection, ExposureModelChoosesRunLengthsAndRecordsExposure) {
  std::string yaml = "run: {workload: {name: smoke, duration: 180s}}\nbisect: {model: exposure}\nseries:\n";
  for (int i = 0; i < 32; ++i) yaml += "  - name: c" + std::to_string(i) + "\n";
  BisectPlan plan = ParseBisectPlan(yaml, "plan.yaml");
  EXPECT_EQ(plan.model.run_model, BisectModel::RunModel::kExposure);
  EXPECT_EQ(plan.model.max_duration_s, 180);
  std::string dir = TempDir() + "/b";
  NewLog(plan, dir);
  HangTimeWorld world;
  ASSERT_EQ(DriveBisection(plan, dir, world, [](const std::string&) {}), BisectEnd::kFound);
  BisectRecord rec = LoadBisectLog(dir);
  EXPECT_EQ(Replay(plan, rec).State().best, 21);
  ASSERT_FALSE(world.durations.empty());
  EXPECT_EQ(world.durations.front(), 180);  // calibration: the longest
  double shortest = *std::min_element(world.durations.begin(), world.durations.end());
  EXPECT_LT(shortest, 90);
  for (const BisectStep& s : rec.steps) EXPECT_GT(s.exposure_s, 0);
  EXPECT_NE(DescribeBisection(plan, rec).find("hang rate on the hanging side ~ 1 per"), std::string::npos);
  EXPECT_NE(DescribeBisection(plan, rec).find("time to hang: shape ~ "), std::string::npos);
  EXPECT_THROW(ParseBisectPlan("bisect: {model: exposure, p: 0.5}\nseries: [{name: a}, {name: b}]\n", "p.yaml"),
               ConfigError);
  EXPECT_THROW(ParseBisectPlan("bisect: {model: dice}\nseries: [{name: a}, {name: b}]\n", "p.yaml"), ConfigError);
  // The shape of the time to hang: unknown by default, exponential on request.
  EXPECT_GT(plan.model.shapes.size(), 1u);
  BisectPlan steady =
      ParseBisectPlan("bisect: {model: exposure, shape: exponential}\nseries: [{name: a}, {name: b}]\n", "p.yaml");
  EXPECT_EQ(steady.model.shapes, std::vector<double>{1});
  EXPECT_THROW(ParseBisectPlan("bisect: {shape: exponential}\nseries: [{name: a}, {name: b}]\n", "p.yaml"),
               ConfigError);
  EXPECT_THROW(ParseBisectPlan("bisect: {model: exposure, shape: lognormal}\nseries: [{name: a}, {name: b}]\n",
                               "p.yaml"),
               ConfigError);
}

TEST(DriveBisection, OnlyTheChasedBugMovesThePosterior) {
  std::string repo = MakeRepo(16);
  BisectPlan plan = NoBuildPlan(repo, "0.5");
  TwoBugWorld world(repo);
  std::string dir = TempDir();
  NewLog(plan, dir, {{"yaml", "x"}});
  ASSERT_EQ(DriveBisection(plan, dir, world, [](const std::string&) {}), BisectEnd::kFound);
  BisectRecord record = LoadBisectLog(dir);
  BisectState st = Replay(plan, record).State();
  EXPECT_EQ(CommitNumber(repo, plan.candidates[static_cast<size_t>(st.best)].name), 9);
  Chase chase = ChaseOf(plan, record);
  EXPECT_EQ(chase.title, "BUG: soft lockup in ext4_writepages");
  EXPECT_EQ(chase.step, 1);
  std::string report = DescribeBisection(plan, record);
  EXPECT_NE(report.find("chasing: \"BUG: soft lockup in ext4_writepages\" (active-stall)"), std::string::npos) << report;
  bool other = std::any_of(record.steps.begin(), record.steps.end(), [](const BisectStep& s) { return s.outcome == Outcome::kOther; });
  if (other) {
    EXPECT_NE(report.find("also seen (not the chased bug, counted neither way): INFO: task hung in jbd2_journal_commit_transaction"),
              std::string::npos) << report;
  }
  EXPECT_NE(report.find("titles seen per candidate:"), std::string::npos) << report;

  BisectPlan any = ParseBisectPlan(GitPlan(repo, "  build: 'true'\n  image: x\n") + "bisect: {p: 0.5, bad: any-bad}\n",
                                   "plan.yaml");
  TwoBugWorld again(repo);
  EXPECT_LT(CulpritFound(repo, any, again), 9);
}

// Without a build step blackout builds every commit itself: each candidate's
// kernel is its commit of the plan's repository, configured as the run's git
// kernel says, else with the defaults. A build step leaves the run's kernel
// alone (the image it leaves replaces it per commit).
TEST(BisectPlan, GitWithoutABuildStepBuildsEachCommit) {
  std::string repo = MakeRepo(3);
  BisectPlan plan = ParseBisectPlan(GitPlan(repo), "plan.yaml");
  ASSERT_EQ(plan.candidates.size(), 3u);
  for (const BisectCandidate& c : plan.candidates) {
    EXPECT_EQ(c.config.kernel.source, "git");
    EXPECT_EQ(c.config.kernel.repo, repo);
    EXPECT_EQ(c.config.kernel.rev, c.name);
    EXPECT_EQ(c.config.kernel.config_base, "tinyconfig");
    EXPECT_EQ(c.config.kernel.fragments, std::vector<std::string>{"xen-pv-guest"});
  }
  plan = ParseBisectPlan("run: {kernel: {git: /elsewhere, config: {base: defconfig}}}\n" + GitPlan(repo), "plan.yaml");
  EXPECT_EQ(plan.candidates[1].config.kernel.repo, repo);
  EXPECT_EQ(plan.candidates[1].config.kernel.rev, plan.candidates[1].name);
  EXPECT_EQ(plan.candidates[1].config.kernel.config_base, "defconfig");
  EXPECT_EQ(NoBuildPlan(repo, "0.5").candidates[1].config.kernel.source, "apt");
}

TEST(BisectPlan, ErrorsWithPositions) {
  try {
    ParseBisectPlan("bisect:\n  terms: sideways\n  alpha: 2\nseries: []\n", "plan.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    ASSERT_GE(e.problems().size(), 2u);
    EXPECT_EQ(e.problems()[0].rfind("plan.yaml:2:10:", 0), 0u) << e.problems()[0];
    EXPECT_EQ(e.problems()[1].rfind("plan.yaml:3:10:", 0), 0u) << e.problems()[1];
  }
}

// A candidate's own workload is checked against the guest like the run's.
TEST(BisectPlan, CandidateWorkloadMustFitTheGuest) {
  try {
    ParseBisectPlan("run: {guest: {vcpus: 2}}\nseries:\n  - name: a\n  - name: b\n"
                    "    workload: {faults: [{kind: freeze, vcpu: 3, length: 1s}]}\n",
                    "plan.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.problems().size(), 1u);
    EXPECT_EQ(e.problems()[0], "plan.yaml:5:15: fault freeze names vCPU 3 but the guest has 2");
  }
}

// A plan's p that the runs contradict is called out in status and report: the
// engine believes it, and a p too high names the wrong culprit.
TEST(DescribeBisection, WarnsWhenTheRunsMakeTheGivenPTooHigh) {
  auto plan_with = [](const std::string& bisect) {
    return ParseBisectPlan("series: [{name: a}, {name: b}, {name: c}, {name: d}]\nbisect: {" + bisect + "}\n",
                           "plan.yaml");
  };
  BisectPlan plan = plan_with("p: 0.9");
  BisectRecord rec;
  rec.steps.push_back({1, Outcome::kQuiet, "pass", "", "runs/1"});
  rec.steps.push_back({2, Outcome::kHang, "stall", "", "runs/2"});
  for (int i = 0; i < 19; ++i) rec.steps.push_back({3, i < 2 ? Outcome::kHang : Outcome::kQuiet, "", "", ""});
  std::string text = DescribeBisection(plan, rec);
  EXPECT_NE(text.find("warning: the plan's p 0.90 looks too high: the hanging side of the top candidate hung in 3 of "
                      "20 runs (99% interval 0.04-0.44)"),
            std::string::npos)
      << text;
  EXPECT_EQ(DescribeBisection(plan_with("p: 0.3"), rec).find("warning"), std::string::npos);
  EXPECT_EQ(DescribeBisection(plan_with(""), rec).find("warning"), std::string::npos);  // p unknown

  // A fix search: the hanging side is before the first quiet build (c here).
  rec.steps.clear();
  rec.steps.push_back({2, Outcome::kQuiet, "pass", "", "runs/1"});
  rec.steps.push_back({1, Outcome::kHang, "stall", "", "runs/2"});
  for (int i = 0; i < 19; ++i) rec.steps.push_back({0, i < 2 ? Outcome::kHang : Outcome::kQuiet, "", "", ""});
  text = DescribeBisection(plan_with("p: 0.9, terms: fix"), rec);
  EXPECT_NE(text.find("hung in 3 of 20 runs"), std::string::npos) << text;
}

TEST(BisectPlan, CatalogueSeriesByName) {
  BisectPlan plan = ParseBisectPlan("run: {workload: smoke}\nseries: debian-6.1\n", "plan.yaml",
                                    "debian-6.1.0-50", "debian-6.1.0-53");
  ASSERT_EQ(plan.candidates.size(), 4u);
  EXPECT_EQ(plan.candidates[0].name, "debian-6.1.0-50");
  EXPECT_EQ(plan.candidates[0].config.kernel.package, "linux-image-6.1.0-50-amd64");
  EXPECT_EQ(plan.candidates[3].config.kernel.package, "linux-image-6.1.0-53-amd64");
  EXPECT_EQ(plan.candidates[3].config.workload.name, "smoke");
  try {
    ParseBisectPlan("series: debian-9\n", "plan.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("plan.yaml:1:9: no catalogue series named 'debian-9' (known: debian-6.1"),
              std::string::npos)
        << e.what();
  }
}

// A git plan with a build step against a real repository: each commit's own
// build.sh runs in the bisection's clone (never in the user's tree), its image
// becomes a path kernel and its workload file overrides the run's; a commit
// whose build fails, or leaves no image, is a KernelBuildError with its log kept.
TEST(BuildCandidate, BuildsEachCommitInItsOwnCheckout) {
  std::string repo = TempDir() + "/repo";
  MakeDirs(repo);
  auto commit = [&](const std::string& script, const std::string& msg) {
    WriteFileAtomic(repo + "/build.sh", script, 0755);
    RunChecked({"git", "-C", repo, "add", "build.sh"});
    RunChecked({"git", "-C", repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", msg});
    return Trim(RunChecked({"git", "-C", repo, "rev-parse", "HEAD"}));
  };
  RunChecked({"git", "-C", repo, "init", "-q"});
  std::string good = commit("mkdir -p out && echo kernel-$BLACKOUT_COMMIT > out/bzImage\n", "good");
  RunChecked({"git", "-C", repo, "tag", "first"});
  std::string faulty = commit(
      "mkdir -p out && echo k > out/bzImage && printf 'faults: [{kind: panic, at: 1s}]\\n' > out/workload.yaml\n",
      "faulty");
  std::string broken = commit("echo cc: error >&2; exit 2\n", "broken");
  std::string empty = commit("true\n", "no image");
  BisectPlan plan = ParseBisectPlan("run: {workload: smoke}\n" + GitPlan(repo, "  build: ./build.sh\n  image: out/bzImage\n"
                                                                              "  workload: out/workload.yaml\n"),
                                    "plan.yaml");
  ASSERT_TRUE(plan.build.has_value());
  ASSERT_EQ(plan.candidates.size(), 4u);  // first..HEAD, first included
  std::string dir = TempDir();
  RunConfig c = BuildCandidate(*plan.build, {good, plan.candidates[0].config}, dir);
  EXPECT_EQ(c.kernel.source, "path");
  EXPECT_EQ(ReadFile(c.kernel.image), "kernel-" + good + "\n");
  EXPECT_TRUE(c.workload.faults.empty());
  c = BuildCandidate(*plan.build, {faulty, plan.candidates[0].config}, dir);
  ASSERT_EQ(c.workload.faults.size(), 1u);
  EXPECT_EQ(c.workload.faults[0].kind, "panic");
  EXPECT_EQ(c.workload.name, "smoke");
  try {
    BuildCandidate(*plan.build, {broken, plan.candidates[0].config}, dir);
    FAIL();
  } catch (const KernelBuildError& e) {
    EXPECT_NE(std::string(e.what()).find("failed (exit 2): cc: error"), std::string::npos) << e.what();
    EXPECT_NE(ReadFile(e.log).find("cc: error"), std::string::npos);
  }
  EXPECT_THROW(BuildCandidate(*plan.build, {empty, plan.candidates[0].config}, dir), KernelBuildError);
  // The user's tree was never touched.
  EXPECT_FALSE(std::filesystem::exists(repo + "/out"));
  EXPECT_EQ(Trim(RunChecked({"git", "-C", repo, "worktree", "list", "--porcelain"})).find("checkout"),
            std::string::npos);
}

// Each commit is built once and kept: its runs, and a build made ahead of
// them, boot the kept files, not whatever the shared checkout holds now; an
// idle-priority build runs under SCHED_IDLE.
TEST(BuildCandidate, KeepsEachCommitsBuild) {
  std::string repo = TempDir() + "/repo";
  std::string count = TempDir() + "/builds-run";
  MakeDirs(repo);
  auto commit = [&](const std::string& text) {
    WriteFileAtomic(repo + "/build.sh",
                    "echo $BLACKOUT_COMMIT >> " + count + "\nmkdir -p out && echo " + text +
                        " > out/bzImage && chrt -p $$ > out/policy\n" +
                        (text == "A" ? "printf 'faults: [{kind: panic, at: 1s}]\\n' > out/w.yaml\n" : ""),
                    0755);
    RunChecked({"git", "-C", repo, "add", "build.sh"});
    RunChecked({"git", "-C", repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", text});
    return Trim(RunChecked({"git", "-C", repo, "rev-parse", "HEAD"}));
  };
  RunChecked({"git", "-C", repo, "init", "-q"});
  std::string a = commit("A");
  RunChecked({"git", "-C", repo, "tag", "first"});
  std::string b = commit("B");
  BisectPlan plan = ParseBisectPlan(
      GitPlan(repo, "  build: ./build.sh\n  image: out/bzImage\n  config: out/policy\n  workload: out/w.yaml\n"), "plan.yaml");
  std::string dir = TempDir();
  GitBuild idle = *plan.build;
  idle.idle_priority = true;
  EXPECT_FALSE(BuildKept(dir, a));
  RunConfig ca = BuildCandidate(idle, {a, plan.candidates[0].config}, dir);
  EXPECT_TRUE(BuildKept(dir, a));
  EXPECT_NE(ReadFile(ca.kernel.config).find("SCHED_IDLE"), std::string::npos) << ReadFile(ca.kernel.config);
  RunConfig cb = BuildCandidate(*plan.build, {b, plan.candidates[0].config}, dir);
  EXPECT_EQ(ReadFile(cb.kernel.config).find("SCHED_IDLE"), std::string::npos);
  RunConfig ca2 = BuildCandidate(*plan.build, {a, plan.candidates[0].config}, dir);
  EXPECT_EQ(ReadFile(ca2.kernel.image), "A\n");  // the checkout holds B now
  ASSERT_EQ(ca2.workload.faults.size(), 1u);  // A's workload file, kept; B has none
  EXPECT_TRUE(cb.workload.faults.empty());
  EXPECT_EQ(ReadFile(cb.kernel.image), "B\n");
  EXPECT_EQ(ReadFile(count), a + "\n" + b + "\n");  // A built once
  // A cancelled build ends at once and keeps nothing; built again, it is whole.
  std::string c = commit("C");
  std::atomic<bool> cancel{true};
  GitBuild cancelled = *plan.build;
  cancelled.cancel = &cancel;
  EXPECT_THROW(BuildCandidate(cancelled, {c, plan.candidates[0].config}, dir), CancelledError);
  EXPECT_FALSE(BuildKept(dir, c));
  EXPECT_EQ(ReadFile(BuildCandidate(*plan.build, {c, plan.candidates[0].config}, dir).kernel.image), "C\n");
  // A failed build is remembered: built again (its run after a build ahead),
  // it fails the same way without running the command.
  WriteFileAtomic(repo + "/build.sh", "echo $BLACKOUT_COMMIT >> " + count + "\necho cc: error >&2; exit 2\n", 0755);
  RunChecked({"git", "-C", repo, "add", "build.sh"});
  RunChecked({"git", "-C", repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "D"});
  std::string d = Trim(RunChecked({"git", "-C", repo, "rev-parse", "HEAD"}));
  std::string first, again;
  try {
    BuildCandidate(idle, {d, plan.candidates[0].config}, dir);
  } catch (const KernelBuildError& e) {
    first = e.what();
  }
  try {
    BuildCandidate(*plan.build, {d, plan.candidates[0].config}, dir);
  } catch (const KernelBuildError& e) {
    again = e.what();
    EXPECT_NE(ReadFile(e.log).find("cc: error"), std::string::npos);
  }
  EXPECT_NE(first.find("cc: error"), std::string::npos) << first;
  EXPECT_EQ(again, first);
  std::string builds = ReadFile(count);
  EXPECT_EQ(builds.find(d), builds.rfind(d)) << "built twice: " << builds;
}

// Build ahead: the driver prepares the candidate about to run, then, while
// it runs, the next pick for a hang and for a quiet run; every candidate run
// was prepared first, nothing is prepared twice, and the culprit is the same.
TEST(DriveBisection, PreparesTheLikelyNextCandidatesWhileOneRuns) {
  std::string repo = MakeRepo(16);
  BisectPlan plan = NoBuildPlan(repo, "0.5");
  class AheadWorld : public BisectWorld {
   public:
    explicit AheadWorld(std::string repo) : repo_(std::move(repo)) {}
    CandidateResult Run(const BisectCandidate& c) override {
      std::lock_guard<std::mutex> lock(mu);
      EXPECT_TRUE(prepared.count(c.name)) << "ran unprepared " << c.name;
      ++runs;
      return FlakyFromNine(CommitNumber(repo_, c.name), runs);
    }
    bool Prepare(const BisectCandidate& c, const std::atomic<bool>*) override {
      int now = ++in_prepare;
      EXPECT_EQ(now, 1) << "two Prepares at once";
      {
        std::lock_guard<std::mutex> lock(mu);
        if (!prepared.count(c.name) && std::this_thread::get_id() != driver) ++ahead;
        prepared.insert(c.name);
      }
      usleep(2000);
      --in_prepare;
      return true;
    }
    bool PreparesAhead() const override { return true; }
    std::mutex mu;
    std::set<std::string> prepared;
    std::atomic<int> in_prepare{0};
    std::thread::id driver = std::this_thread::get_id();
    int runs = 0, ahead = 0;

   private:
    std::string repo_;
  } world(repo);
  EXPECT_EQ(CulpritFound(repo, plan, world), 9);
  // Candidates first made ready by the thread beside a run, and run later.
  EXPECT_GE(world.ahead, 3);
}

// A build ahead for the candidate the run's outcome did not pick is cancelled
// when the run ends, never the one that runs next; the culprit is the same.
TEST(DriveBisection, CancelsTheBuildAheadTheOutcomeDidNotPick) {
  std::string repo = MakeRepo(16);
  BisectPlan plan = NoBuildPlan(repo, "0.5");
  class SlowBuildWorld : public BisectWorld {
   public:
    explicit SlowBuildWorld(std::string repo) : repo_(std::move(repo)) {}
    CandidateResult Run(const BisectCandidate& c) override {
      usleep(100000);  // the builder is well into its first guess
      std::lock_guard<std::mutex> lock(mu);
      order.push_back(c.name);
      ++runs;
      return FlakyFromNine(CommitNumber(repo_, c.name), runs);
    }
    // A build ahead takes 1 s unless it is cancelled.
    bool Prepare(const BisectCandidate& c, const std::atomic<bool>* cancel) override {
      for (int i = 0; cancel && i < 100; ++i) {
        if (*cancel) {
          std::lock_guard<std::mutex> lock(mu);
          cancelled.push_back({c.name, order.size()});
          return false;
        }
        usleep(10000);
      }
      return true;
    }
    bool PreparesAhead() const override { return true; }
    std::mutex mu;
    std::vector<std::string> order;                           // the runs, in order
    std::vector<std::pair<std::string, size_t>> cancelled;  // a build cancelled after run N
    int runs = 0;

   private:
    std::string repo_;
  } world(repo);
  EXPECT_EQ(CulpritFound(repo, plan, world), 9);
  ASSERT_GE(world.cancelled.size(), 1u);
  for (const auto& [name, after] : world.cancelled) {
    if (after < world.order.size()) {
      EXPECT_NE(world.order[after], name) << "cancelled the build of the next run";
    }
  }
}

// A build failure is a skip, recorded as such, and never retried (commit 1
// does not build; the culprit, 3, is still found between 2 and 3).
TEST(DriveBisection, BuildFailureIsASkipNotARetry) {
  std::string repo = MakeRepo(6);
  BisectPlan plan = NoBuildPlan(repo, "1");
  class BuildWorld : public BisectWorld {
   public:
    explicit BuildWorld(std::string repo) : repo_(std::move(repo)) {}
    CandidateResult Run(const BisectCandidate& c) override {
      ++calls;
      int n = CommitNumber(repo_, c.name);
      if (n == 1) {
        CandidateResult r;
        r.title = "build of x failed";
        r.build_failed = true;
        return r;
      }
      return n >= 3 ? CandidateResult{Verdict::kStall, "stall", "", false}
                    : CandidateResult{Verdict::kPass, "pass", "", false};
    }
    int calls = 0;

   private:
    std::string repo_;
  } world(repo);
  std::string dir = TempDir();
  NewLog(plan, dir, {{"yaml", "x"}});
  BisectEnd end = DriveBisection(plan, dir, world, [](const std::string&) {});
  BisectRecord rec = LoadBisectLog(dir);
  int build_failures = 0;
  for (const BisectStep& s : rec.steps) build_failures += s.verdict == "build-failure";
  EXPECT_EQ(world.calls, static_cast<int>(rec.steps.size()));  // no retries
  EXPECT_LE(build_failures, 1);
  EXPECT_EQ(end, BisectEnd::kFound);
  EXPECT_EQ(CommitNumber(repo, plan.candidates[static_cast<size_t>(Replay(plan, rec).State().best)].name), 3);
}

}  // namespace
}  // namespace blackout

namespace blackout {
namespace {

// A real process SIGKILLed at random points of a bisection (its world takes
// a few milliseconds a run): the log it leaves always resumes to the same
// answer, and every step in it was recorded once.
TEST(DriveBisection, SigkillAtRandomPointsResumes) {
  std::string repo = MakeRepo(16);
  BisectPlan plan = ParseBisectPlan(GitPlan(repo), "plan.yaml");
  std::mt19937 rng(7);
  for (int trial = 0; trial < 6; ++trial) {
    std::string dir = TempDir() + "/b";
    NewLog(plan, dir);
    pid_t pid = fork();
    if (pid == 0) {
      FakeWorld world(repo, 11, 1.0, {}, 1);
      DriveBisection(plan, dir, world, [](const std::string&) {});
      _exit(0);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 120)(rng)));
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    BisectRecord before = LoadBisectLog(dir);
    FakeWorld again(repo, 11, 1.0, {}, 1);
    ASSERT_EQ(DriveBisection(plan, dir, again, [](const std::string&) {}), BisectEnd::kFound) << "trial " << trial;
    BisectRecord after = LoadBisectLog(dir);
    // What the killed process recorded is kept as it was, and not run again.
    ASSERT_GE(after.steps.size(), before.steps.size());
    for (size_t i = 0; i < before.steps.size(); ++i) EXPECT_EQ(after.steps[i].candidate, before.steps[i].candidate);
    EXPECT_EQ(again.calls, static_cast<int>(after.steps.size() - before.steps.size()));
    EXPECT_EQ(CommitNumber(repo, plan.candidates[static_cast<size_t>(Replay(plan, after).State().best)].name), 11);
  }
}

}  // namespace
}  // namespace blackout
