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

// Values a careless user (or a script) may pass: nothing infinite, no
// overflow, no hex or exponent where decimal is meant.
TEST(ParseDuration, RefusesWhatMakesNoSense) {
  for (const char* bad : {"inf", "infs", "nan", "1e400", "1e3s", "0x10", "0x10s", " 5", "5 ", "1.2.3s", ".",
                          "99999999999999999999h", "400000h"}) {
    EXPECT_FALSE(ParseDuration(bad)) << bad;
  }
  EXPECT_DOUBLE_EQ(*ParseDuration("8760h"), kMaxDurationSeconds);
  EXPECT_DOUBLE_EQ(*ParseDuration("0.25"), 0.25);
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
  EXPECT_FALSE(ParseSize("99999999999999999999"));  // overflows before any scale
  EXPECT_FALSE(ParseSize("0x10M"));
}

TEST(FormatSeconds, IsShort) {
  EXPECT_EQ(FormatSeconds(1.25), "1.25s");
  EXPECT_EQ(FormatSeconds(480), "8m00s");
  EXPECT_EQ(FormatSeconds(7380), "2h03m");
}

}  // namespace blackout
