#include "guests/profile.h"

#include <gtest/gtest.h>

#include "base/error.h"
#include "guests/boot.h"

namespace blackout {
namespace {

GuestSpec Parse(const std::string& text, std::vector<std::string>* errors) {
  YamlReader r("run.yaml");
  auto node = r.Parse(text);
  GuestSpec g = *FindGuestProfile("xen-pv-dom0");
  if (node) g = ParseGuest(*node, r, g);
  *errors = r.errors();
  return g;
}

TEST(GuestProfiles, OnePerTypeWithTheirDisks) {
  ASSERT_EQ(GuestProfiles().size(), 3u);
  EXPECT_EQ(FindGuestProfile("xen-pv-dom0")->disks, "virtio-blk");
  EXPECT_EQ(FindGuestProfile("hvm")->DiskDevicePrefix(), "/dev/vd");
  const GuestSpec* domu = FindGuestProfile("xen-pv-domu");
  ASSERT_NE(domu, nullptr);
  EXPECT_EQ(domu->disks, "xen-blkfront");
  EXPECT_EQ(domu->DiskDevicePrefix(), "/dev/xvd");
  EXPECT_EQ(domu->vcpus, 2);
  EXPECT_EQ(domu->dom0_vcpus, 1);
  EXPECT_EQ(domu->dom0_memory, 512ull << 20);
  EXPECT_EQ(FindGuestProfile("nope"), nullptr);
}

TEST(GuestProfiles, ATypeNameOrAMappingOverridingItsProfile) {
  std::vector<std::string> errors;
  GuestSpec g = Parse("xen-pv-domu\n", &errors);
  ASSERT_TRUE(errors.empty());
  EXPECT_EQ(g.type, "xen-pv-domu");
  EXPECT_TRUE(g.dom0_saved_state);
  g = Parse("{type: xen-pv-domu, vcpus: 4, fast: true, dom0: {vcpus: 2, memory: 768M, saved_state: false}}\n",
            &errors);
  ASSERT_TRUE(errors.empty()) << errors[0];
  EXPECT_EQ(g.vcpus, 4);
  EXPECT_TRUE(g.fast);
  EXPECT_EQ(g.dom0_vcpus, 2);
  EXPECT_EQ(g.dom0_memory, 768ull << 20);
  EXPECT_FALSE(g.dom0_saved_state);
  Parse("{type: xen-pv-domu, dom0: {saved_state: sometimes}}\n", &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "run.yaml:1:41: 'saved_state' must be true or false, not 'sometimes'");
  EXPECT_EQ(g.disks, "xen-blkfront");
}

TEST(GuestProfiles, ErrorsHaveLines) {
  std::vector<std::string> errors;
  Parse("type: xen-pv-dom0\ndom0: {vcpus: 1}\ndisks: xen-blkfront\nkernel_cmdline: a=1,2\n", &errors);
  ASSERT_EQ(errors.size(), 3u) << errors[0];
  EXPECT_EQ(errors[0].rfind("run.yaml:4:17: 'kernel_cmdline' cannot contain a comma", 0), 0u) << errors[0];
  EXPECT_EQ(errors[1].rfind("run.yaml:3:8: guest type xen-pv-dom0 attaches disks as virtio-blk", 0), 0u) << errors[1];
  EXPECT_EQ(errors[2].rfind("run.yaml:2:7: 'dom0' sizing applies to guest type xen-pv-domu only", 0), 0u) << errors[2];
  Parse("type: vmware\n", &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("guest type 'vmware' is not supported"), std::string::npos);
}

TEST(XlConfig, NamesKernelRamdiskCmdlineSizingAndBlkfrontDisks) {
  GuestSpec g = *FindGuestProfile("xen-pv-domu");
  g.vcpus = 3;
  g.memory = 256ull << 20;
  std::string cfg = XlConfig(g, "/boot/k.gz", "/boot/r.cpio.gz", "console=hvc0 blackout.nonce=ab", 2);
  EXPECT_NE(cfg.find("type = \"pv\"\n"), std::string::npos) << cfg;
  EXPECT_NE(cfg.find("kernel = \"/boot/k.gz\"\n"), std::string::npos);
  EXPECT_NE(cfg.find("ramdisk = \"/boot/r.cpio.gz\"\n"), std::string::npos);
  EXPECT_NE(cfg.find("cmdline = \"console=hvc0 blackout.nonce=ab\"\n"), std::string::npos);
  EXPECT_NE(cfg.find("memory = 256\nvcpus = 3\n"), std::string::npos);
  EXPECT_NE(cfg.find("on_crash = \"preserve\"\n"), std::string::npos);
  // dom0's vda holds the run's files: the workload's disks are vdb onwards.
  EXPECT_NE(cfg.find("disk = [ 'format=raw, vdev=xvda, access=rw, script=/etc/blackout/block, target=/dev/vdb', "
                     "'format=raw, vdev=xvdb, access=rw, script=/etc/blackout/block, target=/dev/vdc' ]\n"),
            std::string::npos)
      << cfg;
  EXPECT_EQ(XlConfig(g, "k", "r", "x", 0).find("\ndisk ="), std::string::npos);
  EXPECT_THROW(XlConfig(g, "k", "r", "quote\"d", 0), ConfigError);
}

}  // namespace
}  // namespace blackout
