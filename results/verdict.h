// The seven verdicts a run can get, their names and blackout's exit codes.
//
// Severity order (which verdict wins when several fire): a kernel report (the
// first in the log: crash or lockup) > a heartbeat lockup > infra-error >
// stall > pass; boot-failure applies when no heartbeat ever came;
// build-failure when the kernel (a git build) did not build, so nothing booted.
#pragma once

#include <optional>
#include <string>

namespace blackout {

enum class Verdict { kPass, kStall, kLockup, kCrash, kBootFailure, kInfraError, kBuildFailure };

// "pass", "stall", "lockup", "crash", "boot-failure", "infra-error", "build-failure".
const char* VerdictName(Verdict v);
std::optional<Verdict> ParseVerdict(const std::string& name);

// The one home of what verdicts mean, so that history, reports, `blackout
// test` and bisection agree. A hang: the kernel stalled, locked up or
// crashed (stall, lockup, crash), the verdicts a user may count as bad.
bool IsHang(Verdict v);
// A run that says something about the kernel's hang rate: pass or a hang.
// boot-failure, infra-error and build-failure say nothing about it.
bool IsJudged(Verdict v);
// The same over a verdict's name, as the store and result.json hold it.
bool IsHang(const std::string& verdict);
bool IsJudged(const std::string& verdict);

// The kind of failure a hang is, the way one bug's many titles group (as
// syzkaller learned to merge duplicates): "active-stall" (a CPU that spins:
// RCU stall, soft or hard lockup, spinlock lockup, a heartbeat stall or the
// lockup of some vCPUs), "passive-hang" (work that waits forever: hung task,
// workqueue lockup, a guest that stops beating as a whole, a workload that
// never finishes), "bad-access" (general protection fault, paging request,
// NULL dereference, KASAN and the other sanitizers' bad accesses) and "crash"
// (every other crash). "" for a verdict that is no hang.
std::string HangCluster(Verdict v, const std::string& title);
// The cluster of a title alone (a title a user names, without its verdict).
std::string HangClusterOfTitle(const std::string& title);
// True for the four names above.
bool IsHangCluster(const std::string& name);

// A kernel report's title as people see it: "TITLE (not believed: WHY)"
// when the detector discounted it, else the title.
std::string ShownTitle(const std::string& title, const std::string& discounted);

// Exit codes of `blackout run`: pass 0, stall 1, lockup 2, crash 3,
// boot-failure 4, infra-error 5, build-failure 6. (Usage and config errors exit 64, an
// interrupted run 130.)
int VerdictExitCode(Verdict v);

inline constexpr int kExitUsage = 64;
inline constexpr int kExitInterrupted = 130;

}  // namespace blackout
