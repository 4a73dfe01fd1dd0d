#include "results/report.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <set>

#include "base/log.h"
#include "results/verdict.h"
#include "results/json_get.h"

namespace blackout {
namespace {

std::string Fixed(double v, const char* fmt = "%.2f") {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

// The console tail stored with the result, one string.
std::string ConsoleTail(const nlohmann::json& result) {
  std::string out;
  auto it = result.find("console_tail");
  if (it == result.end() || !it->is_array()) return out;
  for (const nlohmann::json& line : *it) {
    if (line.is_string()) out += line.get<std::string>() + "\n";
  }
  return out;
}

// Bad for the kernel (failure) or bad for the harness (error)?
bool KernelFault(const std::string& verdict) {
  return IsHang(verdict) || verdict == "boot-failure";
}

// The last `max` bytes of text, starting at a UTF-8 character boundary.
std::string TailBytes(const std::string& text, size_t max) {
  if (text.size() <= max) return text;
  size_t start = text.size() - max;
  while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) ++start;
  return text.substr(start);
}

// KCIDB ids: "<origin>:<text>"; paths: [.a-zA-Z0-9_-]*.
std::string PathPart(const std::string& s) {
  std::string out;
  for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-') ? c : '_';
  return out.empty() ? "_" : out;
}

std::string Hex(size_t h) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016zx", h);
  return buf;
}

}  // namespace


