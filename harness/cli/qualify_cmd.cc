// `blackout qualify`: a cloud image soaked as its customers boot it, alone
// or against a baseline (another image, or the same image on another host
// stack), judged qualified, not qualified or inconclusive (harness/qualify.h),
// with HTML and JUnit reports of its runs.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <exception>
#include <memory>
#include <mutex>

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
  std::string inject = "cloud-init";
  int runs = -1;            // of each side; -1 (not given): 5, or as many as --for allows
  std::string for_time;     // --for: a wall-clock budget
  std::vector<std::string> hosts;
  std::string hosts_file;
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
                      (f.guest == "xen-pv-domu" ? ", bootloader: " + nlohmann::json(f.bootloader).dump() : "") +
                      ", inject: " + nlohmann::json(f.inject).dump() + "}\n";
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

// One run's outcome into its side's tally.
void Tally(const RunOutcome& out, QualifySide* side) {
  ++side->runs;
  if (IsJudged(out.verdict)) ++side->judged;
  if (IsHang(out.verdict)) {
    ++side->hangs;
    side->titles.push_back(out.title);
  }
  if (out.verdict == Verdict::kBootFailure) {
    ++side->boot_failures;
    side->titles.push_back(out.title);
  }
}

int CmdQualify(const QualifyFlags& f) {
  if (!f.against.empty() && !f.host_stack.empty()) {
    throw ConfigError({"--against and --host-stack: one baseline at a time"});
  }
  if (f.runs != -1 && (f.runs < 1 || f.runs > 10000)) throw ConfigError({"--runs: between 1 and 10000"});
  double budget_s = 0;
  if (!f.for_time.empty()) {
    auto d = ParseDuration(f.for_time);
    if (!d || *d < 1) throw ConfigError({"--for: '" + f.for_time + "' is not a duration of at least 1s (e.g. 2h)"});
    budget_s = *d;
  }
  int runs = f.runs > 0 ? f.runs : budget_s > 0 ? 10000 : 5;
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

  // A pool of hosts when named: runs spread over their slots.
  std::unique_ptr<HostPool> pool;
  std::vector<PoolHost> hosts = HostsFromFlags(f.hosts, f.hosts_file);
  if (!hosts.empty()) pool = OpenHostPool(hosts, image);

  // The sides take turns (image, baseline, image, ...), so a host that slows
  // down over the soak weighs on both alike. With --for, runs start while
  // the budget leaves room for one more (the mean run so far) and stop as
  // soon as the verdict is no longer inconclusive.
  auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  int sides = base ? 2 : 1;
  std::mutex mu;
  std::vector<std::string> run_ids;
  QualifySide side, base_side;
  side.name = image_name;
  base_side.name = base_name;
  double run_seconds = 0;
  int finished = 0;
  std::exception_ptr failure;
  RunConcurrently(runs * sides, pool ? pool->total_slots() : 1, [&](int i) {
    bool is_base = i % sides == 1;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (failure) return false;
      if (!QualifyStartsAnotherRun(budget_s, elapsed(), finished ? run_seconds / finished : 0, side,
                                   base ? &base_side : nullptr, f.max_rate, f.confidence)) {
        return false;
      }
    }
    RunRequest req;
    req.config = is_base ? *base : image;
    req.results_root = f.results;
    req.store = f.store;
    req.interrupted = &InterruptFlag();
    auto started = std::chrono::steady_clock::now();
    RunOutcome out;
    try {
      out = RunOnPool(req, pool.get());
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu);
      if (!failure) failure = std::current_exception();
      return false;
    }
    std::lock_guard<std::mutex> lock(mu);
    QualifySide& s = is_base ? base_side : side;
    std::string of = budget_s > 0 && f.runs == -1 ? "" : "/" + std::to_string(runs);
    PrintVerdictLine(s.name + " run " + std::to_string(s.runs + 1) + of + ": ", out);
    if (out.interrupted) {
      if (!failure) failure = std::make_exception_ptr(InterruptedError("qualify interrupted"));
      return false;
    }
    if (out.config_error) {
      if (!failure) failure = std::make_exception_ptr(ConfigError({s.name + ": " + out.title}));
      return false;
    }
    // No run made: every host of the pool is drained, nothing more can run.
    if (out.run_dir.empty()) return false;
    run_ids.push_back(fs::path(out.run_dir).filename().string());
    Tally(out, &s);
    run_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    ++finished;
    return true;
  });
  if (failure) std::rethrow_exception(failure);
  double wall = elapsed();
  if (pool && pool->size() > 1) std::printf("%s", pool->UsageTable(wall).c_str());

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
  q->add_option("--inject", f->inject,
                "how the agent gets into the image: cloud-init (a NoCloud config drive) or overlay (written into "
                "each run's overlay, for images without cloud-init)")->capture_default_str();
  q->add_option("--runs", f->runs, "runs of each side (default 5; with --for, as many as it allows)");
  q->add_option("--for", f->for_time,
                "a wall-clock budget (e.g. 2h): runs start while it leaves room for one more, and stop once the "
                "verdict is decided");
  q->add_option("--host", f->hosts, "a libvirt host to run on (repeatable: a pool)")->type_size(1)->allow_extra_args(false);
  q->add_option("--hosts", f->hosts_file, "a hosts file (hosts: [{uri: URI, slots: N}, ...]): runs spread over its slots");
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
