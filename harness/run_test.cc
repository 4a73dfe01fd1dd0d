// RunOnce driven through the fake backend: scripted console bytes and exits
// give each verdict, interruption, and the evidence calls, with the real
// detector, monitor, run directory and results store.
#include "harness/run.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "base/fsutil.h"
#include "base/protocol.h"
#include "harness/vm/fake_backend.h"
#include "results/store.h"

namespace blackout {
namespace {

// Prepares nothing from packages: the boot names the run's nonce the way the
// real boot does, for the fake guest to read.
class FakeEnvironment : public RunEnvironment {
 public:
  explicit FakeEnvironment(FakeScript script) : backend_(std::move(script)) {}
  PreparedBoot Prepare(const RunConfig& config, const std::string& nonce, const std::string& scratch,
                       const std::string& cache_dir, nlohmann::json& result) override {
    PreparedBoot p;
    p.boot.guest_type = config.guest.type;
    p.boot.kernel = "fake-vmlinux";
    p.boot.append = std::string("console=hvc0 ") + protocol::kNonceArg + nonce;
    result["kernel"] = {{"package", "fake"}, {"version", "1"}, {"release", "6.1.0-fake"}};
    return p;
  }
  Backend& backend() override { return backend_; }
  FakeBackend backend_;
};

class RunOnceTest : public ::testing::Test {
 protected:
  void SetUp() override { root_ = MakeScratchDir(); }
  void TearDown() override { std::filesystem::remove_all(root_); }

  // A quick config: hvm (no Xen debug keys), 2 vCPUs, 50 ms heartbeats,
  // a 0.5 s stall threshold and a 2 s lockup timeout.
  RunConfig Quick(double workload_s = 2) {
    RunConfig c = DefaultConfig();
    c.guest = *FindGuestProfile("hvm");
    c.workload.duration_s = workload_s;
    c.thresholds.heartbeat_ms = 50;
    c.thresholds.stall_s = 0.5;
    c.thresholds.lockup_s = 2;
    c.thresholds.boot_s = 2;
    return c;
  }

  RunOutcome Run(FakeEnvironment& env, const RunConfig& config, const std::atomic<bool>* interrupted = nullptr) {
    RunRequest req;
    req.config = config;
    req.results_root = root_;
    req.cache_dir = root_ + "/cache";
    req.env = &env;
    req.interrupted = interrupted;
    return RunOnce(req);
  }

  nlohmann::json Result(const RunOutcome& out) {
    return nlohmann::json::parse(ReadFile(out.run_dir + "/result.json"));
  }

  // vCPU 1 silent from 1.0 s to 2.0 s of a 2.4 s workload (the agent powers
  // the guest off at 2.7 s): a stall of vCPU 1, about 1 s long.
  RunOutcome StallOfVcpu1(bool console_keeps_bytes) {
    FakeScript s;
    s.console = [](const std::string& nonce) { return FakeGuest(nonce, 2, 0.05, 0.1, 2.5, {{1, 1.0, 2.0}}); };
    s.exit_at_s = 2.7;
    s.keeps_bytes = console_keeps_bytes;
    FakeEnvironment env(s);
    RunOutcome out = Run(env, Quick(2.4));
    EXPECT_EQ(out.verdict, Verdict::kStall) << out.title;
    nlohmann::json r = Result(out);
    EXPECT_GE(r["freezes"].size(), 1u);
    if (r["freezes"].empty()) return out;
    EXPECT_EQ(r["freezes"][0]["vcpus"], nlohmann::json::array({1}));
    EXPECT_NEAR(r["freezes"][0]["length_s"].get<double>(), 1.0, 0.3);
    return out;
  }

  std::string root_;
};

TEST_F(RunOnceTest, BeatingGuestThatFinishesPasses) {
  FakeScript s;
  s.console = [](const std::string& nonce) { return FakeGuest(nonce, 2, 0.05, 0.1, 1.5); };
  s.exit_at_s = 1.8;
  FakeEnvironment env(s);
  RunOutcome out = Run(env, Quick(1.4));
  EXPECT_EQ(out.verdict, Verdict::kPass) << out.title;
  nlohmann::json r = Result(out);
  EXPECT_EQ(r["verdict"], "pass");
  EXPECT_EQ(r["command"][0], "fake-vm");
  EXPECT_EQ(r["freezes"].size(), 0u);
  EXPECT_EQ(env.backend_.calls().diagnoses, 0);  // no evidence on a pass
  EXPECT_GE(env.backend_.calls().stops, 1);
  // Indexed in the store as it ended.
  Store store(Store::PathIn(root_));
  auto rows = store.Runs(RunFilter{});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].verdict, "pass");
}

TEST_F(RunOnceTest, SilenceThatRecoversIsAStall) {
  nlohmann::json r = Result(StallOfVcpu1(false));
  EXPECT_EQ(r["freezes"][0]["cause"], "guest-internal");
}

// A console that keeps its bytes (QEMU's deep FIFO) is read at the judging
// pace, not per piece: the same stall, of the same length, on the same vCPU,
// and every heartbeat in the log.
TEST_F(RunOnceTest, ConsoleReadAtTheJudgingPaceGivesTheSameStall) {
  RunOutcome out = StallOfVcpu1(true);
  std::string log = ReadFile(out.run_dir + "/console.log");
  size_t beats = 0;
  for (size_t at = 0; (at = log.find("@BH1 ", at)) != std::string::npos; ++at) ++beats;
  // vCPU 0 beats from 0.1 s to 2.5 s and vCPU 1 for 1.4 s of it, every 50 ms.
  EXPECT_GE(beats, 70u);
}

