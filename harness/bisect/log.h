// The on-disk record of a bisection: one directory per bisection holding
// log.jsonl, versioned and append-only, fsynced after every line so a step
// that was recorded survives a crash, and a line torn by a crash mid-write is
// dropped on load (the run it described is simply done again).
//
//   {"blackout_bisect": 1, "config": {...}, "candidates": ["a", "b", ...]}
//   {"step": 1, "candidate": 7, "name": "b", "outcome": "hang", "verdict": "stall", "run_dir": "..."}
//   ...
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/bisect/engine.h"

namespace blackout {

inline constexpr int kBisectLogVersion = 1;

struct BisectStep {
  int candidate = 0;
  Outcome outcome = Outcome::kSkip;
  std::string verdict;
  std::string title;
  std::string run_dir;
  double exposure_s = 0;  // workload seconds until the hang or the end (exposure model)
};

struct BisectRecord {
  nlohmann::json config;                // what was asked: terms, alpha, p, runs, ...
  std::vector<std::string> candidates;  // names, oldest first
  std::vector<BisectStep> steps;
};

const char* OutcomeName(Outcome o);

// Creates dir/log.jsonl with the header. Throws InfraError if it exists.
void CreateBisectLog(const std::string& dir, const nlohmann::json& config,
                     const std::vector<std::string>& candidates);
// Appends one step and fsyncs.
void AppendBisectStep(const std::string& dir, const BisectStep& step, int number);
// Loads the log, dropping a torn last line. Throws InfraError for a missing or
// foreign file, or an unknown version.
BisectRecord LoadBisectLog(const std::string& dir);
// Parses log text (for tests of torn logs).
BisectRecord ParseBisectLog(const std::string& text, const std::string& where);

}  // namespace blackout
