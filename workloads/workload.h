// A workload: which in-guest stressors run, how hard, for how long, and which
// faults are injected on purpose. Parsed from YAML (the built-in definitions in
// workloads/*.yaml are compiled into blackout) and rendered into the agent's
// workload.conf.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/yaml_reader.h"

namespace blackout {

struct StressorSpec {
  std::string kind;
  std::map<std::string, std::string> params;  // threads, cpus and the kind's knobs
  // Standard tools (stress-ng, fio): the tool's own arguments, split at spaces,
  // and for fio an optional job file's text (packed as /etc/blackout/job-N.fio).
  std::vector<std::string> args;
  std::string job;
};

// The standard stress tools a workload may name, and where they live on the
// host (copied into the guest with their shared-library closure).
bool IsToolKind(const std::string& kind);
std::string ToolHostPath(const std::string& kind);

// A stretch of the workload with its own intensity: the share of each
// stressor's threads that run (at least one), optionally only some kinds.
struct PhaseSpec {
  std::string name;
  double duration_s = 0;
  double intensity = 1;
  std::vector<std::string> only;  // stressor kinds that run; empty = all
};

struct FaultSpec {
  std::string kind;     // freeze | hang | panic | kmsg
  double at_s = 0;      // after the workload starts
  double length_s = 0;  // freeze, hang
  int vcpu = 0;         // freeze only
  double timeout_s = 10;  // hang: the kernel's hung-task timeout to set
  double probability = 1;  // the agent fires it in this share of runs (a flaky bug)
  double delay_mean_s = 0;  // > 0: fires at `at` plus an exponential delay of this mean, drawn per boot
  std::string text;        // kmsg: the line written into the kernel log
};

// A kernel module the guest must load before the workload (with parameters).
struct ModuleRequest {
  std::string name;
  std::string params;
};

// A virtual disk the workload asks for: made with qemu-img in the run's
// scratch directory, attached as virtio-blk (/dev/vda, /dev/vdb, ...).
struct DiskSpec {
  uint64_t size = 256ull << 20;
  std::string format = "raw";  // raw | qcow2
  std::string cache = "none";  // QEMU cache mode: none | writeback | writethrough | directsync | unsafe
  std::string fs = "ext4";     // ext4 (made and mounted at /mnt/diskN) | none (the raw device)
};

struct Workload {
  std::string name;
  std::string description;
  double duration_s = 60;
  std::vector<StressorSpec> stressors;
  std::vector<FaultSpec> faults;
  std::vector<DiskSpec> disks;
  // Phases run in order and repeat until the duration ends; none = all
  // stressors at full intensity throughout.
  std::vector<PhaseSpec> phases;
  double report_s = 10;  // the agent reports per-stressor counters this often
};

// The built-in workloads (workloads/*.yaml), sorted by name.
const std::vector<Workload>& BuiltinWorkloads();
// The YAML text a built-in was read from, or "" when there is no such built-in.
std::string BuiltinWorkloadYaml(const std::string& name);
// nullptr when there is no such built-in.
const Workload* FindWorkload(const std::string& name);

// Reads a workload mapping. With `base` set, the node may override parts of it
// (duration, stressors, faults) and name/description are optional. Problems go
// to `reader`.
Workload ParseWorkload(const YAML::Node& node, YamlReader& reader, const Workload* base);

// How workload disks reach the guest, and its name for them.
enum class DiskBus {
  kVirtio,      // virtio-blk: /dev/vda, /dev/vdb, ...
  kXenBlkfront  // a Xen PV domU's xen-blkfront: /dev/xvda, ...
};

// The agent's workload.conf for this workload.
std::string AgentConf(const Workload& workload, DiskBus bus = DiskBus::kVirtio);

// Extra files the workload needs in the guest (fio job files), path -> text.
std::map<std::string, std::string> WorkloadFiles(const Workload& workload);

// Host binaries the workload runs in the guest (stress-ng, fio), each once.
std::vector<std::string> WorkloadTools(const Workload& workload);

// The kernel modules the workload needs in the guest (a hang fault needs a
// ramdisk and a file system that can be frozen).
std::vector<ModuleRequest> RequiredModules(const Workload& workload, DiskBus bus = DiskBus::kVirtio);

}  // namespace blackout
