// Host-side accounting for a running VM, so a freeze the host caused is not
// blamed on the kernel: how long the VM's vCPU threads waited for a host CPU
// (run delay, /proc/PID/task/TID/schedstat) and the host's CPU pressure
// (/proc/pressure/cpu). Under TCG and KVM a descheduled vCPU thread lets guest
// time run on, so the two clocks alone cannot tell this from a guest stall.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace blackout {

struct HostSample {
  double t = 0;                     // host seconds since the run started
  std::vector<double> vcpu_wait_s;  // run delay of each vCPU thread, by QEMU CPU index
  double psi_some_s = -1;           // host CPU pressure "some" total; -1 if unavailable
};

class HostSampler {
 public:
  explicit HostSampler(pid_t vm_pid) : pid_(vm_pid) {}
  // Four times a second for a whole run: which thread is which vCPU is
  // remembered (and read again every 16 samples, for threads that came or
  // were named since), so a sample reads little more than the schedstats.
  HostSample Sample(double t);

 private:
  pid_t pid_;
  std::map<pid_t, int> vcpu_of_;  // thread id -> vCPU index, or -1
  unsigned samples_ = 0;
};

// Parsers, exposed for tests: schedstat's second field (run delay, ns) and
// /proc/pressure/cpu's "some ... total=US".
double SchedstatWaitSeconds(const std::string& schedstat);
double PsiSomeSeconds(const std::string& pressure);
// QEMU's vCPU thread names: "CPU 0/TCG", "CPU 1/KVM" -> 0, 1; else -1.
int VcpuThreadIndex(const std::string& comm);
// The thread id of QEMU's vCPU thread `index` in process pid, or -1.
pid_t FindVcpuThread(pid_t pid, int index);

}  // namespace blackout
