#include "harness/matrix.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "base/error.h"
#include "base/log.h"
#include "base/units.h"
#include "base/yaml_reader.h"
#include "guests/profile.h"
#include "kernels/catalogue.h"
#include "results/verdict.h"

namespace blackout {

namespace {

// One axis value: its label and the node that gives it.
struct AxisValue {
  std::string label;
  YAML::Node node;
  bool given = true;  // false: the base config's own value
};

std::vector<AxisValue> Axis(const YAML::Node& root, const std::string& key, YamlReader& r) {
  std::vector<AxisValue> out;
  YAML::Node list = root[key];
  if (!list.IsDefined()) return out;
  if (!list.IsSequence() || list.size() == 0) {
    r.Error(list, "'" + key + "' must be a non-empty list");
    return out;
  }
  for (const YAML::Node& v : list) out.push_back({v.IsScalar() ? v.Scalar() : "", v});
  return out;
}

// Which cells an exclude or override entry's `match` names: every key it
// gives must equal the cell's label on that axis.
struct Match {
  std::string kernel, guest, workload;
  YAML::Node at;
  bool used = false;
  bool Matches(const MatrixCell& c) const {
    return (kernel.empty() || kernel == c.kernel) && (guest.empty() || guest == c.guest) &&
           (workload.empty() || workload == c.workload);
  }
};

std::optional<Match> ParseMatch(const YAML::Node& n, const std::string& what, YamlReader& r) {
  if (!r.CheckMap(n, what, {"kernel", "guest", "workload"})) return std::nullopt;
  Match m;
  m.kernel = r.String(n, "kernel").value_or("");
  m.guest = r.String(n, "guest").value_or("");
  m.workload = r.String(n, "workload").value_or("");
  m.at = n;
  if (m.kernel.empty() && m.guest.empty() && m.workload.empty()) {
    r.Error(n, what + " names no kernel, guest or workload");
    return std::nullopt;
  }
  return m;
}

// A workload value laid over another as ParseWorkloadValue lays it: a name
// replaces, a mapping's keys win over the ones below (a mapping without a
// name keeps the name below).
YAML::Node OverlayWorkload(const YAML::Node& below, const YAML::Node& over) {
  if (over.IsScalar()) return YAML::Clone(over);
  YAML::Node out(YAML::NodeType::Map);
  if (below.IsScalar()) out["name"] = below.Scalar();
  if (below.IsMap()) out = YAML::Clone(below);
  if (over.IsMap()) {
    for (const auto& kv : over) out[kv.first.Scalar()] = YAML::Clone(kv.second);
  }
  return out;
}

// Seconds as a duration the config parser reads back exactly enough ("30s", "1.5s").
std::string DurationText(double s) {
  char buf[48];
  if (s == static_cast<double>(static_cast<long long>(s))) {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  } else {
    std::snprintf(buf, sizeof buf, "%.3fs", s);
  }
  return buf;
}

}  // namespace

MatrixSpec ParseMatrix(const std::string& text, const std::string& source) {
  YamlReader r(source);
  std::optional<YAML::Node> parsed = r.Parse(text);
  if (!parsed) r.Checkpoint();
  const YAML::Node& n = *parsed;
  MatrixSpec spec;
  spec.source = source;
  if (!r.CheckMap(n, "matrix", {"name", "config", "kernels", "guests", "workloads", "repeats", "duration", "exclude",
                                "overrides", "compare", "notify", "on_regression"})) {
    r.Checkpoint();
  }
  spec.name = r.String(n, "name").value_or("");
  if (spec.name.empty() || spec.name.size() > 64 ||
      spec.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
          std::string::npos) {
    r.Error(n["name"].IsDefined() ? n["name"] : n,
            "'name' must be 1-64 letters, digits, '.', '_' or '-': the matrix's history is found by it");
  }
  std::string dir = std::filesystem::path(source).parent_path().string();
  RunConfig base = DefaultConfig();
  if (YAML::Node c = n["config"]; c.IsDefined()) base = ParseConfigNode(c, r, dir.empty() ? "." : dir);
  int repeats = static_cast<int>(r.Int(n, "repeats", 1, 10000).value_or(1));
  std::optional<double> duration = r.Seconds(n, "duration");
  if (duration && *duration < 1) r.Error(n["duration"], "'duration' must be at least 1s");

  std::vector<AxisValue> kernels = Axis(n, "kernels", r);
  if (!n["kernels"].IsDefined()) r.Error(n, "a matrix needs 'kernels'");
  std::vector<AxisValue> guests = Axis(n, "guests", r);
  std::vector<AxisValue> workloads = Axis(n, "workloads", r);
  // Absent axes are the base config's one value.
  if (guests.empty()) guests.push_back({base.guest.type, YAML::Node(), false});
  if (workloads.empty()) workloads.push_back({base.workload.name, YAML::Node(), false});

  std::vector<Match> excludes, overrides;
  std::vector<std::pair<std::optional<int>, std::optional<double>>> override_values;
  std::vector<YAML::Node> override_workloads;  // a workload value that replaces the cell's (keeping its label)
  if (YAML::Node ex = n["exclude"]; ex.IsDefined()) {
    if (!ex.IsSequence()) {
      r.Error(ex, "'exclude' must be a list of {kernel, guest, workload} matches");
    } else {
      for (const YAML::Node& e : ex) {
        if (auto m = ParseMatch(e, "exclude entry", r)) excludes.push_back(*m);
      }
    }
  }
  if (YAML::Node ov = n["overrides"]; ov.IsDefined()) {
    if (!ov.IsSequence()) {
      r.Error(ov, "'overrides' must be a list of {match, repeats, duration, workload}");
    } else {
      for (const YAML::Node& o : ov) {
        if (!r.CheckMap(o, "override", {"match", "repeats", "duration", "workload"})) continue;
        if (!o["match"].IsDefined()) {
          r.Error(o, "an override needs 'match: {kernel, guest, workload}'");
          continue;
        }
        auto m = ParseMatch(o["match"], "override match", r);
        if (!m) continue;
        std::optional<int> rep;
        if (auto v = r.Int(o, "repeats", 1, 10000)) rep = static_cast<int>(*v);
        std::optional<double> dur = r.Seconds(o, "duration");
        if (dur && *dur < 1) r.Error(o["duration"], "'duration' must be at least 1s");
        overrides.push_back(*m);
        override_values.emplace_back(rep, dur);
        override_workloads.push_back(o["workload"]);
      }
    }
  }
  if (YAML::Node c = n["compare"]; c.IsDefined() && r.CheckMap(c, "compare", {"baseline", "confidence", "infra_limit"})) {
    spec.baseline = r.String(c, "baseline").value_or("previous");
    if (c["confidence"].IsDefined()) {
      double conf = c["confidence"].as<double>(0);
      if (!(conf >= 0.5 && conf < 1)) r.Error(c["confidence"], "'confidence' must be at least 0.5 and below 1");
      spec.confidence = conf;
    }
    if (c["infra_limit"].IsDefined()) {
      double lim = c["infra_limit"].as<double>(-1);
      if (!(lim >= 0 && lim <= 1)) r.Error(c["infra_limit"], "'infra_limit' must be a fraction from 0 to 1");
      spec.infra_limit = lim;
    }
  }

  if (YAML::Node nt = n["notify"]; nt.IsDefined()) spec.notify = ParseNotify(nt, r);
  if (YAML::Node o = n["on_regression"]; o.IsDefined()) {
    const char* form = "'on_regression' must be 'bisect' or {bisect: {series: ..., bisect: {...}}}";
    if (o.IsScalar()) {
      if (o.Scalar() == "bisect") {
        spec.bisect = true;
      } else {
        r.Error(o, form);
      }
    } else if (!o.IsMap() || !o["bisect"].IsDefined() || !o["bisect"].IsMap()) {
      r.Error(o, form);
    } else if (r.CheckMap(o, "on_regression", {"bisect"}) &&
               r.CheckMap(o["bisect"], "on_regression bisect", {"series", "git", "bisect"})) {
      spec.bisect = true;
      spec.bisect_plan = o["bisect"];
      YAML::Node git = o["bisect"]["git"];
      if (git.IsDefined() && git.IsMap() && (git["good"].IsDefined() || git["bad"].IsDefined())) {
        r.Error(git, "on_regression's git takes no good or bad: they are the commits the two nights booted");
      }
      if (o["bisect"]["series"].IsDefined() == git.IsDefined()) {
        r.Error(o["bisect"], "on_regression's bisect needs either 'series' or 'git'");
      }
      YAML::Node b = o["bisect"]["bisect"];
      if (b.IsDefined() && b.IsMap() && (b["terms"].IsDefined() || b["bad_verdicts"].IsDefined())) {
        r.Error(b, "on_regression's bisect chases the regression: its terms and bad verdicts are the cell's");
      }
    }
  }

  // The cells, each from the base config with its three axes applied.
  std::set<std::string> keys;
  for (const AxisValue& k : kernels) {
    for (const AxisValue& g : guests) {
      for (const AxisValue& w : workloads) {
        MatrixCell cell;
        cell.config = base;
        ParseKernelSpec(k.node, r, &cell.config.kernel);
        if (g.given) cell.config.guest = ParseGuest(g.node, r, base.guest);
        if (w.given) cell.config.workload = ParseWorkloadValue(w.node, r, base.workload);
        cell.kernel = k.label.empty() ? cell.config.kernel.Describe() : k.label;
        cell.guest = g.label.empty() ? cell.config.guest.type : g.label;
        cell.workload = w.label.empty() ? cell.config.workload.name : w.label;
        cell.key = cell.kernel + " / " + cell.guest + " / " + cell.workload;
        cell.repeats = repeats;
        if (duration) cell.config.workload.duration_s = *duration;
        YAML::Node config_node = n["config"];
        cell.run = config_node.IsDefined() && config_node.IsMap() ? YAML::Clone(config_node)
                                                                  : YAML::Node(YAML::NodeType::Map);
        cell.run["kernel"] = YAML::Clone(k.node);
        if (g.given) cell.run["guest"] = YAML::Clone(g.node);
        if (w.given) cell.run["workload"] = YAML::Clone(w.node);
        bool excluded = false;
        for (Match& m : excludes) {
          if (m.Matches(cell)) excluded = m.used = true;
        }
        if (excluded) continue;
        for (size_t i = 0; i < overrides.size(); ++i) {
          if (!overrides[i].Matches(cell)) continue;
          overrides[i].used = true;
          if (override_workloads[i].IsDefined()) {
            cell.config.workload = ParseWorkloadValue(override_workloads[i], r, cell.config.workload);
            if (duration) cell.config.workload.duration_s = *duration;
            cell.run["workload"] = OverlayWorkload(cell.run["workload"], override_workloads[i]);
          }
          if (override_values[i].first) cell.repeats = *override_values[i].first;
          if (override_values[i].second) cell.config.workload.duration_s = *override_values[i].second;
        }
        // The run mapping says the duration the cell runs for, whatever set it.
        {
          YAML::Node wl = OverlayWorkload(cell.run["workload"], YAML::Node(YAML::NodeType::Map));
          wl["duration"] = DurationText(cell.config.workload.duration_s);
          cell.run["workload"] = wl;
        }
        for (const std::string& misfit : WorkloadMisfits(cell.config.workload, cell.config.guest.vcpus)) {
          r.Error(w.given ? w.node : n, "cell " + cell.key + ": " + misfit);
        }
        if (!keys.insert(cell.key).second) {
          r.Error(k.node, "two cells are both '" + cell.key + "': give the axes' values distinct names");
          continue;
        }
        spec.cells.push_back(std::move(cell));
      }
    }
  }
  for (const Match& m : excludes) {
    if (!m.used) r.Error(m.at, "this exclude matches no cell (the axes' values are matched as written)");
  }
  for (const Match& m : overrides) {
    if (!m.used) r.Error(m.at, "this override matches no cell (the axes' values are matched as written)");
  }
  if (spec.cells.empty() && r.errors().empty()) r.Error(n, "every cell is excluded: the matrix is empty");
  r.Checkpoint();
  return spec;
}

MatrixSpec LoadMatrix(const std::string& path) { return ParseMatrix(ReadConfigText(path, "matrix"), path); }

Shard ParseShard(const std::string& text) {
  Shard s;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%d/%d%n", &s.index, &s.count, &consumed) != 2 ||
      consumed != static_cast<int>(text.size()) || s.count < 1 || s.count > 10000 || s.index < 1 ||
      s.index > s.count) {
    throw ConfigError({"--shard: '" + text + "' is not I/N with 1 <= I <= N (e.g. 1/4; a Kubernetes completion "
                                             "index is 0-based: pass $((JOB_COMPLETION_INDEX + 1))/N)"});
  }
  return s;
}

