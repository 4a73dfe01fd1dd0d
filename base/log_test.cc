#include "base/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

namespace blackout {
namespace {

// Captures what the logger writes to stderr while fn runs.
template <typename Fn>
std::string CaptureStderr(Fn fn) {
  int pipefd[2];
  EXPECT_EQ(pipe(pipefd), 0);
  int saved = dup(2);
  dup2(pipefd[1], 2);
  close(pipefd[1]);
  fn();
  dup2(saved, 2);
  close(saved);
  std::string out;
  char buf[4096];
  fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
  ssize_t n;
  while ((n = read(pipefd[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(pipefd[0]);
  return out;
}

TEST(StripEscapes, RemovesColourAndControl) {
  EXPECT_EQ(StripEscapes("\x1b[1;31mred\x1b[0m plain\x07\r"), "red plain");
  EXPECT_EQ(StripEscapes("tab\tkept\n"), "tab\tkept\n");
}

TEST(TerminalSafe, MakesControlsVisible) {
  EXPECT_EQ(TerminalSafe("a\x1b[2Jb\nc\rd"), "a?[2Jb?c?d");
}

TEST(ElideMiddle, KeepsBothEnds) {
  EXPECT_EQ(ElideMiddle("short", 10), "short");
  EXPECT_EQ(ElideMiddle("building linux: 1234 files", 15), "buildi... files");
  EXPECT_EQ(ElideMiddle("building linux: 1234 files", 15).size(), 15u);
}

TEST(Status, SmartTerminalRewritesOneLine) {
  StatusMode m;
  m.smart = true;
  m.width = 40;
  SetStatusMode(m);
  std::string out = CaptureStderr([] {
    Status("boot: 3s");
    Status("boot: 3s");  // unchanged: not drawn again
    Status("boot: 4s");
    Log("first heartbeat");
    ClearStatus();
  });
  EXPECT_EQ(out,
            "\rboot: 3s\x1b[K"
            "\rboot: 4s\x1b[K"
            "\r\x1b[Kblackout: first heartbeat\n\rboot: 4s\x1b[K"
            "\r\x1b[K");
  SetStatusMode(StatusMode{});
}

TEST(Status, BoldOnlyWithColour) {
  StatusMode m;
  m.smart = true;
  m.color = true;
  SetStatusMode(m);
  std::string out = CaptureStderr([] {
    Status("bisect: run 3");
    ClearStatus();
  });
  EXPECT_EQ(out, "\r\x1b[1mbisect:\x1b[0m run 3\x1b[K\r\x1b[K");
  SetStatusMode(StatusMode{});
}

TEST(Status, PlainOutputPrintsWholeLinesAtMostOncePerInterval) {
  StatusMode m;
  m.smart = false;
  m.plain_every_s = 3600;
  SetStatusMode(m);
  std::string out = CaptureStderr([] {
    Status("kernel build: 10 files compiled");
    Status("kernel build: 11 files compiled");  // within the interval: dropped
    Status("kernel build: done", true);         // forced
    Status("guest console \x1b[2J text\n");     // escapes and newlines never reach the log
    ClearStatus();
    Status("workload: steady, 30s left");  // a new step prints at once
  });
  EXPECT_EQ(out,
            "blackout: [status] kernel build: 10 files compiled\n"
            "blackout: [status] kernel build: done\n"
            "blackout: [status] workload: steady, 30s left\n");
  SetStatusMode(StatusMode{});
}

}  // namespace
TEST(Log, XmlEscapeKeepsMarkupInertAndTheTextValid) {
  EXPECT_EQ(XmlEscape("<script>&\"'"), "&lt;script&gt;&amp;&quot;&#39;");
  EXPECT_EQ(XmlEscape("a\x1b[0m\x01\n\tb"), "a\xEF\xBF\xBD[0m\xEF\xBF\xBD\n\tb");
  EXPECT_EQ(XmlEscape("\xff\xc3\xa9"), "\xEF\xBF\xBD\xc3\xa9");
}

}  // namespace blackout
