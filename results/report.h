// Reports over runs from the results store, in the formats CI systems read:
// JUnit XML (Jenkins, GitLab), KCIDB JSON (KernelCI's database, schema v4.3)
// and plain JSON. Pure: the caller reads the store, these only format.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "results/store.h"

namespace blackout {

// One run: its store row and its stored result.json.
struct ReportRun {
  RunRow row;
  nlohmann::json result;
};

// The runs `filter` selects, newest first, each with its stored result.json
// (null when `with_results` is false: rows only). `each_row`, when given, is
// called before every row and may throw (an interrupt check).
std::vector<ReportRun> LoadReportRuns(const Store& store, const RunFilter& filter, bool with_results,
                                      const std::function<void()>& each_row = {});

inline constexpr int kKcidbMajor = 4;
inline constexpr int kKcidbMinor = 3;

// "6.14s vCPU 0,1 host-contention; 2.30s vCPU 0 guest-internal" (the five
// longest freezes), or "" when there were none.
std::string GapSummary(const nlohmann::json& result);

// One <testcase> per run, grouped in one <testsuite> per kernel x workload.
// Bad verdicts are <failure> (message: title and gap summary), infra-error
// and build-failure are <error>; the console tail is the system-out.
std::string JunitXml(const std::vector<ReportRun>& runs);

// Checkouts and builds per kernel, a test per run; `origin` names the CI
// system (lowercase letters, digits, underscores).
nlohmann::json KcidbJson(const std::vector<ReportRun>& runs, const std::string& origin);

// The store rows with their freezes, for scripts.
nlohmann::json RunsJson(const std::vector<ReportRun>& runs);
nlohmann::json RunRowJson(const RunRow& r);

// file:// URL of an absolute or relative path (made absolute).
std::string FileUrl(const std::string& path);

}  // namespace blackout
