// The libvirt domain XML for a boot: every guest type blackout has is a QEMU
// direct-kernel boot (Xen as a multiboot kernel with its modules as the
// initrd list, or the kernel under test itself), so one generator serves all.
#pragma once

#include <string>

#include "guests/boot.h"

namespace blackout {

struct DomainOptions {
  std::string name;           // the domain's name, unique on its host
  std::string accel = "tcg";  // "kvm" or "tcg", already decided
  bool xen = false;           // a Xen host (libxl): the boot is a PV domU's
  std::string metadata;       // an XML element kept in the domain's <metadata>, or ""
};

// The <domain> document: kernel, initrd (or multiboot modules), command line,
// vCPUs, memory, one virtio disk per workload disk, the serial console as a
// pty, QEMU's CPU model as the direct backend picks it, no default devices
// (USB, balloon) and QEMU run as root without relabelling (the boot's files
// live in blackout's cache and scratch). Reboot, poweroff and crash all end
// the domain: a guest never restarts under blackout.
//
// On a Xen host (options.xen) the document is a PV domU's: <os><type>linux
// with the kernel, initrd and command line Xen loads itself, xen-blkfront
// disks (xvdX) that libxl backs as it sees fit, the PV console as a pty.
std::string DomainXml(const BootSpec& boot, const DomainOptions& options);

}  // namespace blackout
