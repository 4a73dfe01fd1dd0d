// Image qualification's verdict (`blackout qualify`): from the runs of an
// image (and of a baseline: another image, or the same image on another host
// stack), one of qualified, not qualified or inconclusive, with the sentence
// that says why and, when inconclusive, how many more runs would tell.
// Pure: the runs are made by the caller.
#pragma once

#include <string>
#include <vector>

#include "results/stats.h"

namespace blackout {

// One side's runs, as their verdicts came.
struct QualifySide {
  std::string name;
  int runs = 0;           // every run made
  int judged = 0;         // runs with a verdict on the guest (pass or a hang)
  int hangs = 0;          // lockup, stall or crash
  int boot_failures = 0;  // the image never beat
  std::vector<std::string> titles;          // of the hangs and boot failures, as they came
  std::vector<double> freeze_lengths;       // the worst freeze of each run that had one
};

enum class Qualification { kQualified, kNotQualified, kInconclusive };
const char* QualificationName(Qualification q);  // "qualified", "not qualified", "inconclusive"
int QualificationExitCode(Qualification q);      // 0, 1, 2

struct QualifyVerdict {
  Qualification verdict = Qualification::kInconclusive;
  std::string sentence;   // why, in one line
  Interval rate;          // the image's hang rate, at the confidence asked
  Interval base_rate;     // the baseline's (with one)
  double fisher_p = 1;    // image against baseline (with one)
  int runs_needed = 0;    // inconclusive: more runs of each side that would tell
};

// Without a baseline (base null): a hang or a boot failure is not qualified;
// no hang in enough judged runs that the rate's upper bound is below
// max_rate is qualified; fewer is inconclusive, with the runs still needed.
// With one: a boot failure the baseline did not have, or a hang rate
// significantly above the baseline's (Fisher's exact test at `confidence`),
// is not qualified; a rate not above it, over enough runs to have told a
// rise of max_rate, is qualified; anything else is inconclusive.
QualifyVerdict JudgeQualification(const QualifySide& image, const QualifySide* base, double max_rate,
                                  double confidence = 0.95);

// Whether a qualification soaking for a wall-clock budget (budget_s > 0)
// starts another run, with elapsed_s of it gone, mean_run_s the mean length
// of the runs finished so far (0 before the first), and the sides as they
// stand: only while the budget leaves room for one more run, and only while
// the verdict is inconclusive (judged once both sides have as many runs).
// Without a budget (0): always (the run count bounds it).
bool QualifyStartsAnotherRun(double budget_s, double elapsed_s, double mean_run_s, const QualifySide& image,
                             const QualifySide* base, double max_rate, double confidence);

}  // namespace blackout
