// The built-in stressors, each feeding one step of the 2013 hang, and their table.
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "base/protocol.h"
#include "guests/agent/agent.h"

namespace blackout::agent {

// Each stressor feeds one step of the 2013 Xen PV spinlock hang (see
// workloads/README.md): cross-CPU wake-ups, migrations, load imbalance that
// triggers softirq load balancing, IO completions, and lock contention.

// The vCPU for a stressor's k-th placement: its own list when it has one,
// else all vCPUs in turn.
int CpuFor(const Stressor* s, int k) {
  if (s->cpus.empty()) return k % g_ncpus;
  return s->cpus[static_cast<size_t>(k) % s->cpus.size()];
}

// Pins the calling thread to the stressor's k-th vCPU when the stressor has a
// placement; otherwise the scheduler places it.
void Place(Stressor* s, int k) {
  if (!s->cpus.empty() && !PinTo(CpuFor(s, k))) s->counters.errors++;
}

// The loop condition of every stressor thread: false once the workload ends;
// while the current phase leaves this thread out, it waits here.
bool Running(Stressor* s, int index) {
  while (!g_stop.load(std::memory_order_relaxed)) {
    if (index < s->active.load(std::memory_order_relaxed)) return true;
    usleep(20000);
  }
  return false;
}

// Cross-CPU wake-ups: pairs of threads on different vCPUs bounce a byte
// through two pipes, so every operation wakes a task on another CPU.
void PingPong(Stressor* s, int index) {
  int ab[2], ba[2];
  if (pipe(ab) != 0 || pipe(ba) != 0) {
    s->counters.errors++;
    return;
  }
  int cpu_a = CpuFor(s, 2 * index), cpu_b = CpuFor(s, 2 * index + 1);
  std::thread peer([&] {
    PinTo(cpu_b);
    char c;
    while (read(ab[0], &c, 1) == 1) {
      if (c == 'q' || write(ba[1], &c, 1) != 1) break;
    }
  });
  PinTo(cpu_a);
  char c = 'p';
  while (Running(s, index)) {
    uint64_t t0 = NowNs();
    if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1) {
      s->counters.errors++;
      break;
    }
    s->counters.latency.Add(NowNs() - t0);
    s->counters.ops++;
  }
  c = 'q';
  (void)!write(ab[1], &c, 1);
  peer.join();
  for (int fd : {ab[0], ab[1], ba[0], ba[1]}) close(fd);
}

// Migrations: a thread that moves itself to the next vCPU in a loop makes the
// scheduler take two runqueue locks per move (the first step of the race).
void Migrate(Stressor* s, int index) {
  int k = index;
  while (Running(s, index)) {
    int cpu = CpuFor(s, ++k);
    uint64_t t0 = NowNs();
    if (!PinTo(cpu)) {
      s->counters.errors++;
      continue;
    }
    s->counters.latency.Add(NowNs() - t0);
    s->counters.ops++;
    uint64_t until = NowNs() + 50000;
    while (NowNs() < until) {
    }
  }
}

// Fork/exit bursts: short-lived tasks land on idle CPUs and leave imbalance
// behind, which keeps softirq load balancing busy (the second step).
void ForkExit(Stressor* s, int index) {
  int burst = IntField(s->fields, "burst", 8);
  Place(s, index);
  while (Running(s, index)) {
    for (int i = 0; i < burst; ++i) {
      uint64_t t0 = NowNs();
      pid_t pid = fork();
      if (pid == 0) _exit(0);
      if (pid < 0) {
        s->counters.errors++;
        continue;
      }
      int st;
      while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
      }
      s->counters.latency.Add(NowNs() - t0);
      s->counters.ops++;
    }
    usleep(5000);
  }
}

void YieldStorm(Stressor* s, int index) {
  Place(s, index);
  while (Running(s, index)) {
    for (int i = 0; i < 256; ++i) sched_yield();
    s->counters.ops += 256;
  }
}

// Spin/sleep cycles: uneven, bursty CPU demand that the load balancer keeps
// correcting.
void SpinSleep(Stressor* s, int index) {
  uint64_t spin_ns = static_cast<uint64_t>(NumField(s->fields, "spin_ms", 5) * 1e6);
  useconds_t sleep_us = static_cast<useconds_t>(NumField(s->fields, "sleep_ms", 5) * 1e3);
  Place(s, index);
  while (Running(s, index)) {
    uint64_t until = NowNs() + spin_ns;
    while (NowNs() < until) {
    }
    uint64_t t0 = NowNs();
    usleep(sleep_us);
    s->counters.latency.Add(NowNs() - t0);
    s->counters.ops++;
  }
}

// Lock contention on one futex: enough waiters that the kernel's hash-bucket
// spinlocks take their slow path.
void FutexContend(Stressor* s, int index) {
  static std::mutex shared;
  Place(s, index);
  while (Running(s, index)) {
    uint64_t t0 = NowNs();
    {
      std::lock_guard<std::mutex> hold(shared);
      s->counters.latency.Add(NowNs() - t0);
      uint64_t until = NowNs() + 2000;
      while (NowNs() < until) {
      }
    }
    s->counters.ops++;
  }
}

