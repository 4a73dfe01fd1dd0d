#include "harness/bisect/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "base/error.h"
#include "base/fsutil.h"

namespace blackout {
namespace {

void AppendLine(const std::string& path, const std::string& line, int flags) {
  int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC | flags, 0644);
  if (fd < 0) throw InfraError("open " + path + ": " + std::strerror(errno));
  std::string text = line + "\n";
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      throw InfraError("write " + path + ": " + std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) {
    int err = errno;
    close(fd);
    throw InfraError("sync " + path + ": " + std::strerror(err));
  }
  close(fd);
}

std::optional<Outcome> ParseOutcome(const std::string& s) {
  if (s == "hang") return Outcome::kHang;
  if (s == "quiet") return Outcome::kQuiet;
  if (s == "skip") return Outcome::kSkip;
  if (s == "other") return Outcome::kOther;
  return std::nullopt;
}

}  // namespace

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kHang: return "hang";
    case Outcome::kQuiet: return "quiet";
    case Outcome::kSkip: return "skip";
    case Outcome::kOther: return "other";
  }
  return "skip";
}

void CreateBisectLog(const std::string& dir, const nlohmann::json& config,
                     const std::vector<std::string>& candidates) {
  MakeDirs(dir);
  nlohmann::json header = {{"blackout_bisect", kBisectLogVersion}, {"config", config}, {"candidates", candidates}};
  AppendLine(dir + "/log.jsonl", header.dump(), O_CREAT | O_EXCL);
}

void AppendBisectStep(const std::string& dir, const BisectStep& s, int number) {
  nlohmann::json line = {{"step", number},        {"candidate", s.candidate}, {"outcome", OutcomeName(s.outcome)},
                         {"verdict", s.verdict},  {"title", s.title},         {"run_dir", s.run_dir}};
  if (s.exposure_s > 0) line["exposure_s"] = s.exposure_s;
  AppendLine(dir + "/log.jsonl", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), 0);
}

BisectRecord ParseBisectLog(const std::string& text, const std::string& where) {
  BisectRecord r;
  size_t pos = 0;
  bool header = false;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) break;  // a torn last line: never completed
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      throw InfraError("read " + where + ": malformed line: " + line.substr(0, 120));
    }
    if (!header) {
      if (!j.is_object() || !j.contains("blackout_bisect")) throw InfraError("read " + where + ": not a bisect log");
      if (j["blackout_bisect"] != kBisectLogVersion) {
        throw InfraError("read " + where + ": bisect log version " + j["blackout_bisect"].dump() + " (this blackout reads " +
                         std::to_string(kBisectLogVersion) + ")");
      }
      r.config = j.value("config", nlohmann::json::object());
      r.candidates = j.value("candidates", std::vector<std::string>{});
      header = true;
      continue;
    }
    auto outcome = ParseOutcome(j.value("outcome", ""));
    int c = j.value("candidate", -1);
    if (!outcome || c < 0 || c >= static_cast<int>(r.candidates.size())) {
      throw InfraError("read " + where + ": bad step: " + line.substr(0, 120));
    }
    double exposure = 0;
    if (j.contains("exposure_s") && j["exposure_s"].is_number()) exposure = j["exposure_s"].get<double>();
    r.steps.push_back(
        BisectStep{c, *outcome, j.value("verdict", ""), j.value("title", ""), j.value("run_dir", ""), exposure});
  }
  if (!header) throw InfraError("read " + where + ": empty bisect log");
  return r;
}

BisectRecord LoadBisectLog(const std::string& dir) {
  std::string path = dir + "/log.jsonl";
  return ParseBisectLog(ReadFile(path), path);
}

}  // namespace blackout
