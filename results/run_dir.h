// One run's directory under the results root: the raw evidence.
//
//   console.raw    every console byte as it arrived
//   console.log    the same split into lines, each prefixed with the host time
//                  (seconds since the run started) its first byte arrived:
//                  "[+12.345678] text". `blackout analyze` reads this back.
//   events.jsonl   one JSON object per detector event, appended as they happen
//   result.json    written once, atomically, when the run ends (schema below)
//   qemu.log       the VM process's own stdout/stderr
//   evidence/      what was gathered on a bad verdict
//
// A run killed mid-way has no result.json; everything else stays readable.
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace blackout {

inline constexpr int kResultSchemaVersion = 1;

class RunDir {
 public:
  // Creates <root>/<id>/ (and root). Throws InfraError.
  RunDir(const std::string& root, const std::string& id);
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
  // Flushes the streaming files (called at the end and before risky steps).
  void Flush();

 private:
  std::string path_;
  FILE* raw_ = nullptr;
  FILE* log_ = nullptr;
  FILE* events_ = nullptr;
  bool at_line_start_ = true;
};

// Formats a line prefix "[+12.345678] ".
std::string TimePrefix(double t);

}  // namespace blackout
