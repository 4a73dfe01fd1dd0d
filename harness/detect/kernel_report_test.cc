#include "harness/detect/kernel_report.h"
#include "harness/detect/report_title.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <thread>

namespace blackout {
namespace {

std::vector<Report> ParseAll(const std::vector<std::string>& lines) {
  ReportParser p;
  std::vector<Report> out;
  double t = 0;
  for (const std::string& l : lines) p.Line(t += 0.01, l, &out);
  p.Flush(&out);
  return out;
}

TEST(KernelReport, SoftLockupIsTitledByTheWorkItsCpuWasGiven) {
  // The CPU loops somewhere under the work item: the frame above the one that
  // dispatched it names the hang (syzkaller's stall rule), not the RIP.
  auto r = ParseAll({
      "[   48.123456] watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [kworker/1:1:58]",
      "[   48.123460] Modules linked in:",
      "[   48.123470] RIP: e030:xen_hypercall_sched_op+0xa/0x20",
      "[   48.123480] Call Trace:",
      "[   48.123490]  <TASK>",
      "[   48.123495]  ? xen_hypercall_sched_op+0xa/0x20",
      "[   48.123500]  try_to_wake_up+0x1d2/0x5a0",
      "[   48.123505]  blk_mq_complete_request+0x26/0x40",
      "[   48.123507]  disk_events_workfn+0x19/0x20",
      "[   48.123510]  process_one_work+0x1c7/0x380",
      "[   48.123515]  worker_thread+0x4d/0x380",
  });
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].kind, ReportKind::kLockup);
  EXPECT_EQ(r[0].title, "BUG: soft lockup in disk_events_workfn");
  EXPECT_EQ(r[0].corrupted, "");
}

TEST(KernelReport, StallWithoutItsDispatchingFrameIsCorruptedNotGuessed) {
  auto r = ParseAll({
      "[   48.123456] watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [migrate:123]",
      "[   48.123470] RIP: 0010:native_safe_halt+0xb/0x10",
      "[   48.123480] Call Trace:",
      "[   48.123500]  try_to_wake_up+0x1d2/0x5a0",
  });
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].title, "BUG: soft lockup in corrupted");
  EXPECT_NE(r[0].corrupted, "");
}

// Fault injection's stack printed into a report (syzkaller's should_fail
// rule): the title comes from what was read before it, and the report says it
// cannot be trusted whole.
TEST(KernelReport, FaultInjectionStackInAReportMarksItCorrupted) {
  const std::vector<std::string> report = {
      "[   71.000001] BUG: KASAN: use-after-free in xennet_poll+0x1a4c/0x2110",
      "[   71.000002] Read of size 4 at addr ffff888012345678 by task fio/4242",
      "[   71.000003] Call Trace:",
      "[   71.000004]  <TASK>",
      "[   71.000005]  dump_stack_lvl+0xcd/0x134",
      "[   71.000006]  kasan_report+0xb1/0x130",
      "[   71.000007]  xennet_poll+0x1a4c/0x2110",
      "[   71.000008]  should_fail.cold+0x5/0xa",
      "[   71.000009]  __napi_poll+0xe7/0x980",
      "[   71.000010]  </TASK>",
  };
  auto r = ParseAll(report);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].title, "KASAN: use-after-free Read in xennet_poll");
  EXPECT_EQ(r[0].corrupted, "fault injection's stack is mixed into the report");
  // Without that line the same report is whole.
  std::vector<std::string> whole = report;
  whole.erase(whole.begin() + 7);
  r = ParseAll(whole);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].title, "KASAN: use-after-free Read in xennet_poll");
  EXPECT_EQ(r[0].corrupted, "");
}

