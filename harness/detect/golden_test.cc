// Golden console logs: each file under testdata/console/ starts with the
// expected TITLE: (of the first kernel report the detector believes, notes
// aside: the report syzkaller titles, by syzkaller's rules; "-" if none),
// CORRUPTED: (why that report cannot be read whole, "-" if it can), VERDICT: ("verdict: verdict title") and REPORTS: (every report's
// type, in order, "(not believed)" after those the heartbeats contradict) and
// a blank line; the rest is a console log, from a real blackout run (real_*) or
// in the formats the kernel and Xen print. Run with BLACKOUT_UPDATE_GOLDEN=1 to
// rewrite the headers from what the detector says now (then read the diff).
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>

#include "base/fsutil.h"
#include "harness/detect/analyze.h"

namespace blackout {
namespace {

struct Golden {
  std::string title, corrupted, verdict, reports, body;
  bool has_header = false;
};

Golden Split(const std::string& text) {
  Golden g;
  std::istringstream in(text);
  std::string line;
  size_t consumed = 0;
  while (std::getline(in, line)) {
    auto take = [&](const char* key, std::string* into) {
      if (line.rfind(key, 0) != 0) return false;
      *into = line.substr(std::strlen(key));
      return true;
    };
    if (take("TITLE: ", &g.title) || take("CORRUPTED: ", &g.corrupted) || take("VERDICT: ", &g.verdict) || take("REPORTS: ", &g.reports)) {
      g.has_header = true;
      consumed += line.size() + 1;
      continue;
    }
    if (g.has_header && line.empty()) consumed += 1;
    break;
  }
  g.body = text.substr(std::min(consumed, text.size()));
  return g;
}

class GoldenLog : public testing::TestWithParam<std::string> {};

TEST_P(GoldenLog, MatchesItsHeader) {
  std::string path = GetParam();
  Golden g = Split(ReadFile(path));
  Analysis a = AnalyzeConsole(g.body, {});
  std::string reports;
  for (const Report& r : a.reports) {
    reports += (reports.empty() ? "" : ",") + r.type + (r.discounted.empty() ? "" : "(not believed)");
  }
  const Report* first = nullptr;
  for (const Report& r : a.reports) {
    if (!first && r.kind != ReportKind::kNote && r.discounted.empty()) first = &r;
  }
  std::string title = first ? first->title : "-";
  std::string corrupted = first && !first->corrupted.empty() ? first->corrupted : "-";
  std::string verdict = std::string(VerdictName(a.verdict)) + ": " + a.title;
  if (std::getenv("BLACKOUT_UPDATE_GOLDEN")) {
    std::ofstream out(path, std::ios::trunc);
    out << "TITLE: " << title << "\nCORRUPTED: " << corrupted << "\nVERDICT: " << verdict << "\nREPORTS: " << reports
        << "\n\n"
        << g.body;
    return;
  }
  ASSERT_TRUE(g.has_header) << path << " has no header (run with BLACKOUT_UPDATE_GOLDEN=1)";
  EXPECT_EQ(title, g.title) << path;
  EXPECT_EQ(corrupted, g.corrupted) << path;
  EXPECT_EQ(verdict, g.verdict) << path;
  EXPECT_EQ(reports, g.reports) << path;
}

std::vector<std::string> Logs() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(TESTDATA_DIR "/console")) {
    if (e.path().extension() == ".log") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

INSTANTIATE_TEST_SUITE_P(Console, GoldenLog, testing::ValuesIn(Logs()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           std::string name = std::filesystem::path(info.param).stem().string();
                           for (char& c : name) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace blackout
