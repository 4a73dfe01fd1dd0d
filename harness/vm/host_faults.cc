#include "harness/vm/host_faults.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "base/error.h"
#include "harness/detect/host_stats.h"

namespace blackout {

VcpuStarvation::VcpuStarvation(pid_t vm_pid, int vcpu_index) {
  tid_ = FindVcpuThread(vm_pid, vcpu_index);
  if (tid_ < 0) throw InfraError("starve vCPU " + std::to_string(vcpu_index) + ": no such QEMU thread");
  int ncpu = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  int core = ncpu - 1;
  policy_ = sched_getscheduler(tid_);
  sched_getparam(tid_, &param_);
  sched_getaffinity(tid_, sizeof affinity_, &affinity_);
  sched_getaffinity(0, sizeof own_affinity_, &own_affinity_);

  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(core, &one);
  sched_param idle{};
  if (sched_setaffinity(tid_, sizeof one, &one) != 0 || sched_setscheduler(tid_, SCHED_IDLE, &idle) != 0) {
    throw InfraError("starve vCPU thread " + std::to_string(tid_) + ": " + std::strerror(errno));
  }
  if (ncpu > 1) {
    cpu_set_t others;
    CPU_ZERO(&others);
    for (int c = 0; c < ncpu; ++c) {
      if (c != core) CPU_SET(c, &others);
    }
    sched_setaffinity(0, sizeof others, &others);
  }
  hog_ = std::thread([this, one] {
    sched_setaffinity(0, sizeof one, &one);
    setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), -20);
    while (!stop_.load(std::memory_order_relaxed)) {
    }
  });
}

VcpuStarvation::~VcpuStarvation() {
  stop_ = true;
  if (hog_.joinable()) hog_.join();
  sched_setscheduler(tid_, policy_, &param_);
  sched_setaffinity(tid_, sizeof affinity_, &affinity_);
  sched_setaffinity(0, sizeof own_affinity_, &own_affinity_);
}

}  // namespace blackout
