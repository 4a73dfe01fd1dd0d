// The backend interface: start a VM from a BootSpec and hand back an Instance
// that moves console bytes and controls the VM. Backends do no detection and
// keep no timeouts of their own; that lives once, in the monitor.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "guests/boot.h"

namespace blackout {

struct StartOptions {
  std::string accel = "tcg";  // "kvm" or "tcg", already decided
  std::string socket_dir;     // short path for unix sockets
  std::string log_path;       // the VM process's own output
  std::string name;           // the VM's name (a libvirt domain's), unique among running runs
  int max_seconds = 0;        // the longest the run can take (0: unknown): a deadline for leftovers
  double boot_s = 300;        // how long a dom0 that parks may take to park
  const std::atomic<bool>* interrupted = nullptr;  // set: stop waiting for it
};

class Instance {
 public:
  virtual ~Instance() = default;
  // A readable, poll()-able descriptor of console bytes; EOF when the VM ends.
  virtual int console_fd() const = 0;
  // True when console bytes wait for the reader without loss for a good
  // while (a deep pipe): the monitor then reads at its judging pace. False:
  // bytes left unread are dropped soon, so every byte is read as it comes.
  virtual bool console_keeps_bytes() const { return false; }
  // Bytes typed into the console (e.g. Xen debug keys).
  virtual void WriteConsole(const std::string& bytes) = 0;
  // Non-blocking; true once the VM process has ended. clean: it exited 0.
  virtual bool Exited(bool* clean, std::string* status) = 0;
  virtual void Pause() = 0;
  virtual void Resume() = 0;
  // Registers of every vCPU, as text, for evidence.
  virtual std::string Diagnose() = 0;
  // Writes the whole guest memory as an ELF core to path.
  virtual void DumpMemory(const std::string& path) = 0;
  // Asks the VM to quit, then forces it; idempotent.
  virtual void Stop() = 0;
  // The VM process, for host-side accounting; -1 when it runs on another host.
  virtual pid_t pid() const = 0;
  // Why the VM's host failed it mid-run (the connection to it lost), or "".
  // A pool of hosts drains such a host and runs again elsewhere.
  virtual std::string host_failure() const { return ""; }
  // What the run record says of the host beyond this machine's name: where
  // the VM ran ("hostname") and what was sent there, or null.
  virtual nlohmann::json host_info() const { return nullptr; }
  // Console bytes the backend read itself while it started the VM (a dom0
  // booted to the point where its state is saved): the monitor takes them
  // first.
  virtual std::string TakeEarlyConsole() { return ""; }
  // How the VM was started beyond its command line (a saved dom0 state
  // restored or made, and what that cost), or null.
  virtual nlohmann::json start_info() const { return nullptr; }
  virtual std::vector<std::string> command() const = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // Throws InfraError when the VM cannot be started.
  virtual std::unique_ptr<Instance> Start(const BootSpec& boot, const StartOptions& options) = 0;
  // The command line (or its equivalent) Start would run, for the run record.
  virtual std::vector<std::string> CommandFor(const BootSpec& boot, const StartOptions& options) const = 0;
};

}  // namespace blackout
