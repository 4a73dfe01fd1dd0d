#include "kernels/kconfig.h"

#include <gtest/gtest.h>

namespace blackout {
namespace {

TEST(MergeConfig, LaterSettingsReplaceInPlaceNewOnesAppend) {
  std::string base = "# comment\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=\"x\"\n";
  std::string merged = MergeConfig(base, {"CONFIG_B=y\n# CONFIG_A is not set\n", "CONFIG_D=8\nCONFIG_B=m\n"});
  EXPECT_EQ(merged, "# comment\n# CONFIG_A is not set\nCONFIG_B=m\nCONFIG_C=\"x\"\nCONFIG_D=8\n");
}

TEST(ConfigSettings, ReadsEveryForm) {
  auto s = ConfigSettings("CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=\"a b\"\n# plain comment\nCONFIG_D=42\n");
  EXPECT_EQ(s.size(), 4u);
  EXPECT_EQ(s["A"], "y");
  EXPECT_EQ(s["B"], "n");
  EXPECT_EQ(s["C"], "\"a b\"");
  EXPECT_EQ(s["D"], "42");
}

TEST(MissingOptions, NamesWhatOlddefconfigDropped) {
  std::string resolved = "CONFIG_XEN=y\n# CONFIG_XEN_DOM0 is not set\n";
  auto missing = MissingOptions(resolved, {"CONFIG_XEN=y\nCONFIG_XEN_DOM0=y\nCONFIG_HVC_XEN=y\n# CONFIG_X is not set\n"});
  EXPECT_EQ(missing, (std::vector<std::string>{"CONFIG_HVC_XEN=y (resolved: n)", "CONFIG_XEN_DOM0=y (resolved: n)"}));
}

}  // namespace
}  // namespace blackout
