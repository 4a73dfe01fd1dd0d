#include "results/verdict.h"

#include <initializer_list>

namespace blackout {

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kPass: return "pass";
    case Verdict::kStall: return "stall";
    case Verdict::kLockup: return "lockup";
    case Verdict::kCrash: return "crash";
    case Verdict::kBootFailure: return "boot-failure";
    case Verdict::kInfraError: return "infra-error";
    case Verdict::kBuildFailure: return "build-failure";
  }
  return "infra-error";
}

std::optional<Verdict> ParseVerdict(const std::string& name) {
  for (Verdict v : {Verdict::kPass, Verdict::kStall, Verdict::kLockup, Verdict::kCrash,
                    Verdict::kBootFailure, Verdict::kInfraError, Verdict::kBuildFailure}) {
    if (name == VerdictName(v)) return v;
  }
  return std::nullopt;
}

int VerdictExitCode(Verdict v) {
  switch (v) {
    case Verdict::kPass: return 0;
    case Verdict::kStall: return 1;
    case Verdict::kLockup: return 2;
    case Verdict::kCrash: return 3;
    case Verdict::kBootFailure: return 4;
    case Verdict::kInfraError: return 5;
    case Verdict::kBuildFailure: return 6;
  }
  return 5;
}

std::string ShownTitle(const std::string& title, const std::string& discounted) {
  return discounted.empty() ? title : title + " (not believed: " + discounted + ")";
}

bool IsHang(Verdict v) { return v == Verdict::kStall || v == Verdict::kLockup || v == Verdict::kCrash; }

std::string HangCluster(Verdict v, const std::string& title) {
  auto starts = [&](std::initializer_list<const char*> prefixes) {
    for (const char* p : prefixes) {
      if (title.rfind(p, 0) == 0) return true;
    }
    return false;
  };
  switch (v) {
    case Verdict::kStall: return "active-stall";
    case Verdict::kLockup:
      return starts({"BUG: soft lockup", "watchdog: hard LOCKUP", "INFO: rcu detected stall", "BUG: spinlock lockup",
                     "BUG: rwlock lockup", "lockup: no heartbeat from vCPU"})
                 ? "active-stall"
                 : "passive-hang";
    case Verdict::kCrash:
      return starts({"general protection fault", "BUG: unable to handle kernel", "KASAN:", "KMSAN:", "KFENCE:",
                     "UBSAN: array-index-out-of-bounds", "stack segment fault", "Oops in"})
                 ? "bad-access"
                 : "crash";
    default: return "";
  }
}

std::string HangClusterOfTitle(const std::string& title) {
  if (title.rfind("stall", 0) == 0) return HangCluster(Verdict::kStall, title);
  if (HangCluster(Verdict::kLockup, title) == "active-stall") return "active-stall";
  for (const char* p : {"INFO: task ", "BUG: workqueue lockup", "lockup:"}) {
    if (title.rfind(p, 0) == 0) return "passive-hang";
  }
  return HangCluster(Verdict::kCrash, title);
}

bool IsHangCluster(const std::string& name) {
  return name == "active-stall" || name == "passive-hang" || name == "bad-access" || name == "crash";
}

bool IsJudged(Verdict v) { return v == Verdict::kPass || IsHang(v); }

bool IsHang(const std::string& verdict) {
  auto v = ParseVerdict(verdict);
  return v && IsHang(*v);
}

bool IsJudged(const std::string& verdict) {
  auto v = ParseVerdict(verdict);
  return v && IsJudged(*v);
}

}  // namespace blackout
