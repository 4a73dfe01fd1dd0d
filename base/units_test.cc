#include "base/units.h"

#include <gtest/gtest.h>

namespace blackout {

TEST(ParseDuration, AcceptsUnits) {
  EXPECT_DOUBLE_EQ(*ParseDuration("60s"), 60.0);
  EXPECT_DOUBLE_EQ(*ParseDuration("60"), 60.0);
  EXPECT_DOUBLE_EQ(*ParseDuration("500ms"), 0.5);
  EXPECT_DOUBLE_EQ(*ParseDuration("2m"), 120.0);
  EXPECT_DOUBLE_EQ(*ParseDuration("8h"), 28800.0);
  EXPECT_DOUBLE_EQ(*ParseDuration("1.5s"), 1.5);
}

TEST(ParseDuration, RejectsGarbage) {
  EXPECT_FALSE(ParseDuration(""));
  EXPECT_FALSE(ParseDuration("s"));
  EXPECT_FALSE(ParseDuration("10 parsecs"));
  EXPECT_FALSE(ParseDuration("-3s"));
  EXPECT_FALSE(ParseDuration("3d"));
}

TEST(ParseSize, AcceptsSuffixes) {
  EXPECT_EQ(*ParseSize("512M"), 512ull << 20);
  EXPECT_EQ(*ParseSize("2G"), 2ull << 30);
  EXPECT_EQ(*ParseSize("4KiB"), 4096u);
  EXPECT_EQ(*ParseSize("100"), 100u);
  EXPECT_FALSE(ParseSize("12X"));
  EXPECT_FALSE(ParseSize("M"));
  EXPECT_FALSE(ParseSize("-1M"));
  EXPECT_FALSE(ParseSize("99999999999999999999G"));
}

TEST(FormatSeconds, IsShort) {
  EXPECT_EQ(FormatSeconds(1.25), "1.25s");
  EXPECT_EQ(FormatSeconds(480), "8m00s");
  EXPECT_EQ(FormatSeconds(7380), "2h03m");
}

}  // namespace blackout
