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

}  // namespace
}  // namespace blackout
