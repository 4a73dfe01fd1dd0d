#include "base/protocol.h"

#include <cerrno>
#include <cstdlib>
#include <sstream>
#include <vector>

namespace blackout {
namespace {

// Finds marker in line and checks the seal; on success *body is the sealed
// text (without marker and crc).
RecordCheck Unseal(const std::string& line, const char* marker, std::string* body) {
  size_t at = line.find(marker);
  if (at == std::string::npos) return RecordCheck::kNone;
  std::string rest = line.substr(at + std::char_traits<char>::length(marker));
  while (!rest.empty() && (rest.back() == '\r' || rest.back() == '\n' || rest.back() == ' ')) rest.pop_back();
  size_t space = rest.rfind(' ');
  if (space == std::string::npos || rest.size() - space - 1 != 8) return RecordCheck::kBadSeal;
  std::string crc_text = rest.substr(space + 1);
  char* end = nullptr;
  unsigned long crc = std::strtoul(crc_text.c_str(), &end, 16);
  if (*end != '\0') return RecordCheck::kBadSeal;
  *body = rest.substr(0, space);
  if (protocol::Crc32(body->data(), body->size()) != crc) return RecordCheck::kBadSeal;
  return RecordCheck::kOk;
}

std::vector<std::string> Words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

bool ParseU64(const std::string& text, uint64_t* out) {
  std::optional<uint64_t> v = ParseCount(text);
  if (v) *out = *v;
  return v.has_value();
}

}  // namespace

std::optional<uint64_t> ParseCount(const std::string& text) {
  if (text.empty() || text.size() > 20 || text.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  errno = 0;
  unsigned long long v = std::strtoull(text.c_str(), nullptr, 10);
  if (errno == ERANGE) return std::nullopt;
  return static_cast<uint64_t>(v);
}

RecordCheck ParseHeartbeat(const std::string& line, const std::string& nonce, Heartbeat* out) {
  std::string body;
  RecordCheck check = Unseal(line, protocol::kHeartbeatMarker, &body);
  if (check != RecordCheck::kOk) return check;
  std::vector<std::string> w = Words(body);
  uint64_t vcpu;
  if (w.size() != 4 || !ParseU64(w[1], &vcpu) || !ParseU64(w[2], &out->seq) ||
      !ParseU64(w[3], &out->guest_ns) || vcpu >= 4096) {
    return RecordCheck::kBadSeal;
  }
  if (w[0] != nonce) return RecordCheck::kForeign;
  out->vcpu = static_cast<int>(vcpu);
  return RecordCheck::kOk;
}

RecordCheck ParseStatus(const std::string& line, const std::string& nonce, AgentStatus* out) {
  std::string body;
  RecordCheck check = Unseal(line, protocol::kStatusMarker, &body);
  if (check != RecordCheck::kOk) return check;
  std::vector<std::string> w = Words(body);
  if (w.size() < 2) return RecordCheck::kBadSeal;
  if (w[0] != nonce) return RecordCheck::kForeign;
  out->event = w[1];
  out->fields.clear();
  for (size_t i = 2; i < w.size(); ++i) {
    size_t eq = w[i].find('=');
    if (eq != std::string::npos) out->fields[w[i].substr(0, eq)] = w[i].substr(eq + 1);
  }
  return RecordCheck::kOk;
}

}  // namespace blackout