TEST_F(RunOnceTest, VcpuSilentPastTheLockupTimeoutIsALockup) {
  FakeScript s;
  s.console = [](const std::string& nonce) { return FakeGuest(nonce, 2, 0.05, 0.1, 8, {{0, 0.5, 99}}, false); };
  s.replies = {{"sysrq wl", "[   9.000000] sysrq: Show Blocked State\n"}};
  FakeEnvironment env(s);
  RunOutcome out = Run(env, Quick(8));
  EXPECT_EQ(out.verdict, Verdict::kLockup) << out.title;
  EXPECT_NE(out.title.find("vCPU 0"), std::string::npos) << out.title;
  // Evidence while the VM is still there: the guest's sysrq answer and the
  // registers; no Xen debug keys for an hvm guest.
  EXPECT_NE(env.backend_.calls().written.find(std::string(protocol::kCommandMarker)), std::string::npos);
  EXPECT_EQ(env.backend_.calls().written.find("\x01\x01\x01"), std::string::npos);
  EXPECT_EQ(env.backend_.calls().diagnoses, 1);
  EXPECT_NE(ReadFile(out.run_dir + "/evidence/guest-sysrq.txt").find("Show Blocked State"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(out.run_dir + "/evidence/qemu-registers.txt"));
}

TEST_F(RunOnceTest, PanicIsACrashTitledByIt) {
  FakeScript s;
  s.console = [](const std::string& nonce) {
    std::vector<FakeChunk> c = FakeGuest(nonce, 2, 0.05, 0.1, 0.6, {}, false);
    c.push_back({0.6, "[    5.000000] Kernel panic - not syncing: sysrq triggered crash\n"});
    return c;
  };
  FakeEnvironment env(s);
  RunOutcome out = Run(env, Quick(5));
  EXPECT_EQ(out.verdict, Verdict::kCrash) << out.title;
  EXPECT_NE(out.title.find("sysrq triggered crash"), std::string::npos) << out.title;
}

TEST_F(RunOnceTest, NoHeartbeatIsABootFailure) {
  FakeScript s;
  s.console = [](const std::string&) {
    return std::vector<FakeChunk>{{0.1, "[    0.000000] Linux version 6.1.0-fake\n"}};
  };
  FakeEnvironment env(s);
  RunOutcome out = Run(env, Quick());
  EXPECT_EQ(out.verdict, Verdict::kBootFailure) << out.title;
}

TEST_F(RunOnceTest, VmThatDiesMidRunIsAnInfraError) {
  FakeScript s;
  s.console = [](const std::string& nonce) { return FakeGuest(nonce, 2, 0.05, 0.1, 3, {}, false); };
  s.exit_at_s = 0.8;
  s.exit_clean = false;
  FakeEnvironment env(s);
  RunOutcome out = Run(env, Quick(3));
  EXPECT_EQ(out.verdict, Verdict::kInfraError) << out.title;
  EXPECT_EQ(env.backend_.calls().diagnoses, 0);  // nothing left to ask
}

TEST_F(RunOnceTest, VmThatCannotStartIsAnInfraError) {
  FakeScript s;
  s.fail_start = true;
  FakeEnvironment env(s);
  RunOutcome out = Run(env, Quick());
  EXPECT_EQ(out.verdict, Verdict::kInfraError);
  EXPECT_NE(out.title.find("could not start"), std::string::npos) << out.title;
  EXPECT_NE(Result(out)["error"].get<std::string>().find("could not start"), std::string::npos);
}

TEST_F(RunOnceTest, InterruptStopsTheVmAndWritesThePartialResult) {
  FakeScript s;
  s.console = [](const std::string& nonce) { return FakeGuest(nonce, 2, 0.05, 0.1, 30, {}, false); };
  FakeEnvironment env(s);
  std::atomic<bool> interrupted{false};
  std::thread ctrl_c([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    interrupted = true;
  });
  RunOutcome out = Run(env, Quick(30), &interrupted);
  ctrl_c.join();
  EXPECT_TRUE(out.interrupted);
  nlohmann::json r = Result(out);
  EXPECT_TRUE(r["interrupted"].get<bool>());
  EXPECT_GE(env.backend_.calls().stops, 1);
  EXPECT_EQ(env.backend_.calls().diagnoses, 0);  // no evidence for a run the user stopped
}

TEST_F(RunOnceTest, XenGuestsAlsoGiveXenDebugKeys) {
  FakeScript s;
  s.console = [](const std::string& nonce) { return FakeGuest(nonce, 2, 0.05, 0.1, 8, {{0, 0.5, 99}}, false); };
  s.replies = {{"d", "(XEN) 'd' pressed -> dumping registers\n"}};
  FakeEnvironment env(s);
  RunConfig c = Quick(8);
  c.guest = *FindGuestProfile("xen-pv-dom0");
  RunOutcome out = Run(env, c);
  EXPECT_EQ(out.verdict, Verdict::kLockup) << out.title;
  EXPECT_NE(env.backend_.calls().written.find("\x01\x01\x01"), std::string::npos);
  EXPECT_NE(ReadFile(out.run_dir + "/evidence/xen-debug-keys.txt").find("(XEN)"), std::string::npos);
}

}  // namespace
}  // namespace blackout
