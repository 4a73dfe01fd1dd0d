// Parsing and printing of the human units that configs use: durations ("60s",
// "500ms", "8h") and sizes ("512M", "2G").
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace blackout {

// The longest duration anything in blackout may last: a year. Longer is a
// typo (or an overflow), not a soak.
inline constexpr double kMaxDurationSeconds = 365.0 * 24 * 3600;

// Accepts a decimal number (digits, an optional fraction) with an optional
// unit: ms, s, m, h (a bare number is seconds). Returns nullopt for anything
// else: negative, hex, exponents, inf, or longer than kMaxDurationSeconds.
std::optional<double> ParseDuration(const std::string& text);

// Accepts a whole number with an optional binary suffix K, M, G (KiB, MiB, GiB;
// a trailing "iB" or "B" is allowed). A bare number is bytes. Anything that
// overflows 64 bits is nullopt.
std::optional<uint64_t> ParseSize(const std::string& text);

// "1.25s", "8m0s", "2h3m": short and stable, for reports.
std::string FormatSeconds(double seconds);

// The current UTC time through strftime's format, e.g. "%Y-%m-%dT%H:%M:%SZ".
std::string UtcStamp(const char* format);

}  // namespace blackout
