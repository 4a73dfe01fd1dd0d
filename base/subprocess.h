// All process spawning in blackout goes through this file (and only its .cc
// includes Boost.Process, so moving from the v1 API to v2 is one file's work).
//
// Every child gets stdin from /dev/null, its own process group (so our cleanup
// reaches the whole tree), PR_SET_PDEATHSIG=SIGKILL (so it dies with us even
// when we are SIGKILLed), and is always reaped. A short command runs under a
// deadline; on timeout its group is killed and the error carries the command and
// its output tail.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace blackout {

struct CommandOptions {
  double timeout_s = 600;
  std::string cwd;                  // empty: inherit
  std::vector<std::string> env;     // "KEY=VALUE" added to our environment
  // Called from the waiting thread about twice a second with the output
  // written since the last call (a long build's progress for the status line).
  std::function<void(const std::string& chunk)> on_output;
  // Polled like Ctrl-C (several times a second): once set, the command's
  // group is ended the same way and RunCommand throws CancelledError.
  const std::atomic<bool>* cancel = nullptr;
};

struct CommandResult {
  int exit_code = -1;  // valid when !timed_out and signal == 0
  int signal = 0;      // the signal that killed it, or 0
  bool timed_out = false;
  std::string output;  // stdout and stderr, interleaved as written
  bool ok() const { return !timed_out && signal == 0 && exit_code == 0; }
};

// Runs argv to completion (or its deadline). Never throws for a non-zero exit;
// throws InfraError when the program cannot be started at all.
CommandResult RunCommand(const std::vector<std::string>& argv, const CommandOptions& options = {});

// RunCommand that throws InfraError("run CMD: exit N" + output tail) unless the
// command succeeded. Returns the output.
std::string RunChecked(const std::vector<std::string>& argv, const CommandOptions& options = {});

// The command as a shell would print it, quoting where needed.
std::string CommandLine(const std::vector<std::string>& argv);

// The last `lines` lines of text, for error messages.
std::string OutputTail(const std::string& text, int lines = 20);

// Full path of a program found in PATH, or empty.
std::string FindProgram(const std::string& name);

// A long-running child (a VM). Its stdout and stderr go to files so a chatty
// child can never block on a full pipe. The destructor kills and reaps it.
class Child {
 public:
  struct Options {
    std::string stdout_path = "/dev/null";
    std::string stderr_path = "/dev/null";
    std::string cwd;
  };
  Child(const std::vector<std::string>& argv, const Options& options);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  const std::vector<std::string>& argv() const { return argv_; }

  // Non-blocking: true once the child has exited (and it has been reaped).
  bool Exited();
  // Waits up to `seconds`; true if it exited.
  bool WaitFor(double seconds);
  // Sends sig to the child's whole process group.
  void Signal(int sig);
  // SIGKILL to the group, then reap.
  void Kill();
  // "exit 1", "killed by signal 9"; empty while running.
  std::string Status() const;

 private:
  std::vector<std::string> argv_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  bool group_killed_ = false;
  int status_ = 0;
};

}  // namespace blackout
