// Detector throughput: feeds a console log through the live detector in 64 KiB
// chunks (as the monitor does) and prints MB/s. With --patterns, prints the
// report patterns as POSIX extended regexes, for the grep -E baseline in
// bench/detector_throughput.sh.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "harness/detect/detector.h"
#include "harness/detect/kernel_report.h"

namespace {

// RE2 syntax to POSIX ERE for the constructs the patterns use.
std::string ToEre(std::string re) {
  auto replace = [&](const std::string& from, const std::string& to) {
    for (size_t at = re.find(from); at != std::string::npos; at = re.find(from, at + to.size())) {
      re.replace(at, from.size(), to);
    }
  };
  replace("(?:", "(");
  replace("\\d", "[0-9]");
  replace("\\s", "[[:space:]]");
  replace("\\S", "[^[:space:]]");
  replace("\\w", "[[:alnum:]_]");
  replace("*?", "*");
  return re;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "--patterns") == 0) {
    for (const std::string& re : blackout::ReportPatterns()) std::printf("%s\n", ToEre(re).c_str());
    return 0;
  }
  if (argc != 2) {
    std::fprintf(stderr, "usage: detector_perftest LOG | --patterns\n");
    return 2;
  }
  std::string text;
  if (FILE* f = std::fopen(argv[1], "rb")) {
    std::fseek(f, 0, SEEK_END);
    text.resize(static_cast<size_t>(std::ftell(f)));
    std::fseek(f, 0, SEEK_SET);
    size_t got = std::fread(text.data(), 1, text.size(), f);
    text.resize(got);
    std::fclose(f);
  }
  blackout::DetectorConfig c;
  c.nonce = "none";
  c.vcpus = 2;
  c.boot_s = 0;
  blackout::Detector d(c, 0);
  auto t0 = std::chrono::steady_clock::now();
  const size_t chunk = 64 * 1024;
  double t = 0;
  for (size_t pos = 0; pos < text.size(); pos += chunk) {
    d.Bytes(t, text.substr(pos, chunk));
    d.Tick(t);
    d.TakeEvents();
    t += 0.001;
  }
  d.Finish(t);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%.1f MB in %.3fs: %.1f MB/s, %zu reports\n", text.size() / 1e6, s, text.size() / 1e6 / s,
              d.reports().size());
  return 0;
}
