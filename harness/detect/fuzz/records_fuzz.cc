// libFuzzer target for the agent's records as a hostile guest could send
// them: every input is sealed with a valid CRC and the run's nonce, so it
// reaches the status and heartbeat parsers (and the counters behind them)
// instead of being dropped at the seal. The input is an event word, a space,
// then the fields; a second record carries the input as a heartbeat body.
// Nothing may crash, hang or throw; Stats() must serialize.
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/protocol.h"
#include "harness/detect/detector.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  blackout::DetectorConfig c;
  c.nonce = "n";
  c.vcpus = 2;
  c.boot_s = 5;
  blackout::Detector d(c, 0);
  d.Bytes(0, blackout::protocol::FormatHeartbeat("n", 0, 0, 1000));
  // Records are single lines: the guest's newline ends one.
  size_t start = 0;
  double t = 0.1;
  while (start <= input.size()) {
    size_t nl = input.find('\n', start);
    std::string line = input.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    size_t space = line.find(' ');
    std::string event = line.substr(0, space);
    std::string fields = space == std::string::npos ? "" : line.substr(space + 1);
    d.Bytes(t, blackout::protocol::FormatStatus("n", event, fields));
    d.Bytes(t, blackout::protocol::Seal(blackout::protocol::kHeartbeatMarker, "n " + line));
    d.Tick(t);
    t += 0.1;
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  d.VmExited(t, true, "exit 0");
  d.Finish(t);
  (void)d.Stats().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  (void)d.Freezes();
  (void)d.TakeEvents();
  return 0;
}
