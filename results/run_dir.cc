#include "results/run_dir.h"

#include <cerrno>
#include <cstring>

#include "base/error.h"
#include "base/fsutil.h"

namespace blackout {
namespace {

FILE* OpenAppend(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "ae");
  if (!f) throw InfraError("open " + path + ": " + std::strerror(errno));
  return f;
}

}  // namespace

std::string TimePrefix(double t) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "[+%.6f] ", t);
  return buf;
}

RunDir::RunDir(const std::string& root, const std::string& id) : path_(root + "/" + id) {
  MakeDirs(path_);
  raw_ = OpenAppend(File("console.raw"));
  log_ = OpenAppend(File("console.log"));
  events_ = OpenAppend(File("events.jsonl"));
}

RunDir::~RunDir() {
  for (FILE* f : {raw_, log_, events_}) {
    if (f) std::fclose(f);
  }
}

void RunDir::AppendConsole(double t, const std::string& bytes) {
  std::fwrite(bytes.data(), 1, bytes.size(), raw_);
  std::string out;
  out.reserve(bytes.size() + 32);
  for (char c : bytes) {
    if (at_line_start_) {
      out += TimePrefix(t);
      at_line_start_ = false;
    }
    if (c == '\r') continue;
    out += c;
    if (c == '\n') at_line_start_ = true;
  }
  std::fwrite(out.data(), 1, out.size(), log_);
}

void RunDir::AppendEvent(double t, const std::string& type, const nlohmann::json& data) {
  nlohmann::json e = data.is_object() ? data : nlohmann::json{{"data", data}};
  e["t"] = t;
  e["type"] = type;
  std::string line = e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::fwrite(line.data(), 1, line.size(), events_);
  std::fflush(events_);
}

void RunDir::WriteResult(const nlohmann::json& result) {
  Flush();
  WriteFileAtomic(File("result.json"),
                  result.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

void RunDir::WriteEvidence(const std::string& name, const std::string& content) {
  MakeDirs(File("evidence"));
  WriteFileAtomic(File("evidence/" + name), content);
}

void RunDir::Flush() {
  for (FILE* f : {raw_, log_, events_}) std::fflush(f);
}

}  // namespace blackout