bool InShard(size_t cell_index, const Shard& shard) {
  return static_cast<int>(cell_index % static_cast<size_t>(shard.count)) + 1 == shard.index;
}

std::string MatrixIdFor(const std::string& name, const std::string& yyyymmdd) { return name + "-" + yyyymmdd; }

nlohmann::json MatrixSpecJson(const MatrixSpec& spec) {
  nlohmann::json cells = nlohmann::json::array();
  for (const MatrixCell& c : spec.cells) {
    cells.push_back({{"key", c.key}, {"kernel", c.kernel}, {"guest", c.guest}, {"workload", c.workload},
                     {"repeats", c.repeats}, {"duration_s", c.config.workload.duration_s}});
  }
  return {{"name", spec.name}, {"source", spec.source}, {"cells", cells}};
}

std::vector<MatrixSlot> MissingSlots(const MatrixSpec& spec, const Shard& shard, const std::vector<RunRow>& runs) {
  // Slots already held: a run with a verdict other than infra-error, or one
  // still running (its blackout settles it).
  std::set<std::pair<std::string, int>> held;
  for (const RunRow& r : runs) {
    if (r.verdict != "infra-error") held.insert({r.cell, r.repeat});
  }
  std::vector<MatrixSlot> out;
  for (size_t i = 0; i < spec.cells.size(); ++i) {
    if (!InShard(i, shard)) continue;
    for (int k = 0; k < spec.cells[i].repeats; ++k) {
      if (!held.count({spec.cells[i].key, k})) out.push_back({i, k});
    }
  }
  return out;
}

