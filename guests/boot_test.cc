#include "guests/boot.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <gtest/gtest.h>

#include "base/error.h"
#include "base/fsutil.h"
#include "base/protocol.h"
#include "base/subprocess.h"
#include "base/test_tmpdir.h"
#include "kernels/bzimage.h"

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
  BootInputs in = Inputs(dir);
  in.emulated_cpu = true;  // xen-pv-dom0 keeps Xen's own XPTI choice: the kernel under test is dom0
  BootSpec b = AssembleBoot(in);
  EXPECT_EQ(b.kernel, "/cache/x/xen.elf");
  EXPECT_EQ(b.cpus, 4);
  EXPECT_EQ(b.memory_mb, 768u + 384u);
  EXPECT_EQ(b.append,
            "console=com1 com1=115200,8n1 dom0_mem=768M,max:768M dom0_max_vcpus=4 noreboot sched=credit2");
  EXPECT_EQ(InitrdArg(b), "/cache/k/vmlinux console=hvc0 earlyprintk=xen blackout.nonce=abc123 "
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
  EXPECT_EQ(InitrdArg(b), dir + "/initramfs.cpio.gz");
  std::filesystem::remove_all(dir);
}

TEST(AssembleBoot, HvmBootsTheBzImageOfAKernelWithoutPvhEntry) {
  char tmpl[] = "/tmp/blackout-boot-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  BootInputs in = Inputs(dir);
  in.guest.type = "hvm";
  in.kernel.pvh_entry = false;  // before 4.19's CONFIG_PVH, or built without it
  in.kernel.bzimage = "/cache/k/vmlinuz";
  EXPECT_EQ(AssembleBoot(in).kernel, "/cache/k/vmlinuz");
  in.kernel.bzimage.clear();
  EXPECT_THROW(AssembleBoot(in), ConfigError);
  std::filesystem::remove_all(dir);
}

TEST(AssembleBoot, ClassicXenLinuxGetsItsXvcConsole) {
  char tmpl[] = "/tmp/blackout-boot-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  BootInputs in = Inputs(dir);
  in.kernel.xen_console = "console=xvc0 xencons=xvc";
  EXPECT_EQ(InitrdArg(AssembleBoot(in)).rfind("/cache/k/vmlinux console=xvc0 xencons=xvc earlyprintk=xen ", 0), 0u)
      << InitrdArg(AssembleBoot(in));
  std::filesystem::remove_all(dir);
}

TEST(AssembleBoot, RefusesAThirtyTwoBitKernelByName) {
  char tmpl[] = "/tmp/blackout-boot-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  BootInputs in = Inputs(dir);
  in.kernel.version = "5.10.223-1";
  in.kernel.x86_64 = false;
  try {
    AssembleBoot(in);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("linux-image-test 5.10.223-1 is a 32-bit kernel"), std::string::npos)
        << e.what();
  }
  in.kernel.x86_64 = true;
  in.kernel.xen_pv = false;
  in.kernel.xen_pv_why = "no Xen support (CONFIG_XEN is not set)";
  try {
    AssembleBoot(in);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot boot as a Xen PV guest (no Xen support (CONFIG_XEN is not set))"),
              std::string::npos)
        << e.what();
  }
  std::filesystem::remove_all(dir);
}

