#include "kernels/kconfig.h"

#include <sstream>

namespace blackout {
namespace {

// The symbol a line sets (without CONFIG_) and its value, or false.
bool ParseLine(const std::string& line, std::string* symbol, std::string* value) {
  static const std::string kUnset = "# CONFIG_";
  if (line.rfind(kUnset, 0) == 0) {
    size_t end = line.find(" is not set");
    if (end == std::string::npos) return false;
    *symbol = line.substr(kUnset.size(), end - kUnset.size());
    *value = "n";
    return true;
  }
  if (line.rfind("CONFIG_", 0) != 0) return false;
  size_t eq = line.find('=');
  if (eq == std::string::npos) return false;
  *symbol = line.substr(7, eq - 7);
  *value = line.substr(eq + 1);
  return true;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string Render(const std::string& symbol, const std::string& value) {
  return value == "n" ? "# CONFIG_" + symbol + " is not set" : "CONFIG_" + symbol + "=" + value;
}

}  // namespace

std::map<std::string, std::string> ConfigSettings(const std::string& text) {
  std::map<std::string, std::string> out;
  std::string symbol, value;
  for (const std::string& line : Lines(text)) {
    if (ParseLine(line, &symbol, &value)) out[symbol] = value;
  }
  return out;
}

std::string MergeConfig(const std::string& base, const std::vector<std::string>& fragments) {
  std::vector<std::string> lines = Lines(base);
  std::map<std::string, size_t> where;  // symbol -> its line
  std::string symbol, value;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (ParseLine(lines[i], &symbol, &value)) where[symbol] = i;
  }
  for (const std::string& fragment : fragments) {
    for (const std::string& line : Lines(fragment)) {
      if (!ParseLine(line, &symbol, &value)) continue;
      auto it = where.find(symbol);
      if (it != where.end()) {
        lines[it->second] = Render(symbol, value);
      } else {
        where[symbol] = lines.size();
        lines.push_back(Render(symbol, value));
      }
    }
  }
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

std::vector<std::string> MissingOptions(const std::string& config, const std::vector<std::string>& fragments) {
  std::map<std::string, std::string> have = ConfigSettings(config);
  std::vector<std::string> missing;
  for (const std::string& fragment : fragments) {
    for (const auto& [symbol, want] : ConfigSettings(fragment)) {
      auto it = have.find(symbol);
      std::string got = it == have.end() ? "n" : it->second;
      if (got != want) missing.push_back(Render(symbol, want) + " (resolved: " + got + ")");
    }
  }
  return missing;
}

}  // namespace blackout
