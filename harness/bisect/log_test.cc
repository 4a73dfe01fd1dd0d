#include "harness/bisect/log.h"

#include <filesystem>
#include <gtest/gtest.h>

#include "base/test_tmpdir.h"

#include "base/error.h"
#include "base/fsutil.h"

namespace blackout {
namespace {

std::string TempDir() { return testing_util::TestTempDir("bl"); }

TEST(BisectLog, RoundTrips) {
  std::string dir = TempDir() + "/b";
  CreateBisectLog(dir, {{"terms", "regression"}}, {"a", "b", "c"});
  AppendBisectStep(dir, {2, Outcome::kHang, "stall", "stall: 8s", "/r/1"}, 1);
  AppendBisectStep(dir, {1, Outcome::kSkip, "infra-error", "x", "/r/2"}, 2);
  BisectRecord r = LoadBisectLog(dir);
  EXPECT_EQ(r.config["terms"], "regression");
  EXPECT_EQ(r.candidates, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_EQ(r.steps.size(), 2u);
  EXPECT_EQ(r.steps[0].candidate, 2);
  EXPECT_EQ(r.steps[0].outcome, Outcome::kHang);
  EXPECT_EQ(r.steps[1].outcome, Outcome::kSkip);
  EXPECT_EQ(r.steps[1].run_dir, "/r/2");
  EXPECT_THROW(CreateBisectLog(dir, {}, {"a"}), InfraError);  // never overwritten
  std::filesystem::remove_all(dir);
}

// A crash can cut the log anywhere: every prefix loads, keeps exactly the
// steps whose lines were complete, and never throws past the header.
TEST(BisectLog, EveryTruncationLoadsTheCompletedSteps) {
  std::string dir = TempDir() + "/b";
  CreateBisectLog(dir, {}, {"a", "b", "c", "d"});
  for (int i = 0; i < 5; ++i) AppendBisectStep(dir, {i % 4, Outcome::kQuiet, "pass", "pass", "/r"}, i + 1);
  std::string text = ReadFile(dir + "/log.jsonl");
  size_t header_end = text.find('\n') + 1;
  for (size_t cut = header_end; cut <= text.size(); ++cut) {
    std::string prefix = text.substr(0, cut);
    BisectRecord r = ParseBisectLog(prefix, "t");
    size_t complete_lines = static_cast<size_t>(std::count(prefix.begin(), prefix.end(), '\n')) - 1;
    EXPECT_EQ(r.steps.size(), complete_lines) << "cut at " << cut;
  }
  for (size_t cut = 0; cut < header_end; ++cut) EXPECT_THROW(ParseBisectLog(text.substr(0, cut), "t"), InfraError);
  std::filesystem::remove_all(dir);
}

TEST(BisectLog, RefusesOtherVersions) {
  EXPECT_THROW(ParseBisectLog("{\"blackout_bisect\": 99}\n", "t"), InfraError);
  EXPECT_THROW(ParseBisectLog("{\"something\": 1}\n", "t"), InfraError);
}

}  // namespace
}  // namespace blackout