// The agent is PID 1 of every guest, the 3.2 kernels included: glibc's ABI
// tag in the static binary says the oldest kernel it runs on (Debian 12's
// glibc 2.36: 3.2.0). A newer floor would lock out the 2013 pair.
TEST(Agent, RunsOnLinuxThreePointTwo) {
  ElfNotesInfo agent = InspectElfNotes(AGENT_PATH);
  EXPECT_TRUE(agent.is_64bit);
  ASSERT_FALSE(agent.abi_floor.empty());
  int major = 0, minor = 0;
  ASSERT_EQ(std::sscanf(agent.abi_floor.c_str(), "%d.%d", &major, &minor), 2) << agent.abi_floor;
  EXPECT_LE(major * 1000 + minor, 3002) << "the agent needs Linux " << agent.abi_floor;
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
  EXPECT_NE(InitrdArg(b).find(" mitigations=off,"), std::string::npos) << InitrdArg(b);
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

// The dom0 image's toolstack really is complete: Xen's tools from Debian's
// packages, packed with their closure, unpacked with the real cpio, and every
// binary's libraries resolved by the packed loader inside a chroot of the image,
// where nothing of the host's libraries exists.
TEST(XenToolstack, PackedClosureResolvesInsideTheImage) {
  if (geteuid() != 0) GTEST_SKIP() << "chroot needs root";
  XenArtifact xen = FetchXen(XenSpec{}, CacheDir());
  XenToolsArtifact tools = FetchXenTools(xen, CacheDir());
  char tmpl[] = "/tmp/blackout-xl-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  Initramfs img;
  std::vector<std::string> binaries = AddXenToolstack(img, tools);
  ASSERT_GE(binaries.size(), 9u);
  img.Write(dir + "/img.cpio.gz");
  RunChecked({"sh", "-c", "mkdir " + dir + "/root && cd " + dir +
                              "/root && zcat ../img.cpio.gz | cpio -id --no-absolute-filenames 2>/dev/null"});
  std::string root = dir + "/root";
  for (const std::string& b : binaries) {
    std::string list = RunChecked({"chroot", root, "/lib64/ld-linux-x86-64.so.2", "--list", b});
    EXPECT_EQ(list.find("not found"), std::string::npos) << b << ":\n" << list;
  }
  std::string xl = RunChecked({"chroot", root, "/lib64/ld-linux-x86-64.so.2", "--list", binaries[0]});
  EXPECT_NE(xl.find("libxenlight.so"), std::string::npos) << xl;
  // glibc dlopens libgcc_s for pthread_cancel: ldd cannot see it, xl aborts without it.
  EXPECT_TRUE(std::filesystem::exists(root + "/lib/x86_64-linux-gnu/libgcc_s.so.1"));
  // Runs: without a hypervisor, xl with no arguments prints its subcommands.
  std::string usage = RunCommand({"chroot", root, binaries[0]}).output;
  EXPECT_NE(usage.find("create"), std::string::npos) << usage;
  std::filesystem::remove_all(dir);
}


// xen-pv-domu with Debian's real Xen, toolstack and kernel: dom0's image is
// the same file for every run (a saved dom0 state names it), and each run's
// own files (nonce, xl config, the domU's raw vmlinux and initramfs) travel
// on dom0's first disk as a plain cpio the shell's cpio reads, in whole
// sectors; dom0 parks only when asked to.
TEST(AssembleBoot, DomUCarriesTheRunOnADiskBesideTheSameDom0Image) {
  XenArtifact xen = FetchXen(XenSpec{}, CacheDir());
  KernelArtifact kernel = FetchKernel(KernelSpec{}, CacheDir());
  auto assemble = [&](const std::string& nonce, bool park, const std::string& xen_cmdline = "") {
    std::string dir = testing_util::TestTempDir("domu");
    BootInputs in = Inputs(dir);
    in.guest = *FindGuestProfile("xen-pv-domu");
    in.kernel = kernel;
    in.dom0_kernel = kernel;
    in.xen = xen;
    in.xen_tools = FetchXenTools(xen, CacheDir());
    in.nonce = nonce;
    in.park_dom0 = park;
    in.emulated_cpu = park;
    in.guest.xen_cmdline = xen_cmdline;
    in.disks = {DiskSpec{}};
    in.disks[0].size = 1 << 20;
    return AssembleBoot(in);
  };
  BootSpec a = assemble("1111aaaa", true), b = assemble("2222bbbb", false);
  ASSERT_EQ(a.modules.size(), 2u);
  EXPECT_EQ(a.modules[1].path, b.modules[1].path) << "dom0's image differs between runs";
  EXPECT_EQ(a.modules[1].path.rfind(CacheDir(), 0), 0u) << a.modules[1].path;
  EXPECT_TRUE(a.dom0_parks);
  EXPECT_FALSE(b.dom0_parks);
  EXPECT_NE(a.modules[0].cmdline.find(protocol::kParkArg), std::string::npos) << a.modules[0].cmdline;
  EXPECT_EQ(b.modules[0].cmdline.find(protocol::kParkArg), std::string::npos) << b.modules[0].cmdline;
  // Under TCG Xen's XPTI is off (the CPU never speculates), unless the guest
  // asks for it (its xen_cmdline comes last).
  EXPECT_NE(a.append.find(" xpti=no"), std::string::npos) << a.append;
  EXPECT_EQ(b.append.find("xpti"), std::string::npos) << b.append;
  BootSpec c = assemble("3333cccc", true, "xpti=on");
  EXPECT_GT(c.append.rfind("xpti=on"), c.append.find("xpti=no")) << c.append;
  // The run's disk first, then the workload's.
  ASSERT_EQ(a.disks.size(), 2u);
  const BootDisk& run = a.disks[0];
  EXPECT_TRUE(run.content);
  EXPECT_FALSE(a.disks[1].content);
  EXPECT_EQ(run.size % 512, 0u);
  EXPECT_EQ(run.size, std::filesystem::file_size(run.path));
  std::string out = testing_util::TestTempDir("domu-run");
  RunChecked({"sh", "-c", "cd " + out + " && cpio -i -d < " + run.path + " 2>/dev/null"});
  EXPECT_EQ(ReadFile(out + "/nonce"), "1111aaaa\n");
  EXPECT_EQ(ReadFile(out + "/domu-vmlinux"), ReadFile(kernel.vmlinux));
  std::string cfg = ReadFile(out + "/domu.cfg");
  EXPECT_NE(cfg.find("kernel = \"/run/blackout/domu-vmlinux\""), std::string::npos) << cfg;
  EXPECT_NE(cfg.find("target=/dev/vdb"), std::string::npos) << cfg;
  EXPECT_NE(cfg.find("blackout.nonce=1111aaaa"), std::string::npos) << cfg;
  EXPECT_TRUE(std::filesystem::exists(out + "/domu-initramfs.cpio.gz"));
  // dom0's image holds nothing of a run.
  std::string listing = RunChecked({"sh", "-c", "zcat " + a.modules[1].path + " | cpio -t 2>/dev/null"});
  EXPECT_EQ(listing.find("nonce"), std::string::npos) << listing;
  EXPECT_EQ(listing.find("domu"), std::string::npos) << listing;
}

}  // namespace
}  // namespace blackout
