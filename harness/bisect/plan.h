// A bisection's plan: the candidates (a series of builds or the commits of a
// git range) with the run config of each, the optional build step, and how
// the engine should judge runs. Parsed from the plan YAML (README
// "Bisection"), whose text is kept for resume.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "harness/bisect/engine.h"
#include "harness/config.h"
#include "kernels/git_build.h"
#include "results/verdict.h"

namespace blackout {

struct BisectCandidate {
  std::string name;
  RunConfig config;
};

// git mode without a build step: each candidate's kernel is its commit,
// built by blackout (the run's git kernel config, else the defaults).
// git mode with a build step: each commit is checked out in the bisection's
// own clone of the repository and built by the user's command
// (kernels/git_build.h); the image it leaves is the candidate's kernel. A
// build that fails, or leaves no image, is a skip.
struct GitBuild : CommandBuild {
  std::string workload;  // optional: a workload YAML the build leaves, overriding the run's
};

// Which failed runs count against a candidate (see README "Bisection").
enum class BadRule {
  kSameCluster,  // a bad verdict of the chased bug's cluster (results/verdict.h HangCluster)
  kSameTitle,    // a bad verdict with the chased title
  kAnyBad,       // every bad verdict
};
const char* BadRuleName(BadRule rule);

struct BisectPlan {
  std::vector<BisectCandidate> candidates;  // oldest first
  std::optional<GitBuild> build;
  BisectModel model;
  std::set<Verdict> bad_verdicts = {Verdict::kLockup, Verdict::kStall, Verdict::kCrash};
  BadRule bad = BadRule::kSameCluster;
  // What the bisection chases: a title or a cluster name. Empty: the hanging
  // end's first bad run, which is run first until it fails.
  std::string chase;
  double alpha = 0.01;
  int slots = 1;
  int max_runs = 300;
  int calibration_limit = 40;  // runs of the hanging end before giving up on it
  int infra_retries = 2;       // an infra-error is retried this often, then skipped
  std::string yaml;            // the plan's text, kept in the log for resume
  std::string source;
};

// Parses a bisect plan (see README "Bisection"). good/bad, when set, name the
// ends of a sub-range of the series (or git revisions, in git mode). Throws
// ConfigError with every problem.
BisectPlan ParseBisectPlan(const std::string& yaml, const std::string& source, const std::string& good = "",
                           const std::string& bad = "");

// The commits from good to bad, oldest first, good included (git rev-list
// --reverse --first-parent good..bad). Throws ConfigError for unknown revisions.
std::vector<std::string> GitCandidates(const std::string& repo, const std::string& good, const std::string& bad);

// Checks out and builds one commit (git mode with a build step) in
// <dir>/checkout, logging to <dir>/builds/<commit>.log, and returns the run
// config that boots what it built (and the workload file the build left, if
// the plan names one). Throws KernelBuildError.
RunConfig BuildCandidate(const GitBuild& build, const BisectCandidate& candidate, const std::string& dir);

}  // namespace blackout
