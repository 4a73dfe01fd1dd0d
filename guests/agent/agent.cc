// blackout-agent: the static in-guest helper that /init execs as PID 1.
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
// workload.conf, one directive per line:
//   duration SECONDS
//   report SECONDS                      (per-stressor counters this often)
//   phase NAME SECONDS INTENSITY KINDS  (KINDS: comma list, or - for all;
//                                        phases repeat until the duration ends)
//   module PATH [module parameters]     (loaded in order before the workload)
//   disk INDEX DEVICE FS                (FS ext4: made and mounted at /mnt/diskINDEX;
//                                        none: stressors use the raw device)
//   stressor KIND key=value ... [-- TOOL ARGS...]   (TOOL: stress-ng, fio)
//   fault KIND key=value ...
//
// The host can also talk to the agent over the console (while the guest still
// answers): "@BX1 <nonce> sysrq <keys>" writes each key to /proc/sysrq-trigger,
// which is how blackout collects blocked tasks and all-CPU backtraces as
// evidence.
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/protocol.h"

namespace {

using Fields = std::map<std::string, std::string>;

std::string g_nonce = "none";
int g_ncpus = 1;
std::atomic<bool> g_stop{false};

// One write() per line: the tty layer keeps a single write whole, so lines from
// different threads never interleave with each other.
void WriteLine(const std::string& line) {
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = write(1, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

void Status(const std::string& event, const std::string& fields = "") {
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

int IntField(const Fields& f, const std::string& key, int fallback) {
  auto it = f.find(key);
  return it == f.end() ? fallback : std::atoi(it->second.c_str());
}

double NumField(const Fields& f, const std::string& key, double fallback) {
  auto it = f.find(key);
  return it == f.end() ? fallback : std::atof(it->second.c_str());
}

// ---- Heartbeats -----------------------------------------------------------

void HeartbeatLoop(int cpu, int interval_ms) {
  if (!PinTo(cpu)) {
    Status("error", "reason=pin-heartbeat cpu=" + std::to_string(cpu));
    return;
  }
  SetFifo(50);
  uint64_t seq = 0;
  timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  const long interval_ns = static_cast<long>(interval_ms) * 1000000L;
  for (;;) {
    WriteLine(blackout::protocol::FormatHeartbeat(g_nonce, cpu, seq++, NowNs()));
    next.tv_nsec += interval_ns;
    while (next.tv_nsec >= 1000000000L) {
      next.tv_nsec -= 1000000000L;
      next.tv_sec += 1;
    }
    // After a freeze, resume the cadence from now instead of bursting to catch up:
    // a burst would hide how long the vCPU was silent.
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > next.tv_sec + 1) next = now;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr) == EINTR) {
    }
  }
}

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
std::map<int, std::string> g_disk_dirs, g_disk_devices;

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

// ---- Standard tools ------------------------------------------------------------
// stress-ng and fio run as child processes with the user's own arguments.
// blackout adds only what it needs to read their work back (stress-ng's YAML
// metrics, fio's JSON) and ends them when the workload ends: SIGINT to the
// tool's process group (what Ctrl-C does; both tools then write their
// results), SIGKILL 10 s later.

// Sums every number that follows key (and any spaces, quotes or a colon).
uint64_t SumAfter(const std::string& text, const std::string& key, size_t from = 0,
                  size_t limit = std::string::npos) {
  uint64_t sum = 0;
  for (size_t pos = text.find(key, from); pos != std::string::npos && pos < limit;
       pos = text.find(key, pos + key.size())) {
    size_t p = pos + key.size();
    while (p < text.size() && (text[p] == ' ' || text[p] == ':' || text[p] == '"')) ++p;
    if (p < text.size() && text[p] >= '0' && text[p] <= '9') sum += std::strtoull(text.c_str() + p, nullptr, 10);
  }
  return sum;
}

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

using StressFn = void (*)(Stressor*, int);
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

// ---- Faults -----------------------------------------------------------------
// Injected on purpose by tests and by users who want to check the harness sees
// what it should: a real guest-internal freeze, a real panic.

struct Fault {
  std::string kind;
  Fields fields;
};

void WriteProc(const char* path, const char* value) {
  int fd = open(path, O_WRONLY);
  if (fd < 0) return;
  (void)!write(fd, value, strlen(value));
  close(fd);
}

// freeze: a SCHED_FIFO 99 spinner pinned to one vCPU with RT throttling off
// starves everything else there, the heartbeat thread included, for `length`.
void FreezeVcpu(int vcpu, double length_s) {
  std::thread spinner([&] {
    PinTo(vcpu);
    WriteProc("/proc/sys/kernel/sched_rt_runtime_us", "-1");
    if (!SetFifo(99)) {
      Status("error", "reason=fifo-denied");
      return;
    }
    uint64_t until = NowNs() + static_cast<uint64_t>(length_s * 1e9);
    while (NowNs() < until) {
    }
  });
  spinner.join();
  WriteProc("/proc/sys/kernel/sched_rt_runtime_us", "950000");
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

// hang: a task stuck in uninterruptible sleep, the way IO hangs look to the
// kernel. A ramdisk file system is frozen (FIFREEZE) and a child writes to it:
// it blocks in D state until the thaw, and the kernel's hung-task detector
// (its timeout lowered to `timeout`) reports it.
void HangTask(double timeout_s, double length_s) {
  WriteProc("/proc/sys/kernel/hung_task_timeout_secs", std::to_string(static_cast<int>(timeout_s)).c_str());
  mkdir("/mnt", 0755);
  mkdir("/mnt/hang", 0755);
  if (RunProgram({"/bin/busybox", "mke2fs", "-q", "/dev/ram0"}) != 0 ||
      mount("/dev/ram0", "/mnt/hang", "ext4", 0, nullptr) != 0) {
    Status("error", "reason=hang-setup errno=" + std::to_string(errno));
    return;
  }
  int dir = open("/mnt/hang", O_RDONLY | O_DIRECTORY);
  if (dir < 0 || ioctl(dir, FIFREEZE, 0) != 0) {
    Status("error", "reason=hang-freeze errno=" + std::to_string(errno));
    return;
  }
  pid_t child = fork();
  if (child == 0) {
    int fd = open("/mnt/hang/blocked", O_WRONLY | O_CREAT, 0644);
    if (fd >= 0) (void)!write(fd, "x", 1);
    _exit(0);
  }
  uint64_t until = NowNs() + static_cast<uint64_t>(length_s * 1e9);
  while (NowNs() < until && !g_stop.load()) usleep(100000);
  ioctl(dir, FITHAW, 0);
  close(dir);
  int st;
  waitpid(child, &st, 0);
}

void RunFault(const Fault& f) {
  std::string kind = f.kind;
  // A flaky bug: fire in only this share of runs (the coin comes from the
  // kernel's random pool, so every boot draws anew).
  double probability = NumField(f.fields, "probability", 1);
  if (probability < 1) {
    uint32_t draw = 0;
    if (getrandom(&draw, sizeof draw, 0) != sizeof draw) draw = static_cast<uint32_t>(NowNs());
    if (draw / 4294967296.0 >= probability) {
      Status("fault-skipped", "kind=" + kind + " probability=" + std::to_string(probability));
      return;
    }
  }
  if (kind == "freeze") {
    int vcpu = IntField(f.fields, "vcpu", 0);
    double length = NumField(f.fields, "length", 5);
    Status("fault-begin", "kind=freeze vcpu=" + std::to_string(vcpu) + " length=" +
                              std::to_string(length));
    FreezeVcpu(vcpu, length);
    Status("fault-end", "kind=freeze vcpu=" + std::to_string(vcpu));
  } else if (kind == "hang") {
    double length = NumField(f.fields, "length", 3600);
    Status("fault-begin", "kind=hang timeout=" + std::to_string(IntField(f.fields, "timeout", 10)));
    HangTask(NumField(f.fields, "timeout", 10), length);
    Status("fault-end", "kind=hang");
  } else if (kind == "kmsg") {
    // A line of the user's into the kernel log (a marker on the console,
    // in whatever bytes the workload asked for).
    std::string hex = f.fields.count("text") ? f.fields.at("text") : "";
    std::string line = "blackout-agent: ";
    for (size_t i = 0; i + 1 < hex.size(); i += 2) {
      line += static_cast<char>(std::strtol(hex.substr(i, 2).c_str(), nullptr, 16));
    }
    line += "\n";
    WriteProc("/dev/kmsg", line.c_str());
    Status("fault-end", "kind=kmsg");
  } else if (kind == "panic") {
    Status("fault-begin", "kind=panic");
    WriteProc("/proc/sys/kernel/sysrq", "1");
    WriteProc("/proc/sysrq-trigger", "c");
  } else {
    Status("error", "reason=unknown-fault kind=" + kind);
  }
}

// ---- Workload ----------------------------------------------------------------

struct Module {
  std::string path;
  std::string params;
};

struct Disk {
  int index = 0;
  std::string device;
  std::string fs;
};

struct Phase {
  std::string name;
  double duration_s = 0;
  double intensity = 1;
  std::vector<std::string> only;  // kinds that run; empty = all
};

struct Workload {
  double duration_s = 60;
  double report_s = 10;
  std::vector<Phase> phases;
  std::vector<Module> modules;
  std::vector<Disk> disks;
  std::vector<std::unique_ptr<Stressor>> stressors;
  std::vector<Fault> faults;
};

// key=value words up to the end of the line or a "--"; what follows "--" goes
// to rest.
Fields ParseFields(std::istringstream& in, std::vector<std::string>* rest = nullptr) {
  Fields fields;
  std::string kv;
  while (in >> kv) {
    if (kv == "--" && rest) {
      for (std::string w; in >> w;) rest->push_back(w);
      break;
    }
    size_t eq = kv.find('=');
    if (eq != std::string::npos) fields[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return fields;
}

bool LoadWorkload(const char* path, Workload* w, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = "no-workload-file";
    return false;
  }
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    std::istringstream words(line);
    std::string directive;
    if (!(words >> directive) || directive[0] == '#') continue;
    if (directive == "duration") {
      words >> w->duration_s;
    } else if (directive == "report") {
      words >> w->report_s;
      if (w->report_s < 1) w->report_s = 1;
    } else if (directive == "phase") {
      Phase p;
      std::string only;
      words >> p.name >> p.duration_s >> p.intensity >> only;
      for (size_t start = 0; only != "-" && start < only.size();) {
        size_t comma = std::min(only.find(',', start), only.size());
        p.only.push_back(only.substr(start, comma - start));
        start = comma + 1;
      }
      if (p.duration_s <= 0) {
        *error = "bad-phase line=" + std::to_string(lineno);
        return false;
      }
      w->phases.push_back(p);
    } else if (directive == "module") {
      Module m;
      words >> m.path;
      std::getline(words, m.params);
      if (!m.params.empty() && m.params[0] == ' ') m.params.erase(0, 1);
      w->modules.push_back(m);
    } else if (directive == "disk") {
      Disk d;
      words >> d.index >> d.device >> d.fs;
      w->disks.push_back(d);
    } else if (directive == "stressor") {
      auto s = std::make_unique<Stressor>();
      words >> s->kind;
      s->fields = ParseFields(words, &s->argv);
      s->fields["id"] = std::to_string(w->stressors.size());
      if (!StressorTable().count(s->kind)) {
        *error = "unknown-stressor:" + s->kind + " line=" + std::to_string(lineno);
        return false;
      }
      s->nthreads = s->argv.empty() ? std::max(1, IntField(s->fields, "threads", 1)) : 1;
      if (s->fields.count("cpus")) {
        std::istringstream list(s->fields["cpus"]);
        for (std::string c; std::getline(list, c, ',');) {
          int cpu = std::atoi(c.c_str());
          if (cpu < 0 || cpu >= g_ncpus) {
            *error = "stressor-cpu-out-of-range kind=" + s->kind + " cpu=" + c +
                     " vcpus=" + std::to_string(g_ncpus);
            return false;
          }
          s->cpus.push_back(cpu);
        }
      }
      w->stressors.push_back(std::move(s));
    } else if (directive == "fault") {
      Fault f;
      words >> f.kind;
      f.fields = ParseFields(words);
      w->faults.push_back(f);
    } else {
      *error = "bad-directive line=" + std::to_string(lineno);
      return false;
    }
  }
  return true;
}

// What the whole guest did while the workload ran, from the kernel's own
// counters: interrupts and context switches (/proc/stat), wake-ups and the
// share of them that crossed CPUs (/proc/schedstat), and migrations of the
// agent's own threads (se.nr_migrations, summed at the end of the workload).
struct GuestCounters {
  uint64_t intr = 0, ctxt = 0, ttwu = 0, ttwu_local = 0;
};

GuestCounters ReadGuestCounters() {
  GuestCounters g;
  std::istringstream stat(ReadFile("/proc/stat"));
  for (std::string line; std::getline(stat, line);) {
    std::istringstream words(line);
    std::string key;
    words >> key;
    if (key == "intr") words >> g.intr;
    if (key == "ctxt") words >> g.ctxt;
  }
  // "cpuN yld_count legacy sched_count sched_goidle ttwu_count ttwu_local ..."
  std::istringstream sched(ReadFile("/proc/schedstat"));
  for (std::string line; std::getline(sched, line);) {
    if (line.compare(0, 3, "cpu") != 0) continue;
    std::istringstream words(line);
    std::string cpu;
    uint64_t v[6] = {};
    words >> cpu;
    for (uint64_t& x : v) words >> x;
    g.ttwu += v[4];
    g.ttwu_local += v[5];
  }
  return g;
}

// se.nr_migrations summed over every task alive now (the scheduler's debug
// file, present in Debian's kernels): taken before and after the workload,
// the difference counts the migrations of the tasks that lived through it.
uint64_t LiveTaskMigrations() {
  uint64_t sum = 0;
  DIR* procs = opendir("/proc");
  if (!procs) return 0;
  while (dirent* p = readdir(procs)) {
    if (p->d_name[0] < '0' || p->d_name[0] > '9') continue;
    std::string tasks_path = std::string("/proc/") + p->d_name + "/task";
    DIR* tasks = opendir(tasks_path.c_str());
    if (!tasks) continue;
    while (dirent* t = readdir(tasks)) {
      if (t->d_name[0] == '.') continue;
      sum += SumAfter(ReadFile(tasks_path + "/" + t->d_name + "/sched"), "se.nr_migrations");
    }
    closedir(tasks);
  }
  closedir(procs);
  return sum;
}

// Applies a phase: each stressor runs ceil(intensity x threads) threads (at
// least one) if the phase includes its kind, none otherwise.
void EnterPhase(Workload& w, const Phase& p) {
  for (auto& s : w.stressors) {
    bool included = p.only.empty() || std::find(p.only.begin(), p.only.end(), s->kind) != p.only.end();
    int n = static_cast<int>(std::ceil(p.intensity * s->nthreads - 1e-9));
    s->active = included ? std::max(1, n) : 0;
  }
  char intensity[16];
  std::snprintf(intensity, sizeof intensity, "%.2f", p.intensity);
  Status("phase", "name=" + p.name + " intensity=" + intensity);
}

// One "interval" record: per-stressor ops and errors since the last one, in
// workload order, so a long soak shows when the work slowed or stopped.
void ReportInterval(Workload& w, uint64_t start, const std::string& phase) {
  std::string ops, errors;
  for (auto& s : w.stressors) {
    uint64_t o = s->counters.ops.load(), e = s->counters.errors.load();
    ops += (ops.empty() ? "" : ",") + std::to_string(o - s->reported_ops);
    errors += (errors.empty() ? "" : ",") + std::to_string(e - s->reported_errors);
    s->reported_ops = o;
    s->reported_errors = e;
  }
  Status("interval", "t=" + std::to_string((NowNs() - start) / 1000000000ull) +
                         " phase=" + (phase.empty() ? "-" : phase) + " ops=" + (ops.empty() ? "-" : ops) +
                         " errors=" + (errors.empty() ? "-" : errors));
}

void RunWorkload(Workload& w) {
  std::string kinds;
  for (auto& s : w.stressors) kinds += (kinds.empty() ? "" : "+") + s->kind;
  Status("workload-start", "duration=" + std::to_string(static_cast<int>(w.duration_s)) +
                               " stressors=" + (kinds.empty() ? "none" : kinds) +
                               " phases=" + std::to_string(w.phases.size()));
  // Wake-up counts in /proc/schedstat need the kernel's schedstats on.
  WriteProc("/proc/sys/kernel/sched_schedstats", "1");
  GuestCounters before = ReadGuestCounters();
  uint64_t migrations_before = LiveTaskMigrations();
  uint64_t start = NowNs();
  size_t phase = 0;
  uint64_t phase_end = 0;
  if (!w.phases.empty()) {
    EnterPhase(w, w.phases[0]);
    phase_end = start + static_cast<uint64_t>(w.phases[0].duration_s * 1e9);
  }
  for (auto& s : w.stressors) {
    StressFn fn = StressorTable().at(s->kind);
    for (int i = 0; i < s->nthreads; ++i) s->threads.emplace_back(fn, s.get(), i);
  }
  std::vector<std::thread> fault_threads;
  for (const Fault& f : w.faults) {
    fault_threads.emplace_back([f, start] {
      uint64_t at = start + static_cast<uint64_t>(NumField(f.fields, "at", 0) * 1e9);
      while (NowNs() < at && !g_stop.load()) usleep(10000);
      if (!g_stop.load()) RunFault(f);
    });
  }
  uint64_t end = start + static_cast<uint64_t>(w.duration_s * 1e9);
  const uint64_t report_ns = static_cast<uint64_t>(w.report_s * 1e9);
  uint64_t next_report = start + report_ns;
  while (NowNs() < end) {
    usleep(50000);
    uint64_t now = NowNs();
    // A phase change also ends an interval, so each interval record belongs
    // to exactly one phase.
    bool phase_over = !w.phases.empty() && now >= phase_end && now < end;
    if (now >= next_report || phase_over) {
      ReportInterval(w, start, w.phases.empty() ? "" : w.phases[phase].name);
      next_report = now + report_ns;
    }
    if (phase_over) {
      phase = (phase + 1) % w.phases.size();
      EnterPhase(w, w.phases[phase]);
      phase_end = now + static_cast<uint64_t>(w.phases[phase].duration_s * 1e9);
    }
  }
  uint64_t migrations_after = LiveTaskMigrations();
  uint64_t migrations = migrations_after > migrations_before ? migrations_after - migrations_before : 0;
  GuestCounters after = ReadGuestCounters();
  double seconds = static_cast<double>(NowNs() - start) / 1e9;
  g_stop = true;
  for (auto& s : w.stressors) {
    for (auto& t : s->threads) t.join();
  }
  for (auto& t : fault_threads) t.join();
  for (auto& s : w.stressors) Status("stressor", CounterFields(*s));
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.3f", seconds);
  Status("guest-stats", std::string("seconds=") + secs + " intr=" + std::to_string(after.intr - before.intr) +
                            " ctxt=" + std::to_string(after.ctxt - before.ctxt) +
                            " ttwu=" + std::to_string(after.ttwu - before.ttwu) +
                            " ttwu_remote=" +
                            std::to_string((after.ttwu - after.ttwu_local) - (before.ttwu - before.ttwu_local)) +
                            " migrations=" + std::to_string(migrations));
  Status("workload-done", "seconds=" + std::to_string((NowNs() - start) / 1000000000ull));
}

// finit_module for each, in order. A module already loaded (or built in) is fine.
bool LoadModules(const std::vector<Module>& modules) {
  for (const Module& m : modules) {
    int fd = open(m.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      Status("error", "reason=module-missing path=" + m.path);
      return false;
    }
    long r = syscall(SYS_finit_module, fd, m.params.c_str(), 0);
    int err = errno;
    close(fd);
    if (r != 0 && err != EEXIST) {
      Status("error", "reason=module-load path=" + m.path + " errno=" + std::to_string(err));
      return false;
    }
  }
  if (!modules.empty()) Status("modules", "loaded=" + std::to_string(modules.size()));
  return true;
}

// Waits for each disk's device node, makes and mounts its file system.
bool PrepareDisks(const std::vector<Disk>& disks) {
  for (const Disk& d : disks) {
    struct stat st;
    uint64_t until = NowNs() + 20000000000ull;
    while (stat(d.device.c_str(), &st) != 0 && NowNs() < until) usleep(50000);
    if (stat(d.device.c_str(), &st) != 0) {
      Status("error", "reason=disk-missing dev=" + d.device);
      return false;
    }
    std::string where = d.device;
    if (d.fs == "ext4") {
      where = "/mnt/disk" + std::to_string(d.index);
      mkdir("/mnt", 0755);
      mkdir(where.c_str(), 0755);
      if (RunProgram({"/bin/busybox", "mke2fs", "-q", d.device}) != 0 ||
          mount(d.device.c_str(), where.c_str(), "ext4", 0, nullptr) != 0) {
        Status("error", "reason=disk-mkfs dev=" + d.device + " errno=" + std::to_string(errno));
        return false;
      }
      g_disk_dirs[d.index] = where;
    } else {
      g_disk_devices[d.index] = d.device;
    }
    Status("disk", "index=" + std::to_string(d.index) + " dev=" + d.device + " fs=" + d.fs + " at=" + where);
  }
  return true;
}

// Commands from the host over the console (see the header comment).
void ConsoleCommands() {
  // No echo: an echoed command would land in the middle of our own records.
  termios tio;
  if (tcgetattr(0, &tio) == 0) {
    tio.c_lflag &= ~static_cast<tcflag_t>(ECHO | ECHONL);
    tcsetattr(0, TCSANOW, &tio);
  }
  std::string line;
  char c;
  while (read(0, &c, 1) == 1) {
    if (c != '\n' && c != '\r') {
      if (line.size() < 256) line += c;
      continue;
    }
    std::istringstream words(line);
    line.clear();
    std::string marker, nonce, command, keys;
    words >> marker >> nonce >> command >> keys;
    if (marker != "@BX1" || nonce != g_nonce) continue;
    if (command == "sysrq") {
      WriteProc("/proc/sys/kernel/sysrq", "1");
      Status("sysrq", "keys=" + keys);
      for (char k : keys) {
        char key[2] = {k, 0};
        WriteProc("/proc/sysrq-trigger", key);
      }
    }
  }
}

// `blackout-agent relay PREFIX`, in a xen-pv-domu dom0: copies the domU's
// console (xl create -c on stdin) to dom0's console with PREFIX on every line,
// each line in one write so dom0's own messages never split one.
int Relay(const std::string& prefix) {
  std::string pending;
  char buf[4096];
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string line = pending.substr(start, nl - start);
      while (!line.empty() && line.back() == '\r') line.pop_back();
      WriteLine(prefix + line + "\n");
    }
    pending.erase(0, start);
    // A line that never ends (a prompt) still goes out, once it is long.
    if (pending.size() > 1024) {
      WriteLine(prefix + pending + "\n");
      pending.clear();
    }
  }
  if (!pending.empty()) WriteLine(prefix + pending + "\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "relay") return Relay(argv[2]);
  std::string cmdline = ReadFile("/proc/cmdline");
  std::string nonce = CmdlineValue(cmdline, blackout::protocol::kNonceArg);
  if (!nonce.empty()) g_nonce = nonce;
  int interval_ms = std::atoi(CmdlineValue(cmdline, blackout::protocol::kIntervalArg).c_str());
  if (interval_ms <= 0) interval_ms = 200;
  g_ncpus = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  if (g_ncpus < 1) g_ncpus = 1;

  utsname uts{};
  uname(&uts);
  Status("hello", "vcpus=" + std::to_string(g_ncpus) + " kernel=" + uts.release +
                      " interval_ms=" + std::to_string(interval_ms));

  Workload workload;
  std::string error;
  if (!LoadWorkload("/etc/blackout/workload.conf", &workload, &error)) Fail(error);

  for (int cpu = 0; cpu < g_ncpus; ++cpu) std::thread(HeartbeatLoop, cpu, interval_ms).detach();
  std::thread(ConsoleCommands).detach();
  if (!LoadModules(workload.modules) || !PrepareDisks(workload.disks)) PowerOff();
  RunWorkload(workload);
  Status("done");
  // Let the last heartbeats and the done line drain through the console.
  usleep(300000);
  PowerOff();
}
