#include "results/verdict.h"

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
