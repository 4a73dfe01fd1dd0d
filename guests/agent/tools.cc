// stress-ng and fio as stressors: run with the user's arguments, their work read back.
#include <fcntl.h>
#include <signal.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "base/protocol.h"
#include "guests/agent/agent.h"

namespace blackout::agent {

// stress-ng and fio run as child processes with the user's own arguments.
// blackout adds only what it needs to read their work back (stress-ng's YAML
// metrics, fio's JSON) and ends them when the workload ends: SIGINT to the
// tool's process group (what Ctrl-C does; both tools then write their
// results), SIGKILL 10 s later.

void Tool(Stressor* s, int index) {
  std::string tool = s->argv.empty() ? "" : s->argv[0].substr(s->argv[0].rfind('/') + 1);
  std::string out_path = "/tmp/tool-" + s->fields["id"] + ".out";
  std::string result_path = "/tmp/tool-" + s->fields["id"] + (tool == "fio" ? ".json" : ".yaml");
  std::vector<std::string> argv = s->argv;
  if (tool == "stress-ng") {
    argv.insert(argv.begin() + 1, {"--metrics-brief", "--yaml", result_path});
  } else if (tool == "fio") {
    argv.insert(argv.begin() + 1, {"--output-format=json", "--output=" + result_path});
  }
  uint64_t t0 = NowNs();
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    if (!s->cpus.empty()) {
      cpu_set_t set;
      CPU_ZERO(&set);
      for (int c : s->cpus) CPU_SET(c, &set);
      sched_setaffinity(0, sizeof set, &set);
    }
    int fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  if (pid < 0) {
    s->counters.errors++;
    return;
  }
  setpgid(pid, pid);
  int st = 0;
  bool signalled = false;
  uint64_t kill_at = 0;
  for (;;) {
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) break;
    if (g_stop.load() && !signalled) {
      kill(-pid, SIGINT);
      signalled = true;
      kill_at = NowNs() + 10000000000ull;
    } else if (signalled && NowNs() > kill_at) {
      kill(-pid, SIGKILL);
    }
    usleep(50000);
  }
  s->counters.latency.Add(NowNs() - t0);
  std::string result = ReadFile(result_path);
  if (tool == "stress-ng") {
    s->counters.ops += SumAfter(result, "bogo-ops:");
  } else if (tool == "fio") {
    // Reads, writes and trims count as ops; the total_ios inside each job's
    // "sync" section are its fsyncs.
    uint64_t syncs = 0;
    for (size_t pos = result.find("\"sync\""); pos != std::string::npos; pos = result.find("\"sync\"", pos + 6)) {
      size_t end = result.find('}', result.find("\"total_ios\"", pos));
      syncs += SumAfter(result, "\"total_ios\"", pos, end);
    }
    uint64_t total = SumAfter(result, "\"total_ios\"");
    s->counters.ops += total > syncs ? total - syncs : 0;
    s->counters.syncs += syncs;
    s->counters.bytes += SumAfter(result, "\"io_bytes\"");
    s->counters.errors += SumAfter(result, "\"error\"");
  }
  // Ended by us, a tool exits as it likes (fio with 128 or so): its results
  // file tells what it did, and a tool that did nothing is caught as idle.
  bool ok = signalled || (WIFEXITED(st) && WEXITSTATUS(st) == 0);
  if (!ok) {
    s->counters.errors++;
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    Status("tool-failed", "name=" + tool + " status=" + std::to_string(code));
    // The tail of its output, for the console log.
    std::istringstream lines(ReadFile(out_path));
    std::vector<std::string> tail;
    for (std::string l; std::getline(lines, l);) {
      tail.push_back(l);
      if (tail.size() > 8) tail.erase(tail.begin());
    }
    for (const std::string& l : tail) WriteLine("blackout-agent: " + tool + ": " + l + "\n");
  }
  (void)index;
}

}  // namespace blackout::agent