int MatrixReport::regressions() const {
  return static_cast<int>(std::count_if(cells.begin(), cells.end(),
                                        [](const CellComparison& c) { return c.status == "regression"; }));
}

int MatrixReport::ExitCode(double infra_limit) const {
  if (regressions() > 0) return 1;
  if (runs > 0 && static_cast<double>(infra) / runs > infra_limit) return 2;
  return 0;
}

MatrixReport CompareMatrix(const MatrixSpec& spec, const std::string& id, const std::vector<RunRow>& runs,
                           const std::string& baseline_id, const std::vector<RunRow>& baseline_runs) {
  MatrixReport report;
  report.id = id;
  report.baseline = baseline_id;
  std::map<std::string, std::vector<const RunRow*>> tonight, before;
  for (const RunRow& r : runs) tonight[r.cell].push_back(&r);
  for (const RunRow& r : baseline_runs) before[r.cell].push_back(&r);
  std::set<std::string> baseline_titles;
  for (const RunRow& r : baseline_runs) {
    if (IsHang(r.verdict)) baseline_titles.insert(r.title);
  }
  report.complete = MissingSlots(spec, Shard{}, runs).empty();
  const double alpha = 1 - spec.confidence;
  for (const MatrixCell& cell : spec.cells) {
    CellComparison c;
    c.key = cell.key;
    std::set<std::string> seen;
    for (const RunRow* r : tonight[cell.key]) {
      if (r->verdict == "running") continue;
      ++c.runs;
      if (r->verdict == "infra-error") ++c.infra;
      if (IsJudged(r->verdict)) ++c.judged;
      if (IsHang(r->verdict)) {
        ++c.hangs;
        if (!baseline_id.empty() && !baseline_titles.count(r->title) && seen.insert(r->title).second) {
          c.new_titles.push_back(r->title);
        }
      }
    }
    for (const RunRow* r : before[cell.key]) {
      if (IsJudged(r->verdict)) ++c.base_judged;
      if (IsHang(r->verdict)) ++c.base_hangs;
    }
    report.runs += c.runs;
    report.infra += c.infra;
    if (c.judged == 0) {
      c.status = "no-runs";
      c.sentence = "no judged runs yet";
    } else if (c.base_judged == 0) {
      c.status = "new";
      c.sentence = baseline_id.empty() ? "no baseline matrix to compare with" : "the baseline has no runs of this cell";
    } else {
      Sample a{"baseline", c.base_hangs, c.base_judged, {}};
      Sample b{"tonight", c.hangs, c.judged, {}};
      Comparison cmp = Compare(a, b, spec.confidence);
      c.p = cmp.fisher_p;
      c.sentence = cmp.sentence;
      double pa = static_cast<double>(c.base_hangs) / c.base_judged;
      double pb = static_cast<double>(c.hangs) / c.judged;
      if (pb > pa && c.p < alpha) {
        c.status = "regression";
      } else if (pb < pa && c.p < alpha) {
        c.status = "better";
      } else if (pb > pa) {
        c.status = "needs-more-runs";
        // Runs per side to tell these rates apart, beyond what each side has.
        int need = RunsToDetect(pa, pb, spec.confidence);
        c.more_runs = std::max(0, need - std::min(c.judged, c.base_judged));
      } else {
        c.status = "same";
      }
    }
    report.cells.push_back(c);
  }
  return report;
}

