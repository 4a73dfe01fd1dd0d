#include "harness/qualify.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace blackout {
namespace {

std::string Percent(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100 * x);
  return buf;
}

std::string Runs(int n) { return std::to_string(n) + (n == 1 ? " run" : " runs"); }

std::string RateText(const QualifySide& s, const Interval& ci) {
  return std::to_string(s.hangs) + "/" + Runs(s.judged) + " hung (" +
         Percent(s.judged ? static_cast<double>(s.hangs) / s.judged : 0) + ", interval " + Percent(ci.low) + "-" +
         Percent(ci.high) + ")";
}

// Hang-free judged runs needed so that the Wilson upper bound of 0/n falls
// below max_rate.
int HangFreeRunsFor(double max_rate, double confidence) {
  for (int n = 1; n < 100000; ++n) {
    if (WilsonInterval(0, n, confidence).high < max_rate) return n;
  }
  return 100000;
}

std::string FirstTitle(const QualifySide& s) { return s.titles.empty() ? "" : ": " + s.titles.front(); }

}  // namespace

bool QualifyStartsAnotherRun(double budget_s, double elapsed_s, double mean_run_s, const QualifySide& image,
                             const QualifySide* base, double max_rate, double confidence) {
  if (budget_s <= 0) return true;
  if (elapsed_s + mean_run_s > budget_s) return false;
  if (image.runs == 0 || (base && base->runs != image.runs)) return true;
  return JudgeQualification(image, base, max_rate, confidence).verdict == Qualification::kInconclusive;
}

const char* QualificationName(Qualification q) {
  switch (q) {
    case Qualification::kQualified: return "qualified";
    case Qualification::kNotQualified: return "not qualified";
    case Qualification::kInconclusive: return "inconclusive";
  }
  return "inconclusive";
}

int QualificationExitCode(Qualification q) {
  return q == Qualification::kQualified ? 0 : q == Qualification::kNotQualified ? 1 : 2;
}

QualifyVerdict JudgeQualification(const QualifySide& image, const QualifySide* base, double max_rate,
                                  double confidence) {
  QualifyVerdict v;
  if (image.judged > 0) v.rate = WilsonInterval(image.hangs, image.judged, confidence);
  if (base && base->judged > 0) v.base_rate = WilsonInterval(base->hangs, base->judged, confidence);
  int hang_free_needed = HangFreeRunsFor(max_rate, confidence);

  if (image.boot_failures > 0 && (!base || base->boot_failures == 0)) {
    v.verdict = Qualification::kNotQualified;
    v.sentence = image.name + " failed to boot in " + std::to_string(image.boot_failures) + " of " +
                 Runs(image.runs) + FirstTitle(image) +
                 (base ? " (" + base->name + " booted every time)" : "");
    return v;
  }
  if (image.judged == 0) {
    v.sentence = "no run of " + image.name + " was judged (infra errors): nothing to tell";
    v.runs_needed = hang_free_needed;
    return v;
  }

  if (!base) {
    if (image.hangs > 0) {
      v.verdict = Qualification::kNotQualified;
      v.sentence = image.name + " hangs: " + RateText(image, v.rate) + FirstTitle(image);
    } else if (image.judged >= hang_free_needed) {
      v.verdict = Qualification::kQualified;
      v.sentence = image.name + " never hung in " + Runs(image.judged) + ": its hang rate is below " +
                   Percent(v.rate.high) + " at " + Percent(confidence) + " confidence (the bar: " +
                   Percent(max_rate) + ")";
    } else {
      v.runs_needed = hang_free_needed - image.judged;
      v.sentence = image.name + " never hung in " + Runs(image.judged) + ", too few to put its hang rate below " +
                   Percent(max_rate) + ": " + std::to_string(v.runs_needed) + " more hang-free " +
                   (v.runs_needed == 1 ? "run" : "runs");
    }
    return v;
  }

  if (base->judged == 0) {
    v.sentence = "no run of the baseline " + base->name + " was judged (infra errors): nothing to compare with";
    v.runs_needed = hang_free_needed;
    return v;
  }
  v.fisher_p = FisherExactTwoSided(image.hangs, image.judged - image.hangs, base->hangs, base->judged - base->hangs);
  double ri = static_cast<double>(image.hangs) / image.judged;
  double rb = static_cast<double>(base->hangs) / base->judged;
  std::string versus = RateText(image, v.rate) + " against " + base->name + "'s " + RateText(*base, v.base_rate);
  if (ri > rb && v.fisher_p < 1 - confidence) {
    v.verdict = Qualification::kNotQualified;
    char p[32];
    std::snprintf(p, sizeof p, "%.3g", v.fisher_p);
    v.sentence = image.name + " hangs more than " + base->name + ": " + versus + ", Fisher p = " + p + FirstTitle(image);
    return v;
  }
  // Not significantly worse: enough runs to have seen a rise of max_rate?
  int needed = std::max(RunsToDetect(rb, std::min(1.0, rb + max_rate), confidence), hang_free_needed);
  int have = std::min(image.judged, base->judged);
  if (ri <= rb && have >= needed) {
    v.verdict = Qualification::kQualified;
    v.sentence = image.name + " hangs no more than " + base->name + ": " + versus + ", over enough runs to see a rise of " +
                 Percent(max_rate);
  } else {
    v.runs_needed = std::max(1, needed - have);
    v.sentence = image.name + " against " + base->name + ": " + versus + "; not enough runs to tell a rise of " +
                 Percent(max_rate) + ": " + std::to_string(v.runs_needed) + " more runs of each";
  }
  return v;
}

}  // namespace blackout
