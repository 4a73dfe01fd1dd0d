// Evidence on a bad verdict, gathered while the VM still runs: the guest's
// own view (sysrq blocked tasks and all-CPU backtraces through the agent, or
// dom0's xl view of a domU), the vCPU registers from the backend, Xen's dumps
// through its debug keys, and optionally the whole guest memory. Each item
// goes to the run's evidence/ directory; one that cannot be had says why.
#pragma once

#include <string>

#include "guests/guest_type.h"
#include "harness/monitor.h"
#include "harness/vm/backend.h"
#include "results/run_dir.h"

namespace blackout {

struct EvidenceRequest {
  const GuestType* type = nullptr;
  std::string nonce;
  bool guest_was_up = false;  // a heartbeat came: the agent may still answer
  bool dump_memory = false;
};

void GatherEvidence(Instance& vm, RunDir& dir, HostClock::time_point start, const EvidenceRequest& request);

}  // namespace blackout
