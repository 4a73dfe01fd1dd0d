// One run's directory under the results root: the raw evidence.
//
//   console.raw    every console byte as it arrived (up to the console cap)
//   console.log    the same split into lines, each prefixed with the host time
//                  (seconds since the run started) its first byte arrived:
//                  "[+12.345678] text". `blackout analyze` reads this back.
//   events.jsonl   one JSON object per detector event, appended as they happen
//   result.json    written once, atomically, when the run ends (schema below)
//   qemu.log       the VM process's own stdout/stderr
//   evidence/      what was gathered on a bad verdict
//
// A run killed mid-way has no result.json; everything else stays readable.
//
// Console cap (soak runs): console.raw and console.log each keep at most
// `console_cap` bytes: the first quarter as it came (the boot), then the most
// recent three quarters in two rotating tail segments (NAME.tail0/1) that are
// stitched back on at the end behind a line
// "[+T] blackout: console capped: N bytes omitted". A run killed before the
// end leaves the segments beside the file.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace blackout {

inline constexpr int kResultSchemaVersion = 1;

// An append-only file that keeps its head and its most recent tail within a
// byte budget (see the console cap above).
class CappedFile {
 public:
  CappedFile(std::string path, uint64_t cap);
  ~CappedFile();
  CappedFile(const CappedFile&) = delete;
  CappedFile& operator=(const CappedFile&) = delete;

  void Write(const char* data, size_t n);
  void Flush();
  // Stitches the tail back behind `marker` (called once the omitted count is
  // known: "%llu" in marker is replaced by it). Idempotent.
  void Close(const std::string& marker);
  uint64_t omitted() const { return omitted_; }
  bool capped() const { return segment_ >= 0; }

 private:
  void Rotate();
  std::string path_;
  uint64_t head_cap_, segment_cap_;
  FILE* head_ = nullptr;
  FILE* tail_ = nullptr;
  int segment_ = -1;  // the tail segment being written, or -1 while in the head
  uint64_t head_bytes_ = 0, segment_bytes_ = 0, omitted_ = 0;
};

inline constexpr uint64_t kDefaultConsoleCap = 64ull << 20;
// How the omitted span is marked (after the "[+T] " prefix in console.log).
inline constexpr char kConsoleCappedMarker[] = "blackout: console capped:";

class RunDir {
 public:
  // Creates <root>/<id>/ (and root). Throws InfraError.
  RunDir(const std::string& root, const std::string& id, uint64_t console_cap = kDefaultConsoleCap);
  ~RunDir();
  RunDir(const RunDir&) = delete;
  RunDir& operator=(const RunDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

  void AppendConsole(double t, const std::string& bytes);
  void AppendEvent(double t, const std::string& type, const nlohmann::json& data);
  // Atomic: a reader sees the previous result.json or this one, never a mix.
  void WriteResult(const nlohmann::json& result);
  void WriteEvidence(const std::string& name, const std::string& content);
  // Console bytes dropped so far by the console cap (console.raw's count).
  uint64_t ConsoleOmitted() const { return raw_->omitted(); }
  // Flushes the streaming files (called at the end and before risky steps).
  void Flush();

 private:
  std::string path_;
  std::unique_ptr<CappedFile> raw_, log_;
  FILE* events_ = nullptr;
  bool at_line_start_ = true;
  double cap_t_ = -1;  // when console.log first overflowed its head
};

// Formats a line prefix "[+12.345678] ".
std::string TimePrefix(double t);

// Host time of a recorded console.log line ("[+12.5] ...", as AppendConsole
// writes it) and the text after the stamp (a view into line); nullopt for a
// line without one.
std::optional<double> RecordedTime(std::string_view line, std::string_view* rest);

}  // namespace blackout
