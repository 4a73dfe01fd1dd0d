// The agent's shared parts: the globals every piece reads (the run's nonce,
// the vCPU count, the stop flag), the console writers, and the types of
// stressors, counters and faults. The agent (guests/agent/) is split by
// concept: heartbeat.cc, stressors.cc, tools.cc, faults.cc, workload_conf.cc
// (the workload.conf reader), workload.cc (running it and the guest's
// counters), console.cc (host commands and dom0's relay), main.cc.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace blackout::agent {

using Fields = std::map<std::string, std::string>;

extern std::string g_nonce;
extern int g_ncpus;
extern std::atomic<bool> g_stop;
// Where workload disk N's IO goes: a directory on its file system, or the raw device.
extern std::map<int, std::string> g_disk_dirs, g_disk_devices;

// One write() per line: the tty layer keeps a single write whole, so lines
// from different threads never interleave with each other.
void WriteLine(const std::string& line);
// Service mode (an image guest): the console device the agent shares with
// the image's getty. A getty starting on it hangs up every open file of the
// tty (vhangup), so a write or read that finds the console hung up opens it
// again as fds 0-2. False when it cannot be opened.
extern std::string g_console;
bool ReopenConsole();
// A sealed status record (base/protocol.h).
void Status(const std::string& event, const std::string& fields = "");
[[noreturn]] void PowerOff();
[[noreturn]] void Fail(const std::string& reason);

uint64_t NowNs();
bool PinTo(int cpu);
bool SetFifo(int priority);
// The whole file, or "" when it cannot be read.
std::string ReadFile(const std::string& path);
std::string CmdlineValue(const std::string& cmdline, const std::string& key);
int IntField(const Fields& f, const std::string& key, int fallback);
double NumField(const Fields& f, const std::string& key, double fallback);
void WriteProc(const char* path, const char* value);
// Runs a program and waits for it; returns its exit status (or -1).
int RunProgram(const std::vector<std::string>& argv);
// Sums every number that follows key (and any spaces, quotes or a colon).
uint64_t SumAfter(const std::string& text, const std::string& key, size_t from = 0,
                  size_t limit = std::string::npos);

// Latency histogram in power-of-two microsecond buckets: cheap enough to update
// on every operation, precise enough for p50/p99 in a report.
class Histogram {
 public:
  void Add(uint64_t ns) {
    uint64_t us = ns / 1000;
    int b = 0;
    while (us > 0 && b < kBuckets - 1) {
      us >>= 1;
      ++b;
    }
    buckets_[b].fetch_add(1, std::memory_order_relaxed);
    uint64_t prev = max_ns_.load(std::memory_order_relaxed);
    while (ns > prev && !max_ns_.compare_exchange_weak(prev, ns)) {
    }
  }
  // Upper bound of the bucket holding quantile q, in microseconds.
  uint64_t QuantileUs(double q) const {
    uint64_t total = 0;
    for (const auto& b : buckets_) total += b.load();
    if (total == 0) return 0;
    uint64_t want = static_cast<uint64_t>(q * static_cast<double>(total - 1)) + 1;
    uint64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
      seen += buckets_[i].load();
      if (seen >= want) return i == 0 ? 1 : (1ull << i);
    }
    return 1ull << (kBuckets - 1);
  }
  uint64_t MaxUs() const { return max_ns_.load() / 1000; }

 private:
  static constexpr int kBuckets = 40;
  std::atomic<uint64_t> buckets_[kBuckets] = {};
  std::atomic<uint64_t> max_ns_{0};
};

struct Counters {
  std::atomic<uint64_t> ops{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> syncs{0};
  Histogram latency;
};

// ---- Stressors --------------------------------------------------------------
// Each stressor feeds one step of the 2013 Xen PV spinlock hang (see
// workloads/README.md): cross-CPU wake-ups, migrations, load imbalance that
// triggers softirq load balancing, IO completions, and lock contention.

struct Stressor {
  std::string kind;
  Fields fields;
  std::vector<int> cpus;          // where its threads run; empty = anywhere
  std::vector<std::string> argv;  // a standard tool's command line
  Counters counters;
  std::vector<std::thread> threads;
  int nthreads = 1;
  // Threads with index >= active wait (the current phase's intensity).
  std::atomic<int> active{1 << 30};
  uint64_t reported_ops = 0, reported_errors = 0;  // at the last interval
};


using StressFn = void (*)(Stressor*, int);
// The built-in stressors and the standard tools, by kind.
const std::map<std::string, StressFn>& StressorTable();
// stress-ng and fio (tools.cc).
void Tool(Stressor* s, int index);
// A stressor's totals as status fields.
std::string CounterFields(Stressor& s);

struct Fault {
  std::string kind;
  Fields fields;
};
void RunFault(const Fault& f);

// Heartbeats of one vCPU, forever (heartbeat.cc).
void HeartbeatLoop(int cpu, int interval_ms);
// Host commands over the console, forever (console.cc).
void ConsoleCommands();
// `blackout-agent relay PREFIX` (console.cc).
int Relay(const std::string& prefix);

}  // namespace blackout::agent
