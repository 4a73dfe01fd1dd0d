#include "harness/detect/analyze.h"
#include "harness/detect/detector.h"
#include "results/run_dir.h"

#include <gtest/gtest.h>

#include <sstream>

#include "base/protocol.h"

namespace blackout {
namespace {

// Drives a Detector with a scripted guest: heartbeats from each vCPU every
// 0.2 s of host time, with the guest clock following host time unless told.
class Script {
 public:
  explicit Script(int vcpus = 2, double stall = 2, double lockup = 30, bool clock_stops = true)
      : vcpus_(vcpus), det_(Config(vcpus, stall, lockup, clock_stops), 0) {}

  static DetectorConfig Config(int vcpus, double stall, double lockup, bool clock_stops = true) {
    DetectorConfig c;
    c.guest_clock_stops_with_vm = clock_stops;
    c.nonce = "n";
    c.vcpus = vcpus;
    c.stall_s = stall;
    c.lockup_s = lockup;
    c.boot_s = 100;
    c.workload_s = 60;
    return c;
  }

  void Status(const std::string& event, const std::string& fields = "") {
    det_.Bytes(t_, protocol::FormatStatus("n", event, fields));
  }
  // Beats for `seconds`; vCPUs in `silent` stay quiet; the guest clock advances
  // at `guest_rate` of host time.
  void Beat(double seconds, std::vector<int> silent = {}, double guest_rate = 1.0) {
    for (double end = t_ + seconds; t_ < end - 1e-9; t_ += 0.2) {
      guest_ += 0.2 * guest_rate;
      for (int v = 0; v < vcpus_; ++v) {
        if (std::find(silent.begin(), silent.end(), v) != silent.end()) continue;
        det_.Bytes(t_, protocol::FormatHeartbeat("n", v, seq_[v]++, static_cast<uint64_t>(guest_ * 1e9)));
      }
      det_.Tick(t_);
    }
  }
  void Kernel(const std::string& line) { det_.Bytes(t_, line + "\n"); }
  void Run(double seconds) {
    Status("hello", "vcpus=2");
    Status("workload-start", "duration=60");
    Beat(seconds);
  }
  void Done() {
    Status("done");
    det_.VmExited(t_, true, "exit 0");
    det_.Finish(t_);
  }
  Detector& det() { return det_; }
  double t() const { return t_; }

