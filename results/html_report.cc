#include "results/html_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>

#include "results/verdict.h"
#include "results/run_dir.h"
#include "base/log.h"
#include "base/protocol.h"

namespace blackout {
namespace {

std::string F(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

std::string E(const std::string& s) { return XmlEscape(s); }


// Colour of a hang rate: green at 0, red at 1.
std::string RateColour(double rate) {
  int r = static_cast<int>(120 + 135 * rate), g = static_cast<int>(200 - 120 * rate);
  return "rgb(" + std::to_string(r) + "," + std::to_string(g) + ",110)";
}

const char kStyle[] = R"(
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}
h1{font-size:20px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
td.cell{color:#000;min-width:9em}.v-pass{color:#176}.v-stall,.v-lockup,.v-crash,.v-boot-failure{color:#b00;font-weight:600}
.v-infra-error,.v-build-failure{color:#a60}
pre{background:#f6f6f6;padding:8px;overflow-x:auto;font:12px/1.3 monospace;max-height:24em}
section.run{border-top:1px solid #ddd;margin-top:18px;padding-top:6px}
svg text{font:11px sans-serif}
tr.worse td{background:#f4c7c3}tr.better td{background:#c9e7cf}tr.same td{background:#f3f3f3}
)";

}  // namespace

Timeline ReadTimeline(const std::string& run_dir, const nlohmann::json& result) {
  Timeline t;
  nlohmann::json::json_pointer vp("/config/guest/vcpus");
  t.vcpus = result.contains(vp) && result.at(vp).is_number_integer() ? result.at(vp).get<int>() : 0;
  std::string nonce = result.value("nonce", "");
  std::vector<double> report_times;
  if (result.contains("reports") && result["reports"].is_array()) {
    for (const nlohmann::json& r : result["reports"]) {
      if (r.is_object() && r.contains("host_t_s") && r["host_t_s"].is_number()) {
        report_times.push_back(r["host_t_s"].get<double>());
      }
    }
  }
  std::ifstream in(run_dir + "/console.log");
  std::string line;
  std::string_view text;
  double at = 0;
  while (std::getline(in, line)) {
    std::optional<double> stamp = RecordedTime(line, &text);
    if (!stamp) continue;
    at = *stamp;
    t.end_s = std::max(t.end_s, at);
    Heartbeat hb;
    if (!nonce.empty() && ParseHeartbeat(text, nonce, &hb) == RecordCheck::kOk) {
      if (hb.vcpu < 0 || hb.vcpu >= 64) continue;
      if (hb.vcpu >= static_cast<int>(t.beats.size())) t.beats.resize(static_cast<size_t>(hb.vcpu) + 1);
      t.beats[static_cast<size_t>(hb.vcpu)].push_back(at);
      continue;
    }
    if (text.find("@B") != std::string_view::npos) continue;  // the agent's other records
    for (double rt : report_times) {
      if (at >= rt - 2 && at <= rt + 3 && t.excerpts.size() < 60) {
        t.excerpts.emplace_back(at, text);
        break;
      }
    }
  }
  // A result.json may say anything: at most 64 lanes (blackout's own limit).
  t.vcpus = std::clamp(std::max(t.vcpus, static_cast<int>(t.beats.size())), 0, 64);
  t.beats.resize(static_cast<size_t>(t.vcpus));
  return t;
}

std::string TimelineSvg(const Timeline& t, const nlohmann::json& result) {
  const double left = 60, width = 900, lane = 26, top = 18;
  double end = std::max(t.end_s, 1.0);
  auto x = [&](double s) { return left + width * std::clamp(s / end, 0.0, 1.0); };
  int lanes = std::max(t.vcpus, 1);
  double height = top + lanes * lane + 34;
  std::string svg = "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" + F("%.0f", left + width + 20) +
                    "\" height=\"" + F("%.0f", height) + "\" role=\"img\">\n";
  // Lanes and ticks: one path per vCPU, at most one tick per pixel.
  for (int v = 0; v < lanes; ++v) {
    double y = top + v * lane;
    svg += "<text x=\"4\" y=\"" + F("%.0f", y + 16) + "\">vCPU " + std::to_string(v) + "</text>";
    svg += "<rect x=\"" + F("%.0f", left) + "\" y=\"" + F("%.0f", y + 2) + "\" width=\"" + F("%.0f", width) +
           "\" height=\"" + F("%.0f", lane - 4) + "\" fill=\"#f3f6f3\"/>";
    std::string d;
    int last_px = -1;
    const std::vector<double>& beats = static_cast<size_t>(v) < t.beats.size() ? t.beats[static_cast<size_t>(v)]
                                                                                : std::vector<double>{};
    for (double b : beats) {
      int px = static_cast<int>(x(b));
      if (px == last_px) continue;
      last_px = px;
      d += "M" + std::to_string(px) + " " + F("%.0f", y + 5) + "v" + F("%.0f", lane - 10);
    }
    svg += "<path class=\"beats\" data-vcpu=\"" + std::to_string(v) + "\" data-count=\"" +
           std::to_string(beats.size()) + "\" stroke=\"#2a7\" stroke-width=\"1\" d=\"" + d + "\"/>\n";
  }
  // Freezes: shaded over the lanes of their vCPUs, labelled.
  if (result.contains("freezes") && result["freezes"].is_array()) {
    for (const nlohmann::json& f : result["freezes"]) {
      if (!f.is_object() || !f.contains("host_start_s") || !f.contains("length_s")) continue;
      if (!f["host_start_s"].is_number() || !f["length_s"].is_number()) continue;
      double s = f["host_start_s"].get<double>(), len = f["length_s"].get<double>();
      std::string cause = f.value("cause", std::string());
      std::string label = F("%.2fs ", len) + cause;
      std::vector<int> vcpus;
      if (f.contains("vcpus") && f["vcpus"].is_array()) {
        for (const nlohmann::json& v : f["vcpus"]) {
          if (v.is_number_integer()) vcpus.push_back(v.get<int>());
        }
      }
      for (int v : vcpus) {
        if (v < 0 || v >= lanes) continue;
        double y = top + v * lane;
        svg += "<rect class=\"freeze\" x=\"" + F("%.1f", x(s)) + "\" y=\"" + F("%.0f", y + 2) + "\" width=\"" +
               F("%.1f", std::max(2.0, x(s + len) - x(s))) + "\" height=\"" + F("%.0f", lane - 4) +
               "\" fill=\"#d33\" fill-opacity=\"0.35\"><title>" + E(label) + "</title></rect>";
      }
      int first = vcpus.empty() ? 0 : std::clamp(*std::min_element(vcpus.begin(), vcpus.end()), 0, lanes - 1);
      svg += "<text class=\"freeze-label\" x=\"" + F("%.1f", x(s) + 2) + "\" y=\"" + F("%.0f", top + first * lane + 14) +
             "\" fill=\"#900\">" + E(label) + "</text>\n";
    }
  }
  // Kernel reports: markers across all lanes.
  if (result.contains("reports") && result["reports"].is_array()) {
    for (const nlohmann::json& r : result["reports"]) {
      if (!r.is_object() || !r.contains("host_t_s") || !r["host_t_s"].is_number()) continue;
      double px = x(r["host_t_s"].get<double>());
      std::string discounted =
          r.contains("discounted") && r["discounted"].is_string() ? r["discounted"].get<std::string>() : "";
      std::string title = ShownTitle(r.value("title", std::string()), discounted);
      svg += "<g class=\"kmsg\"><line x1=\"" + F("%.1f", px) + "\" x2=\"" + F("%.1f", px) + "\" y1=\"" +
             F("%.0f", top - 4) + "\" y2=\"" + F("%.0f", top + lanes * lane) +
             "\" stroke=\"#55f\" stroke-dasharray=\"3,2\"/><title>" + E(title) + "</title><text x=\"" +
             F("%.1f", px + 2) + "\" y=\"" + F("%.0f", top - 6) + "\" fill=\"#33c\">" + E(title.substr(0, 60)) +
             "</text></g>\n";
    }
  }
  // The time axis.
  double axis_y = top + lanes * lane + 14;
  for (int i = 0; i <= 10; ++i) {
    double s = end * i / 10;
    svg += "<text x=\"" + F("%.0f", x(s) - 8) + "\" y=\"" + F("%.0f", axis_y) + "\">" + F("%.0fs", s) + "</text>";
  }
  svg += "\n</svg>";
  return svg;
}

std::string HtmlReport(const std::vector<ReportRun>& runs, const HtmlOptions& options,
                       const std::function<nlohmann::json(const RunRow&)>& load) {
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
      "<title>" + E(options.title) + "</title><style>" + kStyle + "</style></head><body>\n<h1>" + E(options.title) +
      "</h1>\n<p>" + std::to_string(runs.size()) + " runs.</p>\n";

  // 0. The caller's tables.
  for (const HtmlTable& t : options.tables) {
    html += "<h2>" + E(t.title) + "</h2>\n<table id=\"" + E(t.id) + "\"><tr>";
    for (const std::string& h : t.header) html += "<th>" + E(h) + "</th>";
    html += "</tr>\n";
    for (const HtmlTable::Row& row : t.rows) {
      html += row.status.empty() ? "<tr>" : "<tr class=\"" + E(row.status) + "\">";
      for (size_t i = 0; i < row.cells.size(); ++i) {
        double rate = i < row.rates.size() ? row.rates[i] : -1;
        html += rate >= 0 ? "<td class=\"cell\" style=\"background:" + RateColour(rate) + "\">" : "<td>";
        html += E(row.cells[i]) + "</td>";
      }
      html += "</tr>\n";
    }
    html += "</table>\n";
  }

  // 1. The matrix: kernel x workload.
  std::set<std::string> kernels, workloads;
  struct Cell {
    int runs = 0, judged = 0, passes = 0, hangs = 0;
    double worst = 0;
  };
  std::map<std::pair<std::string, std::string>, Cell> cells;
  for (const ReportRun& r : runs) {
    kernels.insert(r.row.kernel);
    workloads.insert(r.row.workload);
    Cell& c = cells[{r.row.kernel, r.row.workload}];
    ++c.runs;
    c.judged += IsJudged(r.row.verdict);
    c.passes += r.row.verdict == "pass";
    c.hangs += IsHang(r.row.verdict);
    c.worst = std::max(c.worst, r.row.worst_gap_s);
  }
  html += "<h2>Kernels and workloads</h2>\n<table id=\"matrix\"><tr><th>kernel</th>";
  for (const std::string& w : workloads) html += "<th>" + E(w) + "</th>";
  html += "</tr>\n";
  for (const std::string& k : kernels) {
    html += "<tr><th>" + E(k) + "</th>";
    for (const std::string& w : workloads) {
      auto it = cells.find({k, w});
      if (it == cells.end()) {
        html += "<td></td>";
        continue;
      }
      const Cell& c = it->second;
      double rate = c.judged ? static_cast<double>(c.judged - c.passes) / c.judged : 0;
      html += "<td class=\"cell\" style=\"background:" + RateColour(rate) + "\">pass " + std::to_string(c.passes) +
              "/" + std::to_string(c.judged) + (c.runs > c.judged ? " (+" + std::to_string(c.runs - c.judged) + " not judged)" : "") +
              "<br>hangs " + std::to_string(c.hangs) + "<br>worst freeze " + F("%.2fs", c.worst) + "</td>";
    }
    html += "</tr>\n";
  }
  html += "</table>\n";

  // 2. Flakiness over time: hang rate per day, per kernel/workload pair.
  html += "<h2>Hang rate per day</h2>\n<div id=\"flakiness\">\n";
  std::map<std::pair<std::string, std::string>, std::map<std::string, std::pair<int, int>>> days;
  for (const ReportRun& r : runs) {
    if (!IsJudged(r.row.verdict)) continue;
    auto& d = days[{r.row.kernel, r.row.workload}][r.row.started_at.substr(0, 10)];
    d.first += IsHang(r.row.verdict);
    ++d.second;
  }
  for (const auto& [pair, per_day] : days) {
    const double bar = 14, h = 60;
    std::string svg = "<svg class=\"flaky\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                      F("%.0f", std::max(120.0, per_day.size() * bar + 10)) + "\" height=\"" + F("%.0f", h + 30) + "\">";
    size_t i = 0;
    for (const auto& [day, counts] : per_day) {
      double rate = static_cast<double>(counts.first) / counts.second;
      double bh = std::max(1.0, rate * h);
      svg += "<rect class=\"day\" x=\"" + F("%.0f", 4 + i * bar) + "\" y=\"" + F("%.1f", 4 + h - bh) + "\" width=\"" +
             F("%.0f", bar - 3) + "\" height=\"" + F("%.1f", bh) + "\" fill=\"" + RateColour(rate) + "\"><title>" +
             E(day) + ": " + std::to_string(counts.first) + "/" + std::to_string(counts.second) +
             " hung</title></rect>";
      ++i;
    }
    svg += "<text x=\"4\" y=\"" + F("%.0f", h + 20) + "\">" + E(per_day.begin()->first) +
           (per_day.size() > 1 ? " .. " + E(per_day.rbegin()->first) : "") + "</text></svg>";
    html += "<figure><figcaption>" + E(pair.first + " / " + pair.second) + "</figcaption>" + svg + "</figure>\n";
  }
  html += "</div>\n";

  // 3. Runs in detail: bad verdicts first, newest first.
  std::vector<const ReportRun*> order;
  for (const ReportRun& r : runs) order.push_back(&r);
  std::stable_sort(order.begin(), order.end(), [](const ReportRun* a, const ReportRun* b) {
    bool ab = a->row.verdict != "pass", bb = b->row.verdict != "pass";
    if (ab != bb) return ab;
    return a->row.started_at > b->row.started_at;
  });
  if (order.size() > static_cast<size_t>(std::max(0, options.detail))) order.resize(static_cast<size_t>(options.detail));
  html += "<h2>Runs</h2>\n";
  if (order.size() < runs.size()) {
    html += "<p>" + std::to_string(order.size()) + " of " + std::to_string(runs.size()) +
            " runs in detail (bad verdicts first).</p>\n";
  }
  for (const ReportRun* run : order) {
    ReportRun loaded;
    const ReportRun* r = run;
    if (run->result.is_null() && load) {
      loaded = {run->row, load(run->row)};
      r = &loaded;
    }
    const RunRow& row = r->row;
    Timeline t = ReadTimeline(row.path, r->result);
    html += "<section class=\"run\" id=\"run-" + E(row.id) + "\"><h3><span class=\"v-" + E(row.verdict) + "\">" +
            E(row.verdict) + "</span> " + E(row.title) + "</h3>\n<p>" + E(row.id) + " &middot; " + E(row.kernel) +
            " &middot; " + E(row.workload) + " &middot; " + E(row.guest) + " &middot; " + E(row.accelerator) +
            " &middot; " + E(row.started_at) + " &middot; " + F("%.1fs", row.total_s) + " &middot; <code>" +
            E(row.path) + "</code></p>\n";
    html += TimelineSvg(t, r->result) + "\n";
    if (!t.excerpts.empty()) {
      html += "<h4>Kernel messages</h4><pre class=\"kmsg-excerpt\">";
      for (const auto& [at, text] : t.excerpts) html += E(F("[%9.3f] ", at) + text) + "\n";
      html += "</pre>\n";
    }
    if (r->result.contains("console_tail") && r->result["console_tail"].is_array()) {
      html += "<details><summary>console tail</summary><pre class=\"console\">";
      for (const nlohmann::json& line : r->result["console_tail"]) {
        if (line.is_string()) html += E(line.get<std::string>()) + "\n";
      }
      html += "</pre></details>\n";
    }
    html += "</section>\n";
  }
  html += "</body></html>\n";
  return html;
}

}  // namespace blackout
