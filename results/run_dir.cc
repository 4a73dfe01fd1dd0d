#include "results/run_dir.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <algorithm>

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

CappedFile::CappedFile(std::string path, uint64_t cap)
    : path_(std::move(path)), head_cap_(cap / 4), segment_cap_(std::max<uint64_t>(1, (cap - cap / 4) / 2)) {
  head_ = OpenAppend(path_);
}

CappedFile::~CappedFile() { Close("[... %llu bytes omitted ...]\n"); }

void CappedFile::Write(const char* data, size_t n) {
  while (n > 0) {
    if (segment_ < 0 && head_bytes_ < head_cap_) {
      size_t k = static_cast<size_t>(std::min<uint64_t>(n, head_cap_ - head_bytes_));
      std::fwrite(data, 1, k, head_);
      head_bytes_ += k;
      data += k;
      n -= k;
      continue;
    }
    if (segment_ < 0 || segment_bytes_ >= segment_cap_) Rotate();
    size_t k = static_cast<size_t>(std::min<uint64_t>(n, segment_cap_ - segment_bytes_));
    std::fwrite(data, 1, k, tail_);
    segment_bytes_ += k;
    data += k;
    n -= k;
  }
}

// Starts the next tail segment; the one it replaces (two back) is dropped.
void CappedFile::Rotate() {
  if (tail_) std::fclose(tail_);
  segment_ = segment_ < 0 ? 0 : 1 - segment_;
  std::string next = path_ + ".tail" + std::to_string(segment_);
  std::error_code ec;
  uint64_t dropped = std::filesystem::exists(next, ec) ? std::filesystem::file_size(next, ec) : 0;
  omitted_ += ec ? 0 : dropped;
  tail_ = std::fopen(next.c_str(), "we");
  if (!tail_) throw InfraError("open " + next + ": " + std::strerror(errno));
  segment_bytes_ = 0;
}

void CappedFile::Flush() {
  if (head_) std::fflush(head_);
  if (tail_) std::fflush(tail_);
}

void CappedFile::Close(const std::string& marker) {
  if (!head_) return;
  if (tail_) {
    std::fclose(tail_);
    tail_ = nullptr;
    std::string text = marker;
    size_t at = text.find("%llu");
    if (at != std::string::npos) text.replace(at, 4, std::to_string(omitted_));
    std::fwrite(text.data(), 1, text.size(), head_);
    // Older segment first, then the one being written.
    for (int s : {1 - segment_, segment_}) {
      std::string seg = path_ + ".tail" + std::to_string(s);
      if (FILE* in = std::fopen(seg.c_str(), "re")) {
        char buf[1 << 16];
        for (size_t k; (k = std::fread(buf, 1, sizeof buf, in)) > 0;) std::fwrite(buf, 1, k, head_);
        std::fclose(in);
      }
    }
    std::fflush(head_);
    for (int s : {0, 1}) std::remove((path_ + ".tail" + std::to_string(s)).c_str());
  }
  std::fclose(head_);
  head_ = nullptr;
}

RunDir::RunDir(const std::string& root, const std::string& id, uint64_t console_cap) : path_(root + "/" + id) {
  MakeDirs(path_);
  raw_ = std::make_unique<CappedFile>(File("console.raw"), console_cap);
  log_ = std::make_unique<CappedFile>(File("console.log"), console_cap);
  events_ = OpenAppend(File("events.jsonl"));
}

RunDir::~RunDir() {
  // The omitted span is marked in each file's own form: console.log keeps its
  // "[+T] " prefix so `blackout analyze` knows the silence is not the guest's.
  const std::string marker = std::string(kConsoleCappedMarker) + " %llu bytes omitted\n";
  raw_->Close("\n" + marker);
  log_->Close("\n" + TimePrefix(cap_t_) + marker);
  if (events_) std::fclose(events_);
}

void RunDir::AppendConsole(double t, const std::string& bytes) {
  raw_->Write(bytes.data(), bytes.size());
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
  log_->Write(out.data(), out.size());
  if (cap_t_ < 0 && log_->capped()) cap_t_ = t;
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
  raw_->Flush();
  log_->Flush();
  std::fflush(events_);
}

std::optional<double> RecordedTime(std::string_view line, std::string_view* rest) {
  if (line.size() < 4 || line[0] != '[' || line[1] != '+') return std::nullopt;
  size_t close = line.find("] ");
  if (close == std::string_view::npos) return std::nullopt;
  double t = 0;
  auto [end, error] = std::from_chars(line.data() + 2, line.data() + close, t, std::chars_format::fixed);
  if (error != std::errc() || end != line.data() + close || !std::isfinite(t)) return std::nullopt;
  *rest = line.substr(close + 2);
  return t;
}

}  // namespace blackout