std::string MatrixReportText(const MatrixReport& report) {
  std::string out = "matrix " + report.id + " against " + (report.baseline.empty() ? "no baseline" : report.baseline) +
                    (report.complete ? "" : " (not every cell has its runs yet)") + "\n";
  char line[512];
  std::snprintf(line, sizeof line, "%-56s %9s %9s %8s  %s\n", "cell", "tonight", "baseline", "p", "status");
  out += line;
  for (const CellComparison& c : report.cells) {
    std::string tonight = std::to_string(c.hangs) + "/" + std::to_string(c.judged);
    std::string base = std::to_string(c.base_hangs) + "/" + std::to_string(c.base_judged);
    std::string status = c.status;
    if (c.status == "needs-more-runs") status += " (" + std::to_string(c.more_runs) + " more each)";
    if (c.infra > 0) status += ", " + std::to_string(c.infra) + " infra-error";
    std::snprintf(line, sizeof line, "%-56s %9s %9s %8.4f  %s\n", c.key.substr(0, 56).c_str(), tonight.c_str(),
                  base.c_str(), c.p, status.c_str());
    out += line;
    if (c.status == "regression") out += "  " + c.sentence + "\n";
    for (const std::string& t : c.new_titles) out += "  new title: " + t + "\n";
  }
  std::snprintf(line, sizeof line, "%d regression%s, %d runs, %d infra-error\n", report.regressions(),
                report.regressions() == 1 ? "" : "s", report.runs, report.infra);
  out += line;
  return out;
}

