// Typed reads from result.json that never throw: a field that is missing or
// of the wrong type reads as the default (stored results may come from older
// or foreign blackouts).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace blackout {

// A string at a JSON pointer ("/kernel/release"), else "".
inline std::string StrAt(const nlohmann::json& j, const char* pointer) {
  nlohmann::json::json_pointer p(pointer);
  if (!j.contains(p) || !j.at(p).is_string()) return "";
  return j.at(p).get<std::string>();
}

// A number at a JSON pointer, else def.
inline double NumAt(const nlohmann::json& j, const char* pointer, double def) {
  nlohmann::json::json_pointer p(pointer);
  if (!j.contains(p) || !j.at(p).is_number()) return def;
  return j.at(p).get<double>();
}

}  // namespace blackout