// Two tasks' reports interleaved on a kernel with caller ids: each collects
// its own lines, the panic joins its own caller's WARNING, and that WARNING
// is titled from its own RIP, not the other report's stack.
TEST(KernelReport, InterleavedCallersKeepTheirOwnLines) {
  auto r = ParseAll({
      "[  560.713151][ T1194] WARNING: CPU: 2 PID: 1194 at net/xfrm/xfrm_state.c:2381 xfrm_state_fini+0x440/0x5c0",
      "[  560.713160][ T1234] INFO: task kworker/0:1:12 blocked for more than 143 seconds.",
      "[  560.713170][ T1234] Call Trace:",
      "[  560.713171][ T1194] Kernel panic - not syncing: panic_on_warn set ...",
      "[  560.713180][ T1234]  __schedule+0x34d/0x9e0",
      "[  560.713181][ T1194] Call Trace:",
      "[  560.713182][ T1194]  dump_stack+0x1db/0x2d0",
      "[  560.713190][ T1234]  rtnl_lock+0x17/0x20",
      "[  560.713191][ T1194]  panic+0x2cb/0x65c",
      "[  560.713200][ T1234]  process_one_work+0x1c7/0x380",
      "[  560.713201][ T1194] RIP: 0010:xfrm_state_fini+0x440/0x5c0",
      "[  560.713202][ T1194]  xfrm_net_exit+0x25/0x70",
      "[  560.713203][ T1194]  cleanup_net+0x51d/0xb10",
  });
  ASSERT_EQ(r.size(), 2u);
  std::sort(r.begin(), r.end(), [](const Report& a, const Report& b) { return a.host_t < b.host_t; });
  EXPECT_EQ(r[0].type, "warning");
  EXPECT_EQ(r[0].kind, ReportKind::kCrash);  // it panicked
  EXPECT_EQ(r[0].title, "WARNING in xfrm_state_fini");
  EXPECT_EQ(r[1].title, "INFO: task hung in rtnl_lock");
}

