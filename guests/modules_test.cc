#include "guests/modules.h"

#include <gtest/gtest.h>

#include "base/error.h"

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
  auto order = ModuleClosureFromDep(kDep, {"brd", "ext4", "jbd2"}, "t");
  EXPECT_EQ(order, (std::vector<std::string>{"kernel/drivers/block/brd.ko", "kernel/lib/crc16.ko",
                                             "kernel/fs/mbcache.ko", "kernel/fs/jbd2/jbd2.ko",
                                             "kernel/fs/ext4/ext4.ko"}));
}

TEST(ModuleClosure, DashAndUnderscoreMatch) {
  EXPECT_EQ(ModuleClosureFromDep(kDep, {"xen_gntdev"}, "t").size(), 1u);
}

TEST(ModuleClosure, UnknownModuleIsNamed) {
  try {
    ModuleClosureFromDep(kDep, {"ext4", "nosuch"}, "modules.dep");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.problems()[0], "modules.dep: no module 'nosuch' in modules.dep");
  }
}

}  // namespace
}  // namespace blackout
