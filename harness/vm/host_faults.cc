#include "harness/vm/host_faults.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include "base/error.h"
#include "base/fsutil.h"
#include "harness/detect/host_stats.h"

namespace blackout {
namespace {

// The cgroup v1 "tasks" file of the cpu controller's group a thread is in,
// or "" (cgroup v2, or no cpu controller). Under libvirt each vCPU thread has
// its own cpu group, whose weight the scheduler honours before SCHED_IDLE:
// a hog in another group only shares the core with it.
std::string CpuCgroupTasks(pid_t tid) {
  std::string text;
  try {
    text = ReadFile("/proc/" + std::to_string(tid) + "/cgroup");
  } catch (const Error&) {
    return "";
  }
  size_t at = 0;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    std::string line = text.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
    at = nl == std::string::npos ? text.size() : nl + 1;
    size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string controllers = "," + line.substr(a + 1, b - a - 1) + ",";
    if (controllers.find(",cpu,") == std::string::npos) continue;
    return "/sys/fs/cgroup/cpu" + line.substr(b + 1) + "/tasks";
  }
  return "";
}

}  // namespace

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
  std::string group = CpuCgroupTasks(tid_);
  if (group == CpuCgroupTasks(static_cast<pid_t>(syscall(SYS_gettid)))) group.clear();
  hog_ = std::thread([this, one, group] {
    // Beside the vCPU thread in its cpu group (libvirt's), where SCHED_IDLE
    // loses to it; best effort: elsewhere the dose is only weaker.
    if (!group.empty()) {
      std::ofstream tasks(group);  // a cgroup file: written in place
      tasks << syscall(SYS_gettid) << "\n";
    }
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
