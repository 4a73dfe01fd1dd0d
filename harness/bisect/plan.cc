#include "harness/bisect/plan.h"

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "base/error.h"
#include "base/subprocess.h"
#include "base/yaml_reader.h"
#include "kernels/catalogue.h"

namespace blackout {

const char* BadRuleName(BadRule rule) {
  switch (rule) {
    case BadRule::kSameCluster: return "same-cluster";
    case BadRule::kSameTitle: return "same-title";
    case BadRule::kAnyBad: return "any-bad";
  }
  return "?";
}

std::vector<std::string> GitCandidates(const std::string& repo, const std::string& good, const std::string& bad) {
  CommandOptions o;
  o.timeout_s = 60;
  std::optional<std::string> g = ResolveCommit(repo, good);
  std::optional<std::string> b = ResolveCommit(repo, bad);
  std::vector<std::string> problems;
  if (!g) problems.push_back("git " + repo + ": unknown revision '" + good + "'");
  if (!b) problems.push_back("git " + repo + ": unknown revision '" + bad + "'");
  if (!problems.empty()) throw ConfigError(problems);
  std::string good_hash = *g;
  std::string list = RunChecked({"git", "-C", repo, "rev-list", "--reverse", "--first-parent", good + ".." + bad}, o);
  std::vector<std::string> out = {good_hash};
  std::istringstream in(list);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(line);
  }
  if (out.size() < 2) throw ConfigError({"git " + repo + ": no commits between " + good + " and " + bad});
  return out;
}

