#include "results/report.h"

#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "base/subprocess.h"

namespace blackout {
namespace {

const std::string kCheck = std::string(BLACKOUT_RESULTS_TESTDATA) + "/check_reports.py";

ReportRun MakeRun(const std::string& id, const std::string& verdict, const std::string& kernel = "6.1.0-57-amd64",
              const std::string& workload = "pv-spinlock-race") {
  ReportRun r;
  r.result = {{"run_id", id},
              {"started_at", "2026-11-20T10:00:00Z"},
              {"verdict", verdict},
              {"title", verdict + ": title of " + id},
              {"kernel", {{"release", kernel}, {"version", "6.1.192-1"}, {"sha256", std::string(64, 'a')}}},
              {"config", {{"kernel", "apt linux-image-amd64"}, {"workload", {{"name", workload}}}, {"guest", {{"type", "xen-pv-dom0"}}}}},
              {"accel", {{"mode", "tcg"}}},
              {"host", {{"hostname", "ci-7"}}},
              {"timings", {{"total_s", 40.0}}},
              {"console_tail", {"[+1.0] booting", "[+2.0] <script>alert(1)</script> ]]> \x1b[31mred\x01 \xff"}}};
  if (verdict == "stall") {
    r.result["freezes"] = {{{"length_s", 6.14}, {"vcpus", {0, 1}}, {"cause", "host-contention"}},
                           {{"length_s", 2.3}, {"vcpus", {0}}, {"cause", "guest-internal"}}};
  }
  if (verdict == "build-failure") {
    r.result.erase("kernel");
    r.result["config"]["kernel"] = "git /src/linux 1234abcd";
    r.result["build_log"] = std::string(20000, 'x') + "\nerror: it broke\n";
  }
  if (verdict == "infra-error") r.result["error"] = "qemu exited";
  r.row = RowFromResult(r.result, "/tmp/runs dir/" + id);
  return r;
}

std::vector<ReportRun> Sample() {
  return {MakeRun("r1", "pass"), MakeRun("r2", "stall"), MakeRun("r3", "lockup", "6.1.0-50-amd64"), MakeRun("r4", "infra-error"),
          MakeRun("r5", "build-failure"), MakeRun("r6", "pass", "6.1.0-57-amd64", "fio-randrw")};
}

std::string WriteTemp(const std::string& text, const char* suffix) {
  std::string path = "/tmp/blackout-report-" + std::to_string(getpid()) + suffix;
  std::ofstream(path) << text;
  return path;
}

TEST(Report, GapSummaryListsTheLongestFreezesFirst) {
  EXPECT_EQ(GapSummary(MakeRun("r", "stall").result), "6.14s vCPU 0,1 host-contention; 2.30s vCPU 0 guest-internal");
  EXPECT_EQ(GapSummary(MakeRun("r", "pass").result), "");
}

TEST(Report, FileUrlEscapesSpaces) { EXPECT_EQ(FileUrl("/a b/c"), "file:///a%20b/c"); }

// junitparser (Debian's python3-junitparser) reads it back with the counts.
TEST(Report, JunitIsReadByJunitparser) {
  std::string xml = JunitXml(Sample());
  EXPECT_NE(xml.find("freezes: 6.14s vCPU 0,1 host-contention"), std::string::npos);
  EXPECT_EQ(xml.find("<script>"), std::string::npos);
  std::string path = WriteTemp(xml, ".xml");
  CommandResult r = RunCommand({"/usr/bin/python3", kCheck, "junit", path, "6", "2", "2"});
  EXPECT_EQ(r.exit_code, 0) << r.output << xml;
  unlink(path.c_str());
}

// One suite per kernel x guest x workload; a matrix run's suite is its cell,
// as the matrix file names it.
TEST(Report, JunitSuitesAreKernelGuestWorkloadOrTheCell) {
  std::vector<ReportRun> runs = {MakeRun("p1", "pass"), MakeRun("p2", "stall"), MakeRun("m1", "lockup")};
  runs[2].result["matrix"] = {{"id", "nightly-20261202"}, {"cell", "debian-6.1.0-57 / hvm / idle"}, {"repeat", 0}};
  runs[2].row = RowFromResult(runs[2].result, "/r/m1");
  std::string xml = JunitXml(runs);
  EXPECT_NE(xml.find("<testsuite name=\"6.1.0-57-amd64 / xen-pv-dom0 / pv-spinlock-race\" tests=\"2\""),
            std::string::npos) << xml;
  EXPECT_NE(xml.find("<testsuite name=\"debian-6.1.0-57 / hvm / idle\" tests=\"1\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("classname=\"blackout.debian-6.1.0-57.hvm.idle\""), std::string::npos) << xml;
}

// Checked field by field against the KCIDB v4.3 schema with jsonschema
// (Debian's python3-jsonschema), formats included.
TEST(Report, KcidbMatchesTheSchema) {
  nlohmann::json k = KcidbJson(Sample(), "blackout");
  EXPECT_EQ(k["version"]["major"], 4);
  EXPECT_EQ(k["version"]["minor"], 3);
  ASSERT_EQ(k["tests"].size(), 5u);  // the build failure ran nothing
  EXPECT_EQ(k["checkouts"].size(), 3u);
  bool invalid_build = false;
  for (const auto& b : k["builds"]) {
    if (!b["valid"].get<bool>()) {
      invalid_build = true;
      EXPECT_NE(b["log_excerpt"].get<std::string>().find("error: it broke"), std::string::npos);
      EXPECT_LE(b["log_excerpt"].get<std::string>().size(), 16384u);
    }
  }
  EXPECT_TRUE(invalid_build);
  std::map<std::string, std::string> status;
  for (const auto& t : k["tests"]) status[t["id"]] = t["status"];
  EXPECT_EQ(status["blackout:r1"], "PASS");
  EXPECT_EQ(status["blackout:r2"], "FAIL");
  EXPECT_EQ(status["blackout:r3"], "FAIL");
  EXPECT_EQ(status["blackout:r4"], "MISS");
  std::string path = WriteTemp(k.dump(2), ".json");
  CommandResult r = RunCommand({"/usr/bin/python3", kCheck, "kcidb", path,
                                std::string(BLACKOUT_RESULTS_TESTDATA) + "/kcidb-v4.3.schema.json", "5"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // The checker is not a rubber stamp: a test with a bad status fails it.
  k["tests"][0]["status"] = "BROKEN";
  std::ofstream(path) << k.dump();
  r = RunCommand({"/usr/bin/python3", kCheck, "kcidb", path,
                  std::string(BLACKOUT_RESULTS_TESTDATA) + "/kcidb-v4.3.schema.json", "5"});
  EXPECT_NE(r.exit_code, 0) << r.output;
  unlink(path.c_str());
}

TEST(Report, RunsJsonCarriesRowsAndFreezes) {
  nlohmann::json j = RunsJson(Sample());
  ASSERT_EQ(j.size(), 6u);
  EXPECT_EQ(j[1]["verdict"], "stall");
  EXPECT_DOUBLE_EQ(j[1]["worst_gap_s"].get<double>(), 6.14);
  EXPECT_EQ(j[1]["freezes"].size(), 2u);
}

}  // namespace
}  // namespace blackout
