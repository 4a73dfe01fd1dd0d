// `blackout qualify`: a cloud image soaked as its customers boot it, alone
// or against a baseline (another image, or the same image on another host
// stack), judged qualified, not qualified or inconclusive (harness/qualify.h),
// with HTML and JUnit reports of its runs.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "base/error.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/units.h"
#include "harness/cli/command.h"
#include "harness/config.h"
#include "harness/fleet.h"
#include "harness/qualify.h"
#include "harness/run.h"
#include "kernels/catalogue.h"
#include "results/html_report.h"
#include "results/report.h"
#include "results/verdict.h"

namespace blackout {
namespace {
namespace fs = std::filesystem;

struct QualifyFlags {
  std::string image, against, host_stack;
  std::string guest = "xen-pv-domu";
  std::string bootloader = "pygrub";
  std::string memory = "1G";
  int vcpus = 2;
  std::string workload = "pv-spinlock-race";
  std::string duration;
  int runs = 5;
  double max_rate = 0.2;
  double confidence = 0.95;
  std::string results = "blackout-results";
  std::string store;
  std::string html, junit;
};

// The run config of one side, through the config reader (so an image guest's
// checks hold here as in `blackout run`).
RunConfig SideConfig(const QualifyFlags& f, const std::string& image, const std::string& xen) {
  std::error_code ec;
  std::string path = fs::absolute(image, ec).string();
  std::string guest = "guest: {type: " + f.guest + ", image: " + nlohmann::json(path).dump() + ", memory: " +
                      nlohmann::json(f.memory).dump() + ", vcpus: " + std::to_string(f.vcpus) +
                      (f.guest == "xen-pv-domu" ? ", bootloader: " + nlohmann::json(f.bootloader).dump() : "") + "}\n";
  RunConfig c = ParseConfig(guest + (xen.empty() ? "" : "xen: " + nlohmann::json(xen).dump() + "\n"), "qualify");
  c.workload = WorkloadByNameOrFile(f.workload, c.workload);
  if (!f.duration.empty()) {
    auto d = ParseDuration(f.duration);
    if (!d || *d < 1) throw ConfigError({"--duration: '" + f.duration + "' is not a duration of at least 1s"});
    c.workload.duration_s = *d;
  }
  std::vector<std::string> misfits = WorkloadMisfits(c.workload, c.guest.vcpus);
  for (const std::string& m : ImageWorkloadMisfits(c.workload)) misfits.push_back(m);
  for (std::string& m : misfits) m = "--workload " + f.workload + ": " + m;
  if (!misfits.empty()) throw ConfigError(misfits);
  return c;
}

// N runs of one side, one at a time; their outcomes, tallied.
QualifySide RunSide(const std::string& name, const RunConfig& config, const QualifyFlags& f,
                    std::vector<std::string>* run_ids, bool* stop) {
  QualifySide side;
  side.name = name;
  RunRequest req;
  req.config = config;
  req.results_root = f.results;
  req.store = f.store;
  req.interrupted = &InterruptFlag();
  for (int i = 0; i < f.runs && !*stop; ++i) {
    RunOutcome out = RunOnPool(req, nullptr);
    PrintVerdictLine(name + " run " + std::to_string(i + 1) + "/" + std::to_string(f.runs) + ": ", out);
    if (out.interrupted) throw InterruptedError("qualify interrupted");
    if (out.config_error) {
      *stop = true;
      throw ConfigError({name + ": " + out.title});
    }
    if (!out.run_dir.empty()) run_ids->push_back(fs::path(out.run_dir).filename().string());
    ++side.runs;
    if (IsJudged(out.verdict)) ++side.judged;
    if (IsHang(out.verdict)) {
      ++side.hangs;
      side.titles.push_back(out.title);
    }
    if (out.verdict == Verdict::kBootFailure) {
      ++side.boot_failures;
      side.titles.push_back(out.title);
    }
  }
  return side;
}

int CmdQualify(const QualifyFlags& f) {
  if (!f.against.empty() && !f.host_stack.empty()) {
    throw ConfigError({"--against and --host-stack: one baseline at a time"});
  }
  if (f.runs < 1 || f.runs > 10000) throw ConfigError({"--runs: between 1 and 10000"});
  if (!(f.max_rate > 0 && f.max_rate < 1)) throw ConfigError({"--max-rate: between 0 and 1, e.g. 0.2"});
  if (!(f.confidence > 0.5 && f.confidence < 1)) throw ConfigError({"--confidence: between 0.5 and 1"});
  // The image on the host stack asked for; the baseline: another image on
  // the default stack, or this image on the default stack.
  RunConfig image = SideConfig(f, f.image, f.host_stack);
  std::unique_ptr<RunConfig> base;
  std::string base_name;
  if (!f.against.empty()) {
    base = std::make_unique<RunConfig>(SideConfig(f, f.against, ""));
    base_name = fs::path(f.against).filename().string();
  } else if (!f.host_stack.empty()) {
    base = std::make_unique<RunConfig>(SideConfig(f, f.image, ""));
    base_name = fs::path(f.image).filename().string() + " on " + base->xen.Describe();
  }
  std::string image_name = fs::path(f.image).filename().string() + (f.host_stack.empty() ? "" : " on " + f.host_stack);
  if (!f.against.empty() && fs::path(f.against).filename() == fs::path(f.image).filename()) {
    base_name += " (baseline)";
  }

  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> run_ids;
  bool stop = false;
  QualifySide side = RunSide(image_name, image, f, &run_ids, &stop);
  QualifySide base_side;
  if (base) base_side = RunSide(base_name, *base, f, &run_ids, &stop);
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  QualifyVerdict v = JudgeQualification(side, base ? &base_side : nullptr, f.max_rate, f.confidence);
  int total = side.runs + base_side.runs;
  std::printf("%d run%s in %.0fs (%.1f runs/hour)\n", total, total == 1 ? "" : "s", wall,
              wall > 0 ? total * 3600.0 / wall : 0);
  std::printf("%s: %s\n", QualificationName(v.verdict), TerminalSafe(v.sentence).c_str());
  std::fflush(stdout);

  if (!f.html.empty() || !f.junit.empty()) {
    Store store(Store::Locate(f.results, f.store), Store::ReadOnly{});
    RunFilter filter;
    filter.ids = run_ids;
    std::vector<ReportRun> runs = LoadReportRuns(store, filter, true);
    if (!f.junit.empty()) WriteFileAtomic(f.junit, JunitXml(runs));
    if (!f.html.empty()) {
      HtmlOptions o;
      o.title = "blackout qualify: " + image_name + ": " + QualificationName(v.verdict);
      HtmlTable t;
      t.id = "qualification";
      t.title = std::string(QualificationName(v.verdict)) + ": " + v.sentence;
      t.header = {"side", "runs", "judged", "hangs", "boot failures", "hang rate (interval)"};
      auto row = [&](const QualifySide& s, const Interval& ci) {
        char rate[64];
        std::snprintf(rate, sizeof rate, "%.1f%% (%.1f%%-%.1f%%)", s.judged ? 100.0 * s.hangs / s.judged : 0,
                      100 * ci.low, 100 * ci.high);
        HtmlTable::Row r;
        r.cells = {s.name, std::to_string(s.runs), std::to_string(s.judged), std::to_string(s.hangs),
                   std::to_string(s.boot_failures), rate};
        r.status = s.hangs > 0 || s.boot_failures > 0 ? "worse" : "same";
        r.rates = {-1, -1, -1, -1, -1, s.judged ? static_cast<double>(s.hangs) / s.judged : -1};
        t.rows.push_back(r);
      };
      row(side, v.rate);
      if (base) row(base_side, v.base_rate);
      o.tables.push_back(t);
      WriteFileAtomic(f.html, HtmlReport(runs, o, [&](const RunRow& r) {
                        return store.RunResult(r.id).value_or(nlohmann::json::object());
                      }));
    }
  }
  return QualificationExitCode(v.verdict);
}

}  // namespace

void AddQualifyCommands(CLI::App& app, CommandTable& table) {
  auto f = std::make_shared<QualifyFlags>();
  CLI::App* q = app.add_subcommand(
      "qualify", "soak a cloud image as its customers boot it, alone or against a baseline, and judge it: "
                 "qualified (exit 0), not qualified (1) or inconclusive (2, with the runs still needed)");
  q->add_option("--image", f->image, "the image (raw or qcow2) to qualify")->required();
  q->add_option("--against", f->against, "a baseline image, run as many times on the same stack");
  q->add_option("--host-stack", f->host_stack,
                "run the image under this Xen (catalogue name, e.g. xen-4.20), the same image under the default "
                "Xen as the baseline");
  q->add_option("--guest", f->guest, "xen-pv-domu (the default) or hvm")->capture_default_str();
  q->add_option("--bootloader", f->bootloader, "an image domU's: pygrub or pvgrub")->capture_default_str();
  q->add_option("--memory", f->memory, "the guest's memory")->capture_default_str();
  q->add_option("--vcpus", f->vcpus, "the guest's vCPUs")->capture_default_str();
  q->add_option("--workload", f->workload, "built-in workload name, or a workload YAML file")->capture_default_str();
  q->add_option("--duration", f->duration, "each run's workload duration (default: the workload's)");
  q->add_option("--runs", f->runs, "runs of each side")->capture_default_str();
  q->add_option("--max-rate", f->max_rate,
                "the hang rate the image must be shown to stay under (alone), or the rise over the baseline that "
                "must be ruled out")->capture_default_str();
  q->add_option("--confidence", f->confidence, "for the intervals and the test")->capture_default_str();
  q->add_option("--results", f->results, "results root; each run gets a directory in it")->capture_default_str();
  AddStoreOption(q, f->store);
  q->add_option("--html", f->html, "write an HTML report of the qualification's runs here");
  q->add_option("--junit", f->junit, "write a JUnit XML report of them here");
  table.Add(q, [f] { return CmdQualify(*f); });
}

}  // namespace blackout