nlohmann::json MatrixReportJson(const MatrixReport& report) {
  nlohmann::json cells = nlohmann::json::array();
  for (const CellComparison& c : report.cells) {
    cells.push_back({{"cell", c.key}, {"status", c.status}, {"runs", c.runs}, {"judged", c.judged},
                     {"hangs", c.hangs}, {"infra_errors", c.infra}, {"baseline_judged", c.base_judged},
                     {"baseline_hangs", c.base_hangs}, {"fisher_p", c.p}, {"more_runs_each", c.more_runs},
                     {"sentence", c.sentence}, {"new_titles", c.new_titles}});
  }
  return {{"matrix", report.id},          {"baseline", report.baseline.empty() ? nlohmann::json() : nlohmann::json(report.baseline)},
          {"complete", report.complete},  {"regressions", report.regressions()},
          {"runs", report.runs},          {"infra_errors", report.infra},
          {"cells", cells}};
}

NotifyMessage MatrixMessage(const MatrixReport& report, const std::string& report_path) {
  NotifyMessage m;
  int n = report.regressions();
  std::string cells;
  nlohmann::json regressions = nlohmann::json::array();
  std::string body = "blackout matrix " + report.id + " against " +
                     (report.baseline.empty() ? std::string("no baseline") : report.baseline) + ": " +
                     std::to_string(n) + " regression" + (n == 1 ? "" : "s") + ", " + std::to_string(report.runs) +
                     " runs, " + std::to_string(report.infra) + " infra-error.\n\n";
  for (const CellComparison& c : report.cells) {
    if (c.status != "regression") continue;
    cells += (cells.empty() ? "" : ", ") + c.key;
    body += "REGRESSION " + c.key + ": " + c.sentence + "\n";
    for (const std::string& t : c.new_titles) body += "  new title: " + t + "\n";
    regressions.push_back({{"cell", c.key}, {"sentence", c.sentence}, {"hangs", c.hangs}, {"judged", c.judged},
                           {"baseline_hangs", c.base_hangs}, {"baseline_judged", c.base_judged},
                           {"fisher_p", c.p}, {"new_titles", c.new_titles}});
  }
  body += "\n" + MatrixReportText(report) + "\nreport: " + report_path + "\n";
  m.subject = "blackout: " + report.id + ": " +
              (n > 0 ? std::to_string(n) + " regression" + (n == 1 ? "" : "s") + " (" + cells + ")" : "no regression");
  if (m.subject.size() > 200) m.subject = m.subject.substr(0, 197) + "...";
  m.body = ValidUtf8(body);
  m.json = {{"matrix", report.id},
            {"baseline", report.baseline},
            {"regressions", regressions},
            {"report", report_path},
            {"summary", m.subject},
            {"comparison", MatrixReportJson(report)}};
  return m;
}

