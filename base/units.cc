#include "base/units.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace blackout {

std::optional<double> ParseDuration(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || !std::isfinite(value) || value < 0) return std::nullopt;
  std::string unit(end);
  if (unit.empty() || unit == "s") return value;
  if (unit == "ms") return value / 1000.0;
  if (unit == "m" || unit == "min") return value * 60.0;
  if (unit == "h") return value * 3600.0;
  return std::nullopt;
}

std::optional<uint64_t> ParseSize(const std::string& text) {
  if (text.empty() || text[0] < '0' || text[0] > '9') return std::nullopt;
  char* end = nullptr;
  unsigned long long value = std::strtoull(text.c_str(), &end, 10);
  std::string unit(end);
  uint64_t scale = 1;
  if (!unit.empty()) {
    char c = unit[0];
    std::string rest = unit.substr(1);
    if (rest != "" && rest != "B" && rest != "iB") return std::nullopt;
    if (c == 'K' || c == 'k') {
      scale = 1ull << 10;
    } else if (c == 'M') {
      scale = 1ull << 20;
    } else if (c == 'G') {
      scale = 1ull << 30;
    } else if (c == 'B' && rest.empty()) {
      scale = 1;
    } else {
      return std::nullopt;
    }
  }
  if (value > UINT64_MAX / scale) return std::nullopt;
  return value * scale;
}

std::string FormatSeconds(double seconds) {
  char buf[64];
  if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%.2fs", seconds);
  } else if (seconds < 3600) {
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(seconds) / 60,
                  static_cast<int>(seconds) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(seconds) / 3600,
                  (static_cast<int>(seconds) % 3600) / 60);
  }
  return buf;
}

std::string UtcStamp(const char* format) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

}  // namespace blackout
