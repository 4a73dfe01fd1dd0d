#include "results/run_dir.h"

#include <filesystem>
#include <gtest/gtest.h>

#include "base/fsutil.h"

namespace blackout {
namespace {

TEST(RunDir, TimestampsLinesByFirstByte) {
  char tmpl[] = "/tmp/blackout-rd-XXXXXX";
  std::string root = mkdtemp(tmpl);
  {
    RunDir d(root, "r1");
    d.AppendConsole(1.5, "hello\r\nwor");
    d.AppendConsole(2.25, "ld\nx");
    d.AppendEvent(3, "gap", {{"vcpu", 1}});
    d.WriteResult({{"verdict", "pass"}});
  }
  EXPECT_EQ(ReadFile(root + "/r1/console.raw"), "hello\r\nworld\nx");
  EXPECT_EQ(ReadFile(root + "/r1/console.log"),
            "[+1.500000] hello\n[+1.500000] world\n[+2.250000] x");
  auto ev = nlohmann::json::parse(ReadFile(root + "/r1/events.jsonl"));
  EXPECT_EQ(ev["type"], "gap");
  EXPECT_EQ(ev["vcpu"], 1);
  EXPECT_EQ(nlohmann::json::parse(ReadFile(root + "/r1/result.json"))["verdict"], "pass");
  std::filesystem::remove_all(root);
}

// A soak's console stays within the cap: the head (the boot) and the latest
// tail survive, the middle is replaced by one marked line, and no segment
// files are left behind.
TEST(RunDir, ConsoleCapKeepsHeadAndTail) {
  char tmpl[] = "/tmp/blackout-rd-XXXXXX";
  std::string root = mkdtemp(tmpl);
  const uint64_t cap = 64 << 10;
  uint64_t omitted = 0;
  {
    RunDir d(root, "r1", cap);
    for (int i = 0; i < 20000; ++i) d.AppendConsole(i * 0.01, "line " + std::to_string(i) + "\n");
    omitted = d.ConsoleOmitted();
  }
  EXPECT_GT(omitted, 0u);
  for (const char* name : {"console.raw", "console.log"}) {
    std::string text = ReadFile(root + "/r1/" + name);
    EXPECT_LE(text.size(), cap + 100) << name;
    EXPECT_NE(text.find("line 0\n"), std::string::npos) << name;
    EXPECT_NE(text.find("line 19999\n"), std::string::npos) << name;
    EXPECT_EQ(text.find("line 10000\n"), std::string::npos) << name;
    EXPECT_NE(text.find(std::string(kConsoleCappedMarker) + " "), std::string::npos) << name;
    EXPECT_FALSE(std::filesystem::exists(root + "/r1/" + name + ".tail0"));
    EXPECT_FALSE(std::filesystem::exists(root + "/r1/" + name + ".tail1"));
  }
  // The log's marker line carries a time prefix, like every other line.
  std::string log = ReadFile(root + "/r1/console.log");
  size_t at = log.find(kConsoleCappedMarker);
  EXPECT_EQ(log.compare(log.rfind('\n', at) + 1, 2, "[+"), 0);
  std::filesystem::remove_all(root);
}

TEST(RunDir, SmallConsoleIsUntouchedByTheCap) {
  char tmpl[] = "/tmp/blackout-rd-XXXXXX";
  std::string root = mkdtemp(tmpl);
  {
    RunDir d(root, "r1", 1 << 20);
    d.AppendConsole(1, "short\n");
  }
  EXPECT_EQ(ReadFile(root + "/r1/console.raw"), "short\n");
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace blackout
