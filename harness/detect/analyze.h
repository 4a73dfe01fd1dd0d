// Re-judging a saved console log with the same detector a live run uses, so
// archives can be re-read with other thresholds or a newer detector. Pure.
//
// Lines as blackout records them ("[+12.345678] text", host seconds) keep
// their host times; a plain log without them is timed by the kernel's own
// "[   12.345678]" stamps where present (else the previous line's time).
#pragma once

#include <optional>
#include <string>

#include "harness/detect/detector.h"

namespace blackout {

struct AnalyzeOptions {
  std::string nonce;  // empty: the first record's nonce
  int vcpus = 0;      // 0: from the agent's hello, else the highest vCPU seen + 1
  double stall_s = 2;
  double lockup_s = 30;
  double heartbeat_s = 0.2;
};

struct Analysis {
  Verdict verdict = Verdict::kInfraError;
  std::string title;
  std::string nonce;
  int vcpus = 0;
  std::vector<DetectorEvent> events;
  std::vector<Report> reports;
  std::vector<Freeze> freezes;
  nlohmann::json stats;
};

Analysis AnalyzeConsole(const std::string& text, const AnalyzeOptions& options);

}  // namespace blackout
