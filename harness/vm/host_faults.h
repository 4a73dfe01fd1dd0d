// Faults the host injects into a running VM from outside the guest, to check
// that blackout sees and attributes them: host contention on one vCPU thread.
// (Pausing the whole VM goes through the backend's QMP stop/cont.)
#pragma once

#include <sched.h>
#include <sys/types.h>

#include <atomic>
#include <thread>

namespace blackout {

// Starves one of the VM's vCPU threads for as long as the object lives: the
// thread becomes SCHED_IDLE and is pinned to one host core, where a nice -20
// busy thread runs; our own thread moves off that core meanwhile. This is what
// another busy guest on a 2-core host does to a TCG guest, in a controlled
// dose. The destructor restores the thread's policy and affinity.
class VcpuStarvation {
 public:
  // Throws InfraError when the vCPU thread is not found or cannot be moved.
  VcpuStarvation(pid_t vm_pid, int vcpu_index);
  ~VcpuStarvation();
  VcpuStarvation(const VcpuStarvation&) = delete;
  VcpuStarvation& operator=(const VcpuStarvation&) = delete;

 private:
  pid_t tid_ = -1;
  int policy_ = SCHED_OTHER;
  sched_param param_{};
  cpu_set_t affinity_{};
  cpu_set_t own_affinity_{};
  std::atomic<bool> stop_{false};
  std::thread hog_;
};

}  // namespace blackout
