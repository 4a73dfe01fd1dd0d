#include "guests/modules.h"

#include <gtest/gtest.h>

#include "base/error.h"
#include "base/fsutil.h"

namespace blackout {
namespace {

const char kDep[] =
    "kernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko kernel/fs/mbcache.ko kernel/lib/crc16.ko\n"
    "kernel/fs/jbd2/jbd2.ko:\n"
    "kernel/fs/mbcache.ko:\n"
    "kernel/lib/crc16.ko:\n"
    "kernel/drivers/block/brd.ko:\n"
    "kernel/drivers/xen/xen-gntdev.ko:\n";

TEST(ModuleClosure, DependenciesFirstEachOnce) {
  auto order = ModuleClosureFromDep(kDep, "", {"brd", "ext4", "jbd2"}, "t");
  EXPECT_EQ(order, (std::vector<std::string>{"kernel/drivers/block/brd.ko", "kernel/lib/crc16.ko",
                                             "kernel/fs/mbcache.ko", "kernel/fs/jbd2/jbd2.ko",
                                             "kernel/fs/ext4/ext4.ko"}));
}

TEST(ModuleClosure, DashAndUnderscoreMatch) {
  EXPECT_EQ(ModuleClosureFromDep(kDep, "", {"xen_gntdev"}, "t").size(), 1u);
}

TEST(ModuleClosure, UnknownModuleIsNamed) {
  try {
    ModuleClosureFromDep(kDep, "", {"ext4", "nosuch"}, "modules.dep");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.problems()[0], "modules.dep: no module 'nosuch' in modules.dep");
  }
}

// Debian 11's 5.10: real modules.dep lines and its whole modules.builtin.
TEST(ModuleClosure, BuiltInModulesNeedNoFile) {
  std::string dir = KERNELS_TESTDATA_DIR;
  std::string dep = ReadFile(dir + "/modules.dep-5.10.0-32-amd64.excerpt");
  std::string builtin = ReadFile(dir + "/modules.builtin-5.10.0-32-amd64");
  // xen-kbdfront and xenbus are built into 5.10.0-32-amd64; virtio_blk is a module.
  auto order = ModuleClosureFromDep(dep, builtin, {"xen-kbdfront", "virtio_blk", "xenbus"}, "m");
  EXPECT_EQ(order, (std::vector<std::string>{"kernel/drivers/virtio/virtio.ko", "kernel/drivers/virtio/virtio_ring.ko",
                                             "kernel/drivers/block/virtio_blk.ko"}));
  // Without modules.builtin, a built-in driver is missing.
  EXPECT_THROW(ModuleClosureFromDep(dep, "", {"xen-kbdfront"}, "m"), ConfigError);
  try {
    ModuleClosureFromDep(dep, builtin, {"nosuch"}, "m");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.problems()[0], "m: no module 'nosuch' in modules.dep or modules.builtin");
  }
}

}  // namespace
}  // namespace blackout
