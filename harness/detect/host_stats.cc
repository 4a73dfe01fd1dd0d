#include "harness/detect/host_stats.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

namespace blackout {
namespace {

// A small /proc file, or "" when it is gone (a thread that ended).
std::string Slurp(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

}  // namespace

double SchedstatWaitSeconds(const std::string& schedstat) {
  // "RUN_NS WAIT_NS SLICES": the second number.
  const char* p = schedstat.c_str();
  char* end = nullptr;
  std::strtoull(p, &end, 10);
  if (end == p || (*end != ' ' && *end != '\t')) return 0;
  p = end;
  unsigned long long wait = std::strtoull(p, &end, 10);
  if (end == p) return 0;
  return static_cast<double>(wait) / 1e9;
}

double PsiSomeSeconds(const std::string& pressure) {
  size_t at = pressure.find("some ");
  if (at == std::string::npos) return -1;
  size_t total = pressure.find("total=", at);
  size_t eol = pressure.find('\n', at);
  if (total == std::string::npos || (eol != std::string::npos && total > eol)) return -1;
  return std::strtod(pressure.c_str() + total + 6, nullptr) / 1e6;
}

int VcpuThreadIndex(const std::string& comm) {
  if (comm.rfind("CPU ", 0) != 0 || comm.find('/') == std::string::npos) return -1;
  return std::atoi(comm.c_str() + 4);
}

pid_t FindVcpuThread(pid_t pid, int index) {
  std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
  pid_t found = -1;
  if (DIR* d = opendir(task_dir.c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      if (VcpuThreadIndex(Slurp(task_dir + "/" + e->d_name + "/comm")) == index) found = std::atoi(e->d_name);
    }
    closedir(d);
  }
  return found;
}

HostSample HostSampler::Sample(double t) {
  HostSample s;
  s.t = t;
  if (samples_++ % 16 == 0) vcpu_of_.clear();
  std::string task_dir = "/proc/" + std::to_string(pid_) + "/task";
  if (DIR* d = opendir(task_dir.c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::string base = task_dir + "/" + e->d_name;
      pid_t tid = std::atoi(e->d_name);
      auto known = vcpu_of_.find(tid);
      int index = known != vcpu_of_.end() ? known->second : (vcpu_of_[tid] = VcpuThreadIndex(Slurp(base + "/comm")));
      if (index < 0 || index > 4096) continue;
      if (s.vcpu_wait_s.size() <= static_cast<size_t>(index)) s.vcpu_wait_s.resize(index + 1, 0);
      s.vcpu_wait_s[static_cast<size_t>(index)] = SchedstatWaitSeconds(Slurp(base + "/schedstat"));
    }
    closedir(d);
  }
  s.psi_some_s = PsiSomeSeconds(Slurp("/proc/pressure/cpu"));
  return s;
}

}  // namespace blackout
