// Parsing of the agent's sealed console records (heartbeats and status lines;
// the format is defined in guests/agent/protocol.h). Pure.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace blackout {

struct Heartbeat {
  int vcpu = 0;
  uint64_t seq = 0;
  uint64_t guest_ns = 0;
};

struct AgentStatus {
  std::string event;                          // hello, workload-start, done, ...
  std::map<std::string, std::string> fields;  // key=value pairs
};

enum class RecordCheck {
  kNone,      // no record marker on the line
  kOk,
  kBadSeal,   // torn or corrupted: checksum or syntax
  kForeign,   // another run's nonce
};

// Looks for a heartbeat record anywhere in line.
RecordCheck ParseHeartbeat(const std::string& line, const std::string& nonce, Heartbeat* out);
// Looks for a status record anywhere in line.
RecordCheck ParseStatus(const std::string& line, const std::string& nonce, AgentStatus* out);

}  // namespace blackout
