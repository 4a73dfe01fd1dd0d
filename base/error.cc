#include "base/error.h"

namespace blackout {
namespace {

std::string Join(const std::vector<std::string>& problems) {
  std::string out;
  for (const std::string& p : problems) {
    if (!out.empty()) out += '\n';
    out += p;
  }
  return out;
}

}  // namespace

ConfigError::ConfigError(std::vector<std::string> problems)
    : Error(Join(problems)), problems_(std::move(problems)) {}

}  // namespace blackout
