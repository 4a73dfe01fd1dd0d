// The console monitor: the loop between a running VM and the detector. It
// timestamps console bytes with the host's monotonic clock as they arrive,
// feeds them to the detector and the run directory, reports VM exit, user
// interrupts and injected host faults, and returns when the detector has
// decided. It keeps no verdict logic of its own.
#pragma once

#include <atomic>
#include <chrono>
#include <vector>

#include "harness/vm/backend.h"
#include "harness/config.h"
#include "harness/detect/detector.h"
#include "results/run_dir.h"

namespace blackout {

using HostClock = std::chrono::steady_clock;

struct MonitorOptions {
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

// Writes pending detector events to the run directory and tells the user about
// the notable ones.
void FlushEvents(Detector& detector, RunDir& dir);

}  // namespace blackout
