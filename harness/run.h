// One run, top to bottom: resolve the kernel and hypervisor, assemble the
// boot, start the VM, monitor it to a verdict, gather evidence on a bad one,
// stop the VM and write the run directory.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "harness/config.h"
#include "results/verdict.h"

namespace blackout {

struct RunRequest {
  RunConfig config;
  std::string results_root = "blackout-results";
  std::string cache_dir;  // empty: CacheDir()
  bool keep_scratch = false;
  uint64_t console_cap = 64ull << 20;  // per console file; see results/run_dir.h
  bool echo_console = false;
  bool dump_memory = false;  // full guest memory (ELF) into evidence/ on a bad verdict
  const std::atomic<bool>* interrupted = nullptr;
  std::string bisection;  // the bisection this run is a step of, if any
};

struct RunOutcome {
  Verdict verdict = Verdict::kInfraError;
  std::string title;
  std::string run_dir;
  bool config_error = false;  // the user's input was wrong: exit 64, not a verdict
  bool interrupted = false;
};

// Never throws for a run's own failures: they become the outcome (and are in
// result.json). Throws only when the run directory itself cannot be made or
// the results store cannot be opened (then nothing boots). The run is
// indexed in the store when it starts and when it ends.
RunOutcome RunOnce(const RunRequest& request);

// A random hex nonce for the heartbeat protocol.
std::string NewNonce();

}  // namespace blackout
