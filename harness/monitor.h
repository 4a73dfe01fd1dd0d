// The console monitor: the loop between a running VM and the detector. It
// timestamps console bytes with the host's monotonic clock as they arrive,
// feeds them to the detector and the run directory, reports VM exit, user
// interrupts and injected host faults, and returns when the detector has
// decided. It keeps no verdict logic of its own.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "harness/vm/backend.h"
#include "harness/config.h"
#include "harness/detect/detector.h"
#include "results/run_dir.h"

namespace blackout {

using HostClock = std::chrono::steady_clock;

struct MonitorOptions {
  double workload_s = 0;  // the workload's duration, for the status line
  std::vector<HostFault> inject;
  const std::atomic<bool>* interrupted = nullptr;
  bool echo_console = false;  // copy guest console lines to stderr (--console)
};

// Returns the host time (seconds since start) at which the detector decided.
double Monitor(Instance& vm, Detector& detector, RunDir& dir, HostClock::time_point start,
               const MonitorOptions& options);

// Reads console bytes for `seconds` into dir (not the detector) and returns
// them: used while gathering evidence after the verdict.
std::string DrainConsole(Instance& vm, RunDir& dir, HostClock::time_point start, double seconds,
                         const std::string& until_text = "");

// Where a run stands, from its events, for the status line.
struct RunProgress {
  std::optional<double> workload_start;  // host seconds
  std::string phase;                     // the workload phase running now
  int gaps = 0;                          // heartbeat gaps so far
};

// Writes pending detector events to the run directory, tells the user about
// the notable ones and updates progress (when given).
void FlushEvents(Detector& detector, RunDir& dir, RunProgress* progress = nullptr);

// The status line of a run at host time t.
std::string ProgressText(const RunProgress& progress, std::optional<double> first_heartbeat, double t,
                         double workload_s);

}  // namespace blackout
