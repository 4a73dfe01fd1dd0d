#include "harness/monitor.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "base/error.h"
#include "base/log.h"
#include "harness/vm/host_faults.h"
#include "harness/detect/host_stats.h"

namespace blackout {
namespace {

double Since(HostClock::time_point start) {
  return std::chrono::duration<double>(HostClock::now() - start).count();
}

std::string Secs(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fs", s);
  return buf;
}

// Reads what is available on fd without blocking longer than timeout_ms,
// up to `most` bytes when more are waiting (one read when 0). Returns -1 at
// EOF (nothing read), else the number of bytes appended to out.
ssize_t ReadSome(int fd, int timeout_ms, std::string* out, size_t most = 0) {
  pollfd p{fd, POLLIN, 0};
  int r = poll(&p, 1, timeout_ms);
  if (r <= 0) return 0;
  char buf[65536];
  size_t total = 0;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n == 0) return total > 0 ? static_cast<ssize_t>(total) : -1;
    if (n < 0) return errno == EINTR || errno == EAGAIN || total > 0 ? static_cast<ssize_t>(total) : -1;
    out->append(buf, static_cast<size_t>(n));
    total += static_cast<size_t>(n);
    if (static_cast<size_t>(n) < sizeof buf || total >= most) return static_cast<ssize_t>(total);
  }
}

// At most this much of a console that keeps its bytes is taken per judging.
constexpr size_t kDrainBytes = 4u << 20;

// Console bytes are judged at most this often (seconds); they are read as
// they come.
constexpr double kJudgeInterval = 0.05;

}  // namespace

std::string ProgressText(const RunProgress& p, std::optional<double> first_heartbeat, double t,
                         double workload_s) {
  char buf[160];
  if (!first_heartbeat) {
    std::snprintf(buf, sizeof buf, "boot: %.0fs, waiting for the first heartbeat", t);
    return buf;
  }
  if (!p.workload_start) {
    std::snprintf(buf, sizeof buf, "boot: first heartbeat after %.1fs, waiting for the workload", *first_heartbeat);
    return buf;
  }
  double left = std::max(0.0, workload_s - (t - *p.workload_start));
  std::snprintf(buf, sizeof buf, "workload%s%s: %.0fs left of %.0fs, %d heartbeat gap%s", p.phase.empty() ? "" : " ",
                p.phase.c_str(), left, workload_s, p.gaps, p.gaps == 1 ? "" : "s");
  return buf;
}

void FlushEvents(Detector& detector, RunDir& dir, RunProgress* progress) {
  for (const DetectorEvent& e : detector.TakeEvents()) {
    dir.AppendEvent(e.t, e.type, e.data);
    if (progress && e.type == "gap") ++progress->gaps;
    if (progress && e.type == "agent") {
      std::string event = e.data.value("event", "");
      if (event == "workload-start") progress->workload_start = e.t;
      if (event == "phase") progress->phase = TerminalSafe(StripEscapes(e.data.value("name", "")));
    }
    if (e.type == "first-heartbeat") {
      Log("first heartbeat after " + Secs(e.data["after_s"].get<double>()));
    } else if (e.type == "gap") {
      Log("heartbeat gap: vCPU " + std::to_string(e.data["vcpu"].get<int>()) + " silent for " +
          Secs(e.data["length_s"].get<double>()));
    } else if (e.type == "report") {
      Log("kernel: " + TerminalSafe(StripEscapes(ShownTitle(e.data["title"].get<std::string>(),
                                                            e.data.value("discounted", std::string())))));
    } else if (e.type == "agent" && e.data.value("event", "") == "workload-start") {
      Log("workload started: " + TerminalSafe(StripEscapes(e.data.value("stressors", std::string("none")))));
    } else if (e.type == "stop") {
      Log("stopping: " + e.data["reason"].get<std::string>());
    }
  }
}