std::string FileUrl(const std::string& path) {
  std::error_code ec;
  std::string abs = std::filesystem::absolute(path, ec).lexically_normal().string();
  std::string out = "file://";
  for (unsigned char c : abs) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string GapSummary(const nlohmann::json& result) {
  auto it = result.find("freezes");
  if (it == result.end() || !it->is_array() || it->empty()) return "";
  std::vector<const nlohmann::json*> freezes;
  for (const nlohmann::json& f : *it) {
    if (f.is_object() && f.contains("length_s") && f["length_s"].is_number()) freezes.push_back(&f);
  }
  std::sort(freezes.begin(), freezes.end(), [](const nlohmann::json* a, const nlohmann::json* b) {
    return (*a)["length_s"].get<double>() > (*b)["length_s"].get<double>();
  });
  std::string out;
  for (size_t i = 0; i < freezes.size() && i < 5; ++i) {
    const nlohmann::json& f = *freezes[i];
    std::string vcpus;
    if (f.contains("vcpus") && f["vcpus"].is_array()) {
      for (const nlohmann::json& v : f["vcpus"]) vcpus += (vcpus.empty() ? "" : ",") + v.dump();
    }
    out += (out.empty() ? "" : "; ") + Fixed(f["length_s"].get<double>()) + "s vCPU " + vcpus + " " +
           StrAt(f, "/cause");
  }
  if (freezes.size() > 5) out += "; +" + std::to_string(freezes.size() - 5) + " more";
  return out;
}

std::string JunitXml(const std::vector<ReportRun>& runs) {
  // One suite per kernel x guest x workload, in a stable order. A matrix's
  // run is in its cell's suite, named as the matrix file names the cell, so a
  // CI's test history follows the cell from night to night whatever version
  // its kernel resolved to.
  std::map<std::pair<std::string, std::string>, std::vector<const ReportRun*>> suites;
  for (const ReportRun& r : runs) {
    const RunRow& row = r.row;
    std::string suite = row.cell.empty() ? row.kernel + " / " + row.guest + " / " + row.workload : row.cell;
    std::string classname = "blackout." + suite;
    for (size_t p; (p = classname.find(" / ")) != std::string::npos;) classname.replace(p, 3, ".");
    suites[{suite, classname}].push_back(&r);
  }
  int failures = 0, errors = 0;
  double time = 0;
  std::string body;
  for (const auto& [key, members] : suites) {
    int sf = 0, se = 0;
    double st = 0;
    std::string cases;
    for (const ReportRun* r : members) {
      const RunRow& row = r->row;
      st += row.total_s;
      cases += "    <testcase classname=\"" + XmlEscape(key.second) + "\" name=\"" +
               XmlEscape(row.id) + "\" time=\"" + Fixed(row.total_s, "%.3f") + "\">\n";
      std::string message = row.title;
      std::string gaps = GapSummary(r->result);
      if (!gaps.empty()) message += " [freezes: " + gaps + "]";
      if (KernelFault(row.verdict)) {
        ++sf;
        cases += "      <failure type=\"" + XmlEscape(row.verdict) + "\" message=\"" + XmlEscape(message) + "\">" +
                 XmlEscape(message + "\nrun directory: " + row.path) + "</failure>\n";
      } else if (row.verdict != "pass") {
        ++se;
        cases += "      <error type=\"" + XmlEscape(row.verdict) + "\" message=\"" + XmlEscape(message) + "\">" +
                 XmlEscape(StrAt(r->result, "/error")) + "</error>\n";
      }
      std::string tail = ConsoleTail(r->result);
      if (!tail.empty()) cases += "      <system-out>" + XmlEscape(tail) + "</system-out>\n";
      cases += "    </testcase>\n";
    }
    failures += sf;
    errors += se;
    time += st;
    body += "  <testsuite name=\"" + XmlEscape(key.first) + "\" tests=\"" +
            std::to_string(members.size()) + "\" failures=\"" + std::to_string(sf) + "\" errors=\"" +
            std::to_string(se) + "\" skipped=\"0\" time=\"" + Fixed(st, "%.3f") + "\">\n" + cases + "  </testsuite>\n";
  }
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"blackout\" tests=\"" +
         std::to_string(runs.size()) + "\" failures=\"" + std::to_string(failures) + "\" errors=\"" +
         std::to_string(errors) + "\" time=\"" + Fixed(time, "%.3f") + "\">\n" + body + "</testsuites>\n";
}

nlohmann::json KcidbJson(const std::vector<ReportRun>& runs, const std::string& origin) {
  nlohmann::json checkouts = nlohmann::json::array(), builds = nlohmann::json::array(),
                 tests = nlohmann::json::array();
  std::set<std::string> seen_checkouts, seen_builds;
  std::hash<std::string> hash;
  for (const ReportRun& r : runs) {
    const RunRow& row = r.row;
    const nlohmann::json& res = r.result;
    // The kernel: one checkout (its source) and one build (its image) per
    // distinct kernel; a package's sha256 names the image when known.
    std::string source = StrAt(res, "/config/kernel");
    std::string version = row.kernel_version.empty() ? source : row.kernel_version;
    std::string checkout_id = origin + ":checkout-" + Hex(hash(row.kernel + "\n" + version));
    std::string image = StrAt(res, "/kernel/sha256");
    std::string build_id = origin + ":build-" + Hex(hash(checkout_id + "\n" + (image.empty() ? source : image)));
    if (seen_checkouts.insert(checkout_id).second) {
      nlohmann::json c = {{"id", checkout_id}, {"origin", origin}, {"valid", true}};
      c["comment"] = ValidUtf8(row.kernel + (version.empty() ? "" : " " + version));
      if (version.size() == 40 && version.find_first_not_of("0123456789abcdef") == std::string::npos) {
        c["git_commit_hash"] = version;
      }
      if (!row.started_at.empty()) c["start_time"] = row.started_at;
      checkouts.push_back(c);
    }
    bool build_failed = row.verdict == "build-failure";
    if (seen_builds.insert(build_id).second) {
      nlohmann::json b = {{"id", build_id},
                          {"checkout_id", checkout_id},
                          {"origin", origin},
                          {"architecture", "x86_64"},
                          {"valid", !build_failed}};
      b["comment"] = ValidUtf8(source.empty() ? row.kernel : source);
      if (!row.started_at.empty()) b["start_time"] = row.started_at;
      if (build_failed) {
        std::string log = StrAt(res, "/build_log");
        b["log_excerpt"] = ValidUtf8(TailBytes(log.empty() ? row.title : log, 16000));
      }
      builds.push_back(b);
    }
    if (build_failed) continue;  // nothing ran: the build's validity says it
    // The run: a test of that build.
    // infra-error (or a run still in flight): the harness failed, the
    // kernel's status is unknown.
    std::string status = row.verdict == "pass" ? "PASS" : KernelFault(row.verdict) ? "FAIL" : "MISS";
    nlohmann::json t = {{"id", origin + ":" + PathPart(row.id)},
                        {"build_id", build_id},
                        {"origin", origin},
                        {"path", "blackout." + PathPart(row.workload) + "." + PathPart(row.guest)},
                        {"status", status},
                        {"comment", ValidUtf8(row.title)},
                        {"duration", row.total_s}};
    if (!row.started_at.empty()) t["start_time"] = row.started_at;
    std::string excerpt = ConsoleTail(res);
    if (!excerpt.empty()) t["log_excerpt"] = ValidUtf8(TailBytes(excerpt, 16000));
    if (!row.path.empty()) {
      t["log_url"] = FileUrl(row.path + "/console.log");
      t["output_files"] = nlohmann::json::array({{{"name", "result.json"}, {"url", FileUrl(row.path + "/result.json")}},
                                                 {{"name", "events.jsonl"}, {"url", FileUrl(row.path + "/events.jsonl")}}});
    }
    nlohmann::json env_misc = {{"host", ValidUtf8(row.host)}, {"accelerator", row.accelerator}, {"guest", row.guest}};
    t["environment"] = {{"comment", ValidUtf8(row.guest + " on " + row.host + " (" + row.accelerator + ")")},
                        {"misc", env_misc}};
    nlohmann::json misc = {{"verdict", row.verdict}, {"worst_gap_s", row.worst_gap_s}, {"freezes", row.freeze_count}};
    std::string gaps = GapSummary(res);
    if (!gaps.empty()) misc["gap_summary"] = gaps;
    t["misc"] = misc;
    tests.push_back(t);
  }
  return {{"version", {{"major", kKcidbMajor}, {"minor", kKcidbMinor}}},
          {"checkouts", checkouts},
          {"builds", builds},
          {"tests", tests}};
}

std::vector<ReportRun> LoadReportRuns(const Store& store, const RunFilter& filter, bool with_results,
                                      const std::function<void()>& each_row) {
  std::vector<ReportRun> out;
  store.ForEachRun(filter, with_results, [&](RunRow&& row, nlohmann::json&& result) {
    if (each_row) each_row();
    out.push_back({std::move(row), std::move(result)});
  });
  return out;
}

nlohmann::json RunRowJson(const RunRow& r) {
  return {{"id", r.id},
          {"path", r.path},
          {"started_at", r.started_at},
          {"verdict", r.verdict},
          {"title", ValidUtf8(r.title)},
          {"kernel", r.kernel},
          {"kernel_version", r.kernel_version},
          {"workload", r.workload},
          {"guest", r.guest},
          {"accelerator", r.accelerator},
          {"host", r.host},
          {"bisection", r.bisection},
          {"total_s", r.total_s},
          {"first_heartbeat_s", r.first_heartbeat_s},
          {"worst_gap_s", r.worst_gap_s},
          {"freeze_count", r.freeze_count},
          {"matrix", r.matrix},
          {"cell", r.cell},
          {"matrix_repeat", r.repeat}};
}

nlohmann::json RunsJson(const std::vector<ReportRun>& runs) {
  nlohmann::json out = nlohmann::json::array();
  for (const ReportRun& r : runs) {
    nlohmann::json j = RunRowJson(r.row);
    j["freezes"] = r.result.contains("freezes") ? r.result["freezes"] : nlohmann::json::array();
    out.push_back(j);
  }
  return out;
}

}  // namespace blackout
