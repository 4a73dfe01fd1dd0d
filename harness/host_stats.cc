#include "harness/host_stats.h"

#include <dirent.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace blackout {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

double SchedstatWaitSeconds(const std::string& schedstat) {
  std::istringstream in(schedstat);
  unsigned long long run = 0, wait = 0;
  if (!(in >> run >> wait)) return 0;
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

bool IsVcpuThread(const std::string& comm) {
  return comm.rfind("CPU ", 0) == 0 && comm.find('/') != std::string::npos;
}

HostSample HostSampler::Sample(double t) const {
  HostSample s;
  s.t = t;
  std::string task_dir = "/proc/" + std::to_string(pid_) + "/task";
  if (DIR* d = opendir(task_dir.c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::string base = task_dir + "/" + e->d_name;
      std::string comm = Slurp(base + "/comm");
      if (!IsVcpuThread(comm)) continue;
      s.vcpu_wait_s += SchedstatWaitSeconds(Slurp(base + "/schedstat"));
      ++s.vcpu_threads;
    }
    closedir(d);
  }
  s.psi_some_s = PsiSomeSeconds(Slurp("/proc/pressure/cpu"));
  return s;
}

}  // namespace blackout
