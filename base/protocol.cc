#include "base/protocol.h"

#include <cerrno>
#include <cstdlib>

namespace blackout {
namespace {

bool Space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// Finds marker in line and checks the seal; on success *body is the sealed
// text (without marker and crc), a view into line.
RecordCheck Unseal(std::string_view line, std::string_view marker, std::string_view* body) {
  size_t at = line.find(marker);
  if (at == std::string_view::npos) return RecordCheck::kNone;
  std::string_view rest = line.substr(at + marker.size());
  while (!rest.empty() && (rest.back() == '\r' || rest.back() == '\n' || rest.back() == ' ')) rest.remove_suffix(1);
  size_t space = rest.rfind(' ');
  if (space == std::string_view::npos || rest.size() - space - 1 != 8) return RecordCheck::kBadSeal;
  uint32_t crc = 0;
  for (char c : rest.substr(space + 1)) {
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (digit < 0) return RecordCheck::kBadSeal;
    crc = crc << 4 | static_cast<uint32_t>(digit);
  }
  *body = rest.substr(0, space);
  if (protocol::Crc32(body->data(), body->size()) != crc) return RecordCheck::kBadSeal;
  return RecordCheck::kOk;
}

// The first max whitespace-separated words of text; returns how many there
// are in all, up to max + 1 (more than max says the record is too long).
size_t Words(std::string_view text, std::string_view* words, size_t max) {
  size_t n = 0;
  for (std::string_view word; n <= max && NextWord(&text, &word); ++n) {
    if (n < max) words[n] = word;
  }
  return n;
}

}  // namespace

bool NextWord(std::string_view* text, std::string_view* word) {
  size_t i = 0;
  while (i < text->size() && Space((*text)[i])) ++i;
  if (i == text->size()) return false;
  size_t start = i;
  while (i < text->size() && !Space((*text)[i])) ++i;
  *word = text->substr(start, i - start);
  text->remove_prefix(i);
  return true;
}

std::optional<uint64_t> ParseCount(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return std::nullopt;
    v = v * 10 + digit;
  }
  return v;
}

RecordCheck ParseHeartbeat(std::string_view line, std::string_view nonce, Heartbeat* out) {
  std::string_view body;
  RecordCheck check = Unseal(line, protocol::kHeartbeatMarker, &body);
  if (check != RecordCheck::kOk) return check;
  std::string_view w[4];
  if (Words(body, w, 4) != 4) return RecordCheck::kBadSeal;
  auto vcpu = ParseCount(w[1]), seq = ParseCount(w[2]), guest_ns = ParseCount(w[3]);
  if (!vcpu || !seq || !guest_ns || *vcpu >= 4096) return RecordCheck::kBadSeal;
  if (w[0] != nonce) return RecordCheck::kForeign;
  out->vcpu = static_cast<int>(*vcpu);
  out->seq = *seq;
  out->guest_ns = *guest_ns;
  return RecordCheck::kOk;
}

RecordCheck ParseStatus(std::string_view line, std::string_view nonce, AgentStatus* out) {
  std::string_view body;
  RecordCheck check = Unseal(line, protocol::kStatusMarker, &body);
  if (check != RecordCheck::kOk) return check;
  std::string_view w[2];
  if (Words(body, w, 2) < 2) return RecordCheck::kBadSeal;
  if (w[0] != nonce) return RecordCheck::kForeign;
  out->event = std::string(w[1]);
  out->fields.clear();
  // The key=value words after the event (a word without '=' is skipped).
  std::string_view rest = body.substr(static_cast<size_t>(w[1].data() + w[1].size() - body.data()));
  for (std::string_view word; NextWord(&rest, &word);) {
    size_t eq = word.find('=');
    if (eq != std::string_view::npos) out->fields[std::string(word.substr(0, eq))] = std::string(word.substr(eq + 1));
  }
  return RecordCheck::kOk;
}

}  // namespace blackout
