// The heartbeat protocol between the in-guest agent and the host monitor.
//
// Header-only and dependency-free because both sides compile it: the static
// agent inside the guest formats lines, the host parses them. Lines travel over
// the serial console, mixed with kernel messages that may even land in the
// middle of a line, so each record starts with a marker, carries the run's nonce
// (a stale or foreign guest cannot feed us), and ends with a CRC32 over the
// fields so a line torn by interleaving is rejected rather than misread.
//
//   heartbeat: "@BH1 <nonce> <vcpu> <seq> <guest_mono_ns> <crc>"
//   status:    "@BA1 <nonce> <event> [key=value ...] <crc>"
//
// crc is 8 lowercase hex digits of CRC32 (IEEE) over everything between the
// marker's trailing space and the space before the crc.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace blackout::protocol {

inline constexpr const char kHeartbeatMarker[] = "@BH1 ";
inline constexpr const char kStatusMarker[] = "@BA1 ";
// Kernel command-line keys the agent reads.
inline constexpr const char kNonceArg[] = "blackout.nonce=";
inline constexpr const char kIntervalArg[] = "blackout.hb_ms=";

inline uint32_t Crc32(const char* data, size_t size) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) {
    crc ^= static_cast<unsigned char>(data[i]);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

inline std::string Seal(const char* marker, const std::string& body) {
  char crc[16];
  std::snprintf(crc, sizeof crc, " %08x", Crc32(body.data(), body.size()));
  return std::string(marker) + body + crc + "\n";
}

inline std::string FormatHeartbeat(const std::string& nonce, int vcpu, uint64_t seq,
                                   uint64_t guest_ns) {
  char body[128];
  std::snprintf(body, sizeof body, "%s %d %llu %llu", nonce.c_str(), vcpu,
                static_cast<unsigned long long>(seq), static_cast<unsigned long long>(guest_ns));
  return Seal(kHeartbeatMarker, body);
}

// event is one word; fields are "key=value key=value" without spaces in values.
inline std::string FormatStatus(const std::string& nonce, const std::string& event,
                                const std::string& fields) {
  std::string body = nonce + " " + event;
  if (!fields.empty()) body += " " + fields;
  return Seal(kStatusMarker, body);
}

}  // namespace blackout::protocol