double Monitor(Instance& vm, Detector& detector, RunDir& dir, HostClock::time_point start,
               const MonitorOptions& options) {
  std::vector<bool> injected(options.inject.size(), false);
  double resume_at = -1, paused_at = 0;
  std::unique_ptr<VcpuStarvation> starvation;
  std::string injecting;
  bool console_open = true;
  double last_iteration = Since(start);
  HostSampler sampler(vm.pid());
  double next_sample = 0;
  RunProgress progress;
  double next_status = 0;
  std::string pending_echo;
  // What the backend read while it started the VM comes first.
  if (std::string early = vm.TakeEarlyConsole(); !early.empty()) {
    dir.AppendConsole(Since(start), early);
    detector.Bytes(Since(start), early);
  }
  // Bytes read but not yet judged, and when they will be.
  std::string data;
  double judge_at = 0;
  while (!detector.decided()) {
    if (console_open && vm.console_keeps_bytes()) {
      // The console's pipe holds what the guest writes: sleep until judging
      // is due, then take all of it (or wait for the first byte).
      double wait = judge_at - Since(start);
      if (wait > 0) usleep(static_cast<useconds_t>(wait * 1e6));
      if (ReadSome(vm.console_fd(), 100, &data, kDrainBytes) < 0) console_open = false;
    } else if (console_open) {
      // Read as soon as bytes come, never later: a console that keeps no
      // bytes (QEMU's UART on a socket: each one-byte write costs the send
      // buffer a whole skb, about 300 fit) drops what is not read. Judging
      // them (the log, the detector, the VM's state) waits for the next
      // twentieth of a second: TCG's UART delivers a line in pieces, and
      // judging every piece cost more CPU than the rest of the run.
      double wait = judge_at - Since(start);
      int timeout_ms = data.empty() ? 100 : static_cast<int>(std::max(0.0, wait) * 1000);
      ssize_t got = ReadSome(vm.console_fd(), timeout_ms, &data);
      if (got < 0) console_open = false;
      if (got > 0 && Since(start) < judge_at) continue;
    } else {
      usleep(100000);
    }
    double t = Since(start);
    // Our own lateness: if this loop was not scheduled, heartbeats look late
    // through no fault of the guest. Recorded so nobody blames the kernel.
    if (t - last_iteration > 1.0) detector.MonitorLate(t, t - last_iteration - 0.1);
    last_iteration = t;
    // This machine's scheduler says nothing of a guest on another host.
    if (t >= next_sample && vm.pid() > 0) {
      detector.HostStats(sampler.Sample(t));
      next_sample = t + 0.25;
    }
    if (!data.empty()) {
      dir.AppendConsole(t, data);
      detector.Bytes(t, data);
      if (options.echo_console) {
        pending_echo += data;
        size_t nl;
        while ((nl = pending_echo.find('\n')) != std::string::npos) {
          std::string line = StripEscapes(pending_echo.substr(0, nl));
          if (line.find("@BH1 ") == std::string::npos) std::fprintf(stderr, "| %s\n", line.c_str());
          pending_echo.erase(0, nl + 1);
        }
      }
      data.clear();
    }
    judge_at = t + kJudgeInterval;
    detector.Tick(t);

    bool clean = false;
    std::string status;
    if (vm.Exited(&clean, &status)) {
      // Whatever the guest wrote last is still in the socket.
      std::string rest;
      while (console_open && ReadSome(vm.console_fd(), 50, &rest) > 0) {
      }
      if (!rest.empty()) {
        dir.AppendConsole(t, rest);
        detector.Bytes(t, rest);
      }
      detector.VmExited(Since(start), clean, status);
    }
    if (options.interrupted && options.interrupted->load()) detector.Interrupted(t);

    try {
      if (resume_at >= 0 && t >= resume_at) {
        if (injecting == "pause") vm.Resume();
        starvation.reset();
        dir.AppendEvent(t, "inject-end", {{"kind", injecting}, {"length_s", t - paused_at}});
        Log("injected " + injecting + " over after " + Secs(t - paused_at));
        resume_at = -1;
      }
      auto first = detector.first_heartbeat();
      for (size_t i = 0; i < options.inject.size() && first && resume_at < 0; ++i) {
        const HostFault& f = options.inject[i];
        if (injected[i] || t < *first + f.at_s) continue;
        injected[i] = true;
        injecting = f.kind;
        if (f.kind == "starve") {
          starvation = std::make_unique<VcpuStarvation>(vm.pid(), f.cpu);
          Log("injecting " + Secs(f.length_s) + " of host contention on vCPU thread " + std::to_string(f.cpu));
        } else {
          vm.Pause();
          Log("injecting a " + Secs(f.length_s) + " VM pause (QMP stop/cont)");
        }
        paused_at = Since(start);
        resume_at = paused_at + f.length_s;
        dir.AppendEvent(paused_at, "inject-begin", {{"kind", f.kind}, {"length_s", f.length_s}, {"cpu", f.cpu}});
      }
    } catch (const InfraError& e) {
      detector.InfraFailure(t, e.what());
    }
    FlushEvents(detector, dir, &progress);
    if (t >= next_status) {
      Status(ProgressText(progress, detector.first_heartbeat(), t, options.workload_s));
      next_status = t + 1;
    }
  }
  // Undo an injection still in progress, so evidence comes from a running VM.
  if (resume_at >= 0 && injecting == "pause") {
    try {
      vm.Resume();
    } catch (const InfraError&) {
    }
  }
  return Since(start);
}

std::string DrainConsole(Instance& vm, RunDir& dir, HostClock::time_point start, double seconds,
                         const std::string& until_text) {
  std::string all;
  auto until = HostClock::now() + std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  while (HostClock::now() < until) {
    if (!until_text.empty() && all.find(until_text) != std::string::npos) break;
    std::string data;
    if (ReadSome(vm.console_fd(), 100, &data) < 0) break;
    if (!data.empty()) {
      dir.AppendConsole(Since(start), data);
      all += data;
    }
  }
  return all;
}

}  // namespace blackout
