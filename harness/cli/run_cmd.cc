// `blackout run` (one run, its verdict line and exit code) and `blackout
// test` (a build judged for git bisect run).
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "base/error.h"
#include "base/log.h"
#include "base/units.h"
#include "harness/bisect/driver.h"
#include "harness/cli/command.h"
#include "harness/config.h"
#include "harness/fleet.h"
#include "harness/run.h"
#include "harness/vm/libvirt_backend.h"
#include "results/stats.h"
#include "base/fsutil.h"
#include "kernels/apt.h"
#include "kernels/catalogue.h"

namespace blackout {

const char kRunExitCodes[] = R"(Exit codes of run:
  0 pass          no heartbeat gap over the stall threshold, workload finished
  1 stall         heartbeats paused past the stall threshold, then resumed
  2 lockup        no heartbeat for the lockup timeout, or a kernel lockup report
  3 crash         panic, Oops, BUG, Xen domain crash
  4 boot-failure  the first heartbeat never came
  5 infra-error   host or harness fault, never the kernel's
  6 build-failure a git kernel did not build
  64 bad usage or config    130 interrupted)";

namespace {

const char kTestExitCodes[] = R"(Exit codes of test (for git bisect run):
  0   good: no run's verdict is in --bad (with --runs or --p: all runs passed)
  1   bad: a run's verdict is in --bad (the runs stop at the first)
  125 skip: boot-failure, infra-error, build-failure, or this commit's kernel
      cannot be used (image missing, not a bzImage, no Xen PV support)
  128 a flag, the run config or the workload file is wrong, or the host failed
      before the run could start (e.g. --results not writable): git bisect run stops
  130 interrupted (git bisect run stops))";

struct RunFlags {
  std::string config_path;
  std::string results = "blackout-results";
  std::string store;
  std::string kernel;
  std::string xen;
  std::string workload;
  std::string duration;
  std::string accel;
  std::string backend;
  std::vector<std::string> hosts;  // --host, repeatable
  std::string hosts_file;
  int repeat = 1;
  bool check = false;
  bool keep_scratch = false;
  bool console = false;
  bool dump_memory = false;
  std::string console_cap;
};

void AddBackendFlags(CLI::App* cmd, RunFlags& f) {
  cmd->add_option("--backend", f.backend, "qemu (QEMU as blackout's child, the default) or libvirt")
      ->check(CLI::IsMember({"qemu", "libvirt"}));
  cmd->add_option("--host", f.hosts,
                  "a libvirt host URI to run on (implies --backend libvirt; default qemu:///system), e.g. "
                  "qemu+ssh://host/system, or a Xen host xen+ssh://host/system (guest xen-pv-domu); repeat it for a pool of hosts")
      ->type_size(1)
      ->allow_extra_args(false);
  cmd->add_option("--hosts", f.hosts_file, "a hosts file (hosts: [{uri: URI, slots: N}, ...]): a pool of hosts");
}

// The pool the flags name (several --host, --hosts, or one --host with
// --repeat, whose runs then share its slots), or empty for one run on one
// host or none. Throws ConfigError.
std::vector<PoolHost> PoolFromFlags(const RunFlags& f) {
  if (f.hosts_file.empty() && (f.hosts.empty() || (f.hosts.size() == 1 && f.repeat <= 1))) return {};
  if (!f.backend.empty() && f.backend != "libvirt") throw ConfigError({"--backend qemu: a pool of hosts is libvirt's"});
  return HostsFromFlags(f.hosts, f.hosts_file);
}

