#include "harness/detect/analyze.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "base/error.h"
#include "base/protocol.h"
#include "harness/detect/report_title.h"
#include "results/run_dir.h"

namespace blackout {
namespace {

// The nonce, vCPU count and workload duration a log's records announce, and
// whether a line carries blackout's host stamp. Reads on only while one of the
// three is unknown: a run's log says all three in its first lines (hello,
// workload-start); a log without hello is read through for its highest vCPU.
void Prescan(LineSource& lines, Analysis* a, double* duration, bool* stamped) {
  std::string line;
  int max_vcpu = -1;
  bool have_duration = false;
  while ((a->vcpus == 0 || !have_duration || a->nonce.empty()) && lines.Next(&line)) {
    std::string_view body;
    if (!*stamped && RecordedTime(line, &body)) *stamped = true;
    for (const char* marker : {protocol::kHeartbeatMarker, protocol::kStatusMarker}) {
      size_t at = line.find(marker);
      if (at == std::string::npos) continue;
      // Only a record whose seal holds may name the nonce: a torn or forged
      // one must not decide which run's records count.
      Heartbeat hb;
      AgentStatus st;
      RecordCheck seal = marker[2] == 'H' ? ParseHeartbeat(line, "", &hb) : ParseStatus(line, "", &st);
      if (seal != RecordCheck::kForeign && seal != RecordCheck::kOk) continue;
      // A sealed record's first two words: the nonce, then the vCPU or event.
      std::string_view rest = std::string_view(line).substr(at + 5), nonce, second;
      NextWord(&rest, &nonce);
      NextWord(&rest, &second);
      if (a->nonce.empty()) a->nonce = std::string(nonce);
      if (nonce != a->nonce) continue;
      if (marker[2] == 'H') {
        max_vcpu = std::max(max_vcpu, std::atoi(std::string(second).c_str()));
      } else if (second == "hello" && line.find("vcpus=") != std::string::npos && a->vcpus == 0) {
        a->vcpus = std::atoi(line.c_str() + line.find("vcpus=") + 6);
      } else if (second == "workload-start" && line.find("duration=") != std::string::npos) {
        *duration = std::atof(line.c_str() + line.find("duration=") + 9);
        have_duration = true;
      }
    }
  }
  if (a->vcpus == 0) a->vcpus = std::max(1, max_vcpu + 1);
  // A log says what it likes; the detector keeps per-vCPU state, so bound it.
  a->vcpus = std::clamp(a->vcpus, 1, kMaxVcpus);
}

// One pass of the detector over the log's lines.
Analysis Judge(LineSource& first_pass, LineSource& second_pass, const AnalyzeOptions& options) {
  Analysis a;
  a.nonce = options.nonce;
  a.vcpus = options.vcpus;
  double duration = 1e9;
  bool stamped = false;  // a line with blackout's host stamp: a run's console.log
  Prescan(first_pass, &a, &duration, &stamped);
  // Read through (no nonce stops it early): neither records nor host stamps.
  a.reports_only = a.nonce.empty() && !stamped;

  DetectorConfig c;
  c.nonce = a.nonce.empty() ? "-" : a.nonce;
  c.vcpus = a.vcpus;
  c.stall_s = options.stall_s;
  c.lockup_s = options.lockup_s;
  c.heartbeat_s = options.heartbeat_s;
  c.boot_s = 0;  // a log has no boot deadline: its end is the end
  c.reports_only = a.reports_only;
  c.workload_s = duration;
  Detector d(c, 0);

  // Events are taken as they come and kept up to a bound: a log (forged
  // host stamps, say) can make one per line. (Report events carry their
  // lines only for the reports the detector keeps.)
  auto take_events = [&] {
    for (DetectorEvent& e : d.TakeEvents()) {
      if (a.events.size() < options.max_events) {
        a.events.push_back(std::move(e));
      } else {
        ++a.events_dropped;
      }
    }
  };
  std::string line;
  double t = 0;
  uint64_t n = 0;
  while (second_pass.Next(&line)) {
    std::string_view body;
    if (auto rt = RecordedTime(line, &body)) {
      t = *rt;
    } else {
      body = line;
      if (auto kt = ParseKernelLine(line).time) t = std::max(t, *kt);
    }
    if (body.substr(0, std::strlen(kConsoleCappedMarker)) == kConsoleCappedMarker) {
      d.Omitted(t);
      continue;
    }
    d.Line(t, body);
    d.Tick(t);
    if (++n % 4096 == 0) take_events();
  }
  d.Finish(t);
  take_events();
  a.verdict = d.verdict();
  a.title = d.title();
  a.reports = d.reports();
  a.freezes = d.Freezes();
  a.stats = d.Stats();
  a.stats["events_dropped"] = a.events_dropped;
  return a;
}

// Lines of a string.
class TextLines : public LineSource {
 public:
  explicit TextLines(const std::string& text) : in_(text) {}
  bool Next(std::string* line) override { return static_cast<bool>(std::getline(in_, *line)); }

 private:
  std::istringstream in_;
};

}  // namespace

FileLines::FileLines(const std::string& path, size_t max_line) : path_(path), max_line_(max_line) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) throw InfraError("read log " + path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw InfraError("read log " + path + ": not a regular file");
  fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw InfraError("read log " + path + ": " + std::strerror(errno));
}

FileLines::~FileLines() {
  if (fd_ >= 0) close(fd_);
}

bool FileLines::Next(std::string* line) {
  line->clear();
  for (;;) {
    if (pos_ == buf_.size()) {
      if (eof_) return !line->empty();
      CheckInterrupted("analyze " + path_);
      buf_.resize(1 << 20);
      ssize_t n = read(fd_, buf_.data(), buf_.size());
      if (n < 0 && errno == EINTR) n = 0;
      if (n < 0) throw InfraError("read log " + path_ + ": " + std::strerror(errno));
      buf_.resize(static_cast<size_t>(n));
      pos_ = 0;
      if (n == 0) {
        eof_ = true;
        continue;
      }
    }
    size_t nl = buf_.find('\n', pos_);
    size_t end = nl == std::string::npos ? buf_.size() : nl;
    size_t room = max_line_ - line->size();
    if (end - pos_ >= room) {
      // Too long: this piece is a line of its own, the rest follows as more.
      line->append(buf_, pos_, room);
      pos_ += room;
      return true;
    }
    line->append(buf_, pos_, end - pos_);
    pos_ = end;
    if (nl != std::string::npos) {
      ++pos_;
      return true;
    }
  }
}

Analysis AnalyzeConsole(const std::string& text, const AnalyzeOptions& options) {
  TextLines first(text), second(text);
  return Judge(first, second, options);
}

Analysis AnalyzeFile(const std::string& path, const AnalyzeOptions& options) {
  FileLines first(path), second(path);
  return Judge(first, second, options);
}

}  // namespace blackout
