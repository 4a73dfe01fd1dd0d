// Boot assembly: from a guest profile, a kernel, the hypervisor and a
// workload, the files and command lines a backend needs to start the VM.
//
// xen-pv-domu (the cloud shape): Xen boots dom0 from Debian's default kernel
// with an initramfs holding Xen's toolstack (the same image for every run);
// dom0's init starts xenstored, xen-init-dom0 and xenconsoled, parks for the
// host's go when asked (BootSpec::dom0_parks: the QEMU backend saves the VM
// there once and restores it for later runs), then reads the run's files
// from its first virtio disk (the domU's raw vmlinux, initramfs, xl config,
// nonce) and runs `xl create -c`, relaying the domU's console with
// protocol::kDomUPrefix on each line.
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

#include "guests/initramfs.h"
#include "guests/profile.h"
#include "kernels/kernel.h"
#include "workloads/workload.h"

namespace blackout {

// A workload disk as the VM sees it: a virtio-blk disk, in /dev/vdX order.
struct BootDisk {
  std::string path;    // the image file
  std::string format;  // raw | qcow2
  std::string cache;   // none | writeback | writethrough | directsync | unsafe
  uint64_t size = 0;   // bytes the guest sees
  // The image holds files for the guest (xen-pv-domu's run disk): a remote
  // host gets its bytes. Otherwise it is empty and the guest makes its file
  // system.
  bool content = false;
  bool read_only = false;  // the guest cannot write it (an image guest's config drive)
  // The firmware boots this disk (an image guest's overlay); with one, every
  // disk is a -device of its own, in order, so the others keep their names.
  bool boot = false;
  // A qcow2 overlay's backing file (an image guest's image) and its format;
  // a remote host gets the backing file once and the overlay rebased on it.
  std::string backing;
  std::string backing_format;
};

// A file QEMU loads beside the kernel: the initramfs, or one of Xen's
// multiboot modules with its command line (QEMU separates modules with commas,
// so neither may hold one).
struct BootModule {
  std::string path;
  std::string cmdline;
};

// A TCP port of the VM reachable from this machine: QEMU's user network
// forwards 127.0.0.1:host_port to the guest's guest_port (the guest can reach
// nothing else).
struct PortForward {
  int host_port = 0;
  int guest_port = 0;
};

struct BootSpec {
  std::string guest_type;
  int cpus = 2;            // QEMU vCPUs
  uint64_t memory_mb = 0;  // QEMU memory
  std::string kernel;      // -kernel
  std::string append;      // -append
  std::vector<BootModule> modules;  // -initrd: the initramfs, or Xen's modules (dom0's kernel, its initramfs)
  std::string initramfs;   // the image we built, for the record
  std::vector<BootDisk> disks;
  std::vector<PortForward> forwards;  // a virtio NIC on QEMU's user network when not empty
  // xen-pv-domu: dom0 parks once its toolstack is up and waits for the host's
  // go (base/protocol.h) before it reads the run's disk (disks[0]), so a
  // backend may save the VM at that point and restore it for later runs.
  bool dom0_parks = false;
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
  // xen-pv-domu: dom0's kernel (Debian's default) and Xen's toolstack.
  KernelArtifact dom0_kernel;
  XenToolsArtifact xen_tools;
  // An image domU booted by pvgrub: GRUB's Xen PV image (FetchPvGrub).
  std::string pvgrub;
  // xen-pv-domu: dom0 parks for the host's go (a backend that saves and
  // restores dom0 sends it); otherwise it goes straight on.
  bool park_dom0 = false;
  // The host runs Xen itself (a libvirt libxl host): the boot is the domU's
  // own kernel, initramfs and command line, started by that host's libvirt.
  bool xen_host = false;
  // The CPU is QEMU's TCG emulation, which never speculates. Xen takes its
  // CPU model (no ARCH_CAPABILITIES: TCG has none) for one open to Meltdown
  // and isolates every PV guest's page tables (XPTI), which costs a TCG
  // domU a third of its boot and protects nothing: xen-pv-domu then boots
  // Xen with xpti=no (a guest's xen_cmdline can say xpti=on).
  bool emulated_cpu = false;
};

// QEMU's -initrd value for the boot's modules: "path cmdline,path ...", or ""
// when there are none.
std::string InitrdArg(const BootSpec& boot);

// The xl domain configuration for the domU under test (xen-pv-domu): the
// kernel and ramdisk paths inside dom0, its command line, and one
// xen-blkfront disk per workload disk, backed by dom0's /dev/vdb, vdc, ...
// (vda holds the run's files) through blackout's hotplug script. Throws ConfigError for a command line xl cannot
// quote.
std::string XlConfig(const GuestSpec& guest, const std::string& kernel, const std::string& ramdisk,
                     const std::string& cmdline, size_t disks, const std::vector<bool>& read_only = {});

// Adds Xen's toolstack (xl, xenstored, xenconsoled, xenconsole,
// xen-init-dom0, libxl-save-helper, xenstore-read/-write/-ls) at its package
// paths, with the libraries ldd resolves for it (the unpacked packages first,
// then the host's). Returns the binaries' paths in the image.
std::vector<std::string> AddXenToolstack(Initramfs& img, const XenToolsArtifact& tools);


// A nested Xen host that libvirt reaches (`blackout xen-host`): Xen, and a
// dom0 running xenstored, xenconsoled and libvirtd with its libxl driver,
// listening for libvirt's TCP transport (no auth) on guest port 16509, which
// QEMU forwards from 127.0.0.1:port. dom0 keeps dom0_memory; the rest of
// memory_mb is Xen's for the domUs libvirt starts.
struct XenHostInputs {
  XenArtifact xen;
  KernelArtifact dom0_kernel;
  XenToolsArtifact xen_tools;
  XenLibvirtArtifact libvirt;
  std::string busybox_path, agent_path;
  std::string scratch_dir;
  int cpus = 2;
  uint64_t memory_mb = 2048;
  uint64_t dom0_memory_mb = 768;
  int port = 0;
  bool fast = true;  // Xen and dom0 without speculation mitigations
};
constexpr int kLibvirtTcpPort = 16509;
BootSpec AssembleXenHost(const XenHostInputs& in);

// The workload's disks: images made by qemu-img in scratch_dir, attached as
// virtio-blk (plain QEMU guests and Xen's dom0 alike see a PCI virtio disk; a
// domU gets them through dom0 as xen-blkfront disks), first: /dev/vda, ...
std::vector<BootDisk> MakeWorkloadDisks(const BootInputs& in);

// xen-pv-domu: dom0 (Xen's toolstack, the same image every run, so a saved
// state of it serves them all) and the run's files on a disk of its own: the
// domU's kernel (in.kernel.vmlinux), its initramfs and command line, xl's
// config with one xen-blkfront disk per drive (read-only ones as access=ro)
// and the nonce.
BootSpec AssembleDomU(const BootInputs& in, const std::string& domu_initramfs, const std::string& domu_cmdline,
                      const std::vector<BootDisk>& drives);

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
