// Parsing and printing of the human units that configs use: durations ("60s",
// "500ms", "8h") and sizes ("512M", "2G").
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace blackout {

// Accepts a number with an optional unit: ms, s, m, h (a bare number is
// seconds). Returns nullopt for anything else, including negative values.
std::optional<double> ParseDuration(const std::string& text);

// Accepts a whole number with an optional binary suffix K, M, G (KiB, MiB, GiB;
// a trailing "iB" or "B" is allowed). A bare number is bytes.
std::optional<uint64_t> ParseSize(const std::string& text);

// "1.25s", "8m0s", "2h3m": short and stable, for reports.
std::string FormatSeconds(double seconds);

// The current UTC time through strftime's format, e.g. "%Y-%m-%dT%H:%M:%SZ".
std::string UtcStamp(const char* format);

}  // namespace blackout
