// Re-judging a saved console log with the same detector a live run uses, so
// archives can be re-read with other thresholds or a newer detector. Pure.
//
// Lines as blackout records them ("[+12.345678] text", host seconds) keep
// their host times; a plain log without them is timed by the kernel's own
// "[   12.345678]" stamps where present (else the previous line's time).
#pragma once

#include <optional>
#include <string>

#include "harness/detect/detector.h"

namespace blackout {

struct AnalyzeOptions {
  std::string nonce;  // empty: the first sealed record's nonce
  int vcpus = 0;      // 0: from the agent's hello, else the highest vCPU seen + 1
  double stall_s = 2;
  double lockup_s = 30;
  double heartbeat_s = 0.2;
  size_t max_events = 10000;  // events kept; more are counted in events_dropped
};

struct Analysis {
  Verdict verdict = Verdict::kInfraError;
  std::string title;
  std::string nonce;
  int vcpus = 0;
  // No heartbeat record and no blackout host stamps: a plain console log,
  // judged by the kernel's reports alone (DetectorConfig::reports_only).
  bool reports_only = false;
  std::vector<DetectorEvent> events;
  uint64_t events_dropped = 0;
  std::vector<Report> reports;
  std::vector<Freeze> freezes;
  nlohmann::json stats;
};

// Lines, one at a time.
class LineSource {
 public:
  virtual ~LineSource() = default;
  // The next line without its newline; false at the end.
  virtual bool Next(std::string* line) = 0;
};

// A log file's lines, read 1 MiB at a time: memory stays bounded whatever
// the file's size. A line longer than max_line comes as several lines (the
// detector keeps no longer ones either). Throws InfraError for a path that
// is not a readable regular file, InterruptedError on Ctrl-C.
class FileLines : public LineSource {
 public:
  explicit FileLines(const std::string& path, size_t max_line = 64 << 10);
  ~FileLines() override;
  FileLines(const FileLines&) = delete;
  FileLines& operator=(const FileLines&) = delete;
  bool Next(std::string* line) override;

 private:
  std::string path_;
  size_t max_line_;
  int fd_ = -1;
  std::string buf_;
  size_t pos_ = 0;
  bool eof_ = false;
};

Analysis AnalyzeConsole(const std::string& text, const AnalyzeOptions& options);
// The same over a file, streamed twice (a first pass for the nonce and the
// vCPUs, then the detector), in bounded memory.
Analysis AnalyzeFile(const std::string& path, const AnalyzeOptions& options);

}  // namespace blackout
