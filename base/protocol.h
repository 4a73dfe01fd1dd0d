// The console protocol between the in-guest agent and the host: heartbeat and
// status records (guest -> host), console commands (host -> guest), the
// markers dom0's relay and init put on lines, and the workload.conf grammar.
//
// One header because both sides compile it: the static agent inside the guest
// formats records and reads workload.conf and commands; the host writes
// workload.conf and commands and parses records (protocol.cc, host only).
// Everything the agent uses is inline and dependency-free. Lines travel over
// the serial console, mixed with kernel messages that may even land in the
// middle of a line, so each record starts with a marker, carries the run's nonce
// (a stale or foreign guest cannot feed us), and ends with a CRC32 over the
// fields so a line torn by interleaving is rejected rather than misread.
//
//   heartbeat: "@BH1 <nonce> <vcpu> <seq> <guest_mono_ns> <crc>"
//   status:    "@BA1 <nonce> <event> [key=value ...] <crc>"
//   command:   "@BX1 <nonce> <command> [args]\r"   (host -> agent, unsealed:
//              only the agent of this run, which knows the nonce, obeys it)
//
// crc is 8 lowercase hex digits of CRC32 (IEEE) over everything between the
// marker's trailing space and the space before the crc.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>

namespace blackout::protocol {

inline constexpr const char kHeartbeatMarker[] = "@BH1 ";
inline constexpr const char kStatusMarker[] = "@BA1 ";
inline constexpr const char kCommandMarker[] = "@BX1 ";
// Console commands the agent (and xen-pv-domu's dom0 init) obey.
inline constexpr const char kCommandSysrq[] = "sysrq";                // sysrq KEYS
inline constexpr const char kCommandDom0Evidence[] = "dom0-evidence";  // dom0 only
// dom0's init (xen-pv-domu) marks its own lines with this, and ends its
// evidence with kDom0Marker + kDom0EvidenceEnd.
inline constexpr const char kDom0Marker[] = "blackout-dom0: ";
inline constexpr const char kDom0EvidenceEnd[] = "evidence-end";
// The prefix dom0's relay puts before each line of the domU's console.
inline constexpr const char kDomUPrefix[] = "domU| ";
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

// A console command line for the agent of the run with this nonce.
inline std::string FormatCommand(const std::string& nonce, const std::string& command) {
  return std::string(kCommandMarker) + nonce + " " + command + "\r";
}

// workload.conf (/etc/blackout/workload.conf in the guest), one directive per
// line; the host writes it (workloads/workload.cc AgentConf, guests/boot.cc
// for modules), the agent reads it (guests/agent/workload_conf.cc):
//   duration SECONDS
//   report SECONDS                      (per-stressor counters this often)
//   phase NAME SECONDS INTENSITY KINDS  (KINDS: comma list, or - for all)
//   module PATH [module parameters]     (loaded in order before the workload)
//   disk INDEX DEVICE FS                (FS ext4: made and mounted at /mnt/diskINDEX;
//                                        none: stressors use the raw device)
//   stressor KIND key=value ... [-- TOOL ARGS...]   (TOOL: stress-ng, fio)
//   fault KIND key=value ...
namespace conf {
inline constexpr const char kDuration[] = "duration";
inline constexpr const char kReport[] = "report";
inline constexpr const char kPhase[] = "phase";
inline constexpr const char kModule[] = "module";
inline constexpr const char kDisk[] = "disk";
inline constexpr const char kStressor[] = "stressor";
inline constexpr const char kFault[] = "fault";
inline constexpr const char kAllKinds[] = "-";
inline constexpr const char kToolArgs[] = "--";
}  // namespace conf

}  // namespace blackout::protocol

// Host side: parsing of the sealed records (protocol.cc). Pure.
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

// A decimal count a record carries, or nullopt when it is not one or does
// not fit in 64 bits: a sealed record may still carry anything (a hostile
// guest), and then the record is rejected.
std::optional<uint64_t> ParseCount(const std::string& text);

// Looks for a heartbeat record anywhere in line.
RecordCheck ParseHeartbeat(const std::string& line, const std::string& nonce, Heartbeat* out);
// Looks for a status record anywhere in line.
RecordCheck ParseStatus(const std::string& line, const std::string& nonce, AgentStatus* out);

}  // namespace blackout