// The run the flags ask for (config file, then flags over it). Throws
// ConfigError.
RunRequest RequestFromFlags(const RunFlags& f) {
  RunConfig config = f.config_path.empty() ? DefaultConfig() : LoadConfig(f.config_path);
  // Flags override the file.
  if (!f.kernel.empty()) config.kernel = KernelSpecByName(f.kernel);
  if (!f.xen.empty()) config.xen = XenSpecByName(f.xen);
  if (!f.workload.empty()) {
    config.workload = WorkloadByNameOrFile(f.workload, config.workload);
    std::vector<std::string> misfits = WorkloadMisfits(config.workload, config.guest.vcpus);
    for (std::string& m : misfits) m = "--workload " + f.workload + ": " + m;
    if (!misfits.empty()) throw ConfigError(misfits);
  }
  if (!f.duration.empty()) {
    auto d = ParseDuration(f.duration);
    if (!d || *d < 1) throw ConfigError({"--duration: '" + f.duration + "' is not a duration of at least 1s"});
    config.workload.duration_s = *d;
  }
  if (!f.accel.empty()) config.accel = f.accel;
  // One host is the run's own; several (or a hosts file) are a pool the
  // runs are placed on (PoolFromFlags).
  std::string host = f.hosts.size() == 1 && f.hosts_file.empty() ? f.hosts[0] : "";
  if (!f.backend.empty() || !host.empty()) {
    if (!f.backend.empty()) config.backend = f.backend;
    if (!host.empty()) {
      config.host = host;
      if (f.backend.empty()) config.backend = "libvirt";
    } else if (config.backend == "qemu") {
      config.host.clear();  // --backend qemu over a config's libvirt host
    }
    std::vector<std::string> problems = SettleBackend(config);
    for (std::string& p : problems) p = (host.empty() ? "--backend: " : "--host: ") + p;
    if (!problems.empty()) throw ConfigError(problems);
  }

  RunRequest req;
  req.config = config;
  req.results_root = f.results;
  req.store = f.store;
  req.keep_scratch = f.keep_scratch;
  if (!f.console_cap.empty()) {
    auto cap = ParseSize(f.console_cap);
    if (!cap || *cap < (64u << 10)) {
      throw ConfigError({"--console-cap: '" + f.console_cap + "' is not a size of at least 64K"});
    }
    req.console_cap = *cap;
  }
  req.echo_console = f.console;
  req.dump_memory = f.dump_memory;
  req.interrupted = &InterruptFlag();
  return req;
}

// The exit code of an outcome.
int ExitCode(const RunOutcome& out) {
  // Interrupted first: a step cut short by Ctrl-C may look like bad input.
  if (out.interrupted) return kExitInterrupted;
  if (out.config_error) return kExitUsage;
  return VerdictExitCode(out.verdict);
}

// Runs it and prints the verdict line; returns run's exit code.
int Execute(const RunRequest& req, HostPool* pool = nullptr) {
  RunOutcome out = RunOnPool(req, pool);
  PrintVerdictLine("", out);
  return ExitCode(out);
}

