// The libvirt backend's pure parts: the domain XML for every guest type
// (validated against libvirt's own schema by virt-xml-validate) and the host
// URIs it accepts.
#include <gtest/gtest.h>

#include "base/error.h"
#include "base/fsutil.h"
#include "base/subprocess.h"
#include "base/test_tmpdir.h"
#include "harness/vm/libvirt_backend.h"
#include "harness/vm/libvirt_xml.h"

namespace blackout {
namespace {

// The boots AssembleBoot makes, one per guest type, with the same shapes:
// Xen as a multiboot kernel whose initrd is the module list (a kernel with
// its command line, then the initramfs), or the kernel under test itself.
BootSpec Hvm() {
  BootSpec b;
  b.guest_type = "hvm";
  b.cpus = 2;
  b.memory_mb = 512;
  b.kernel = "/cache/linux-image-6.1/vmlinux";
  b.append = "console=ttyS0 blackout.nonce=abc blackout.hb_ms=200";
  b.modules = {{"/tmp/blackout-x/initramfs.cpio.gz", ""}};
  return b;
}

BootSpec XenDom0() {
  BootSpec b;
  b.guest_type = "xen-pv-dom0";
  b.cpus = 4;
  b.memory_mb = 896;
  b.kernel = "/cache/xen/xen.elf";
  b.append = "console=com1 com1=115200,8n1 dom0_mem=512M,max:512M dom0_max_vcpus=4 noreboot";
  b.modules = {{"/cache/linux/vmlinux", "console=hvc0 blackout.nonce=abc"}, {"/tmp/blackout-x/initramfs.cpio.gz", ""}};
  b.disks = {{"/tmp/blackout-x/disk0.raw", "raw", "none"}};
  return b;
}

BootSpec XenDomU() {
  BootSpec b = XenDom0();
  b.guest_type = "xen-pv-domu";
  b.memory_mb = 1536;
  b.disks = {{"/tmp/blackout-x/disk0.qcow2", "qcow2", "writeback"}, {"/tmp/blackout-x/disk1.raw", "raw", "unsafe"}};
  return b;
}

// A domU on a Xen host: its own gzip'd kernel, initramfs and command line.
BootSpec XenHostDomU() {
  BootSpec b;
  b.guest_type = "xen-pv-domu";
  b.cpus = 2;
  b.memory_mb = 512;
  b.kernel = "/var/lib/libvirt/blackout/6e7a-vmlinux.gz";
  b.append = "console=hvc0 earlyprintk=xen blackout.nonce=abc blackout.hb_ms=200";
  b.modules = {{"/var/lib/libvirt/blackout/9784-initramfs.cpio.gz", ""}};
  b.disks = {{"/var/lib/libvirt/blackout/blackout-r1-disk0.raw", "raw", "none"}};
  return b;
}

// virt-xml-validate's verdict on the document, "" when it validates.
std::string SchemaProblems(const std::string& xml) {
  std::string dir = testing_util::TestTempDir("domain-xml");
  WriteFileAtomic(dir + "/domain.xml", xml);
  CommandResult r = RunCommand({"virt-xml-validate", dir + "/domain.xml", "domain"});
  return r.ok() ? "" : r.output + " (exit " + std::to_string(r.exit_code) + ")";
}

TEST(LibvirtXml, EveryGuestTypeValidates) {
  // The validator does reject: a domain without its required parts.
  ASSERT_NE(SchemaProblems("<domain type='qemu'><name>x</name><vcpu>one</vcpu></domain>"), "");
  for (const BootSpec& boot : {Hvm(), XenDom0(), XenDomU()}) {
    for (const char* accel : {"tcg", "kvm"}) {
      DomainOptions o;
      o.name = "blackout-20261201T185330Z-" + boot.guest_type;
      o.accel = accel;
      std::string xml = DomainXml(boot, o);
      EXPECT_EQ(SchemaProblems(xml), "") << boot.guest_type << " " << accel << "\n" << xml;
    }
  }
}

TEST(LibvirtXml, XenHostDomUIsAPvDomain) {
  DomainOptions o;
  o.name = "blackout-r1";
  o.xen = true;
  o.metadata = "<blackout:run xmlns:blackout='urn:blackout:run:1' deadline='1796164836'/>";
  std::string xml = DomainXml(XenHostDomU(), o);
  EXPECT_EQ(SchemaProblems(xml), "") << xml;
  EXPECT_NE(xml.find("<domain type='xen'>"), std::string::npos);
  EXPECT_NE(xml.find("<type arch='x86_64' machine='xenpv'>linux</type>"), std::string::npos);
  EXPECT_NE(xml.find("<kernel>/var/lib/libvirt/blackout/6e7a-vmlinux.gz</kernel>"), std::string::npos);
  EXPECT_NE(xml.find("<initrd>/var/lib/libvirt/blackout/9784-initramfs.cpio.gz</initrd>"), std::string::npos);
  EXPECT_NE(xml.find("<cmdline>console=hvc0 earlyprintk=xen blackout.nonce=abc"), std::string::npos);
  EXPECT_NE(xml.find("<target dev='xvda' bus='xen'/>"), std::string::npos);
  EXPECT_NE(xml.find("<console type='pty'><target type='xen' port='0'/></console>"), std::string::npos);
  EXPECT_NE(xml.find("deadline='1796164836'"), std::string::npos);
  // Nothing of QEMU's: no CPU model, no serial port, no QEMU namespace.
  EXPECT_EQ(xml.find("Nehalem"), std::string::npos);
  EXPECT_EQ(xml.find("<serial"), std::string::npos);
  EXPECT_EQ(xml.find("qemu"), std::string::npos);
  // A PV domU has one initrd: Xen's module list is not one.
  EXPECT_THROW(DomainXml(XenDom0(), o), InfraError);
}

// An hvm image guest: no kernel, the firmware boots the overlay (backed by
// the image), the config drive read-only.
BootSpec HvmImage() {
  BootSpec b;
  b.guest_type = "hvm";
  b.cpus = 2;
  b.memory_mb = 1024;
  b.disks = {{"/tmp/blackout-x/disk0.raw", "raw", "none"},
             {"/tmp/blackout-x/image-overlay.qcow2", "qcow2", "writeback", 2ull << 30, true, false, true,
              "/images/debian-12.qcow2", "qcow2"},
             {"/tmp/blackout-x/config-drive.img", "raw", "writeback", 8ull << 20, true, true, false}};
  return b;
}

TEST(LibvirtXml, AnImageGuestBootsItsOverlayThroughTheFirmware) {
  DomainOptions o;
  o.name = "blackout-r1";
  std::string xml = DomainXml(HvmImage(), o);
  EXPECT_EQ(SchemaProblems(xml), "") << xml;
  EXPECT_EQ(xml.find("<kernel>"), std::string::npos) << xml;
  EXPECT_EQ(xml.find("<cmdline>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<source file='/tmp/blackout-x/image-overlay.qcow2'/>\n"
                     "      <backingStore type='file'><format type='qcow2'/><source file='/images/debian-12.qcow2'/>"
                     "<backingStore/></backingStore>\n"
                     "      <target dev='vdb' bus='virtio'/>\n"
                     "      <boot order='1'/>\n"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<target dev='vdc' bus='virtio'/>\n      <readonly/>\n"), std::string::npos) << xml;
  // One boot disk, one read-only one.
  EXPECT_EQ(xml.find("<boot order"), xml.rfind("<boot order"));
  EXPECT_EQ(xml.find("<readonly/>"), xml.rfind("<readonly/>"));
}

TEST(LibvirtXml, PortForwardsAreQemuUserNetwork) {
  BootSpec b = XenDom0();
  b.forwards = {{16600, 16509}};
  DomainOptions o;
  o.name = "blackout-xen-host";
  std::string xml = DomainXml(b, o);
  EXPECT_EQ(SchemaProblems(xml), "") << xml;
  EXPECT_NE(xml.find("<qemu:arg value='user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:16600-:16509'/>"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<qemu:arg value='virtio-net-pci,netdev=net0'/>"), std::string::npos);
  EXPECT_EQ(DomainXml(XenDom0(), o).find("<qemu:commandline>"), std::string::npos);
}

TEST(LibvirtXml, CarriesTheBoot) {
  DomainOptions o;
  o.name = "blackout-r1";
  std::string xml = DomainXml(XenDomU(), o);
  EXPECT_NE(xml.find("<domain type='qemu' xmlns:qemu="), std::string::npos);
  EXPECT_NE(xml.find("<name>blackout-r1</name>"), std::string::npos);
  EXPECT_NE(xml.find("<memory unit='MiB'>1536</memory>"), std::string::npos);
  EXPECT_NE(xml.find("<vcpu>4</vcpu>"), std::string::npos);
  EXPECT_NE(xml.find("<kernel>/cache/xen/xen.elf</kernel>"), std::string::npos);
  // The multiboot module list goes to QEMU's -initrd as it is.
  EXPECT_NE(xml.find("<initrd>/cache/linux/vmlinux console=hvc0 blackout.nonce=abc,/tmp/blackout-x/initramfs.cpio.gz"
                     "</initrd>"),
            std::string::npos);
  EXPECT_NE(xml.find("<cmdline>console=com1 com1=115200,8n1 dom0_mem=512M,max:512M"), std::string::npos);
  EXPECT_NE(xml.find("<model fallback='forbid'>Nehalem</model>"), std::string::npos);
  // ACPI on: Xen cannot find its CPUs without it.
  EXPECT_NE(xml.find("<acpi/>"), std::string::npos);
  EXPECT_NE(xml.find("type='qcow2' cache='writeback'"), std::string::npos);
  EXPECT_NE(xml.find("<source file='/tmp/blackout-x/disk1.raw'/>"), std::string::npos);
  EXPECT_NE(xml.find("<target dev='vdb' bus='virtio'/>"), std::string::npos);
  EXPECT_NE(xml.find("<on_reboot>destroy</on_reboot>"), std::string::npos);
  EXPECT_NE(xml.find("<serial type='pty'>"), std::string::npos);
  DomainOptions k;
  k.name = "b";
  k.accel = "kvm";
  EXPECT_NE(DomainXml(Hvm(), k).find("<domain type='kvm' "), std::string::npos);
  EXPECT_NE(DomainXml(Hvm(), k).find("host-passthrough"), std::string::npos);
}

TEST(LibvirtXml, MarkupInPathsAndCommandLinesStaysText) {
  BootSpec b = Hvm();
  b.kernel = "/cache/a&b/<vmlinux>";
  b.append = "console=ttyS0 x='1' y=\"2\"";
  b.disks = {{"/tmp/it's.raw", "raw", "none"}};
  DomainOptions o;
  o.name = "blackout-<r&1>";
  std::string xml = DomainXml(b, o);
  EXPECT_NE(xml.find("<kernel>/cache/a&amp;b/&lt;vmlinux&gt;</kernel>"), std::string::npos);
  EXPECT_NE(xml.find("<source file='/tmp/it&#39;s.raw'/>"), std::string::npos);
  EXPECT_EQ(SchemaProblems(xml), "") << xml;
}

TEST(LibvirtXml, TooManyDisksIsAConfigError) {
  BootSpec b = Hvm();
  for (int i = 0; i < 27; ++i) b.disks.push_back({"/tmp/d" + std::to_string(i), "raw", "none"});
  EXPECT_THROW(DomainXml(b, DomainOptions{}), ConfigError);
}

TEST(LibvirtUri, AcceptsWhatLibvirtCanReach) {
  for (const char* uri : {"qemu:///system", "qemu:///session", "qemu+ssh://h1/system", "qemu+ssh://root@h1:2222/system",
                          "qemu+tcp://10.0.0.2/system", "qemu+tls://host.example/system?no_verify=1",
                          "qemu+unix:///system?socket=/run/x/libvirt-sock", "xen:///system", "xen+ssh://root@xen1/system",
                          "xen+tcp://127.0.0.1:16600/system"}) {
    EXPECT_EQ(LibvirtUriProblem(uri), "") << uri;
  }
  for (const char* uri : {"", "qemu", "qemu://", "qemu:///", "qemu:///systm", "http://h1/system", "qemu+ftp://h/system",
                          "qemu:// h/system", "xen:///session", "xen+ssh://h/session", "xenx:///system"}) {
    EXPECT_NE(LibvirtUriProblem(uri), "") << uri;
  }
  EXPECT_NE(LibvirtUriProblem("qemu+ssh//h1/system").find("qemu+ssh://host/system"), std::string::npos);
}

TEST(LibvirtUri, XenIsTheLibxlDriver) {
  EXPECT_TRUE(LibvirtUriIsXen("xen:///system"));
  EXPECT_TRUE(LibvirtUriIsXen("xen+ssh://h1/system"));
  EXPECT_FALSE(LibvirtUriIsXen("qemu:///system"));
  EXPECT_FALSE(LibvirtUriIsXen("qemu+ssh://xen/system"));
}

TEST(LibvirtUri, LocalIsTheOneWithoutAHost) {
  EXPECT_TRUE(LibvirtUriIsLocal("qemu:///system"));
  EXPECT_TRUE(LibvirtUriIsLocal("qemu+unix:///system"));
  EXPECT_FALSE(LibvirtUriIsLocal("qemu+tcp://10.0.0.2/system"));
  EXPECT_FALSE(LibvirtUriIsLocal("qemu+ssh://localhost/system"));
}

}  // namespace
}  // namespace blackout
