// Heartbeats: one thread per vCPU, pinned and SCHED_FIFO, prints a sealed record every interval.
#include <sched.h>
#include <time.h>

#include <cerrno>
#include <cstdint>

#include "base/protocol.h"
#include "guests/agent/agent.h"

namespace blackout::agent {

void HeartbeatLoop(int cpu, int interval_ms) {
  if (!PinTo(cpu)) {
    Status("error", "reason=pin-heartbeat cpu=" + std::to_string(cpu));
    return;
  }
  SetFifo(50);
  uint64_t seq = 0;
  timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  const long interval_ns = static_cast<long>(interval_ms) * 1000000L;
  for (;;) {
    WriteLine(blackout::protocol::FormatHeartbeat(g_nonce, cpu, seq++, NowNs()));
    next.tv_nsec += interval_ns;
    while (next.tv_nsec >= 1000000000L) {
      next.tv_nsec -= 1000000000L;
      next.tv_sec += 1;
    }
    // After a freeze, resume the cadence from now instead of bursting to catch up:
    // a burst would hide how long the vCPU was silent.
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > next.tv_sec + 1) next = now;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr) == EINTR) {
    }
  }
}

}  // namespace blackout::agent
