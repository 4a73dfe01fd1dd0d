#include "guests/boot.h"

#include <cstdlib>
#include <filesystem>

#include "base/error.h"
#include "base/fsutil.h"
#include "base/subprocess.h"
#include "guests/agent/protocol.h"
#include "guests/initramfs.h"
#include "guests/libclosure.h"
#include "guests/modules.h"

namespace blackout {

const char kInitScript[] = R"(#!/bin/busybox sh
# blackout guest init: mount what the agent needs, then hand PID 1 to it.
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox mount -t tmpfs tmpfs /tmp
/bin/busybox --install -s /bin
exec /bin/blackout-agent
)";

namespace {

std::string StaticBinary(const std::string& what, const char* env, const std::string& fallback,
                         const std::string& hint) {
  const char* override_path = std::getenv(env);
  std::string path = override_path && *override_path ? override_path : fallback;
  if (!std::filesystem::exists(path)) throw InfraError("find " + what + ": " + path + " is missing (" + hint + ")");
  if (!IsStaticElf(path)) throw InfraError("use " + what + " " + path + ": not a static binary (" + hint + ")");
  return path;
}

void CheckNoComma(const std::string& what, const std::string& text) {
  if (text.find(',') != std::string::npos) {
    throw ConfigError({what + " '" + text +
                       "' contains a comma: QEMU splits multiboot modules at commas, so a module's "
                       "command line cannot hold one"});
  }
}

}  // namespace

std::string FindAgent() {
  return StaticBinary("blackout-agent", "BLACKOUT_AGENT", ExecutableDir() + "/blackout-agent",
                      "build it with ci/build.sh");
}

std::string FindBusybox() {
  return StaticBinary("busybox", "BLACKOUT_BUSYBOX", "/bin/busybox",
                      "install busybox-static with ci/install-deps.sh");
}

BootSpec AssembleBoot(const BootInputs& in) {
  bool xen = in.guest.type == "xen-pv-dom0";
  if (!xen && in.guest.type != "hvm") {
    throw ConfigError({"guest type '" + in.guest.type + "' is not supported (xen-pv-dom0 and hvm are)"});
  }
  if (xen && !in.kernel.xen_pv) {
    throw ConfigError({"kernel " + in.kernel.package + " " + in.kernel.version +
                       " lacks CONFIG_XEN_PV=y: it cannot boot as a Xen PV guest"});
  }
  Initramfs img;
  for (const char* dir : {"proc", "sys", "dev", "tmp", "bin", "sbin", "etc/blackout", "root"}) img.AddDir(dir);
  img.AddCharDevice("dev/console", 5, 1);
  img.AddCharDevice("dev/null", 1, 3, 0666);
  img.AddText("init", kInitScript, 0755);
  img.AddFile("bin/busybox", in.busybox_path, 0755);
  img.AddFile("bin/blackout-agent", in.agent_path, 0755);
  // Modules from the kernel's own package, dependencies first; the agent loads
  // them in this order before the workload.
  std::string module_lines;
  if (!in.modules.empty()) {
    std::vector<std::string> names;
    for (const ModuleRequest& m : in.modules) names.push_back(m.name);
    for (const std::string& rel : ModuleClosure(in.kernel.modules_dir, names)) {
      std::string dest = "lib/modules/" + in.kernel.release + "/" + rel;
      img.AddFile(dest, in.kernel.modules_dir + "/" + rel, 0644);
      std::string params;
      for (const ModuleRequest& m : in.modules) {
        std::string base = rel.substr(rel.rfind('/') + 1);
        if (base == m.name + ".ko") params = m.params;
      }
      module_lines += "module /" + dest + (params.empty() ? "" : " " + params) + "\n";
    }
  }
  img.AddText("etc/blackout/workload.conf", module_lines + in.workload_conf);
  // Standard tools (stress-ng, fio) with the libraries ldd finds for them.
  AddWithLibraries(img, in.tools);
  for (const auto& [path, text] : in.files) img.AddText(path.substr(1), text);
  MakeDirs(in.scratch_dir);
  std::string initramfs = in.scratch_dir + "/initramfs.cpio.gz";
  img.Write(initramfs);

  std::string kernel_cmdline = std::string(xen ? "console=hvc0 earlyprintk=xen " : "console=ttyS0 ") +
                               protocol::kNonceArg + in.nonce + " " + protocol::kIntervalArg +
                               std::to_string(in.heartbeat_ms);
  if (in.guest.fast) kernel_cmdline += " mitigations=off";
  if (!in.guest.kernel_cmdline.empty()) kernel_cmdline += " " + in.guest.kernel_cmdline;
  uint64_t mem_mb = in.guest.memory >> 20;
  // The workload's disks: images made by qemu-img, attached as virtio-blk
  // (plain QEMU guests and Xen's dom0 alike see a PCI virtio disk).
  std::vector<std::string> drives;
  for (size_t i = 0; i < in.disks.size(); ++i) {
    const DiskSpec& d = in.disks[i];
    std::string image = in.scratch_dir + "/disk" + std::to_string(i) + "." + d.format;
    RunChecked({"qemu-img", "create", "-q", "-f", d.format, image, std::to_string(d.size)});
    CheckNoComma("disk path", image);
    drives.push_back("file=" + image + ",format=" + d.format + ",if=virtio,cache=" + d.cache);
  }
  if (!xen) {
    // hvm: the kernel under test straight under QEMU, no Xen: the baseline
    // that tells a Xen-specific hang from a generic one. The raw vmlinux boots
    // through its PVH entry (no decompression); the console is the serial port.
    BootSpec b;
    b.guest_type = in.guest.type;
    b.cpus = in.guest.vcpus;
    b.memory_mb = mem_mb;
    b.kernel = in.kernel.vmlinux;
    b.append = kernel_cmdline;
    b.initrd = initramfs;
    b.initramfs = initramfs;
    b.drives = drives;
    return b;
  }
  CheckNoComma("kernel command line", kernel_cmdline);
  CheckNoComma("kernel path", in.kernel.vmlinux);
  CheckNoComma("initramfs path", initramfs);

  BootSpec b;
  b.guest_type = in.guest.type;
  b.cpus = in.guest.vcpus;
  // Xen and its heap need room beside dom0.
  b.memory_mb = mem_mb + 384;
  b.kernel = in.xen.elf;
  b.append = "console=com1 com1=115200,8n1 dom0_mem=" + std::to_string(mem_mb) + "M,max:" +
             std::to_string(mem_mb) + "M dom0_max_vcpus=" + std::to_string(in.guest.vcpus) +
             " noreboot";
  if (in.guest.fast) b.append += " xpti=no pv-l1tf=no spec-ctrl=no";
  if (!in.guest.xen_cmdline.empty()) b.append += " " + in.guest.xen_cmdline;
  b.initrd = in.kernel.vmlinux + " " + kernel_cmdline + "," + initramfs;
  b.initramfs = initramfs;
  b.drives = drives;
  return b;
}

}  // namespace blackout