// --repeat N: N runs of one config (for its hang rate), as many at once as
// the pool has slots (one at a time without a pool). Prints each verdict line
// as its run ends, then the tally, the hang rate and, with a pool, each
// host's share. Exits with the most telling verdict's code: a hang before a
// boot failure before an infra-error before a pass.
int ExecuteRepeated(const RunRequest& req, HostPool* pool, int n) {
  std::mutex mu;
  std::vector<std::optional<RunOutcome>> outs(static_cast<size_t>(n));
  int finished = 0;
  auto t0 = std::chrono::steady_clock::now();
  RunConcurrently(n, pool ? pool->total_slots() : 1, [&](int i) {
    if (InterruptFlag()) return false;
    RunOutcome out;
    bool go_on = true;
    try {
      out = RunOnPool(req, pool);
    } catch (const std::exception& e) {
      // The run could not even be recorded (its store or directory): the
      // rest would fail the same way.
      out.verdict = Verdict::kInfraError;
      out.title = std::string("blackout failed: ") + e.what();
      go_on = false;
    }
    std::lock_guard<std::mutex> lock(mu);
    ++finished;
    PrintVerdictLine("run " + std::to_string(finished) + "/" + std::to_string(n) + ": ", out);
    outs[static_cast<size_t>(i)] = out;
    return go_on && !out.interrupted && !out.config_error;
  });
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::map<Verdict, int> tally;
  bool interrupted = false, config_error = false;
  int judged = 0, hangs = 0, done = 0;
  for (const auto& o : outs) {
    if (!o) continue;
    ++done;
    ++tally[o->verdict];
    interrupted = interrupted || o->interrupted;
    config_error = config_error || o->config_error;
    if (IsJudged(o->verdict)) ++judged;
    if (IsHang(o->verdict)) ++hangs;
  }
  std::string counts;
  for (const auto& [v, k] : tally) counts += (counts.empty() ? "" : ", ") + std::to_string(k) + " " + VerdictName(v);
  std::printf("%d of %d runs in %.0fs (%.1f runs/hour): %s\n", done, n, wall, wall > 0 ? done * 3600.0 / wall : 0,
              counts.empty() ? "none" : counts.c_str());
  if (judged > 0) {
    Interval ci = WilsonInterval(hangs, judged);
    std::printf("hang rate %d/%d = %.1f%% (95%% interval %.1f%%-%.1f%%)\n", hangs, judged, 100.0 * hangs / judged,
                100 * ci.low, 100 * ci.high);
  }
  if (pool) std::printf("%s", pool->UsageTable(wall).c_str());
  std::fflush(stdout);
  if (interrupted) return kExitInterrupted;
  if (config_error) return kExitUsage;
  for (Verdict v : {Verdict::kCrash, Verdict::kLockup, Verdict::kStall, Verdict::kBuildFailure, Verdict::kBootFailure,
                    Verdict::kInfraError}) {
    if (tally.count(v)) return VerdictExitCode(v);
  }
  return done == n ? 0 : VerdictExitCode(Verdict::kInfraError);
}

// `blackout run`: one run, or --repeat N, on this machine, one host or a pool.
int CmdRun(const RunFlags& f) {
  RunRequest req = RequestFromFlags(f);
  std::vector<PoolHost> hosts = PoolFromFlags(f);
  if (f.check) {
    // Everything a run reads before it fetches or boots has been read: say
    // what would run. (Hosts are not contacted, kernels not fetched; a
    // package name apt does not know is said, as `test` says it.)
    const RunConfig& c = req.config;
    if (c.kernel.source == "apt") AptResolve(c.kernel.package, c.kernel.version, c.kernel.archive, CacheDir());
    if (RunGuestType(c).xen && !RunGuestType(c).xen_host) {
      AptResolve(c.xen.package, c.xen.version, c.xen.archive, CacheDir());
    }
    std::printf("config ok: kernel %s%s, guest %s (%d vCPUs), workload %s for %s, backend %s%s%s\n",
                c.kernel.Describe().c_str(), RunGuestType(c).xen && !RunGuestType(c).xen_host ? (", xen " + c.xen.Describe()).c_str() : "",
                c.guest.type.c_str(), c.guest.vcpus,
                c.workload.name.empty() ? "(unnamed)" : c.workload.name.c_str(),
                FormatSeconds(c.workload.duration_s).c_str(), c.backend.c_str(),
                c.host.empty() ? "" : (" on " + c.host).c_str(),
                hosts.empty() ? "" : (", a pool of " + std::to_string(hosts.size()) + " hosts").c_str());
    return 0;
  }
  std::unique_ptr<HostPool> pool;
  if (!hosts.empty()) pool = OpenHostPool(hosts, req.config);
  if (f.repeat > 1) return ExecuteRepeated(req, pool.get(), f.repeat);
  return Execute(req, pool.get());
}

// `blackout test` answers git bisect run: 0 good, 1 bad, 125 skip. git bisect
// run counts 1..127 (but 125) as bad and stops at anything over 127, so a
// problem that is the same for every commit (a flag, the run config, the
// workload file, a results store it cannot open) exits 128: it must stop the
// bisection, not skip every commit (125) or call it bad (64, 5). What depends
// on the commit (its kernel image missing or no bzImage, no Xen PV support, a
// failed build, a boot that never gave a heartbeat) and a run's infra-error
// verdict are skips.
constexpr int kExitStopBisect = 128;
constexpr int kExitSkip = 125;

