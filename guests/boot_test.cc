#include "guests/boot.h"

#include <filesystem>
#include <gtest/gtest.h>

#include "base/error.h"

namespace blackout {
namespace {

BootInputs Inputs(const std::string& dir) {
  BootInputs in;
  in.kernel.package = "linux-image-test";
  in.kernel.vmlinux = "/cache/k/vmlinux";
  in.kernel.xen_pv = true;
  in.xen.elf = "/cache/x/xen.elf";
  in.nonce = "abc123";
  in.workload_conf = "duration 1\n";
  in.agent_path = AGENT_PATH;
  in.busybox_path = AGENT_PATH;  // any static file will do for assembly
  in.scratch_dir = dir;
  in.guest.vcpus = 4;
  in.guest.memory = 768ull << 20;
  in.guest.xen_cmdline = "sched=credit2";
  in.guest.kernel_cmdline = "mitigations=off";
  return in;
}

TEST(AssembleBoot, XenPvDom0CommandLines) {
  char tmpl[] = "/tmp/blackout-boot-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  BootSpec b = AssembleBoot(Inputs(dir));
  EXPECT_EQ(b.kernel, "/cache/x/xen.elf");
  EXPECT_EQ(b.cpus, 4);
  EXPECT_EQ(b.memory_mb, 768u + 384u);
  EXPECT_EQ(b.append,
            "console=com1 com1=115200,8n1 dom0_mem=768M,max:768M dom0_max_vcpus=4 noreboot sched=credit2");
  EXPECT_EQ(b.initrd, "/cache/k/vmlinux console=hvc0 earlyprintk=xen blackout.nonce=abc123 "
                      "blackout.hb_ms=200 mitigations=off," + dir + "/initramfs.cpio.gz");
  EXPECT_TRUE(std::filesystem::exists(dir + "/initramfs.cpio.gz"));
  std::filesystem::remove_all(dir);
}

TEST(AssembleBoot, HvmBootsTheVmlinuxDirectly) {
  char tmpl[] = "/tmp/blackout-boot-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  BootInputs in = Inputs(dir);
  in.guest.type = "hvm";
  in.kernel.xen_pv = false;  // no Xen needed
  in.guest.kernel_cmdline = "isolcpus=1,2";  // commas are fine without multiboot
  BootSpec b = AssembleBoot(in);
  EXPECT_EQ(b.kernel, "/cache/k/vmlinux");
  EXPECT_EQ(b.memory_mb, 768u);
  EXPECT_EQ(b.append, "console=ttyS0 blackout.nonce=abc123 blackout.hb_ms=200 isolcpus=1,2");
  EXPECT_EQ(b.initrd, dir + "/initramfs.cpio.gz");
  std::filesystem::remove_all(dir);
}

TEST(AssembleBoot, FastOptionSet) {
  char tmpl[] = "/tmp/blackout-boot-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  BootInputs in = Inputs(dir);
  in.guest.fast = true;
  in.guest.xen_cmdline = "";
  in.guest.kernel_cmdline = "";
  BootSpec b = AssembleBoot(in);
  EXPECT_NE(b.append.find(" xpti=no pv-l1tf=no spec-ctrl=no"), std::string::npos) << b.append;
  EXPECT_NE(b.initrd.find(" mitigations=off,"), std::string::npos) << b.initrd;
  std::filesystem::remove_all(dir);
}

TEST(AssembleBoot, RefusesKernelWithoutXenPv) {
  char tmpl[] = "/tmp/blackout-boot-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  BootInputs in = Inputs(dir);
  in.kernel.xen_pv = false;
  EXPECT_THROW(AssembleBoot(in), ConfigError);
  std::filesystem::remove_all(dir);
}

TEST(AssembleBoot, RefusesCommaInModuleCommandLine) {
  char tmpl[] = "/tmp/blackout-boot-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  BootInputs in = Inputs(dir);
  in.guest.kernel_cmdline = "isolcpus=1,2";
  try {
    AssembleBoot(in);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("contains a comma"), std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace blackout
