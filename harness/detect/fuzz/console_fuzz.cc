// libFuzzer target for the console parser: arbitrary bytes, cut into chunks of
// arbitrary sizes at arbitrary times, through the detector (heartbeat records,
// kernel report patterns, line splitting) and through `analyze`. It must never
// crash, hang or trip a sanitizer.
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/protocol.h"
#include "harness/detect/analyze.h"
#include "harness/detect/detector.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  blackout::DetectorConfig c;
  c.nonce = "n";
  c.vcpus = 2;
  c.boot_s = 5;
  blackout::Detector d(c, 0);
  double t = 0;
  // Valid records keep the detector past its boot phase now and then.
  d.Bytes(t, blackout::protocol::FormatHeartbeat("n", 0, 0, 1000));
  size_t pos = 0;
  while (pos < input.size()) {
    size_t chunk = 1 + static_cast<unsigned char>(input[pos]) % 97;
    d.Bytes(t, input.substr(pos, chunk));
    t += static_cast<double>(static_cast<unsigned char>(input[pos]) % 7) * 0.15;
    d.Tick(t);
    if (input[pos] == 'H') d.Bytes(t, blackout::protocol::FormatHeartbeat("n", 1, pos, pos * 1000000));
    pos += chunk;
  }
  d.HostStats({t, {1.0, 2.0}, 1.0});
  d.Finish(t);
  (void)d.Freezes();
  (void)d.TakeEvents();
  (void)blackout::AnalyzeConsole(input, {});
  return 0;
}
