// A kernel matrix (`blackout matrix -c matrix.yaml`): kernels x guests x
// workloads, each cell run `repeats` times, recorded in the store under the
// matrix's id so that a killed matrix resumes with only what is missing, CI
// shards (`--shard I/N`) split the cells deterministically, and each cell is
// compared with the same cell of a baseline matrix (the previous finished one
// of the same name by default).
//
//   name: nightly
//   config: {thresholds: {stall: 2s}}   # what every cell starts from (a run config)
//   kernels: [linux-image-amd64, {package: linux-image-6.1.0-56-amd64}]
//   guests: [xen-pv-domu, hvm]           # guest profile names or mappings
//   workloads: [smoke, sched-mix]        # built-in names or mappings
//   repeats: 4
//   duration: 30s                        # every cell's workload duration
//   exclude: [{kernel: linux-image-amd64, guest: hvm}]
//   overrides: [{match: {guest: hvm}, repeats: 8}]     # also duration, and
//                                    # workload: a value that replaces the cell's (its label stays)
//   compare: {baseline: previous, confidence: 0.95, infra_limit: 0.25}
//   notify: {smtp: mail:25, to: [kernel-ci@example.org], webhook: https://..., on: regression}
//   on_regression: bisect                # a regressed cell bisects itself: the cell's kernel's
//                                        # catalogue series between the two nights' kernels, or
//   on_regression: {bisect: {series: debian-6.1 | [candidates], bisect: {p: 0.5, max_runs: 60}}}
//   on_regression: {bisect: {git: {repo: /src/linux, build: make bzImage, image: arch/x86/boot/bzImage}}}
//                                        # (git: good and bad are the commits the two nights booted)
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/config.h"
#include "harness/notify.h"
#include "results/stats.h"
#include "results/store.h"

namespace blackout {

struct MatrixCell {
  std::string kernel, guest, workload;  // the axes' labels, as the file writes them
  std::string key;                      // "kernel / guest / workload": stable across nights
  RunConfig config;
  YAML::Node run;  // the same config as a run config mapping (a regression's bisect plan starts from it)
  int repeats = 1;
};

struct MatrixSpec {
  std::string name;
  std::string source;
  std::vector<MatrixCell> cells;  // in file order: kernels, then guests, then workloads
  std::string baseline = "previous";  // previous | a matrix id
  double confidence = 0.95;
  double infra_limit = 0.25;  // a larger share of infra-errors is an infra problem (exit 2)
  NotifySpec notify;          // who hears of a regression
  bool bisect = false;        // on_regression: bisect
  YAML::Node bisect_plan;     // its series:/git:/bisect: sections (null: the cell kernel's catalogue series)
};

// Parses a matrix file's text; `source` names it in messages. Every problem
// (with file:line:column) in one ConfigError.
MatrixSpec ParseMatrix(const std::string& text, const std::string& source);
MatrixSpec LoadMatrix(const std::string& path);

// "I/N" (1 <= I <= N): cell i (0-based, file order) belongs to shard
// i % N + 1. Throws ConfigError for anything else.
struct Shard {
  int index = 1, count = 1;
};
Shard ParseShard(const std::string& text);
bool InShard(size_t cell_index, const Shard& shard);

// The matrix's id for a night: NAME-YYYYMMDD (UTC).
std::string MatrixIdFor(const std::string& name, const std::string& yyyymmdd);

// The cells as the store keeps them (key, axes, repeats), for a later night
// to know what this one was to hold.
nlohmann::json MatrixSpecJson(const MatrixSpec& spec);

// One run of one cell still to do.
struct MatrixSlot {
  size_t cell = 0;
  int repeat = 0;
};
// The slots of the shard that have no run with a verdict yet (a run that
// ended in infra-error is done again; one still "running" under a live
// blackout is left to it).
std::vector<MatrixSlot> MissingSlots(const MatrixSpec& spec, const Shard& shard, const std::vector<RunRow>& runs);

// A cell tonight against the same cell of the baseline.
struct CellComparison {
  std::string key;
  int runs = 0, judged = 0, hangs = 0, infra = 0;
  int base_judged = 0, base_hangs = 0;
  std::string status;  // regression | needs-more-runs | better | same | new | no-runs
  double p = 1;        // Fisher's exact test, two-sided
  int more_runs = 0;   // needs-more-runs: runs per side still needed to tell
  std::string sentence;
  std::vector<std::string> new_titles;  // hang titles never seen in the baseline
};

struct MatrixReport {
  std::string id, baseline;  // baseline: "" when there is none
  std::vector<CellComparison> cells;
  int runs = 0, infra = 0;
  bool complete = false;  // every cell has its runs (all shards)
  int regressions() const;
  // 0 no regression, 1 a regression, 2 only infra problems (more than
  // infra_limit of the runs were infra-errors).
  int ExitCode(double infra_limit) const;
};

// Compares tonight's runs with the baseline's, cell by cell.
MatrixReport CompareMatrix(const MatrixSpec& spec, const std::string& id, const std::vector<RunRow>& runs,
                           const std::string& baseline_id, const std::vector<RunRow>& baseline_runs);

// The report as a table people read, and as JSON.
std::string MatrixReportText(const MatrixReport& report);
nlohmann::json MatrixReportJson(const MatrixReport& report);

// A regressed cell's bisect plan (YAML text for ParseBisectPlan): the cell's
// run config, the spec's series or git range (git: good..bad, the commits the
// two nights booted), terms regression and the verdicts that made it
// regress as the bad ones. Throws ConfigError when there is nothing to
// bisect over (no series given and the cell's kernel is in no catalogue series).
std::string RegressionPlan(const MatrixSpec& spec, const MatrixCell& cell, const std::vector<std::string>& bad_verdicts,
                           const std::string& git_good = "", const std::string& git_bad = "");

// A booted kernel, as a run's result.json names it.
struct BootedKernel {
  std::string package, version;
};
// The candidates of a series to bisect between: the last one that boots the
// baseline's kernel and the first after it that boots tonight's. Empty names
// (the whole series) when either is not in it, or tonight's does not come after.
std::pair<std::string, std::string> RegressionRange(const std::vector<std::pair<std::string, KernelSpec>>& candidates,
                                                    const BootedKernel& baseline, const BootedKernel& tonight);

// The message a regression sends (notify:): the regressed cells with
// compare's sentence and their new titles, the table, the report's path.
NotifyMessage MatrixMessage(const MatrixReport& report, const std::string& report_path);

// The second message, once a regressed cell's bisection ended: its culprit
// (or why there is none) and where its log is.
NotifyMessage CulpritMessage(const std::string& matrix, const std::string& cell, const BisectionRow& bisection);

}  // namespace blackout
