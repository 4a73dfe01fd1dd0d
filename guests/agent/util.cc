// The agent's small helpers: console writers, clocks, placement, files.
#include <fcntl.h>
#include <sched.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "base/protocol.h"
#include "guests/agent/agent.h"

namespace blackout::agent {

std::map<int, std::string> g_disk_dirs, g_disk_devices;
std::string g_nonce = "none";
int g_ncpus = 1;
std::atomic<bool> g_stop{false};

std::string g_console;

bool ReopenConsole() {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  if (g_console.empty()) return false;
  int fd = open(g_console.c_str(), O_RDWR | O_NOCTTY);
  if (fd < 0) return false;
  for (int to = 0; to <= 2; ++to) dup2(fd, to);
  if (fd > 2) close(fd);
  return true;
}

void WriteLine(const std::string& line) {
  size_t done = 0;
  bool reopened = false;
  while (done < line.size()) {
    ssize_t n = write(1, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EIO && !reopened && ReopenConsole()) {
      reopened = true;
      continue;
    }
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

void Status(const std::string& event, const std::string& fields) {
  WriteLine(blackout::protocol::FormatStatus(g_nonce, event, fields));
}

[[noreturn]] void PowerOff() {
  sync();
  reboot(RB_POWER_OFF);
  for (;;) pause();
}

[[noreturn]] void Fail(const std::string& reason) {
  Status("error", "reason=" + reason);
  PowerOff();
}

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

bool PinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set) == 0;
}

bool SetFifo(int priority) {
  sched_param sp{};
  sp.sched_priority = priority;
  return sched_setscheduler(0, SCHED_FIFO, &sp) == 0;
}

// The whole file, or "" when it cannot be read.
std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string CmdlineValue(const std::string& cmdline, const std::string& key) {
  size_t pos = 0;
  while ((pos = cmdline.find(key, pos)) != std::string::npos) {
    if (pos == 0 || cmdline[pos - 1] == ' ') {
      size_t start = pos + key.size();
      size_t end = cmdline.find_first_of(" \n", start);
      return cmdline.substr(start, end == std::string::npos ? std::string::npos : end - start);
    }
    pos += key.size();
  }
  return "";
}

int IntField(const Fields& f, const std::string& key, int fallback) {
  auto it = f.find(key);
  return it == f.end() ? fallback : std::atoi(it->second.c_str());
}

double NumField(const Fields& f, const std::string& key, double fallback) {
  auto it = f.find(key);
  return it == f.end() ? fallback : std::atof(it->second.c_str());
}

void WriteProc(const char* path, const char* value) {
  int fd = open(path, O_WRONLY);
  if (fd < 0) return;
  (void)!write(fd, value, strlen(value));
  close(fd);
}

// Runs a program and waits for it; returns its exit status (or -1).
int RunProgram(const std::vector<std::string>& argv) {
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  if (pid < 0) return -1;
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

uint64_t SumAfter(const std::string& text, const std::string& key, size_t from, size_t limit) {
  uint64_t sum = 0;
  for (size_t pos = text.find(key, from); pos != std::string::npos && pos < limit;
       pos = text.find(key, pos + key.size())) {
    size_t p = pos + key.size();
    while (p < text.size() && (text[p] == ' ' || text[p] == ':' || text[p] == '"')) ++p;
    if (p < text.size() && text[p] >= '0' && text[p] <= '9') sum += std::strtoull(text.c_str() + p, nullptr, 10);
  }
  return sum;
}

}  // namespace blackout::agent
