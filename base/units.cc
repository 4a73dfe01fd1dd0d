#include "base/units.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace blackout {

std::optional<double> ParseDuration(const std::string& text) {
  // Plain decimal digits with an optional fraction, then a unit: strtod alone
  // would take "0x10", "1e400", "inf" and " 5".
  size_t digits = text.find_first_not_of("0123456789.");
  std::string number = text.substr(0, digits);
  if (number.empty() || number.find_first_of("0123456789") == std::string::npos ||
      number.find('.') != number.rfind('.') || number.size() > 15) {
    return std::nullopt;
  }
  double value = std::strtod(number.c_str(), nullptr);
  std::string unit = digits == std::string::npos ? "" : text.substr(digits);
  double seconds;
  if (unit.empty() || unit == "s") {
    seconds = value;
  } else if (unit == "ms") {
    seconds = value / 1000.0;
  } else if (unit == "m" || unit == "min") {
    seconds = value * 60.0;
  } else if (unit == "h") {
    seconds = value * 3600.0;
  } else {
    return std::nullopt;
  }
  if (!std::isfinite(seconds) || seconds > kMaxDurationSeconds) return std::nullopt;
  return seconds;
}

std::optional<uint64_t> ParseSize(const std::string& text) {
  if (text.empty() || text[0] < '0' || text[0] > '9') return std::nullopt;
  char* end = nullptr;
  errno = 0;
  unsigned long long value = std::strtoull(text.c_str(), &end, 10);
  if (errno == ERANGE) return std::nullopt;
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
