#include "harness/vm/libvirt_xml.h"

#include "base/error.h"
#include "base/log.h"
#include "harness/vm/qemu_backend.h"

namespace blackout {

namespace {

// Disk targets vda..vdz: blackout's workloads use a few disks, the agent
// finds them as /dev/vdX in this order.
std::string DiskTarget(size_t index) {
  if (index >= 26) throw ConfigError({"a guest takes at most 26 disks, this one has " + std::to_string(index + 1)});
  return std::string("vd") + static_cast<char>('a' + index);
}

// Name, metadata, memory and vCPUs: every domain's first lines.
std::string Identity(const BootSpec& boot, const DomainOptions& options) {
  std::string x = "  <name>" + XmlEscape(options.name) + "</name>\n";
  if (!options.metadata.empty()) x += "  <metadata>" + options.metadata + "</metadata>\n";
  x += "  <memory unit='MiB'>" + std::to_string(boot.memory_mb) + "</memory>\n";
  x += "  <vcpu>" + std::to_string(boot.cpus) + "</vcpu>\n";
  return x;
}

// Reboot, poweroff and crash all end the domain: a guest never restarts
// under blackout (on a Xen host too: libxl's driver reports a preserved
// crashed domU as shut off and answers nothing about it; the panic's report
// on the console is the evidence).
const char kEndsDestroyed[] =
    "  <on_poweroff>destroy</on_poweroff>\n"
    "  <on_reboot>destroy</on_reboot>\n"
    "  <on_crash>destroy</on_crash>\n";

}  // namespace

std::string XenDomainXml(const BootSpec& boot, const DomainOptions& options) {
  if (boot.modules.size() > 1) throw InfraError("a Xen PV domU takes one initrd, this boot has " + std::to_string(boot.modules.size()));
  std::string x = "<domain type='xen'>\n" + Identity(boot, options);
  x += "  <os>\n";
  x += "    <type arch='x86_64' machine='xenpv'>linux</type>\n";
  x += "    <kernel>" + XmlEscape(boot.kernel) + "</kernel>\n";
  if (!boot.modules.empty()) x += "    <initrd>" + XmlEscape(boot.modules[0].path) + "</initrd>\n";
  x += "    <cmdline>" + XmlEscape(boot.append) + "</cmdline>\n";
  x += "  </os>\n";
  x += kEndsDestroyed;
  x += "  <devices>\n";
  for (size_t i = 0; i < boot.disks.size(); ++i) {
    const BootDisk& d = boot.disks[i];
    x += "    <disk type='file' device='disk'>\n";
    x += "      <source file='" + XmlEscape(d.path) + "'/>\n";
    x += "      <target dev='xvd" + DiskTarget(i).substr(2) + "' bus='xen'/>\n";
    x += "    </disk>\n";
  }
  x += "    <console type='pty'><target type='xen' port='0'/></console>\n";
  x += "  </devices>\n";
  x += "</domain>\n";
  return x;
}

std::string DomainXml(const BootSpec& boot, const DomainOptions& options) {
  if (options.xen) return XenDomainXml(boot, options);
  bool kvm = options.accel == "kvm";
  std::string x;
  x += std::string("<domain type='") + (kvm ? "kvm" : "qemu") +
       "' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n";
  x += Identity(boot, options);
  x += "  <os>\n";
  x += "    <type arch='x86_64' machine='pc'>hvm</type>\n";
  // No kernel: the firmware boots the disk marked boot (an hvm image guest).
  if (!boot.kernel.empty()) {
    x += "    <kernel>" + XmlEscape(boot.kernel) + "</kernel>\n";
    if (!boot.modules.empty()) x += "    <initrd>" + XmlEscape(InitrdArg(boot)) + "</initrd>\n";
    x += "    <cmdline>" + XmlEscape(boot.append) + "</cmdline>\n";
  }
  x += "  </os>\n";
  // QEMU's defaults that libvirt turns off unless asked: Xen needs ACPI to
  // find its CPUs (without it, it faults reading the MP tables).
  x += "  <features><acpi/><apic/></features>\n";
  // The same CPU as the direct backend: -cpu max crashes Xen's dom0 early
  // under TCG, Nehalem is measured to work.
  if (kvm) {
    x += "  <cpu mode='host-passthrough' check='none'/>\n";
  } else {
    x += "  <cpu mode='custom' match='exact' check='none'><model fallback='forbid'>Nehalem</model></cpu>\n";
  }
  x += kEndsDestroyed;
  x += "  <devices>\n";
  for (size_t i = 0; i < boot.disks.size(); ++i) {
    const BootDisk& d = boot.disks[i];
    x += "    <disk type='file' device='disk'>\n";
    x += "      <driver name='qemu' type='" + XmlEscape(d.format) + "' cache='" + XmlEscape(d.cache) + "'/>\n";
    x += "      <source file='" + XmlEscape(d.path) + "'/>\n";
    // An overlay's image, named so libvirt does not probe it (or refuse to).
    if (!d.backing.empty()) {
      x += "      <backingStore type='file'><format type='" + XmlEscape(d.backing_format) + "'/><source file='" +
           XmlEscape(d.backing) + "'/><backingStore/></backingStore>\n";
    }
    x += "      <target dev='" + DiskTarget(i) + "' bus='virtio'/>\n";
    if (d.boot) x += "      <boot order='1'/>\n";
    if (d.read_only) x += "      <readonly/>\n";
    x += "    </disk>\n";
  }
  x += "    <serial type='pty'><target port='0'/></serial>\n";
  x += "    <console type='pty'><target type='serial' port='0'/></console>\n";
  x += "    <controller type='usb' model='none'/>\n";
  x += "    <memballoon model='none'/>\n";
  x += "  </devices>\n";
  // QEMU as root, files left as they are: the boot's files are blackout's.
  x += "  <seclabel type='static' model='dac' relabel='no'><label>+0:+0</label></seclabel>\n";
  // Forwarded ports: QEMU's user network as the direct backend makes it
  // (libvirt's own <interface type='user'> cannot forward ports without passt).
  if (!boot.forwards.empty()) {
    x += "  <qemu:commandline>\n";
    for (const std::string& arg : {std::string("-netdev"), UserNetdev(boot), std::string("-device"),
                                   std::string("virtio-net-pci,netdev=net0")}) {
      x += "    <qemu:arg value='" + XmlEscape(arg) + "'/>\n";
    }
    x += "  </qemu:commandline>\n";
  }
  x += "</domain>\n";
  return x;
}

}  // namespace blackout
