#include "results/html_report.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "base/protocol.h"

namespace blackout {
namespace {

// A run directory with two vCPUs beating every 0.2 s for 10 s, vCPU 1 silent
// from 4 s to 7 s, a kernel report at 7.5 s and a hostile console line.
class HtmlReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/blackout-html-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::ofstream log(dir_ + "/console.log");
    char stamp[32];
    for (int i = 0; i < 50; ++i) {
      double t = 1 + i * 0.2;
      for (int v = 0; v < 2; ++v) {
        if (v == 1 && t > 4 && t < 7) continue;
        std::snprintf(stamp, sizeof stamp, "[+%.6f] ", t);
        log << stamp << protocol::FormatHeartbeat("n1", v, static_cast<uint64_t>(i), static_cast<uint64_t>(t * 1e9));
      }
    }
    log << "[+7.400000] [    6.9] <script>alert(1)</script>\n";
    log << "[+7.500000] [    7.0] INFO: task x blocked for more than 10 seconds.\n";
    result_ = {{"run_id", "r1"},
               {"nonce", "n1"},
               {"verdict", "stall"},
               {"title", "stall: <b>3.00s</b> freeze"},
               {"config", {{"guest", {{"vcpus", 2}}}}},
               {"freezes", {{{"host_start_s", 4.0}, {"length_s", 3.0}, {"vcpus", {1}}, {"cause", "guest-internal"}}}},
               {"reports", {{{"title", "INFO: task x blocked"}, {"host_t_s", 7.5}}}},
               {"console_tail", {"[+7.4] <script>alert(1)</script>"}}};
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
  nlohmann::json result_;
};

TEST_F(HtmlReportTest, TimelineComesFromTheConsoleLog) {
  Timeline t = ReadTimeline(dir_, result_);
  ASSERT_EQ(t.vcpus, 2);
  EXPECT_EQ(t.beats[0].size(), 50u);
  EXPECT_EQ(t.beats[1].size(), 36u);
  EXPECT_NEAR(t.end_s, 10.8, 1e-6);
  ASSERT_FALSE(t.excerpts.empty());
  EXPECT_EQ(t.excerpts.back().second, "[    7.0] INFO: task x blocked for more than 10 seconds.");
  std::string svg = TimelineSvg(t, result_);
  EXPECT_NE(svg.find("data-vcpu=\"1\" data-count=\"36\""), std::string::npos);
  EXPECT_NE(svg.find("class=\"freeze\""), std::string::npos);
  EXPECT_NE(svg.find("3.00s guest-internal"), std::string::npos);
  EXPECT_NE(svg.find("class=\"kmsg\""), std::string::npos);
}

TEST_F(HtmlReportTest, ConsoleTextIsEscapedEverywhere) {
  ReportRun r{RowFromResult(result_, dir_), result_};
  std::string html = HtmlReport({r}, {});
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("Content-Security-Policy"), std::string::npos);
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg"));  // nothing fetched
}

TEST_F(HtmlReportTest, ReportNotBelievedSaysSo) {
  result_["reports"][0]["discounted"] = "vCPU 1 beat all through the 22.00s it claims";
  Timeline t = ReadTimeline(dir_, result_);
  std::string svg = TimelineSvg(t, result_);
  EXPECT_NE(svg.find("<title>INFO: task x blocked (not believed: vCPU 1 beat all through"), std::string::npos);
}

TEST_F(HtmlReportTest, MissingRunDirectoryIsAnEmptyTimeline) {
  Timeline t = ReadTimeline(dir_ + "/gone", result_);
  EXPECT_EQ(t.vcpus, 2);
  EXPECT_TRUE(t.beats[0].empty());
  EXPECT_NE(TimelineSvg(t, result_).find("<svg"), std::string::npos);
}

}  // namespace
}  // namespace blackout
