#include "base/log.h"

#include <unistd.h>

#include <atomic>
#include <mutex>

namespace blackout {
namespace {
std::atomic<bool> g_quiet{false};
std::mutex g_mu;
}  // namespace

void SetLogQuiet(bool quiet) { g_quiet = quiet; }

void Log(const std::string& message) {
  if (g_quiet) return;
  std::string line = "blackout: " + message + "\n";
  std::lock_guard<std::mutex> lock(g_mu);
  (void)!write(2, line.data(), line.size());
}

std::string StripEscapes(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == 0x1b) {
      // CSI: ESC [ params final-byte; other escapes: ESC + one char.
      if (i + 1 < text.size() && text[i + 1] == '[') {
        i += 2;
        while (i < text.size() && !(text[i] >= 0x40 && text[i] <= 0x7e)) ++i;
      } else {
        ++i;
      }
      continue;
    }
    if (c < 0x20 && c != '\t' && c != '\n') continue;
    if (c == 0x7f) continue;
    out += static_cast<char>(c);
  }
  return out;
}

}  // namespace blackout