// Several runs judge their consoles on threads of one process (bisection
// slots, a host pool): titling shares only locked caches and gives each the
// same answer.
TEST(KernelReport, TitlesFromManyThreadsAgree) {
  const std::vector<std::string> lines = {
      "[ 1.0] BUG: unable to handle page fault for address: ffff888000000000",
      "[ 1.0] RIP: 0010:blk_mq_start_request+0x3a/0x110", "[ 1.0] Call Trace:", "[ 1.0]  <TASK>",
      "[ 1.0]  virtio_queue_rq+0x1c/0x30", "[ 1.0]  process_one_work+0x1c7/0x380"};
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto r = ParseAll(lines);
        if (r.size() != 1 || r[0].title != "BUG: unable to handle kernel paging request in blk_mq_start_request") ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(KernelReport, UserSpaceFaultsAreNotKernelReports) {
  // A guest program's segfault notice names a GPF but is no kernel crash.
  auto r = ParseAll({"[ 9.1] traps: stress[311] general protection fault ip:401136 sp:7ffd8 error:0 in stress[401000+1000]"});
  EXPECT_TRUE(r.empty());
}

TEST(KernelReport, WatchdogReportsSayWhichCpusAreStuckAndHowLong) {
  auto soft = ParseAll({"[   48.1] watchdog: BUG: soft lockup - CPU#3 stuck for 22s! [migrate:123]"});
  ASSERT_EQ(soft.size(), 1u);
  EXPECT_EQ(soft[0].stuck_cpus, std::vector<int>{3});
  EXPECT_EQ(soft[0].stuck_s, 22);

  // An RCU stall as 6.1 prints it, naming CPUs 1 and 3 (and `extra` if given),
  // then a hung task.
  auto rcu_stall = [](const std::string& extra) {
    std::vector<std::string> lines = {
        "[   60.2] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
        "[   60.2] rcu: \t1-...0: (1 ticks this GP) idle=9d74/1/0x4000000000000000 softirq=30/30 fqs=2062",
        "[   60.2] rcu: \t3-...!: (0 ticks this GP) idle=2a1c/1/0x4000000000000000 softirq=12/12 fqs=2062",
        "[   60.2] \t(detected by 0, t=5252 jiffies, g=8061, q=85 ncpus=4)",
        "[   70.0] INFO: task blackout-agent:77 blocked for more than 10 seconds.",
    };
    if (!extra.empty()) lines.insert(lines.begin() + 3, "[   60.2] rcu: \t" + extra);
    return ParseAll(lines);
  };
  auto rcu = rcu_stall("");
  ASSERT_EQ(rcu.size(), 2u);
  EXPECT_EQ(rcu[0].stuck_cpus, (std::vector<int>{1, 3}));
  EXPECT_DOUBLE_EQ(rcu[0].stuck_s, 5.252);
  // A hung task is not a claim about CPUs.
  EXPECT_TRUE(rcu[1].stuck_cpus.empty());
  EXPECT_EQ(rcu[1].stuck_s, 0);

  // Blaming blocked tasks or a starved kthread names no stuck CPU.
  for (const char* extra : {"Tasks blocked on level-0 rcu_node (CPUs 0-3): P123",
                            "rcu_preempt kthread starved for 5252 jiffies! g8061 f0x0"}) {
    auto blamed = rcu_stall(extra);
    ASSERT_EQ(blamed.size(), 2u);
    EXPECT_TRUE(blamed[0].stuck_cpus.empty()) << extra;
  }
}

TEST(KernelReport, PanicAfterOopsJoinsIt) {
  auto r = ParseAll({
      "[   10.0] BUG: kernel NULL pointer dereference, address: 0000000000000000",
      "[   10.0] #PF: supervisor write access in kernel mode",
      "[   10.0] Oops: 0002 [#1] PREEMPT SMP NOPTI",
      "[   10.0] RIP: e030:sysrq_handle_crash+0x16/0x20",
      "[   10.0] Call Trace:",
      "[   10.0]  __handle_sysrq.cold+0x43/0x11b",
      "[   10.0]  write_sysrq_trigger+0x24/0x40",
      "[   10.0]  proc_reg_write+0x56/0xa0",
      "[   10.0]  vfs_write+0xc9/0x3f0",
      "[   10.0] Kernel panic - not syncing: Fatal exception",
  });
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].kind, ReportKind::kCrash);
  EXPECT_EQ(r[0].title, "BUG: unable to handle kernel NULL pointer dereference in sysrq_handle_crash");
}

TEST(KernelReport, HungTaskSkipsSchedulerFrames) {
  auto r = ParseAll({
      "[  242.1] INFO: task kworker/0:1:25 blocked for more than 120 seconds.",
      "[  242.1] Call Trace:",
      "[  242.1]  <TASK>",
      "[  242.1]  __schedule+0x351/0xa20",
      "[  242.1]  schedule+0x5d/0xe0",
      "[  242.1]  io_schedule+0x42/0x70",
      "[  242.1]  blk_mq_get_tag+0x10c/0x290",
      "[  242.1]  ---[ end trace ]---",
  });
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].title, "INFO: task hung in blk_mq_get_tag");
}

TEST(KernelReport, XenAndNotes) {
  auto r = ParseAll({
      "(XEN) Domain 1 (vcpu#0) crashed on cpu#1:",
      "[    7.7] clocksource: timekeeping watchdog on CPU1: Marking clocksource 'tsc' as unstable because the skew is too large:",
  });
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].title, "xen: domain NUM crashed");  // domain ids grow run by run
  EXPECT_EQ(r[1].kind, ReportKind::kNote);
  EXPECT_EQ(r[1].title, "clocksource tsc unstable");
}

TEST(KernelReport, WarningIsNotACrash) {
  auto r = ParseAll({"[ 1.0] WARNING: CPU: 0 PID: 1 at kernel/foo.c:12 foo_check+0x1/0x2 [mod]",
                     "[ 1.0] RIP: 0010:foo_check+0x1/0x2 [mod]", "[ 1.0] Call Trace:", "[ 1.0]  <TASK>",
                     "[ 1.0]  foo_init+0x10/0x20", "[ 1.0]  do_one_initcall+0x44/0x200"});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].kind, ReportKind::kWarning);
  EXPECT_EQ(r[0].title, "WARNING in foo_check");
}