// IO: small writes, fsync and reads; with O_DIRECT where the target supports
// it, so completions arrive as interrupts (the third step).
// The IO loop both kinds of target share: random block-aligned writes in
// [base, base + span), a sync every sync_every writes, a read back, all counted.
void IoLoop(Stressor* s, int index, int fd, int64_t base, int64_t span, unsigned seed,
            int (*sync_fn)(int)) {
  int block = IntField(s->fields, "block_size", 4096);
  int sync_every = IntField(s->fields, "sync_every", 4);
  void* buf = nullptr;
  if (posix_memalign(&buf, 4096, static_cast<size_t>(block)) != 0) {
    s->counters.errors++;
    return;
  }
  std::memset(buf, 0x5a, static_cast<size_t>(block));
  int64_t blocks = std::max<int64_t>(1, span / block);
  Place(s, index);
  for (uint64_t n = 0; Running(s, index); ++n) {
    off_t off = static_cast<off_t>(base + (rand_r(&seed) % blocks) * block);
    uint64_t t0 = NowNs();
    if (pwrite(fd, buf, static_cast<size_t>(block), off) != block) {
      s->counters.errors++;
      continue;
    }
    s->counters.bytes += static_cast<uint64_t>(block);
    if (sync_every > 0 && n % static_cast<uint64_t>(sync_every) == 0) {
      if (sync_fn(fd) == 0) {
        s->counters.syncs++;
      } else {
        s->counters.errors++;
      }
    }
    if (pread(fd, buf, static_cast<size_t>(block), off) != block) s->counters.errors++;
    s->counters.latency.Add(NowNs() - t0);
    s->counters.ops++;
  }
  free(buf);
}

int64_t IoSpan(Stressor* s) { return static_cast<int64_t>(IntField(s->fields, "file_kb", 1024)) * 1024; }

// IO on a raw block device: each thread owns a stripe of file_kb, O_DIRECT.
void IoRaw(Stressor* s, int index, const std::string& device) {
  int fd = open(device.c_str(), O_RDWR | O_DIRECT);
  if (fd < 0) {
    s->counters.errors++;
    return;
  }
  IoLoop(s, index, fd, index * IoSpan(s), IoSpan(s), static_cast<unsigned>(index * 104729 + 7), fdatasync);
  close(fd);
}

// Where disk N's IO goes: a directory on its file system, or the raw device.

// IO on a file per thread; O_DIRECT where the file system has it.
void Io(Stressor* s, int index) {
  std::string dir = s->fields.count("dir") ? s->fields["dir"] : "/tmp";
  if (s->fields.count("disk")) {
    int d = std::atoi(s->fields["disk"].c_str());
    if (g_disk_dirs.count(d)) {
      dir = g_disk_dirs[d];
    } else if (g_disk_devices.count(d)) {
      IoRaw(s, index, g_disk_devices[d]);
      return;
    }
  }
  std::string path = dir + "/blackout-io-" + std::to_string(index);
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_DIRECT, 0644);
  if (fd < 0) fd = open(path.c_str(), O_RDWR | O_CREAT, 0644);
  if (fd < 0) {
    s->counters.errors++;
    return;
  }
  IoLoop(s, index, fd, 0, IoSpan(s), static_cast<unsigned>(index * 7919 + 1), fsync);
  close(fd);
  unlink(path.c_str());
}

const std::map<std::string, StressFn>& StressorTable() {
  static const std::map<std::string, StressFn> table = {
      {"pingpong", PingPong}, {"migrate", Migrate},        {"forkexit", ForkExit},
      {"yield", YieldStorm},  {"spinsleep", SpinSleep},    {"futex", FutexContend},
      {"io", Io},             {"stress-ng", Tool},         {"fio", Tool},
  };
  return table;
}

std::string CounterFields(Stressor& s) {
  Counters& c = s.counters;
  std::string out = "name=" + s.kind + " ops=" + std::to_string(c.ops.load()) +
                    " errors=" + std::to_string(c.errors.load());
  // A tool's latencies are its own business (in its output); ours would only
  // time the whole process.
  if (!s.argv.empty()) out += " seconds=" + std::to_string(c.latency.MaxUs() / 1000000);
  if (s.argv.empty()) {
    out += " p50_us=" + std::to_string(c.latency.QuantileUs(0.5)) +
           " p99_us=" + std::to_string(c.latency.QuantileUs(0.99)) +
           " max_us=" + std::to_string(c.latency.MaxUs());
  }
  if (s.kind == "io" || s.kind == "fio") {
    out += " bytes=" + std::to_string(c.bytes.load()) + " fsyncs=" + std::to_string(c.syncs.load());
  }
  return out;
}

}  // namespace blackout::agent
