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
#include <string_view>

namespace blackout::protocol {

inline constexpr const char kHeartbeatMarker[] = "@BH1 ";
inline constexpr const char kStatusMarker[] = "@BA1 ";
inline constexpr const char kCommandMarker[] = "@BX1 ";
// Console commands the agent (and xen-pv-domu's dom0 init) obey.
inline constexpr const char kCommandSysrq[] = "sysrq";                // sysrq KEYS
inline constexpr const char kCommandDom0Evidence[] = "dom0-evidence";  // dom0 only
// xen-pv-domu's parked dom0 (booted, or restored from a saved state, with
// kParkArg on its command line) waits for "@BX1 dom0 dom0-go <unix seconds>"
// before it reads the run's disk; it has no nonce of its own until then.
inline constexpr const char kCommandDom0Go[] = "dom0-go";
inline constexpr const char kDom0GoNonce[] = "dom0";
inline constexpr const char kParkArg[] = "blackout.park";
inline constexpr const char kDom0Parked[] = "parked";    // after kDom0Marker
inline constexpr const char kDom0Resumed[] = "resumed";  // after kDom0Marker, with the clock it was given
// dom0's init (xen-pv-domu) marks its own lines with this, and ends its
// evidence with kDom0Marker + kDom0EvidenceEnd.
inline constexpr const char kDom0Marker[] = "blackout-dom0: ";
inline constexpr const char kDom0EvidenceEnd[] = "evidence-end";
// The prefix dom0's relay puts before each line of the domU's console.
inline constexpr const char kDomUPrefix[] = "domU| ";
// Kernel command-line keys the agent reads.
inline constexpr const char kNonceArg[] = "blackout.nonce=";
inline constexpr const char kIntervalArg[] = "blackout.hb_ms=";

// CRC32 (IEEE, reflected), eight bytes at a time ("slicing by 8") from tables
// made at compile time: the host checks a seal on every console line.
struct Crc32Tables {
  uint32_t t[8][256];
  constexpr Crc32Tables() : t() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t crc = i;
      for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
      t[0][i] = crc;
    }
    for (int k = 1; k < 8; ++k) {
      for (uint32_t i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFFu];
    }
  }
};
inline constexpr Crc32Tables kCrc32Tables;

inline uint32_t Crc32(const char* data, size_t size) {
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  const auto& t = kCrc32Tables.t;
  uint32_t crc = 0xFFFFFFFFu;
  for (; size >= 8; p += 8, size -= 8) {
    uint32_t lo = crc ^ (p[0] | p[1] << 8 | p[2] << 16 | static_cast<uint32_t>(p[3]) << 24);
    uint32_t hi = p[4] | p[5] << 8 | p[6] << 16 | static_cast<uint32_t>(p[7]) << 24;
    crc = t[7][lo & 0xFFu] ^ t[6][(lo >> 8) & 0xFFu] ^ t[5][(lo >> 16) & 0xFFu] ^ t[4][lo >> 24] ^
          t[3][hi & 0xFFu] ^ t[2][(hi >> 8) & 0xFFu] ^ t[1][(hi >> 16) & 0xFFu] ^ t[0][hi >> 24];
  }
  for (; size > 0; ++p, --size) crc = (crc >> 8) ^ t[0][(crc ^ *p) & 0xFFu];
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

// Takes the next whitespace-separated word of a record off the front of
// *text; false when none is left.
bool NextWord(std::string_view* text, std::string_view* word);

// A decimal count a record carries, or nullopt when it is not one or does
// not fit in 64 bits: a sealed record may still carry anything (a hostile
// guest), and then the record is rejected.
std::optional<uint64_t> ParseCount(std::string_view text);

// Looks for a heartbeat record anywhere in line. Allocates nothing: the
// detector calls it on every console line.
RecordCheck ParseHeartbeat(std::string_view line, std::string_view nonce, Heartbeat* out);
// Looks for a status record anywhere in line.
RecordCheck ParseStatus(std::string_view line, std::string_view nonce, AgentStatus* out);

}  // namespace blackout
