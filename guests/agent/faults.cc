// Faults injected on purpose inside the guest: freeze, hang, panic, kmsg.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>

#include "base/protocol.h"
#include "guests/agent/agent.h"

namespace blackout::agent {

// Injected on purpose by tests and by users who want to check the harness sees
// what it should: a real guest-internal freeze, a real panic.

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

}  // namespace blackout::agent
