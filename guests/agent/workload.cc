// Running the workload: modules, disks, phases, stressor threads, faults, counters.
#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/protocol.h"
#include "guests/agent/agent.h"
#include "guests/agent/workload_conf.h"

namespace blackout::agent {

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
      // delay_mean: a bug with a time to hang, exponential with this mean,
      // drawn anew every boot from the kernel's random pool.
      double at_s = NumField(f.fields, "at", 0);
      double mean = NumField(f.fields, "delay_mean", 0);
      if (mean > 0) {
        uint64_t draw = 0;
        if (getrandom(&draw, sizeof draw, 0) != sizeof draw) draw = NowNs();
        double u = (static_cast<double>(draw >> 11) + 0.5) / 9007199254740992.0;  // (0, 1)
        at_s += -mean * std::log(u);
      }
      uint64_t at = start + static_cast<uint64_t>(at_s * 1e9);
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

// init_module from the file's bytes: kernels before 3.8 have no finit_module.
long InitModuleFromFile(int fd, const char* params) {
  struct stat st;
  if (fstat(fd, &st) != 0) return -1;
  std::vector<char> image(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < image.size()) {
    ssize_t n = read(fd, image.data() + got, image.size() - got);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      errno = n == 0 ? EIO : errno;
      return -1;
    }
    got += static_cast<size_t>(n);
  }
  return syscall(SYS_init_module, image.data(), image.size(), params);
}

// finit_module for each, in order (init_module where the kernel has no
// finit_module). A module already loaded (or built in) is fine.
bool LoadModules(const std::vector<Module>& modules) {
  for (const Module& m : modules) {
    int fd = open(m.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      Status("error", "reason=module-missing path=" + m.path);
      return false;
    }
    long r = syscall(SYS_finit_module, fd, m.params.c_str(), 0);
    int err = errno;
    if (r != 0 && err == ENOSYS) {
      r = InitModuleFromFile(fd, m.params.c_str());
      err = errno;
    }
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
      // The initramfs's busybox, or (an image guest, under the image's own
      // init) the image's e2fsprogs.
      std::vector<std::string> mkfs = {"/bin/busybox", "mke2fs", "-q", d.device};
      if (access("/bin/busybox", X_OK) != 0) mkfs = {"/sbin/mke2fs", "-q", "-F", d.device};
      if (RunProgram(mkfs) != 0 ||
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

bool LoadWorkload(const char* path, Workload* w, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = "no-workload-file";
    return false;
  }
  std::set<std::string> kinds;
  for (const auto& [kind, fn] : StressorTable()) kinds.insert(kind);
  return ParseWorkloadConf(ReadFile(path), kinds, g_ncpus, w, error);
}

}  // namespace blackout::agent
