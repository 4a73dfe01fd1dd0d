// Error types that name who is to blame: the user's input, the host, or a tool.
//
// Bisection and verdicts depend on the distinction: an InfraError is never the
// kernel's fault (it maps to the infra-error verdict and to "skip" in a
// bisection), while a ConfigError stops the program before anything runs.
#pragma once

#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

namespace blackout {

// Base of every error blackout raises on purpose; what() is a lowercase
// "action target: cause" sentence.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The user's input is wrong (config file, flags, catalogue entry). Carries every
// problem found, each already prefixed with file:line:column where known.
class ConfigError : public Error {
 public:
  explicit ConfigError(std::vector<std::string> problems);
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  std::vector<std::string> problems_;
};

// The host or the harness failed (a tool, a download, QEMU): not the kernel.
class InfraError : public Error {
 public:
  using Error::Error;
};

// The host a VM was to run on failed it: it cannot be reached, it refused the
// VM, or the connection to it was lost mid-run. Not the kernel's fault, and not
// this run's alone: a pool of hosts drains that host and runs elsewhere.
class HostError : public InfraError {
 public:
  using InfraError::InfraError;
};

// The user pressed Ctrl-C (or sent SIGTERM): the step in progress was ended
// (its child process group killed) and left consistent. An InfraError to
// everything that only needs to stop; main() exits 130 for it.
class InterruptedError : public InfraError {
 public:
  using InfraError::InfraError;
};

// A step nobody wants any more was ended (its child process group killed):
// a build made ahead of time for a candidate the bisection will not run
// next. Not a failure of what it was building.
class CancelledError : public InfraError {
 public:
  using InfraError::InfraError;
};

// The flag every long step polls (set by main's signal handlers; null until
// then). Interrupted() is false while no flag is installed.
void SetInterruptFlag(const std::atomic<bool>* flag);
bool Interrupted();
// Throws InterruptedError("interrupted: what") when Interrupted().
void CheckInterrupted(const std::string& what);

}  // namespace blackout
