// blackout-agent: the static in-guest helper that /init execs as PID 1.
//
// In an image guest (`blackout-agent service DIR`) it is not PID 1: the
// image's own init starts it as a transient systemd unit from the config
// drive, and DIR/agent.conf gives what /proc/cmdline gives an initramfs guest
// (nonce, heartbeat interval) and the console device to beat on.
//
// It does three things and nothing else: (1) one heartbeat thread pinned to
// each vCPU prints a sealed heartbeat line every interval, so the host can see
// any vCPU stop; (2) it runs the workload described in /etc/blackout/workload.conf
// (built-in stressors and injected faults); (3) it reports counters and powers
// the guest off. It never exits: as PID 1, exiting would panic the kernel and
// turn a harness problem into a false crash verdict.
//
// The heartbeat threads run SCHED_FIFO (priority 50) so that ordinary stress
// load cannot starve them into false stalls; only a kernel that stops scheduling
// a vCPU, or the injected freeze fault (SCHED_FIFO 99 with RT throttling off),
// can silence one.
//
// The console protocol (records, commands, the workload.conf grammar) is in
// base/protocol.h; the host can also talk to the agent over the console
// (while the guest still answers), which is how blackout collects blocked
// tasks and all-CPU backtraces as evidence (console.cc).
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <thread>

#include "base/protocol.h"
#include "guests/agent/agent.h"
#include "guests/agent/workload_conf.h"

namespace blackout::agent {
namespace {

// Service mode: the settings from DIR/agent.conf ("key=value" lines) in the
// kernel command line's syntax, and the console as stdin, stdout and stderr.
// Returns the command-line-like text, or "" when the console cannot be opened.
std::string ServiceSettings(const std::string& dir) {
  std::string text = ReadFile(dir + "/agent.conf");
  std::string settings = " ";
  std::string console;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.rfind("console=", 0) == 0) console = line.substr(8);
    if (line.rfind("nonce=", 0) == 0) settings += std::string(protocol::kNonceArg) + line.substr(6) + " ";
    if (line.rfind("interval_ms=", 0) == 0) settings += std::string(protocol::kIntervalArg) + line.substr(12) + " ";
  }
  g_console = console;
  return ReopenConsole() ? settings : "";
}

}  // namespace

int Main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "relay") return Relay(argv[2]);
  std::string cmdline = ReadFile("/proc/cmdline");
  std::string conf_path = "/etc/blackout/workload.conf";
  if (argc == 3 && std::string(argv[1]) == "service") {
    cmdline = ServiceSettings(argv[2]);
    if (cmdline.empty()) return 2;  // nowhere to say anything: the host sees no heartbeat
    conf_path = std::string(argv[2]) + "/workload.conf";
  }
  std::string nonce = CmdlineValue(cmdline, protocol::kNonceArg);
  if (!nonce.empty()) g_nonce = nonce;
  int interval_ms = std::atoi(CmdlineValue(cmdline, protocol::kIntervalArg).c_str());
  if (interval_ms <= 0) interval_ms = 200;
  g_ncpus = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  if (g_ncpus < 1) g_ncpus = 1;

  utsname uts{};
  uname(&uts);
  Status("hello", "vcpus=" + std::to_string(g_ncpus) + " kernel=" + uts.release +
                      " interval_ms=" + std::to_string(interval_ms));

  Workload workload;
  std::string error;
  if (!LoadWorkload(conf_path.c_str(), &workload, &error)) Fail(error);

  for (int cpu = 0; cpu < g_ncpus; ++cpu) std::thread(HeartbeatLoop, cpu, interval_ms).detach();
  std::thread(ConsoleCommands).detach();
  if (!LoadModules(workload.modules) || !PrepareDisks(workload.disks)) PowerOff();
  RunWorkload(workload);
  Status("done");
  // Let the last heartbeats and the done line drain through the console.
  usleep(300000);
  PowerOff();
}

}  // namespace blackout::agent

int main(int argc, char** argv) { return blackout::agent::Main(argc, argv); }
