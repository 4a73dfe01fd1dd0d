#include "base/subprocess.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#include "base/error.h"
#include "base/fsutil.h"

namespace bp = boost::process;

namespace blackout {
namespace {

// Runs in the child between fork and exec: own process group, and die with the
// parent. The getppid() check closes the race where the parent died before
// prctl took effect.
struct ChildSetup {
  pid_t parent;
  template <class Executor>
  void operator()(Executor&) const {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
  }
};

std::string Resolve(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  std::string found = FindProgram(program);
  if (found.empty()) {
    throw InfraError("run " + program + ": command not found in PATH (ci/install-deps.sh installs it)");
  }
  return found;
}

// Spawns argv with stdout/stderr redirected to the given files and returns the
// pid of a child we own (detached from Boost's bookkeeping, reaped by waitpid).
pid_t Spawn(const std::vector<std::string>& argv, const std::string& out_path,
            const std::string& err_path, const std::string& cwd,
            const std::vector<std::string>& env_add) {
  if (argv.empty()) throw InfraError("run: empty command");
  std::string exe = Resolve(argv[0]);
  std::vector<std::string> args(argv.begin() + 1, argv.end());
  bp::environment env = boost::this_process::environment();
  for (const std::string& kv : env_add) {
    size_t eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  try {
    std::error_code ec;
    bp::child child;
    if (out_path == err_path) {
      child = bp::child(bp::exe = exe, bp::args = args, bp::std_in < bp::null,
                        (bp::std_out & bp::std_err) > out_path, bp::start_dir = cwd.empty() ? "." : cwd,
                        env, bp::extend::on_exec_setup = ChildSetup{getpid()}, ec);
    } else {
      child = bp::child(bp::exe = exe, bp::args = args, bp::std_in < bp::null,
                        bp::std_out > out_path, bp::std_err > err_path,
                        bp::start_dir = cwd.empty() ? "." : cwd, env,
                        bp::extend::on_exec_setup = ChildSetup{getpid()}, ec);
    }
    if (ec) throw InfraError("run " + CommandLine(argv) + ": " + ec.message());
    pid_t pid = child.id();
    child.detach();
    // Also set the group from the parent side so a signal sent right after
    // spawn cannot miss it.
    setpgid(pid, pid);
    return pid;
  } catch (const bp::process_error& e) {
    throw InfraError("run " + CommandLine(argv) + ": " + e.what());
  }
}

bool ReapNoHang(pid_t pid, int* status) {
  for (;;) {
    pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid) return true;
    if (r == 0) return false;
    if (errno == EINTR) continue;
    return true;  // ECHILD: already reaped elsewhere
  }
}

std::string DescribeStatus(int status) {
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  return "status " + std::to_string(status);
}

}  // namespace

std::string FindProgram(const std::string& name) {
  boost::filesystem::path p = bp::search_path(name);
  if (!p.empty()) return p.string();
  // Root's PATH on some machines lacks the sbin directories.
  for (const char* dir : {"/usr/sbin", "/sbin", "/usr/local/sbin"}) {
    std::string candidate = std::string(dir) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string CommandLine(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !a.empty() && a.find_first_not_of(
                                   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "0123456789-_./=:,+@%") == std::string::npos;
    if (plain) {
      out += a;
    } else {
      out += '\'';
      for (char c : a) {
        if (c == '\'') {
          out += "'\\''";
        } else {
          out += c;
        }
      }
      out += '\'';
    }
  }
  return out;
}

std::string OutputTail(const std::string& text, int lines) {
  size_t end = text.size();
  while (end > 0 && text[end - 1] == '\n') --end;
  size_t pos = end;
  int seen = 0;
  while (pos > 0) {
    if (text[pos - 1] == '\n' && ++seen == lines) break;
    --pos;
  }
  return text.substr(pos, end - pos);
}

namespace {

// Output files of commands whose blackout was SIGKILLed mid-command
// (/tmp/blackout-cmd-PID-XXXXXX with PID gone) are removed by the next
// command anyone runs (a directory scan: cheap beside starting a process).
void SweepDeadCommandFiles() {
  DIR* d = opendir("/tmp");
  if (!d) return;
  const char prefix[] = "blackout-cmd-";
  while (dirent* e = readdir(d)) {
    if (std::strncmp(e->d_name, prefix, sizeof prefix - 1) != 0) continue;
    long pid = std::strtol(e->d_name + sizeof prefix - 1, nullptr, 10);
    if (pid > 0 && kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
      unlinkat(dirfd(d), e->d_name, 0);
    }
  }
  closedir(d);
}

}  // namespace

CommandResult RunCommand(const std::vector<std::string>& argv, const CommandOptions& options) {
  SweepDeadCommandFiles();
  std::string name = "/tmp/blackout-cmd-" + std::to_string(getpid()) + "-XXXXXX";
  std::vector<char> tmpl(name.begin(), name.end());
  tmpl.push_back('\0');
  int fd = mkstemp(tmpl.data());
  if (fd < 0) throw InfraError(std::string("create temporary file: ") + std::strerror(errno));
  close(fd);
  std::string out_path = tmpl.data();
  CommandResult result;
  pid_t pid;
  try {
    pid = Spawn(argv, out_path, out_path, options.cwd, options.env);
  } catch (...) {
    unlink(out_path.c_str());
    throw;
  }
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<int64_t>(options.timeout_s * 1000));
  int status = 0;
  auto sleep = std::chrono::milliseconds(1);
  // Output read so far for on_output, from the file the child writes.
  off_t shown = 0;
  auto next_report = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  auto report = [&] {
    if (!options.on_output) return;
    int rfd = open(out_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (rfd < 0) return;
    std::string chunk;
    char buf[65536];
    ssize_t n;
    while ((n = pread(rfd, buf, sizeof buf, shown)) > 0) {
      chunk.append(buf, static_cast<size_t>(n));
      shown += n;
    }
    close(rfd);
    if (!chunk.empty()) options.on_output(chunk);
  };
  bool interrupted = false, cancelled = false;
  while (!ReapNoHang(pid, &status)) {
    cancelled = options.cancel && options.cancel->load();
    if (cancelled || Interrupted()) {
      // Ctrl-C (or a cancel): the child's whole group ends now (SIGTERM, then
      // SIGKILL after a second), so blackout can exit within two seconds.
      kill(-pid, SIGTERM);
      auto grace = std::chrono::steady_clock::now() + std::chrono::seconds(1);
      bool reaped = false;
      while (!(reaped = ReapNoHang(pid, &status)) && std::chrono::steady_clock::now() < grace) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      kill(-pid, SIGKILL);  // what is left of the group
      if (!reaped) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
      }
      interrupted = true;
      break;
    }
    if (options.on_output && std::chrono::steady_clock::now() >= next_report) {
      report();
      next_report = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      result.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(sleep);
    if (sleep < std::chrono::milliseconds(50)) sleep *= 2;
  }
  if (interrupted) {
    unlink(out_path.c_str());
    if (cancelled) throw CancelledError("cancelled: " + CommandLine(argv));
    throw InterruptedError("interrupted: " + CommandLine(argv));
  }
  report();
  if (!result.timed_out) {
    if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  }
  try {
    result.output = ReadFile(out_path);
  } catch (const InfraError&) {
  }
  unlink(out_path.c_str());
  return result;
}

std::string RunChecked(const std::vector<std::string>& argv, const CommandOptions& options) {
  CommandResult r = RunCommand(argv, options);
  if (r.ok()) return r.output;
  std::string why;
  if (r.timed_out) {
    why = "timed out after " + std::to_string(static_cast<int>(options.timeout_s)) + "s";
  } else if (r.signal) {
    why = "killed by signal " + std::to_string(r.signal);
  } else {
    why = "exit " + std::to_string(r.exit_code);
  }
  std::string tail = OutputTail(r.output);
  throw InfraError("run " + CommandLine(argv) + ": " + why + (tail.empty() ? "" : "\n" + tail));
}

Child::Child(const std::vector<std::string>& argv, const Options& options) : argv_(argv) {
  pid_ = Spawn(argv, options.stdout_path, options.stderr_path, options.cwd, {});
}

Child::~Child() { Kill(); }

bool Child::Exited() {
  if (reaped_) return true;
  if (ReapNoHang(pid_, &status_)) reaped_ = true;
  return reaped_;
}

bool Child::WaitFor(double seconds) {
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  while (!Exited()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

void Child::Signal(int sig) {
  if (reaped_) return;
  kill(-pid_, sig);
}

void Child::Kill() {
  if (pid_ <= 0) return;
  // The group may outlive its leader (helpers QEMU forked), so kill it even
  // after the leader has been reaped; the pgid is not reused while members
  // live. Once only: later the id could name somebody else's group.
  if (!group_killed_) kill(-pid_, SIGKILL);
  group_killed_ = true;
  if (!reaped_) {
    while (waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
  }
}

std::string Child::Status() const { return reaped_ ? DescribeStatus(status_) : ""; }

}  // namespace blackout