std::string RegressionPlan(const MatrixSpec& spec, const MatrixCell& cell, const std::vector<std::string>& bad_verdicts,
                           const std::string& git_good, const std::string& git_bad) {
  YAML::Node plan(YAML::NodeType::Map);
  plan["run"] = YAML::Clone(cell.run);
  YAML::Node given = spec.bisect_plan.IsMap() ? spec.bisect_plan : YAML::Node(YAML::NodeType::Map);
  if (given["git"].IsDefined()) {
    YAML::Node git = YAML::Clone(given["git"]);
    git["good"] = git_good;
    git["bad"] = git_bad;
    plan["git"] = git;
  } else if (given["series"].IsDefined()) {
    plan["series"] = YAML::Clone(given["series"]);
  } else {
    // The catalogue series the cell's kernel belongs to (by name, else by package).
    const Catalogue& cat = BuiltinCatalogue();
    const CatalogueSeries* found = nullptr;
    for (const CatalogueSeries& cs : cat.series) {
      for (const std::string& k : cs.kernels) {
        const CatalogueKernel* ck = cat.Find(k);
        bool same = k == cell.kernel || (ck && ck->spec.source == cell.config.kernel.source &&
                                         ck->spec.package == cell.config.kernel.package);
        if (same && !found) found = &cs;
      }
    }
    if (!found) {
      throw ConfigError({spec.source + ": on_regression: the kernel of cell " + cell.key +
                         " is in no catalogue series: name one (on_regression: {bisect: {series: ...}})"});
    }
    plan["series"] = found->name;
  }
  YAML::Node b = given["bisect"].IsMap() ? YAML::Clone(given["bisect"]) : YAML::Node(YAML::NodeType::Map);
  b["terms"] = "regression";
  YAML::Node bad(YAML::NodeType::Sequence);
  for (const std::string& v : bad_verdicts) bad.push_back(v);
  if (bad.size() > 0) b["bad_verdicts"] = bad;
  plan["bisect"] = b;
  YAML::Emitter out;
  out << plan;
  return std::string(out.c_str()) + "\n";
}

std::pair<std::string, std::string> RegressionRange(const std::vector<std::pair<std::string, KernelSpec>>& candidates,
                                                    const BootedKernel& baseline, const BootedKernel& tonight) {
  auto boots = [](const KernelSpec& k, const BootedKernel& b) {
    if (b.package.empty() || k.package != b.package) return false;
    return k.version.empty() || b.version.empty() || k.version == b.version;
  };
  int good = -1, bad = -1;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (boots(candidates[i].second, baseline)) good = static_cast<int>(i);
  }
  for (size_t i = good < 0 ? 0 : static_cast<size_t>(good) + 1; i < candidates.size(); ++i) {
    if (boots(candidates[i].second, tonight)) {
      bad = static_cast<int>(i);
      break;
    }
  }
  if (good < 0 || bad < 0) return {"", ""};
  return {candidates[static_cast<size_t>(good)].first, candidates[static_cast<size_t>(bad)].first};
}

NotifyMessage CulpritMessage(const std::string& matrix, const std::string& cell, const BisectionRow& b) {
  NotifyMessage m;
  bool found = b.status == "found";
  char prob[32];
  std::snprintf(prob, sizeof prob, "%.1f%%", 100 * b.probability);
  m.subject = "blackout: " + matrix + ": " + cell + ": " +
              (found ? "culprit " + b.culprit + " (" + prob + ")" : "bisection " + b.status);
  if (m.subject.size() > 200) m.subject = m.subject.substr(0, 197) + "...";
  std::string body = "The regression of " + cell + " in matrix " + matrix + " was bisected over " + b.good + ".." +
                     b.bad + " (" + std::to_string(b.runs) + " runs).\n\n";
  body += found ? "culprit: " + b.culprit + " with probability " + prob + "\n"
                : "no culprit: the bisection ended " + b.status + " (most likely " + b.culprit + ", " + prob + ")\n";
  body += "bisection: " + b.id + " (log: " + b.path + "/log.jsonl)\n";
  m.body = ValidUtf8(body);
  m.json = {{"matrix", matrix},       {"cell", cell},          {"bisection", b.id},  {"status", b.status},
            {"culprit", b.culprit},   {"probability", b.probability}, {"runs", b.runs}, {"good", b.good},
            {"bad", b.bad},           {"log", b.path + "/log.jsonl"}, {"summary", m.subject}};
  return m;
}

}  // namespace blackout
