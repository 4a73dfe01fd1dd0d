// Boot assembly: from a guest profile, a kernel, the hypervisor and a
// workload, the files and command lines a backend needs to start the VM.
//
// xen-pv-dom0 (the default and fastest PV path): QEMU loads Xen as a multiboot
// kernel; the kernel under test (its raw ELF vmlinux, so Xen skips the xz
// decompression) and the initramfs are multiboot modules. Because QEMU
// separates modules with commas, no comma may appear in a module's command line.
//
// hvm: the kernel under test directly under QEMU (no Xen), its raw vmlinux
// booted through the PVH entry, console on the serial port.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kernels/kernel.h"
#include "workloads/workload.h"

namespace blackout {

struct GuestSpec {
  std::string type = "xen-pv-dom0";  // or "hvm"
  int vcpus = 2;
  uint64_t memory = 512ull << 20;  // the guest's memory (dom0_mem)
  std::string xen_cmdline;         // appended to Xen's command line
  std::string kernel_cmdline;      // appended to the guest kernel's
  // The fast option set: Xen xpti=no pv-l1tf=no spec-ctrl=no and the guest's
  // mitigations=off. Boots much faster under TCG but changes the code paths
  // under test, so qualification runs keep it off unless told.
  bool fast = false;
};

struct BootSpec {
  std::string guest_type;
  int cpus = 2;            // QEMU vCPUs
  uint64_t memory_mb = 0;  // QEMU memory
  std::string kernel;      // -kernel
  std::string append;      // -append
  std::string initrd;      // -initrd (a comma list for multiboot)
  std::string initramfs;   // the image we built, for the record
  std::vector<std::string> drives;  // QEMU -drive values, virtio-blk, in /dev/vdX order
};

struct BootInputs {
  GuestSpec guest;
  KernelArtifact kernel;
  XenArtifact xen;
  std::string nonce;
  int heartbeat_ms = 200;
  std::string workload_conf;  // the agent's /etc/blackout/workload.conf
  std::vector<ModuleRequest> modules;  // loaded by the agent, with their dependencies
  std::vector<DiskSpec> disks;         // made with qemu-img in scratch_dir
  std::vector<std::string> tools;      // host binaries copied in with their library closure
  std::map<std::string, std::string> files;  // extra guest files (fio jobs), path -> text
  std::string agent_path;     // static blackout-agent
  std::string busybox_path;   // static busybox
  std::string scratch_dir;    // where the initramfs is written
};

// Builds the initramfs into scratch_dir and returns the boot. Throws
// ConfigError for an unusable kernel (no Xen PV) or a command line with commas.
BootSpec AssembleBoot(const BootInputs& in);

// Where blackout-agent lives: $BLACKOUT_AGENT, else beside the running
// executable. Throws InfraError when it is missing or not static.
std::string FindAgent();
// Where a static busybox lives ($BLACKOUT_BUSYBOX, else /bin/busybox from the
// busybox-static package). Throws InfraError when it is missing or dynamic.
std::string FindBusybox();

// The /init script that mounts the pseudo file systems and execs the agent.
extern const char kInitScript[];

}  // namespace blackout
