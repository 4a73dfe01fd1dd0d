// `blackout report --format html`: one static, self-contained page (no
// scripts, no network fetches) over runs from the results store: a kernel x
// workload matrix of pass rates and worst freezes, the hang rate per day of
// each kernel/workload pair, and per run a heartbeat timeline (SVG: a lane per
// vCPU, heartbeats as ticks, freezes as shaded spans labelled with length and
// cause, kernel reports as markers) with the console excerpts around them.
// Every piece of console text is escaped; the page also forbids scripts in
// its Content-Security-Policy.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "results/report.h"

namespace blackout {

// A table the caller adds above the report's own sections (a matrix against
// its baseline, its cells night by night). Every string is text: escaped.
struct HtmlTable {
  std::string id, title;
  std::vector<std::string> header;
  struct Row {
    std::vector<std::string> cells;
    std::string status;            // worse | better | same | "" : the row's colour
    std::vector<double> rates;     // per cell, a hang rate to colour it by (< 0: none)
  };
  std::vector<Row> rows;
};

struct HtmlOptions {
  std::string title = "blackout report";
  int detail = 50;  // runs shown in detail: bad verdicts first, newest first
  std::vector<HtmlTable> tables;
};

// Heartbeats of one run, read back from its console.log.
struct Timeline {
  int vcpus = 0;
  double end_s = 0;                        // host seconds of the last console line
  std::vector<std::vector<double>> beats;  // per vCPU: host seconds of each heartbeat
  std::vector<std::pair<double, std::string>> excerpts;  // console lines near kernel reports
};

// Reads run_dir/console.log (missing: an empty timeline).
Timeline ReadTimeline(const std::string& run_dir, const nlohmann::json& result);

// The run's timeline as an inline <svg>.
std::string TimelineSvg(const Timeline& t, const nlohmann::json& result);

// The page. Detailed runs' timelines are read from their run directories.
// The matrix and chart need only the rows: a run whose result is null gets it
// from `load` if it is shown in detail (so a report over 10,000 runs holds
// only the detailed runs' results in memory).
std::string HtmlReport(const std::vector<ReportRun>& runs, const HtmlOptions& options,
                       const std::function<nlohmann::json(const RunRow&)>& load = {});

}  // namespace blackout