TEST(KernelReport, WarningThatPanicsIsACrashUnderItsOwnTitle) {
  auto r = ParseAll({"[ 1.0] WARNING: CPU: 0 PID: 1 at kernel/foo.c:12 foo_check+0x1/0x2",
                     "[ 1.0] RIP: 0010:foo_check+0x1/0x2", "[ 1.0] Call Trace:", "[ 1.0]  foo_init+0x10/0x20",
                     "[ 1.0]  do_one_initcall+0x44/0x200", "[ 1.0]  kernel_init+0x1a/0x130",
                     "[ 1.1] Kernel panic - not syncing: panic_on_warn set ..."});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].kind, ReportKind::kCrash);
  EXPECT_EQ(r[0].title, "WARNING in foo_check");
}

TEST(KernelReport, OrdinaryLinesOpenNothing) {
  EXPECT_TRUE(ParseAll({"[ 0.0] Linux version 6.1.0", "(XEN) Xen version 4.17", "hello"}).empty());
}

TEST(KernelReport, EveryPatternHasAKeyword) {
  for (const std::string& re : ReportPatterns()) EXPECT_TRUE(PatternHasKeyword(re)) << re;
}

// One reader of the prefix for the detector, the titles and `analyze`'s clock.
TEST(ParseKernelLine, ReadsEveryPrefixShape) {
  struct Case {
    const char* line;
    std::optional<double> time;
    const char* caller;
    const char* text;
  };
  const Case cases[] = {
      {"[   12.345678] foo\r\n", 12.345678, "", "foo"},
      {"<6>[    0.000000] Linux version 6.1.0", 0.0, "", "Linux version 6.1.0"},
      {"[   61.123456][  T123] INFO: task hung", 61.123456, "T123", "INFO: task hung"},
      {"<4>[ 1.5][    C1] NMI backtrace", 1.5, "C1", "NMI backtrace"},
      {"[  12] no fraction", 12.0, "", "no fraction"},
      {"[ 3.25]", 3.25, "", ""},
      {"[   12.345678][T1]x", std::nullopt, "", "[   12.345678][T1]x"},  // no space after the prefix
      {"[ 1.0][ X1] not a caller", std::nullopt, "", "[ 1.0][ X1] not a caller"},
      {"[not a stamp] foo", std::nullopt, "", "[not a stamp] foo"},
      {"[ 12.3.4] foo", std::nullopt, "", "[ 12.3.4] foo"},
      {"[ .5] foo", std::nullopt, "", "[ .5] foo"},
      {"[ 12.] foo", std::nullopt, "", "[ 12.] foo"},
      {"[12345678901.0] too many digits", std::nullopt, "", "[12345678901.0] too many digits"},
      {"[<ffffffff81000000>] frame", std::nullopt, "", "[<ffffffff81000000>] frame"},
      {"<6>no stamp", std::nullopt, "", "<6>no stamp"},
      {"[", std::nullopt, "", "["},
      {"[    ", std::nullopt, "", "[    "},
      {"", std::nullopt, "", ""},
  };
  for (const Case& c : cases) {
    KernelLine k = ParseKernelLine(c.line);
    EXPECT_EQ(k.time, c.time) << c.line;
    EXPECT_EQ(k.caller, c.caller) << c.line;
    EXPECT_EQ(k.text, c.text) << c.line;
  }
}

// A level and a caller id in front of a report's first line do not hide it.
TEST(KernelReport, OpensBehindLevelAndCallerId) {
  auto reports = ParseAll({"<0>[  100.000000][    C0] watchdog: BUG: soft lockup - CPU#0 stuck for 23s! [a:1]"});
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].type, "soft-lockup");
}

}  // namespace
}  // namespace blackout
