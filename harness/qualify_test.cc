#include "harness/qualify.h"

#include <gtest/gtest.h>

namespace blackout {
namespace {

QualifySide Side(const std::string& name, int judged, int hangs, int boot_failures = 0) {
  QualifySide s;
  s.name = name;
  s.runs = judged + boot_failures;
  s.judged = judged;
  s.hangs = hangs;
  s.boot_failures = boot_failures;
  if (hangs) s.titles.push_back("lockup: vCPU 1 stopped for 12.0s");
  return s;
}

TEST(Qualify, ABudgetStartsRunsWhileThereIsRoomAndNoVerdict) {
  QualifySide none = Side("img", 0, 0);
  QualifySide few = Side("img", 4, 0);
  // No budget: the run count alone bounds it, whatever the sides say.
  EXPECT_TRUE(QualifyStartsAnotherRun(0, 1e9, 100, Side("img", 3, 1), nullptr, 0.2, 0.95));
  // The first run always starts (no mean yet) inside the budget.
  EXPECT_TRUE(QualifyStartsAnotherRun(1, 0, 0, none, nullptr, 0.2, 0.95));
  EXPECT_FALSE(QualifyStartsAnotherRun(1, 2, 0, none, nullptr, 0.2, 0.95));
  // Room for one more mean run, or not.
  EXPECT_TRUE(QualifyStartsAnotherRun(3600, 3000, 500, few, nullptr, 0.2, 0.95));
  EXPECT_FALSE(QualifyStartsAnotherRun(3600, 3200, 500, few, nullptr, 0.2, 0.95));
  // Decided: a hang alone, or enough hang-free runs.
  EXPECT_FALSE(QualifyStartsAnotherRun(3600, 10, 5, Side("img", 4, 1), nullptr, 0.2, 0.95));
  EXPECT_FALSE(QualifyStartsAnotherRun(3600, 10, 5, Side("img", 16, 0), nullptr, 0.2, 0.95));
  // Against a baseline: judged only once both sides have as many runs.
  QualifySide base = Side("base", 3, 0);
  QualifySide hung = Side("img", 4, 4);
  EXPECT_TRUE(QualifyStartsAnotherRun(3600, 10, 5, hung, &base, 0.2, 0.95));
  QualifySide base4 = Side("base", 4, 0);
  EXPECT_TRUE(QualifyStartsAnotherRun(3600, 10, 5, few, &base4, 0.2, 0.95));
  QualifySide many = Side("img", 12, 12);
  QualifySide base12 = Side("base", 12, 0);
  EXPECT_FALSE(QualifyStartsAnotherRun(3600, 10, 5, many, &base12, 0.2, 0.95));
}

TEST(Qualify, AloneAHangIsNotQualified) {
  QualifyVerdict v = JudgeQualification(Side("img", 3, 1), nullptr, 0.2);
  EXPECT_EQ(v.verdict, Qualification::kNotQualified);
  EXPECT_EQ(v.sentence, "img hangs: 1/3 runs hung (33.3%, interval 6.1%-79.2%): lockup: vCPU 1 stopped for 12.0s");
  EXPECT_EQ(QualificationExitCode(v.verdict), 1);
}

TEST(Qualify, AloneHangFreeRunsQualifyOnceThereAreEnough) {
  // Wilson's upper bound of 0/n falls below 20% at n = 16.
  QualifyVerdict few = JudgeQualification(Side("img", 4, 0), nullptr, 0.2);
  EXPECT_EQ(few.verdict, Qualification::kInconclusive);
  EXPECT_EQ(few.runs_needed, 12);
  EXPECT_EQ(few.sentence, "img never hung in 4 runs, too few to put its hang rate below 20.0%: 12 more hang-free runs");
  QualifyVerdict enough = JudgeQualification(Side("img", 16, 0), nullptr, 0.2);
  EXPECT_EQ(enough.verdict, Qualification::kQualified);
  EXPECT_LT(enough.rate.high, 0.2);
  EXPECT_EQ(QualificationExitCode(enough.verdict), 0);
  EXPECT_EQ(QualificationExitCode(few.verdict), 2);
}

TEST(Qualify, ABootFailureIsNotQualifiedUnlessTheBaselineHadOne) {
  QualifyVerdict v = JudgeQualification(Side("img", 2, 0, 1), nullptr, 0.2);
  EXPECT_EQ(v.verdict, Qualification::kNotQualified);
  EXPECT_EQ(v.sentence.rfind("img failed to boot in 1 of 3 runs", 0), 0u) << v.sentence;
  QualifySide base = Side("base", 2, 0, 1);
  EXPECT_NE(JudgeQualification(Side("img", 2, 0, 1), &base, 0.2).verdict, Qualification::kNotQualified);
}

TEST(Qualify, NothingJudgedIsInconclusive) {
  QualifySide infra = Side("img", 0, 0);
  infra.runs = 3;
  EXPECT_EQ(JudgeQualification(infra, nullptr, 0.2).verdict, Qualification::kInconclusive);
}

TEST(Qualify, AgainstABaselineOnlyASignificantRiseIsNotQualified) {
  QualifySide base = Side("base", 10, 0);
  // 2/10 against 0/10: Fisher p = 0.47, not a rise shown.
  QualifyVerdict v = JudgeQualification(Side("img", 10, 2), &base, 0.2);
  EXPECT_EQ(v.verdict, Qualification::kInconclusive);
  EXPECT_GT(v.runs_needed, 0);
  // 8/10 against 0/10: p = 0.0007.
  v = JudgeQualification(Side("img", 10, 8), &base, 0.2);
  EXPECT_EQ(v.verdict, Qualification::kNotQualified);
  EXPECT_NE(v.sentence.find("img hangs more than base: 8/10 runs hung"), std::string::npos) << v.sentence;
  EXPECT_NE(v.sentence.find("Fisher p = 0.000714"), std::string::npos) << v.sentence;
  // The same image against itself, hang-free: qualified once there are enough runs, never not qualified.
  QualifySide same = Side("img", 2, 0);
  QualifySide itself = Side("img (baseline)", 2, 0);
  EXPECT_EQ(JudgeQualification(same, &itself, 0.2).verdict, Qualification::kInconclusive);
  same.judged = itself.judged = same.runs = itself.runs = 40;
  EXPECT_EQ(JudgeQualification(same, &itself, 0.2).verdict, Qualification::kQualified);
}

}  // namespace
}  // namespace blackout
