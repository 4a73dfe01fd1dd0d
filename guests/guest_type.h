// What differs per guest type, asked of one object instead of compares of
// the type's name spread over the run loop, boot assembly, profiles and
// evidence: whether Xen boots, whether a dom0 with Xen's toolstack starts the
// guest under test, how its disks and console reach blackout, and how
// evidence is gathered when it goes bad.
#pragma once

#include <string>
#include <vector>

#include "workloads/workload.h"

namespace blackout {

struct GuestType {
  enum class Evidence {
    kGuestSysrq,  // the agent answers sysrq requests over the console
    kDom0,        // dom0 answers for the domU (xl list, xl sysrq, xl debug-keys, xl dmesg)
    kHost,        // the Xen host's libvirt answers (domain XML, vCPU states and times)
  };
  std::string name;
  bool xen = false;             // Xen boots first; its debug keys are evidence
  bool dom0_toolstack = false;  // the kernel under test is a domU that dom0's xl starts
  bool xen_host = false;        // the host runs Xen: its libvirt (libxl) starts the domU, no nested Xen
  DiskBus disk_bus = DiskBus::kVirtio;
  std::string disks;            // the profile's name for the bus: virtio-blk | xen-blkfront
  std::string console_prefix;   // before each of the guest's console lines ("" none)
  // The guest kernel's command line travels in QEMU's multiboot module list,
  // which QEMU splits at commas: it may hold none.
  bool multiboot_cmdline = false;
  Evidence evidence = Evidence::kGuestSysrq;
};

// The supported types: xen-pv-dom0, xen-pv-domu, hvm.
const std::vector<GuestType>& GuestTypes();
// xen-pv-domu as a Xen host's libvirt runs it: the domU's own kernel and
// initramfs, its own console (hvc0, no prefix), evidence from the host.
const GuestType& XenHostDomU();
// nullptr when there is no such type.
const GuestType* FindGuestType(const std::string& name);
// "xen-pv-dom0, xen-pv-domu, hvm", for error messages.
std::string GuestTypeNames();

}  // namespace blackout
