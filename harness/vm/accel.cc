#include "harness/vm/accel.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "base/error.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/subprocess.h"
#include "guests/initramfs.h"

namespace blackout {
namespace {

constexpr char kProbeMarker[] = "BLACKOUT-KVM-PROBE-OK";

// Boots a kernel under KVM that prints a marker from /init and powers off.
AccelChoice Probe(const std::string& kernel, const std::string& busybox, const std::string& dir) {
  MakeDirs(dir);
  Initramfs img;
  img.AddCharDevice("dev/console", 5, 1);
  img.AddFile("bin/busybox", busybox, 0755);
  img.AddText("init", std::string("#!/bin/busybox sh\n/bin/busybox echo ") + kProbeMarker +
                          "\n/bin/busybox poweroff -f\n", 0755);
  img.Write(dir + "/probe.cpio.gz");
  CommandOptions opts;
  opts.timeout_s = 30;
  auto t0 = std::chrono::steady_clock::now();
  CommandResult r = RunCommand({"qemu-system-x86_64", "-accel", "kvm", "-cpu", "host", "-m", "256",
                                "-nodefaults", "-display", "none", "-no-reboot", "-serial", "stdio",
                                "-kernel", kernel, "-initrd", dir + "/probe.cpio.gz", "-append",
                                "console=ttyS0 panic=-1 quiet"},
                               opts);
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (r.output.find(kProbeMarker) != std::string::npos) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "kvm probe booted a guest in %.1fs", took);
    return {"kvm", buf};
  }
  return {"tcg", r.timed_out ? "kvm probe guest hung (no output within 30s)"
                             : "kvm probe failed: " + OutputTail(r.output, 1)};
}

std::string BootId() {
  try {
    std::string id = ReadFile("/proc/sys/kernel/random/boot_id");
    return id.substr(0, id.find('\n'));
  } catch (const InfraError&) {
    return "unknown";
  }
}

}  // namespace

AccelChoice ChooseAccel(const std::string& requested, const std::string& probe_kernel,
                        const std::string& busybox, const std::string& cache_dir) {
  if (requested == "tcg") return {"tcg", "requested"};
  int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  std::string no_kvm;
  if (fd < 0) {
    no_kvm = access("/dev/kvm", F_OK) == 0 ? "/dev/kvm cannot be opened" : "no /dev/kvm";
  } else {
    close(fd);
  }
  AccelChoice choice{"tcg", no_kvm};
  if (no_kvm.empty()) {
    // The probe costs seconds (or its 30 s deadline): remember it per host boot.
    std::string cached = cache_dir + "/kvm-probe-" + BootId();
    if (std::filesystem::exists(cached)) {
      std::string text = ReadFile(cached);
      size_t nl = text.find('\n');
      choice = {text.substr(0, nl), nl == std::string::npos ? "" : text.substr(nl + 1)};
      while (!choice.reason.empty() && choice.reason.back() == '\n') choice.reason.pop_back();
      choice.reason += " (cached)";
    } else {
      Log("probing KVM (a short guest boot)");
      choice = Probe(probe_kernel, busybox, cache_dir + "/kvm-probe.d");
      MakeDirs(cache_dir);
      WriteFileAtomic(cached, choice.mode + "\n" + choice.reason + "\n");
    }
  }
  if (requested == "kvm" && choice.mode != "kvm") {
    throw InfraError("use kvm: " + choice.reason);
  }
  return choice;
}

}  // namespace blackout
