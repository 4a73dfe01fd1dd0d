// The run configuration: what `blackout run` boots, drives and judges. Read
// from YAML (every problem reported at once with file:line:column) or taken
// from the embedded defaults.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "guests/boot.h"
#include "kernels/kernel.h"
#include "workloads/workload.h"

namespace blackout {

// Configs, workload files and bisect plans are small; a bigger one is a
// mistake (or /dev/zero) and is refused with its size before it is read.
inline constexpr uint64_t kMaxConfigBytes = 1 << 20;

struct Thresholds {
  double stall_s = 2;       // a heartbeat gap longer than this is a freeze
  double lockup_s = 30;     // silence longer than this is a lockup
  double boot_s = 300;      // the first heartbeat must come within this
  int heartbeat_ms = 200;   // the agent's heartbeat interval
};

// A fault the host injects into the VM (tests, and checking a setup).
struct HostFault {
  std::string kind;  // "pause": QMP stop, wait, cont; "starve": one vCPU thread starved
  double at_s = 0;   // after the first heartbeat
  double length_s = 0;
  int cpu = 0;       // starve: which of QEMU's vCPU threads
};

struct RunConfig {
  std::string source = "<default>";
  KernelSpec kernel;
  XenSpec xen;  // xen-hypervisor-4.17-amd64 from the host's apt by default
  GuestSpec guest;
  Workload workload;
  Thresholds thresholds;
  std::string accel = "auto";  // auto | kvm | tcg
  std::vector<HostFault> inject;
  // How the VM is started: "qemu" (QEMU as blackout's child) or "libvirt" (a
  // transient domain on `host`, a libvirt URI; qemu:///system by default).
  std::string backend = "qemu";
  std::string host;
};

// Checks a backend choice (flags or YAML): a host URI implies libvirt and
// must be one blackout can use; libvirt without a host means this machine's
// qemu:///system. Returns the problems (empty when fine) and fills in the
// implied parts.
std::vector<std::string> SettleBackend(RunConfig& config);

// The guest type as the run's host runs it: on a Xen host (a xen:// URI) a
// xen-pv-domu is the host's own domU (XenHostDomU), not one under nested Xen.
const GuestType& RunGuestType(const RunConfig& config);

// The embedded default: the current Debian kernel as PV dom0 on Xen 4.17, 2
// vCPUs, the default workload for 60 s.
RunConfig DefaultConfig();

// Parses YAML text; `source` names it in messages. Throws ConfigError.
RunConfig ParseConfig(const std::string& text, const std::string& source);

// Why a workload cannot run in an image guest (empty: it can): host tools and
// files blackout would copy into an initramfs, the hang fault's ramdisk.
std::vector<std::string> ImageWorkloadMisfits(const Workload& workload);
// Why an image guest cannot run on the Xen host `uri` (through libvirt's
// libxl driver): said at parse time and again when a pool places a run there.
std::string ImageOnXenHostProblem(const std::string& uri);
// The same from a parsed node; problems go to the reader (no checkpoint).
// `workload: FILE` (a value ending in .yaml or .yml, or holding a '/') is read
// relative to workload_dir; without one (a bisect plan, whose stored text must
// be all that a resume or a replay needs) such a value is an error.
RunConfig ParseConfigNode(const YAML::Node& node, YamlReader& reader,
                          const std::optional<std::string>& workload_dir = std::nullopt);
// A kernel given as a catalogue name, "package", or {package, version} with
// its archive (suite, archive, components, keyring), or git/deb/image.
void ParseKernelSpec(const YAML::Node& node, YamlReader& reader, KernelSpec* spec);
// A Xen given as a catalogue name (xen-4.14), a hypervisor package, or
// {package, version} with its archive.
void ParseXenSpec(const YAML::Node& node, YamlReader& reader, XenSpec* spec);

// The text of a user's input file (a config, a plan, a hosts file) named
// `what` in messages: a regular file of at most kMaxConfigBytes. Throws
// ConfigError (a file the user named that cannot be read is the user's to fix).
std::string ReadConfigText(const std::string& path, const std::string& what);

// Reads and parses a file (its `workload: FILE` relative to the file's own
// directory). Throws ConfigError (also for an unreadable file).
RunConfig LoadConfig(const std::string& path);

// A `workload:` value: a built-in name, or a mapping that starts from the
// built-in its `name` names (else from `current`) and overrides parts of it.
// Problems go to the reader.
Workload ParseWorkloadValue(const YAML::Node& node, YamlReader& reader, const Workload& current);

// What keeps a workload off a guest with this many vCPUs: faults and
// stressors placed on vCPUs it does not have. Empty when it fits.
std::vector<std::string> WorkloadMisfits(const Workload& workload, int vcpus);

// The workload a file defines: a mapping as `blackout workloads show` prints
// one (its `name` may name a built-in to start from), or a built-in's name.
// Problems go to `into`, each placed in the file (named `shown_as` in them
// when given, else by its path).
Workload ParseWorkloadFile(const std::string& path, YamlReader& into, const Workload& current,
                           const std::string& shown_as = "");

// A workload named on the command line: a built-in name, or a YAML file with
// a workload definition (as `blackout workloads show` prints one; its `name`
// may name a built-in to start from, as in a run config). Throws ConfigError,
// with file:line:column for a bad file.
Workload WorkloadByNameOrFile(const std::string& arg, const Workload& current);

}  // namespace blackout