 private:
  int vcpus_;
  Detector det_;
  double t_ = 5, guest_ = 1;
  uint64_t seq_[8] = {};
};

TEST(Detector, CleanRunPasses) {
  Script s;
  s.Run(20);
  s.Done();
  EXPECT_EQ(s.det().verdict(), Verdict::kPass);
  EXPECT_TRUE(s.det().gaps().empty());
  ASSERT_TRUE(s.det().first_heartbeat());
  EXPECT_DOUBLE_EQ(*s.det().first_heartbeat(), 5.0);
}

TEST(Detector, PausedVmIsWholeGuestVmExternalStall) {
  Script s;
  s.Run(10);
  s.Beat(8, {0, 1}, 0.0);  // paused: nobody beats and the guest clock stands still
  s.Beat(10);
  s.Done();
  EXPECT_EQ(s.det().verdict(), Verdict::kStall);
  auto freezes = s.det().Freezes();
  ASSERT_EQ(freezes.size(), 1u);
  EXPECT_TRUE(freezes[0].whole_guest);
  EXPECT_EQ(freezes[0].cause, "vm-external");
  EXPECT_NEAR(freezes[0].length(), 8.2, 0.21);
  EXPECT_NE(s.det().title().find("whole-guest freeze (vm-external)"), std::string::npos)
      << s.det().title();
}

TEST(Detector, OnAXenHostAFreezeWithTheClockRunningIsUnattributed) {
  // A domU's clock on a Xen host is Xen's: it runs on through a pause.
  Script s(2, 2, 30, /*clock_stops=*/false);
  s.Run(10);
  s.Beat(8, {0, 1});
  s.Beat(10);
  s.Done();
  auto freezes = s.det().Freezes();
  ASSERT_EQ(freezes.size(), 1u);
  EXPECT_EQ(freezes[0].cause, "unattributed");
  // A clock that did stand still still says the VM was not run.
  Script p(2, 2, 30, false);
  p.Run(10);
  p.Beat(8, {0, 1}, 0.0);
  p.Beat(10);
  p.Done();
  ASSERT_EQ(p.det().Freezes().size(), 1u);
  EXPECT_EQ(p.det().Freezes()[0].cause, "vm-external");
}

TEST(Detector, OneVcpuFrozenInsideTheGuest) {
  Script s;
  s.Run(10);
  s.Beat(5, {1});  // vCPU 1 silent, guest time runs on
  s.Beat(10);
  s.Done();
  EXPECT_EQ(s.det().verdict(), Verdict::kStall);
  auto freezes = s.det().Freezes();
  ASSERT_EQ(freezes.size(), 1u);
  EXPECT_EQ(freezes[0].vcpus, std::vector<int>{1});
  EXPECT_FALSE(freezes[0].whole_guest);
  EXPECT_EQ(freezes[0].cause, "guest-internal");
}

// One vCPU beating once every ~2.6 s for 8 s: three gaps in a chain make one
// freeze, and the guest clock ran through all of it (the chain's guest time is
// the sum of its gaps', not the least of them).
TEST(Detector, ChainOfGapsOnOneVcpuKeepsItsGuestTime) {
  Script s;
  s.Run(10);
  for (int i = 0; i < 3; ++i) {
    s.Beat(2.4, {0});
    s.Beat(0.2);
  }
  s.Beat(10);
  s.Done();
  auto freezes = s.det().Freezes();
  ASSERT_EQ(freezes.size(), 1u);
  EXPECT_EQ(freezes[0].vcpus, std::vector<int>{0});
  EXPECT_NEAR(freezes[0].length(), 7.8, 0.21);
  EXPECT_NEAR(freezes[0].guest_advance, freezes[0].length(), 0.05);
  EXPECT_EQ(freezes[0].cause, "guest-internal");
}

TEST(Detector, GapBelowThresholdIsNotAStall) {
  Script s;
  s.Run(10);
  s.Beat(1.6, {0, 1});
  s.Beat(10);
  s.Done();
  EXPECT_EQ(s.det().verdict(), Verdict::kPass);
}

TEST(Detector, SilenceBeyondLockupTimeoutIsLockup) {
  Script s(2, 2, 10);
  s.Run(5);
  s.Beat(12, {0});
  EXPECT_TRUE(s.det().decided());
  s.det().Finish(s.t());
  EXPECT_EQ(s.det().verdict(), Verdict::kLockup);
  EXPECT_EQ(s.det().title(), "lockup: no heartbeat from vCPU 0 for 10.00s");
}

TEST(Detector, NoHeartbeatIsBootFailure) {
  Script s;
  s.det().Bytes(1, "[    0.000000] Linux version 6.1\n");
  s.det().Tick(50);
  EXPECT_FALSE(s.det().decided());
  s.det().Tick(101);
  EXPECT_TRUE(s.det().decided());
  s.det().Finish(101);
  EXPECT_EQ(s.det().verdict(), Verdict::kBootFailure);
  EXPECT_EQ(s.det().title(), "no heartbeat within 100.00s");
}

TEST(Detector, PanicBeforeHeartbeatsIsBootFailureWithTitle) {
  Script s;
  s.det().Bytes(3, "[    6.1] Kernel panic - not syncing: No working init found.\n");
  s.det().Tick(10);
  EXPECT_TRUE(s.det().decided());
  s.det().Finish(10);
  EXPECT_EQ(s.det().verdict(), Verdict::kBootFailure);
  EXPECT_EQ(s.det().title(), "kernel panic: No working init found.");
}

TEST(Detector, PanicDuringWorkloadIsCrash) {
  Script s;
  s.Run(5);
  s.Kernel("[   20.0] sysrq: Trigger a crash");
  s.Kernel("[   20.0] Kernel panic - not syncing: sysrq triggered crash");
  s.Beat(1);
  EXPECT_FALSE(s.det().decided());  // still inside the report grace period
  s.Beat(3);
  EXPECT_TRUE(s.det().decided());
  s.det().Finish(s.t());
  EXPECT_EQ(s.det().verdict(), Verdict::kCrash);
  EXPECT_EQ(s.det().title(), "kernel panic: sysrq triggered crash");
}

TEST(Detector, KilledVmIsInfraError) {
  Script s;
  s.Run(5);
  s.det().VmExited(s.t(), false, "killed by signal 9");
  s.det().Finish(s.t());
  EXPECT_EQ(s.det().verdict(), Verdict::kInfraError);
  EXPECT_EQ(s.det().title(), "vm died: killed by signal 9");
}

TEST(Detector, CrashBeatsLaterInfraError) {
  Script s;
  s.Run(5);
  s.Kernel("[   20.0] BUG: kernel NULL pointer dereference, address: 0000000000000000");
  s.det().VmExited(s.t(), false, "killed by signal 9");
  s.det().Finish(s.t());
  EXPECT_EQ(s.det().verdict(), Verdict::kCrash);
}

TEST(Detector, ForeignAndTornRecordsAreCountedNotUsed) {
  Script s;
  s.Run(2);
  s.det().Bytes(s.t(), protocol::FormatHeartbeat("stale", 0, 1, 1));
  std::string torn = protocol::FormatHeartbeat("n", 0, 99, 1);
  torn.insert(8, "junk");
  s.det().Bytes(s.t(), torn);
  s.Done();
  EXPECT_EQ(s.det().Stats()["rejected_foreign_nonce"], 1);
  EXPECT_EQ(s.det().Stats()["rejected_bad_seal"], 1);
  EXPECT_EQ(s.det().verdict(), Verdict::kPass);
}

TEST(Detector, LineSplitAcrossChunksIsFound) {
  Script s;
  s.Run(2);
  std::string beat = protocol::FormatHeartbeat("n", 0, 1000, 9e9);
  uint64_t before = s.det().Stats()["heartbeats"];
  s.det().Bytes(s.t(), beat.substr(0, 10));
  s.det().Bytes(s.t() + 0.01, beat.substr(10));
  EXPECT_EQ(s.det().Stats()["heartbeats"], before + 1);
}

TEST(Detector, AgentErrorIsInfraError) {
  Script s;
  s.Status("error", "reason=no-workload-file");
  EXPECT_TRUE(s.det().decided());
  s.det().Finish(s.t());
  EXPECT_EQ(s.det().verdict(), Verdict::kInfraError);
}

TEST(Detector, PoweredOffEarlyIsCrash) {
  Script s;
  s.Run(5);
  s.det().VmExited(s.t(), true, "exit 0");
  s.det().Finish(s.t());
  EXPECT_EQ(s.det().verdict(), Verdict::kCrash);
}

// Found by the fuzzer: a torn record naming vCPU 2000000000 made analyze
// size its per-vCPU state from it.
TEST(Analyze, VcpuCountFromALogIsBounded) {
  Analysis a = AnalyzeConsole("@BH1 n 2000000000 1 2 00000000\n@BA1 n hello vcpus=99999999 0\n", {});
  EXPECT_LE(a.vcpus, kMaxVcpus);
}

// A console log cut by the console cap: the omitted middle is no silence of
// the guest's. Without the marker line the same log is a stall.
TEST(Analyze, ConsoleCapMarkerIsNoGap) {
  auto log = [](bool marker) {
    std::string text = "[+0.000000] " + protocol::FormatStatus("n", "hello", "vcpus=1");
    auto beats = [&](double from, double to) {
      for (double t = from; t < to; t += 0.2) {
        char prefix[32];
        std::snprintf(prefix, sizeof prefix, "[+%.6f] ", t);
        text += prefix + protocol::FormatHeartbeat("n", 0, static_cast<uint64_t>(t * 5), static_cast<uint64_t>(t * 1e9));
      }
    };
    beats(1, 5);
    if (marker) text += std::string("[+5.000000] ") + kConsoleCappedMarker + " 123456 bytes omitted\n";
    beats(100, 105);
    text += "[+105.000000] " + protocol::FormatStatus("n", "stressor", "name=io ops=5 errors=0");
    text += "[+105.100000] " + protocol::FormatStatus("n", "done", "");
    return text;
  };
  EXPECT_EQ(AnalyzeConsole(log(false), {}).verdict, Verdict::kStall);
  Analysis a = AnalyzeConsole(log(true), {});
  EXPECT_EQ(a.verdict, Verdict::kPass) << a.title;
}

TEST(Detector, StressorThatDidNoWorkIsNotAPass) {
  Script s;
  s.Run(2);
  s.Status("stressor", "name=io ops=0 errors=5");
  s.Done();
  EXPECT_EQ(s.det().verdict(), Verdict::kInfraError);
  EXPECT_EQ(s.det().title(), "stressor io did no work");
}

TEST(Detector, StressorCountersAreKept) {
  Script s;
  s.Run(2);
  s.Status("stressor", "name=io ops=10 errors=0 bytes=40960 fsyncs=3");
  s.Done();
  auto stressors = s.det().Stats()["stressors"];
  ASSERT_EQ(stressors.size(), 1u);
  EXPECT_EQ(stressors[0]["name"], "io");
  EXPECT_EQ(stressors[0]["bytes"], 40960);
}

TEST(Detector, IntervalsAndGuestCountersAreKept) {
  Script s;
  s.Run(2);
  s.Status("interval", "t=10 phase=ramp ops=120,0,7 errors=0,1,0");
  s.Status("interval", "t=20 phase=- ops=- errors=-");
  s.Status("guest-stats", "seconds=20.004 intr=5000 ctxt=90000 ttwu=300 ttwu_remote=120 migrations=42");
  s.Done();
  auto stats = s.det().Stats();
  ASSERT_EQ(stats["intervals"].size(), 2u);
  EXPECT_EQ(stats["intervals"][0]["phase"], "ramp");
  EXPECT_EQ(stats["intervals"][0]["ops"], nlohmann::json({120, 0, 7}));
  EXPECT_EQ(stats["intervals"][0]["errors"][1], 1);
  EXPECT_TRUE(stats["intervals"][1]["ops"].empty());
  EXPECT_EQ(stats["guest_counters"]["intr"], 5000);
  EXPECT_DOUBLE_EQ(stats["guest_counters"]["seconds"].get<double>(), 20.004);
}

TEST(Detector, GapWhileVcpuThreadsWaitedIsHostContention) {
  Script s;
  s.Run(10);
  // The host sampler saw one of the VM's vCPU threads runnable but waiting
  // for 90% of the gap: guest time ran on (TCG), yet the host is to blame.
  s.det().HostStats({s.t(), {1.0, 0.5}, 5.0});
  double start = s.t();
  s.Beat(5, {0, 1});
  s.Beat(2);
  // The kernel credits the wait when the thread runs again: after the gap.
  s.det().HostStats({s.t(), {1.0 + 0.9 * (s.t() - start), 0.6}, 9.0});
  s.Beat(8);
  s.Done();
  auto freezes = s.det().Freezes();
  ASSERT_EQ(freezes.size(), 1u);
  EXPECT_EQ(freezes[0].cause, "host-contention");
  EXPECT_NEAR(freezes[0].run_delay_fraction, 0.9, 0.1);
  EXPECT_GT(freezes[0].psi_some_fraction, 0.4);
}

// The run delay credited only after the freeze (as Linux does) still counts;
// a wait credited long after (another episode) does not.
TEST(Detector, RunDelayCreditedAfterTheFreezeCounts) {
  Script s;
  s.Run(10);
  s.det().HostStats({s.t(), {1.0, 0.5}, 5.0});
  s.Beat(5, {0, 1});
  s.det().HostStats({s.t(), {1.0, 0.5}, 6.0});  // still starved: nothing credited yet
  s.Beat(1);
  s.det().HostStats({s.t(), {5.5, 0.6}, 7.0});  // the lump, when the thread runs again
  s.Beat(10);
  s.Done();
  auto freezes = s.det().Freezes();
  ASSERT_EQ(freezes.size(), 1u);
  EXPECT_EQ(freezes[0].cause, "host-contention");
}

TEST(Detector, GapWhileMonitorWasLateIsHostLateness) {
  Script s;
  s.Run(10);
  s.Beat(4, {0, 1});
  s.det().MonitorLate(s.t(), 3.5);
  s.Beat(10);
  s.Done();
  auto freezes = s.det().Freezes();
  ASSERT_EQ(freezes.size(), 1u);
  EXPECT_EQ(freezes[0].cause, "host-lateness");
}

TEST(Detector, GuestClockJumpIsReported) {
  Script s;
  s.Run(5);
  s.Beat(0.2, {}, 20.0);  // guest time races 4 s ahead in 0.2 s of host time
  s.Beat(5);
  s.Done();
  EXPECT_GE(s.det().Stats()["clock_jumps"], 2);  // one per vCPU
  EXPECT_EQ(s.det().verdict(), Verdict::kPass);
}

// Soft lockup reports as the kernel prints them, CPU#cpu stuck for `secs`.
void SoftLockup(Script& s, int cpu, int secs, const std::string& func) {
  std::string c = std::to_string(cpu);
  s.Kernel("[   60.1] watchdog: BUG: soft lockup - CPU#" + c + " stuck for " + std::to_string(secs) +
           "s! [stress:9" + c + "]");
  s.Kernel("[   60.1] CPU: " + c + " PID: 9" + c + " Comm: stress Not tainted 6.1.0-57-amd64 #1");
  s.Kernel("[   60.1] RIP: e030:" + func + "+0x12/0x40");
  s.Kernel("[   60.1] Call Trace:");
  s.Kernel("[   60.1]  <TASK>");
  s.Kernel("[   60.1]  do_syscall_64+0x3b/0x90");
  s.Kernel("[   60.1]  </TASK>");
}

// Every CPU's watchdog fired at once while every vCPU kept beating: the guest
// clock leapt, nobody was stuck (seen once on a healthy 4-vCPU guest under TCG).
TEST(Detector, SoftLockupOnAVcpuThatKeptBeatingIsNotBelieved) {
  Script s(4);
  s.Run(30);
  SoftLockup(s, 0, 23, "__cond_resched");
  SoftLockup(s, 3, 23, "cpu_bringup_and_idle");
  s.Beat(10);
  EXPECT_FALSE(s.det().decided());
  s.Done();
  EXPECT_EQ(s.det().verdict(), Verdict::kPass) << s.det().title();
  ASSERT_EQ(s.det().reports().size(), 2u);
  for (const Report& r : s.det().reports()) {
    EXPECT_EQ(r.type, "soft-lockup");
    EXPECT_NE(r.discounted.find("beat all through the 23.00s"), std::string::npos) << r.discounted;
  }
}

// The exposure a bisection reads: workload seconds from the workload's start
// to the evidence's start (the report's line, the freeze's start), or to the
// workload's end for a pass.
TEST(Detector, ExposureIsTheWorkloadTimeUntilTheEvidence) {
  Script pass;
  pass.Run(20);  // the workload starts at t = 5
  pass.Done();
  ASSERT_TRUE(pass.det().exposure_s());
  EXPECT_NEAR(*pass.det().exposure_s(), 20, 0.3);

  Script lockup(4);
  lockup.Run(10);
  lockup.Beat(22, {2});
  SoftLockup(lockup, 2, 22, "try_to_wake_up");  // at t = 37
  lockup.det().Finish(lockup.t());
  EXPECT_EQ(lockup.det().verdict(), Verdict::kLockup);
  ASSERT_TRUE(lockup.det().exposure_s());
  EXPECT_NEAR(*lockup.det().exposure_s(), 32, 0.3);

  Script stall;
  stall.Run(10);
  stall.Beat(3, {1});  // vCPU 1 freezes at t = 15 for 3 s
  stall.Beat(5);
  stall.Done();
  EXPECT_EQ(stall.det().verdict(), Verdict::kStall);
  ASSERT_TRUE(stall.det().exposure_s());
  EXPECT_NEAR(*stall.det().exposure_s(), 10, 0.5);

  Script none;  // no workload: no exposure
  none.Done();
  EXPECT_FALSE(none.det().exposure_s());
}

TEST(Detector, SoftLockupOnASilentVcpuIsLockup) {
  Script s(4);
  s.Run(10);
  s.Beat(22, {2});
  SoftLockup(s, 2, 22, "try_to_wake_up");
  s.Beat(4, {2});
  EXPECT_TRUE(s.det().decided());
  s.det().Finish(s.t());
  EXPECT_EQ(s.det().verdict(), Verdict::kLockup);
  EXPECT_EQ(s.det().title(), "BUG: soft lockup in try_to_wake_up");
  EXPECT_TRUE(s.det().reports()[0].discounted.empty());
}

// The vCPU was silent for half the claim and beats again by the time the
// report is read: still confirmed.
TEST(Detector, SoftLockupOnAVcpuSilentHalfTheClaimIsLockup) {
  Script s(2);
  s.Run(20);
  s.Beat(12, {1});
  s.Beat(10);
  SoftLockup(s, 1, 22, "xen_qlock_wait");
  s.Beat(4);
  s.det().Finish(s.t());
  EXPECT_EQ(s.det().verdict(), Verdict::kLockup);
}

// Heartbeats that cover too little of the claim, or a CPU the guest does not
// have, cannot contradict it.
TEST(Detector, SoftLockupTheHeartbeatsCannotJudgeIsBelieved) {
  {
    Script s(2);
    s.Run(8);
    SoftLockup(s, 1, 22, "xen_qlock_wait");
    s.Beat(4);
    s.det().Finish(s.t());
    EXPECT_EQ(s.det().verdict(), Verdict::kLockup);
  }
  {
    Script s(2);
    s.Run(30);
    SoftLockup(s, 5, 22, "xen_qlock_wait");
    s.Beat(4);
    s.det().Finish(s.t());
    EXPECT_EQ(s.det().verdict(), Verdict::kLockup);
  }
}

// An RCU stall report as 6.1 prints it, naming `cpus`; `extra` goes before
// the closing "(detected by ...)" line.
void RcuStall(Script& s, const std::vector<int>& cpus, const std::string& extra = "") {
  s.Kernel("[   60.2] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:");
  for (int c : cpus) {
    s.Kernel("[   60.2] rcu: \t" + std::to_string(c) +
             "-...0: (1 ticks this GP) idle=9d74/1/0x4000000000000000 softirq=30/30 fqs=2062");
  }
  if (!extra.empty()) s.Kernel("[   60.2] rcu: \t" + extra);
  s.Kernel("[   60.2] \t(detected by 0, t=5252 jiffies, g=8061, q=85 ncpus=4)");
  s.Kernel("[   60.2] Sending NMI from CPU 0 to CPUs 1:");
}

TEST(Detector, RcuStallOnVcpusThatKeptBeatingIsNotBelieved) {
  Script s(4);
  s.Run(30);
  RcuStall(s, {1, 3});
  s.Beat(10);
  EXPECT_FALSE(s.det().decided());
  s.Done();
  EXPECT_EQ(s.det().verdict(), Verdict::kPass) << s.det().title();
  ASSERT_EQ(s.det().reports().size(), 1u);
  EXPECT_NE(s.det().reports()[0].discounted.find("vCPU 1,3 beat all through the 5.25s"), std::string::npos)
      << s.det().reports()[0].discounted;
}

TEST(Detector, RcuStallWithOneSilentVcpuIsLockup) {
  Script s(4);
  s.Run(10);
  s.Beat(22, {3});
  RcuStall(s, {1, 3});
  s.Beat(4, {3});
  s.det().Finish(s.t());
  EXPECT_EQ(s.det().verdict(), Verdict::kLockup);
  EXPECT_TRUE(s.det().reports()[0].discounted.empty());
}

TEST(Detector, RcuStallThatNamesNoStuckCpuIsBelieved) {
  for (const char* extra : {"Tasks blocked on level-0 rcu_node (CPUs 0-3): P123",
                            "rcu_preempt kthread starved for 5252 jiffies! g8061 f0x0"}) {
    Script s(4);
    s.Run(30);
    RcuStall(s, {1}, extra);
    s.Beat(4);
    s.det().Finish(s.t());
    EXPECT_EQ(s.det().verdict(), Verdict::kLockup) << extra;
  }
}

TEST(Detector, HangReportIsLockup) {
  Script s;
  s.Run(5);
  s.Kernel("[   30.1] INFO: task blackout-agent:77 blocked for more than 10 seconds.");
  s.Kernel("[   30.1] Call Trace:");
  s.Kernel("[   30.1]  __schedule+0x351/0xa20");
  s.Kernel("[   30.1]  percpu_rwsem_wait+0x10c/0x130");
  s.Kernel("[   30.1]  mnt_want_write+0x8b/0xc0");
  s.Beat(4);
  s.det().Finish(s.t());
  EXPECT_EQ(s.det().verdict(), Verdict::kLockup);
  EXPECT_EQ(s.det().title(), "INFO: task hung in mnt_want_write");
}

}  // namespace
}  // namespace blackout