BisectPlan ParseBisectPlan(const std::string& yaml, const std::string& source, const std::string& good,
                           const std::string& bad) {
  BisectPlan plan;
  plan.yaml = yaml;
  plan.source = source;
  YamlReader r(source);
  auto root = r.Parse(yaml);
  if (!root) r.Checkpoint();
  const YAML::Node& n = *root;
  r.CheckMap(n, "bisect plan", {"series", "git", "run", "bisect"});
  RunConfig base = DefaultConfig();
  if (n["run"].IsDefined()) base = ParseConfigNode(n["run"], r);
  base.source = source;

  if (YAML::Node b = n["bisect"]; b.IsDefined() &&
      r.CheckMap(b, "bisect", {"terms", "bad_verdicts", "bad", "chase", "model", "shape", "alpha", "p", "false_positive",
                                      "slots", "max_runs"})) {
    if (auto t = r.String(b, "terms")) {
      if (*t == "regression") {
        plan.model.regression = true;
      } else if (*t == "fix") {
        plan.model.regression = false;
      } else {
        r.Error(b["terms"], "'terms' must be regression (find the first hanging build) or fix (the first quiet one)");
      }
    }
    if (YAML::Node v = b["bad_verdicts"]; v.IsDefined()) {
      plan.bad_verdicts.clear();
      if (!v.IsSequence()) r.Error(v, "'bad_verdicts' must be a list of verdicts");
      for (const YAML::Node& x : v) {
        auto verdict = x.IsScalar() ? ParseVerdict(x.Scalar()) : std::nullopt;
        if (!verdict || !IsHang(*verdict)) {
          r.Error(x, "a bad verdict is one of stall, lockup, crash");
        } else {
          plan.bad_verdicts.insert(*verdict);
        }
      }
    }
    auto number = [&](const char* key, double lo, double hi) -> std::optional<double> {
      auto s = r.String(b, key);
      if (!s) return std::nullopt;
      char* end = nullptr;
      double v = std::strtod(s->c_str(), &end);
      if (*end != '\0' || !(v >= lo && v <= hi)) {
        r.Error(b[key], std::string("'") + key + "' must be a number from " + std::to_string(lo) + " to " +
                            std::to_string(hi));
        return std::nullopt;
      }
      return v;
    };
    if (auto a = number("alpha", 1e-9, 0.5)) plan.alpha = *a;
    if (auto p = number("p", 0.001, 1)) plan.model.p = *p;
    if (auto q = number("false_positive", 0, 0.5)) plan.model.q = *q;
    if (auto model = r.String(b, "model")) {
      if (*model == "exposure") {
        plan.model.run_model = BisectModel::RunModel::kExposure;
      } else if (*model != "coin") {
        r.Error(b["model"], "'model' must be coin (a run hangs or not) or exposure (the time a run ran until it "
                            "hung or ended; the engine picks each run's length)");
      }
    }
    if (auto shape = r.String(b, "shape")) {
      if (plan.model.run_model != BisectModel::RunModel::kExposure) {
        r.Error(b["shape"], "'shape' is the exposure model's (the time to hang's); the coin model has none");
      } else if (*shape == "exponential") {
        plan.model.shapes = {1};
      } else if (*shape != "unknown") {
        r.Error(b["shape"], "'shape' must be unknown (a steady rate, a heavy tail or a rising one: the engine "
                            "learns which) or exponential (a steady hang rate, known to be)");
      }
    }
    if (auto bad = r.String(b, "bad")) {
      if (*bad == "same-cluster") {
        plan.bad = BadRule::kSameCluster;
      } else if (*bad == "same-title") {
        plan.bad = BadRule::kSameTitle;
      } else if (*bad == "any-bad") {
        plan.bad = BadRule::kAnyBad;
      } else {
        r.Error(b["bad"], "'bad' must be same-cluster (failures of the chased kind count), same-title (only the "
                          "chased title counts) or any-bad (every bad verdict counts)");
      }
    }
    if (auto chase = r.String(b, "chase")) {
      if (chase->empty() || chase->size() > 512 || chase->find_first_of("\n\r") != std::string::npos) {
        r.Error(b["chase"], "'chase' must be one line: a title, or a cluster (active-stall, passive-hang, "
                            "bad-access, crash)");
      } else if (IsHangCluster(*chase) && plan.bad == BadRule::kSameTitle) {
        r.Error(b["chase"], "bad: same-title needs a title to chase, not the cluster '" + *chase + "'");
      } else {
        plan.chase = *chase;
      }
    }
    plan.slots = static_cast<int>(r.Int(b, "slots", 1, 64).value_or(1));
    plan.max_runs = static_cast<int>(r.Int(b, "max_runs", 1, 100000).value_or(300));
  }

  // The exposure model's longest run is the run config's workload; a run
  // also costs its boot (measured: 6-14 s warm under TCG) and teardown.
  plan.model.max_duration_s = std::max(plan.model.min_duration_s, base.workload.duration_s);
  plan.model.run_overhead_s = 15;
  if (plan.model.run_model == BisectModel::RunModel::kExposure && plan.model.p) {
    r.Error(n["bisect"]["p"], "'p' is the coin model's hang rate per run; the exposure model learns its rate per second");
  }

  YAML::Node series = n["series"];
  YAML::Node git = n["git"];
  if (series.IsDefined() == git.IsDefined()) r.Error(n, "a bisect plan needs either 'series' or 'git'");
  if (series.IsDefined() && series.IsScalar()) {
    // A catalogue series by name (kernels/catalogue.yaml), oldest first.
    const Catalogue& cat = BuiltinCatalogue();
    const CatalogueSeries* found = nullptr;
    for (const CatalogueSeries& cs : cat.series) {
      if (cs.name == series.Scalar()) found = &cs;
    }
    if (!found) {
      std::string known;
      for (const CatalogueSeries& cs : cat.series) known += (known.empty() ? "" : ", ") + cs.name;
      r.Error(series, "no catalogue series named '" + Excerpt(series.Scalar()) + "' (known: " + known + ")");
    } else {
      for (const std::string& k : found->kernels) {
        BisectCandidate cand{k, base};
        cand.config.kernel = cat.Find(k)->spec;
        plan.candidates.push_back(cand);
      }
    }
  } else if (series.IsDefined()) {
    if (!series.IsSequence()) r.Error(series, "'series' must be a list of candidates, oldest first");
    for (const YAML::Node& c : series) {
      if (!r.CheckMap(c, "candidate", {"name", "kernel", "workload"})) continue;
      BisectCandidate cand;
      cand.config = base;
      auto name = r.String(c, "name");
      if (!name) r.Error(c, "a candidate needs a 'name'");
      cand.name = name.value_or("?");
      if (c["kernel"].IsDefined()) ParseKernelSpec(c["kernel"], r, &cand.config.kernel);
      if (YAML::Node w = c["workload"]; w.IsDefined()) {
        cand.config.workload = ParseWorkloadValue(w, r, base.workload);
        for (const std::string& problem : WorkloadMisfits(cand.config.workload, cand.config.guest.vcpus)) {
          r.Error(w, problem);
        }
      }
      plan.candidates.push_back(cand);
    }
  } else if (git.IsDefined() && r.CheckMap(git, "git", {"repo", "good", "bad", "build", "image", "modules", "config", "workload"})) {
    auto repo = r.String(git, "repo");
    auto g = r.String(git, "good");
    auto b = r.String(git, "bad");
    if (!repo || !g || !b) r.Error(git, "git needs 'repo', 'good' and 'bad'");
    auto command = r.String(git, "build");
    auto image = r.String(git, "image");
    if (command.has_value() != image.has_value()) r.Error(git, "a git build needs both 'build' (a command) and 'image'");
    if (command && image && repo) {
      GitBuild build;
      build.repo = *repo;
      build.command = *command;
      build.image = *image;
      build.modules = r.String(git, "modules").value_or("");
      build.config = r.String(git, "config").value_or("");
      build.workload = r.String(git, "workload").value_or("");
      plan.build = build;
    }
    if (repo && g && b) {
      r.Checkpoint();
      // Without a build step blackout builds each commit itself (the git
      // kernel source, see kernels/git_build.h), configured as the run's
      // kernel says when that is a git kernel, else with the defaults.
      KernelSpec own = base.kernel.source == "git" ? base.kernel : GitKernelSpec("", "");
      own.repo = *repo;
      for (const std::string& rev : GitCandidates(*repo, good.empty() ? *g : good, bad.empty() ? *b : bad)) {
        BisectCandidate cand{rev, base};
        if (!plan.build) {
          cand.config.kernel = own;
          cand.config.kernel.rev = rev;
        }
        plan.candidates.push_back(cand);
      }
    }
  }
  r.Checkpoint();
  if (series.IsDefined() && (!good.empty() || !bad.empty())) {
    auto find = [&](const std::string& name, size_t fallback) {
      if (name.empty()) return fallback;
      for (size_t i = 0; i < plan.candidates.size(); ++i) {
        if (plan.candidates[i].name == name) return i;
      }
      throw ConfigError({source + ": no candidate named '" + name + "' in the series"});
    };
    size_t lo = find(good, 0), hi = find(bad, plan.candidates.size() - 1);
    if (lo >= hi) throw ConfigError({source + ": '" + good + "' must come before '" + bad + "' in the series"});
    plan.candidates = std::vector<BisectCandidate>(plan.candidates.begin() + static_cast<long>(lo),
                                                   plan.candidates.begin() + static_cast<long>(hi) + 1);
  }
  if (plan.candidates.size() < 2) throw ConfigError({source + ": a bisection needs at least two candidates"});
  plan.model.n = static_cast<int>(plan.candidates.size());
  return plan;
}

RunConfig BuildCandidate(const GitBuild& build, const BisectCandidate& candidate, const std::string& dir) {
  namespace fs = std::filesystem;
  const std::string& rev = candidate.name;
  RunConfig cfg = candidate.config;
  GitBuild b = build;
  if (!b.workload.empty()) b.keep.push_back(b.workload);
  cfg.kernel = BuildWithCommand(b, rev, dir);
  std::string workload = b.workload.empty() ? "" : KeptBuildFile(dir, rev, b.workload);
  if (!workload.empty() && fs::exists(workload)) {
    std::string shown_as = build.workload + " (built from " + rev.substr(0, 12) + ")";
    YamlReader reader(shown_as);
    cfg.workload = ParseWorkloadFile(workload, reader, cfg.workload, shown_as);
    for (const std::string& problem : WorkloadMisfits(cfg.workload, cfg.guest.vcpus)) reader.Error(problem);
    try {
      reader.Checkpoint();
    } catch (const ConfigError& e) {
      throw KernelBuildError(e.what(), dir + "/builds/" + rev + ".log");
    }
  }
  return cfg;
}

}  // namespace blackout