int StopBisect(const std::vector<std::string>& problems) {
  for (const std::string& p : problems) std::fprintf(stderr, "blackout: %s\n", p.c_str());
  std::fprintf(stderr, "blackout: test exits %d so that git bisect run stops\n", kExitStopBisect);
  return kExitStopBisect;
}

struct TestFlags {
  std::vector<std::string> bad = {"lockup", "stall", "crash"};
  int runs = 0;        // at most this many runs; 0: from p, else one
  double p = 0;        // the hang rate per run of a bad build, when known
  double alpha = 0.01; // with p: the chance a bad build passes them all
};

// One run, or up to N for a hang that shows only sometimes (bad at the first
// bad verdict, good when all pass): git bisect run's model, with N chosen
// from the hang rate instead of guessed.
int CmdTest(const RunFlags& f, const TestFlags& t) {
  std::set<Verdict> bad;
  RunRequest req;
  std::vector<PoolHost> hosts;
  int runs = 1;
  try {
    for (const std::string& b : t.bad) {
      auto v = ParseVerdict(b);
      if (!v || !IsHang(*v)) throw ConfigError({"--bad: '" + b + "' is not one of stall, lockup, crash"});
      bad.insert(*v);
    }
    if (t.runs > 0 && t.p > 0) throw ConfigError({"give --runs or --p, not both"});
    if (t.p > 0) runs = RunsToTrust(t.p, t.alpha);
    if (t.runs > 0) runs = t.runs;
    req = RequestFromFlags(f);
    hosts = PoolFromFlags(f);
    // A package kernel is the same for every commit: a name apt does not
    // know (a typo) must stop the bisection, not skip every commit.
    if (req.config.kernel.source == "apt") {
      AptResolve(req.config.kernel.package, req.config.kernel.version, req.config.kernel.archive, CacheDir());
    }
  } catch (const ConfigError& e) {
    return StopBisect(e.problems());
  }
  std::unique_ptr<HostPool> pool;
  if (!hosts.empty()) pool = OpenHostPool(hosts, req.config);
  for (int i = 1; i <= runs; ++i) {
    std::string which = "run " + std::to_string(i) + " of " + std::to_string(runs);
    if (runs > 1) Log("test: " + which);
    int code;
    try {
      code = Execute(req, pool.get());
    } catch (const Error& e) {
      return StopBisect({e.what()});
    }
    if (code == kExitInterrupted) return code;
    if (code == kExitUsage || code == VerdictExitCode(Verdict::kBootFailure) ||
        code == VerdictExitCode(Verdict::kInfraError) || code == VerdictExitCode(Verdict::kBuildFailure)) {
      Log("test: skip (" + which + ")");
      return kExitSkip;
    }
    for (Verdict v : bad) {
      if (code == VerdictExitCode(v)) {
        Log("test: bad (" + which + ")");
        return 1;
      }
    }
  }
  if (runs > 1) {
    std::string why;
    if (t.p > 0) {
      char buf[160];
      std::snprintf(buf, sizeof buf, ": a build that hangs in %.0f%% of its runs passes %d in a row %.2f%% of the time",
                    100 * t.p, runs, 100 * std::pow(1 - t.p, runs));
      why = buf;
    }
    Log("test: good (" + std::to_string(runs) + " runs passed)" + why);
  }
  return 0;
}

}  // namespace

void PrintVerdictLine(const std::string& prefix, const RunOutcome& out) {
  ClearStatus();
  // A config error is recorded as an infra-error run (nothing about the
  // kernel was learnt) but said as what it is: the input's to mend.
  std::printf("%s%s: %s%s\n", prefix.c_str(), out.config_error ? "config error" : VerdictName(out.verdict),
              TerminalSafe(out.title).c_str(),
              out.run_dir.empty() ? "" : (" (" + out.run_dir + ")").c_str());
  std::fflush(stdout);
}