namespace blackout {
namespace {

// A hostile guest may send anything with a valid seal and the right nonce:
// numbers that do not fit, empty or garbage fields, names where counts go.
// Each such record is counted as rejected; the run goes on and is judged.
TEST(Detector, SealedRecordsWithValuesThatDoNotFitAreRejected) {
  Script s;
  s.Run(5);
  const char* bad[][2] = {
      {"stressor", "name=io ops=1234567890123456789012345 errors=0"},  // 25 digits
      {"stressor", "name=io ops=abc errors=0"},                        // garbage where a count goes
      {"stressor", "name=io ops= errors=0"},                           // empty
      {"interval", "t=1 phase=ramp ops=, errors=0"},                   // an empty list element
      {"interval", "t=1 phase=ramp ops=1,,2 errors=0"},
      {"interval", "t=. phase=ramp ops=1 errors=0"},                   // a number that is not one
      {"guest-stats", "seconds=1.2.3 intr=5"},
      {"guest-stats", "intr=99999999999999999999999999999999999999"},
  };
  for (const auto& r : bad) s.Status(r[0], r[1]);
  s.Status("stressor", "name=12 ops=7 errors=0");  // a numeric name is still a name
  // A heartbeat whose sequence does not fit in 64 bits is torn, not a leap.
  s.det().Bytes(s.t(), protocol::Seal(protocol::kHeartbeatMarker, "n 0 123456789012345678901234567 5"));
  EXPECT_EQ(s.det().Stats()["lost_heartbeats"], 0);
  s.Beat(5);
  s.Done();
  EXPECT_EQ(s.det().Stats()["rejected_bad_value"], 8);
  EXPECT_EQ(s.det().Stats()["stressors"].size(), 1u);
  EXPECT_EQ(s.det().verdict(), Verdict::kPass) << s.det().title();
}

TEST(Detector, AStressorThatDidNoWorkIsNamedEvenWithAStrangeName) {
  Script s;
  s.Run(5);
  s.Status("stressor", "name=42 ops=0 errors=0");
  s.Beat(1);
  s.Done();
  EXPECT_EQ(s.det().verdict(), Verdict::kInfraError);
  EXPECT_NE(s.det().title().find("42"), std::string::npos) << s.det().title();
}

// A log that never carried heartbeats (no records, no blackout host stamps:
// a console log from elsewhere) is judged by the kernel's reports alone and
// says so; blackout's own log of a guest that never beat is a boot failure.
TEST(Analyze, PlainLogIsJudgedByItsReportsAlone) {
  std::string panic =
      "[    0.000000] Linux version 6.1.0\n"
      "[   12.345678] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\n"
      "[   12.345999] CPU: 0 PID: 1 Comm: swapper/0 Not tainted 6.1.0 #1\n";
  Analysis a = AnalyzeConsole(panic, {});
  EXPECT_TRUE(a.reports_only);
  EXPECT_EQ(a.verdict, Verdict::kCrash) << a.title;
  a = AnalyzeConsole("[    0.000000] Linux version 6.1.0\n[    1.000000] all fine\n", {});
  EXPECT_TRUE(a.reports_only);
  EXPECT_EQ(a.verdict, Verdict::kPass);
  EXPECT_EQ(a.title, "no kernel report");
  // The same lines as blackout recorded them: the guest never beat.
  std::string stamped;
  std::istringstream in(panic);
  for (std::string line; std::getline(in, line);) stamped += "[+3.500000] " + line + "\n";
  a = AnalyzeConsole(stamped, {});
  EXPECT_FALSE(a.reports_only);
  EXPECT_EQ(a.verdict, Verdict::kBootFailure) << a.title;
}

// analyze takes the nonce from the first record whose seal holds: a torn or
// forged record first must not decide whose heartbeats count.
TEST(Analyze, NonceComesOnlyFromASealedRecord) {
  std::string log = "[+1.000000] @BH1 forged 0 0 0 deadbeef\n";
  for (int i = 0; i < 50; ++i) {
    char stamp[32];
    std::snprintf(stamp, sizeof stamp, "[+%.6f] ", 2 + 0.2 * i);
    for (int v = 0; v < 2; ++v) {
      log += stamp + protocol::FormatHeartbeat("real", v, static_cast<uint64_t>(i),
                                               static_cast<uint64_t>((2 + 0.2 * i) * 1e9));
    }
  }
  Analysis a = AnalyzeConsole(log, AnalyzeOptions{});
  EXPECT_EQ(a.nonce, "real");
  EXPECT_EQ(a.vcpus, 2);
}

}  // namespace
}  // namespace blackout

namespace blackout {
namespace {

// What the detector keeps is bounded whatever the console says: past the
// caps, reports are counted, not kept (the first ones decide the run).
TEST(Detector, KeepsABoundedNumberOfReports) {
  Script s;
  s.Run(2);
  for (int i = 0; i < 1200; ++i) {
    s.Kernel("[   10.000000] WARNING: CPU: 0 PID: 1 at kernel/sched/core.c:100 f+0x1/0x2");
    s.Kernel("[   10.000000] ---[ end trace 0000000000000000 ]---");
  }
  s.Beat(1);
  s.Done();
  EXPECT_EQ(s.det().reports().size(), 1000u);
  EXPECT_EQ(s.det().Stats()["dropped"]["reports"], 200);
}

}  // namespace
}  // namespace blackout
