// The agent's reader of workload.conf (grammar in base/protocol.h, written by
// the host's workloads/workload.cc AgentConf): pure, so the host's tests read
// back what the host writes.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "guests/agent/agent.h"

namespace blackout::agent {

struct Module {
  std::string path;
  std::string params;
};

struct Disk {
  int index = 0;
  std::string device;
  std::string fs;
};

struct Phase {
  std::string name;
  double duration_s = 0;
  double intensity = 1;
  std::vector<std::string> only;  // kinds that run; empty = all
};

struct Workload {
  double duration_s = 60;
  double report_s = 10;
  std::vector<Phase> phases;
  std::vector<Module> modules;
  std::vector<Disk> disks;
  std::vector<std::unique_ptr<Stressor>> stressors;
  std::vector<Fault> faults;
};

// key=value words up to the end of the line or a "--"; what follows "--" goes

// Parses workload.conf text into w. kinds: the stressor kinds this agent
// runs; ncpus: the guest's vCPUs (a stressor placed on another is an error).
// On a problem returns false with *error a one-word reason and its line.
bool ParseWorkloadConf(const std::string& text, const std::set<std::string>& kinds, int ncpus, Workload* w,
                       std::string* error);

// Running it (workload.cc): the file at path, read with this agent's
// stressors and vCPUs; the modules and disks it needs; the workload itself.
bool LoadWorkload(const char* path, Workload* w, std::string* error);
bool LoadModules(const std::vector<Module>& modules);
bool PrepareDisks(const std::vector<Disk>& disks);
void RunWorkload(Workload& w);

}  // namespace blackout::agent