void AddRunCommands(CLI::App& app, CommandTable& table) {
  auto rf = std::make_shared<RunFlags>();
  CLI::App* run = app.add_subcommand("run", "boot a guest, run a workload, print the verdict");
  run->add_option("-c,--config", rf->config_path, "YAML run config (default: the embedded default)");
  run->add_option("--results", rf->results, "results root; each run gets a directory in it")
      ->capture_default_str();
  AddStoreOption(run, rf->store);
  run->add_option("--kernel", rf->kernel, "catalogue name or package[=version] (default: linux-image-amd64)");
  run->add_option("--xen", rf->xen,
                  "Xen for Xen guest types: catalogue name (xen-4.14, xen-4.17, xen-4.20) or "
                  "package[=version] (default: xen-hypervisor-4.17-amd64)");
  run->add_option("--workload", rf->workload,
                  "built-in workload name (see: blackout workloads list), or a workload YAML file");
  run->add_option("--duration", rf->duration, "workload duration, e.g. 60s, 10m, 8h");
  run->add_option("--accel", rf->accel, "auto, kvm or tcg")->check(CLI::IsMember({"auto", "kvm", "tcg"}));
  AddBackendFlags(run, *rf);
  run->add_flag("--keep-scratch", rf->keep_scratch, "keep the initramfs and sockets in /tmp");
  run->add_option("--console-cap", rf->console_cap,
                  "keep at most this much of console.raw and console.log: the first quarter and the "
                  "latest three quarters (default 64M)");
  run->add_flag("--console", rf->console, "show the guest console (without heartbeats) on stderr");
  run->add_flag("--dump-memory", rf->dump_memory, "on a bad verdict, save guest memory (ELF) as evidence");
  run->footer(kRunExitCodes);
  run->add_option("--repeat", rf->repeat,
                  "N runs of this config for its hang rate, as many at once as the hosts have slots")
      ->check(CLI::Range(1, 100000));
  run->add_flag("--check", rf->check,
                "check the config and flags and print what would run, without fetching or booting "
                "(exit 0, or 64 with the problems)");
  table.Add(run, [rf] { return CmdRun(*rf); });

  auto tf = std::make_shared<RunFlags>();
  auto testf = std::make_shared<TestFlags>();
  CLI::App* test = app.add_subcommand(
      "test", "a build judged for `git bisect run`: exit 0 good, 1 bad, 125 skip, 128 stop (see test --help)");
  test->add_option("-c,--config", tf->config_path, "YAML run config");
  test->add_option("--results", tf->results, "results root")->capture_default_str();
  AddStoreOption(test, tf->store);
  test->add_option("--kernel", tf->kernel, "catalogue name or package[=version]");
  test->add_option("--xen", tf->xen, "Xen: catalogue name or package[=version]");
  test->add_option("--workload", tf->workload, "built-in workload name, or a workload YAML file");
  test->add_option("--duration", tf->duration, "workload duration");
  AddBackendFlags(test, *tf);
  test->add_option("--bad", testf->bad, "verdicts that count as bad")->capture_default_str();
  test->add_option("--runs", testf->runs, "run up to N times: bad at the first bad verdict, good if all pass")
      ->check(CLI::Range(1, 10000));
  test->add_option("--p", testf->p,
                   "the hang rate per run of a bad build, if known: runs as often as it takes for a bad "
                   "build to pass them all with at most --alpha")
      ->check(CLI::Range(0.001, 1.0));
  test->add_option("--alpha", testf->alpha, "with --p: the chance a bad build passes")
      ->check(CLI::Range(1e-9, 0.5))
      ->capture_default_str();
  test->footer(kTestExitCodes);
  table.Add(test, [tf, testf] { return CmdTest(*tf, *testf); }, [] { return StopBisect({}); });
}

}  // namespace blackout
