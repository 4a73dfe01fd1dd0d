#include "harness/detect/analyze.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "results/run_dir.h"

namespace blackout {
namespace {

std::optional<double> KernelTime(const std::string& line) {
  if (line.size() < 4 || line[0] != '[') return std::nullopt;
  size_t close = line.find(']');
  if (close == std::string::npos || close > 20) return std::nullopt;
  if (line.find_first_not_of(" 0123456789.", 1) != close) return std::nullopt;
  return std::strtod(line.c_str() + 1, nullptr);
}

// The nonce, vCPU count and workload duration a log's records announce.
void Prescan(const std::string& text, Analysis* a, double* duration) {
  std::istringstream in(text);
  std::string line;
  int max_vcpu = -1;
  while (std::getline(in, line)) {
    for (const char* marker : {"@BH1 ", "@BA1 "}) {
      size_t at = line.find(marker);
      if (at == std::string::npos) continue;
      std::istringstream w(line.substr(at + 5));
      std::string nonce, second;
      w >> nonce >> second;
      if (a->nonce.empty()) a->nonce = nonce;
      if (nonce != a->nonce) continue;
      if (marker[2] == 'H') {
        max_vcpu = std::max(max_vcpu, std::atoi(second.c_str()));
      } else if (second == "hello" && line.find("vcpus=") != std::string::npos && a->vcpus == 0) {
        a->vcpus = std::atoi(line.c_str() + line.find("vcpus=") + 6);
      } else if (second == "workload-start" && line.find("duration=") != std::string::npos) {
        *duration = std::atof(line.c_str() + line.find("duration=") + 9);
      }
    }
  }
  if (a->vcpus == 0) a->vcpus = std::max(1, max_vcpu + 1);
  // A log says what it likes; the detector keeps per-vCPU state, so bound it.
  a->vcpus = std::clamp(a->vcpus, 1, kMaxVcpus);
}

}  // namespace

Analysis AnalyzeConsole(const std::string& text, const AnalyzeOptions& options) {
  Analysis a;
  a.nonce = options.nonce;
  a.vcpus = options.vcpus;
  double duration = 1e9;
  Prescan(text, &a, &duration);

  DetectorConfig c;
  c.nonce = a.nonce.empty() ? "-" : a.nonce;
  c.vcpus = a.vcpus;
  c.stall_s = options.stall_s;
  c.lockup_s = options.lockup_s;
  c.heartbeat_s = options.heartbeat_s;
  c.boot_s = 0;  // a log has no boot deadline: its end is the end
  c.workload_s = duration;
  Detector d(c, 0);

  std::istringstream in(text);
  std::string line;
  double t = 0;
  while (std::getline(in, line)) {
    std::string body;
    if (auto rt = RecordedTime(line, &body)) {
      t = *rt;
    } else {
      body = line;
      if (auto kt = KernelTime(line)) t = std::max(t, *kt);
    }
    if (body.rfind(kConsoleCappedMarker, 0) == 0) {
      d.Omitted(t);
      continue;
    }
    d.Bytes(t, body + "\n");
    d.Tick(t);
  }
  d.Finish(t);
  a.verdict = d.verdict();
  a.title = d.title();
  a.events = d.TakeEvents();
  a.reports = d.reports();
  a.freezes = d.Freezes();
  a.stats = d.Stats();
  return a;
}

}  // namespace blackout
