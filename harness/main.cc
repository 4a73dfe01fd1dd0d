// blackout: finds and bisects kernel hangs in Xen PV guests.
//
// main() parses flags, dispatches to a subcommand and maps its outcome to an
// exit code. Everything else lives in the libraries the tests link.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <iostream>

#include "base/error.h"
#include "base/log.h"
#include "base/units.h"
#include "harness/config.h"
#include "harness/run.h"
#include "results/verdict.h"
#include "workloads/workload.h"

#ifndef BLACKOUT_VERSION
#define BLACKOUT_VERSION "dev"
#endif

namespace blackout {
namespace {

std::atomic<bool> g_interrupted{false};

void OnSignal(int) { g_interrupted = true; }

void InstallSignalHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

const char kExitCodes[] = R"(Exit codes of run:
  0 pass          no heartbeat gap over the stall threshold, workload finished
  1 stall         heartbeats paused past the stall threshold, then resumed
  2 lockup        no heartbeat for the lockup timeout, or a kernel lockup report
  3 crash         panic, Oops, BUG, Xen domain crash
  4 boot-failure  the first heartbeat never came
  5 infra-error   host or harness fault, never the kernel's
  64 bad usage or config    130 interrupted)";

struct RunFlags {
  std::string config_path;
  std::string results = "blackout-results";
  std::string kernel;
  std::string workload;
  std::string duration;
  std::string accel;
  bool keep_scratch = false;
  bool console = false;
  bool dump_memory = false;
};

int CmdRun(const RunFlags& f) {
  RunConfig config = f.config_path.empty() ? DefaultConfig() : LoadConfig(f.config_path);
  // Flags override the file.
  if (!f.kernel.empty()) {
    size_t eq = f.kernel.find('=');
    config.kernel.package = f.kernel.substr(0, eq);
    config.kernel.version = eq == std::string::npos ? "" : f.kernel.substr(eq + 1);
  }
  if (!f.workload.empty()) {
    const Workload* w = FindWorkload(f.workload);
    if (!w) throw ConfigError({"--workload: unknown workload '" + f.workload + "' (see blackout workloads)"});
    config.workload = *w;
  }
  if (!f.duration.empty()) {
    auto d = ParseDuration(f.duration);
    if (!d || *d < 1) throw ConfigError({"--duration: '" + f.duration + "' is not a duration of at least 1s"});
    config.workload.duration_s = *d;
  }
  if (!f.accel.empty()) config.accel = f.accel;

  RunRequest req;
  req.config = config;
  req.results_root = f.results;
  req.keep_scratch = f.keep_scratch;
  req.echo_console = f.console;
  req.dump_memory = f.dump_memory;
  req.interrupted = &g_interrupted;
  RunOutcome out = RunOnce(req);
  std::printf("%s: %s (%s)\n", VerdictName(out.verdict), out.title.c_str(), out.run_dir.c_str());
  std::fflush(stdout);
  if (out.config_error) return kExitUsage;
  if (out.interrupted) return kExitInterrupted;
  return VerdictExitCode(out.verdict);
}

int CmdWorkloads() {
  for (const Workload& w : BuiltinWorkloads()) {
    std::printf("%-10s %6s  %s\n", w.name.c_str(), FormatSeconds(w.duration_s).c_str(), w.description.c_str());
  }
  return 0;
}

int Main(int argc, char** argv) {
  CLI::App app{"blackout: boots Xen PV guests, drives IO and scheduler stress, and detects\n"
               "lockups and short freezes from per-vCPU heartbeats on the serial console."};
  app.footer(kExitCodes);
  app.set_version_flag("--version", BLACKOUT_VERSION);
  app.require_subcommand(1);
  bool quiet = false;
  app.add_flag("-q,--quiet", quiet, "print only the verdict line");

  RunFlags rf;
  CLI::App* run = app.add_subcommand("run", "boot a guest, run a workload, print the verdict");
  run->add_option("-c,--config", rf.config_path, "YAML run config (default: the embedded default)");
  run->add_option("--results", rf.results, "results root; each run gets a directory in it")
      ->capture_default_str();
  run->add_option("--kernel", rf.kernel, "kernel package[=version] (default: linux-image-amd64)");
  run->add_option("--workload", rf.workload, "built-in workload name (see: blackout workloads)");
  run->add_option("--duration", rf.duration, "workload duration, e.g. 60s, 10m, 8h");
  run->add_option("--accel", rf.accel, "auto, kvm or tcg")->check(CLI::IsMember({"auto", "kvm", "tcg"}));
  run->add_flag("--keep-scratch", rf.keep_scratch, "keep the initramfs and sockets in /tmp");
  run->add_flag("--console", rf.console, "show the guest console (without heartbeats) on stderr");
  run->add_flag("--dump-memory", rf.dump_memory, "on a bad verdict, save guest memory (ELF) as evidence");
  run->footer(kExitCodes);

  CLI::App* workloads = app.add_subcommand("workloads", "list the built-in workloads");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  SetLogQuiet(quiet);
  InstallSignalHandlers();
  try {
    if (*run) return CmdRun(rf);
    if (*workloads) return CmdWorkloads();
  } catch (const ConfigError& e) {
    for (const std::string& p : e.problems()) std::fprintf(stderr, "blackout: %s\n", p.c_str());
    return kExitUsage;
  } catch (const Error& e) {
    std::fprintf(stderr, "blackout: %s\n", e.what());
    return VerdictExitCode(Verdict::kInfraError);
  }
  return kExitUsage;
}

}  // namespace
}  // namespace blackout

int main(int argc, char** argv) { return blackout::Main(argc, argv); }
