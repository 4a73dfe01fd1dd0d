// Detector throughput: feeds a console log through the live detector in 64 KiB
// chunks read from the file (as the monitor reads the console) and prints MB/s. With --patterns, prints the
// report patterns as POSIX extended regexes, for the grep -E baseline in
// bench/detector_throughput.sh.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

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
  // Read as the monitor reads the console: 64 KiB at a time, into one buffer.
  int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::fprintf(stderr, "detector_perftest: %s: %s\n", argv[1], std::strerror(errno));
    return 1;
  }
  blackout::DetectorConfig c;
  c.nonce = "none";
  c.vcpus = 2;
  c.boot_s = 0;
  blackout::Detector d(c, 0);
  auto t0 = std::chrono::steady_clock::now();
  std::vector<char> buf(64 * 1024);
  double t = 0;
  size_t total = 0;
  for (ssize_t n; (n = read(fd, buf.data(), buf.size())) > 0; total += static_cast<size_t>(n)) {
    d.Bytes(t, std::string_view(buf.data(), static_cast<size_t>(n)));
    d.Tick(t);
    d.TakeEvents();
    t += 0.001;
  }
  close(fd);
  d.Finish(t);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%.1f MB in %.3fs: %.1f MB/s, %zu reports\n", total / 1e6, s, total / 1e6 / s, d.reports().size());
  return 0;
}
