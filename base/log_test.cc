#include "base/log.h"

#include <gtest/gtest.h>

namespace blackout {

TEST(StripEscapes, RemovesColourAndControl) {
  EXPECT_EQ(StripEscapes("\x1b[1;31mred\x1b[0m plain\x07\r"), "red plain");
  EXPECT_EQ(StripEscapes("tab\tkept\n"), "tab\tkept\n");
}

}  // namespace blackout
