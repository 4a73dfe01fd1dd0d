// `blackout xen-host`: a Xen host that libvirt reaches, nested under QEMU on
// this machine (Xen, Debian's dom0 kernel, xenstored, xenconsoled and
// libvirtd with its libxl driver), for trying and testing blackout's Xen-host
// path (`--host xen+tcp://127.0.0.1:PORT/system`) where no Xen host exists.
// It serves until interrupted; its console goes to a file.
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <cstring>
#include <fstream>

#include "base/error.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/protocol.h"
#include "base/subprocess.h"
#include "guests/boot.h"
#include "harness/cli/command.h"
#include "harness/config.h"
#include "harness/vm/accel.h"
#include "harness/vm/libvirt_backend.h"
#include "harness/vm/libvirt_connection.h"
#include "harness/vm/qemu_backend.h"
#include "kernels/kernel.h"

namespace blackout {
namespace {

struct XenHostFlags {
  int port = 16600;
  int cpus = 2;
  int memory_mib = 2048;
  int dom0_memory_mib = 768;
  std::string console;  // "": <scratch>/console.log
  std::string accel = "auto";
  int ready_timeout_s = 900;
};

int CmdXenHost(const XenHostFlags& f) {
  if (f.dom0_memory_mib + 256 > f.memory_mib) {
    throw ConfigError({"--memory " + std::to_string(f.memory_mib) + " leaves Xen no room for domUs beside dom0's " +
                       std::to_string(f.dom0_memory_mib) + " MiB"});
  }
  std::string cache = CacheDir();
  RunConfig defaults = DefaultConfig();
  XenHostInputs in;
  Status("Xen host: hypervisor, dom0 kernel, toolstack and libvirt");
  in.xen = FetchXen(defaults.xen, cache);
  in.dom0_kernel = FetchKernel(KernelSpec{}, cache);
  in.xen_tools = FetchXenTools(in.xen, cache);
  in.libvirt = FetchXenLibvirt(in.xen_tools, cache);
  in.busybox_path = FindBusybox();
  in.agent_path = FindAgent();
  if (int swept = SweepOrphanScratch()) Log("removed " + std::to_string(swept) + " scratch directories of dead runs");
  in.scratch_dir = MakeScratchDir();
  in.cpus = f.cpus;
  in.memory_mb = static_cast<uint64_t>(f.memory_mib);
  in.dom0_memory_mb = static_cast<uint64_t>(f.dom0_memory_mib);
  in.port = f.port;
  Status("Xen host: assembling dom0");
  BootSpec boot = AssembleXenHost(in);
  AccelChoice accel = ChooseAccel(f.accel, in.dom0_kernel.bzimage, in.busybox_path, cache);
  ClearStatus();

  std::string console_path = f.console.empty() ? in.scratch_dir + "/console.log" : f.console;
  std::ofstream console(console_path, std::ios::binary | std::ios::trunc);
  if (!console) throw InfraError("open " + console_path + ": " + std::strerror(errno));
  StartOptions so;
  so.accel = accel.mode;
  so.socket_dir = in.scratch_dir;
  so.log_path = in.scratch_dir + "/qemu.log";
  so.name = "blackout-xen-host";
  QemuBackend backend;
  std::unique_ptr<Instance> vm = backend.Start(boot, so);
  std::string uri = "xen+tcp://127.0.0.1:" + std::to_string(f.port) + "/system";
  std::printf("xen-host: booting Xen %s, dom0 %s and libvirt %s under QEMU (%s); console in %s\n",
              in.xen.version.c_str(), in.dom0_kernel.version.c_str(), in.libvirt.version.c_str(), accel.mode.c_str(),
              console_path.c_str());
  std::fflush(stdout);

  const std::string up = std::string(protocol::kDom0Marker) + "libvirt-up";
  const std::string error = std::string(protocol::kDom0Marker) + "error ";
  std::string recent;  // the console's tail, for markers and failure messages
  bool ready = false;
  auto started = std::chrono::steady_clock::now();
  int rc = 0;
  for (;;) {
    if (InterruptFlag().load()) break;
    bool clean = false;
    std::string status;
    pollfd p{vm->console_fd(), POLLIN, 0};
    if (poll(&p, 1, 500) > 0) {
      char buf[65536];
      ssize_t n = read(vm->console_fd(), buf, sizeof buf);
      if (n > 0) {
        console.write(buf, n);
        console.flush();
        recent.append(buf, static_cast<size_t>(n));
        if (recent.size() > 65536) recent.erase(0, recent.size() - 32768);
      }
    }
    if (!ready && recent.find(error) != std::string::npos) {
      std::fprintf(stderr, "xen-host: dom0 failed:\n%s\n", TerminalSafe(OutputTail(recent, 30)).c_str());
      rc = 1;
      break;
    }
    if (!ready && recent.find(up) != std::string::npos) {
      LibvirtHostInfo info = DescribeLibvirtHost(uri);  // throws HostError when it cannot be reached
      std::printf("ready: %s (%s, %d CPUs, %llu MiB)\n", uri.c_str(), info.hypervisor.c_str(), info.cpus,
                  static_cast<unsigned long long>(info.memory_mib));
      std::fflush(stdout);
      ready = true;
    }
    if (vm->Exited(&clean, &status)) {
      std::fprintf(stderr, "xen-host: the machine ended (%s):\n%s\n", status.c_str(),
                   TerminalSafe(OutputTail(recent, 30)).c_str());
      rc = 1;
      break;
    }
    if (!ready && std::chrono::steady_clock::now() - started > std::chrono::seconds(f.ready_timeout_s)) {
      std::fprintf(stderr, "xen-host: libvirt did not come up within %ds:\n%s\n", f.ready_timeout_s,
                   TerminalSafe(OutputTail(recent, 30)).c_str());
      rc = 1;
      break;
    }
  }
  vm->Stop();
  std::error_code ec;
  if (f.console.empty() && rc == 0) std::filesystem::remove_all(in.scratch_dir, ec);
  return rc;
}

}  // namespace

void AddXenHostCommands(CLI::App& app, CommandTable& table) {
  auto flags = std::make_shared<XenHostFlags>();
  CLI::App* cmd = app.add_subcommand(
      "xen-host",
      "Boot a Xen host under QEMU that libvirt reaches (Xen, a Debian dom0, libvirtd with its libxl driver) and serve "
      "it until interrupted: runs go to it with --host xen+tcp://127.0.0.1:PORT/system");
  cmd->add_option("--port", flags->port, "port on 127.0.0.1 forwarded to dom0's libvirtd (TCP, no auth)")
      ->check(CLI::Range(1024, 65535))
      ->capture_default_str();
  cmd->add_option("--cpus", flags->cpus, "the machine's CPUs (Xen's pCPUs)")->check(CLI::Range(1, 64))->capture_default_str();
  cmd->add_option("--memory", flags->memory_mib, "the machine's memory in MiB (dom0's and the domUs')")
      ->check(CLI::Range(1024, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--dom0-memory", flags->dom0_memory_mib, "dom0's memory in MiB (libvirt's uploads live there)")
      ->check(CLI::Range(384, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--accel", flags->accel, "auto | kvm | tcg")->check(CLI::IsMember({"auto", "kvm", "tcg"}))->capture_default_str();
  cmd->add_option("--console", flags->console, "write the machine's console here (default: its scratch directory)");
  cmd->add_option("--ready-timeout", flags->ready_timeout_s, "seconds for libvirt to come up")
      ->check(CLI::Range(10, 86400))
      ->capture_default_str();
  table.Add(cmd, [flags] { return CmdXenHost(*flags); });
}

}  // namespace blackout
