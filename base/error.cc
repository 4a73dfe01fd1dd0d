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

namespace {
std::atomic<const std::atomic<bool>*> g_interrupt_flag{nullptr};
}  // namespace

void SetInterruptFlag(const std::atomic<bool>* flag) { g_interrupt_flag = flag; }

bool Interrupted() {
  const std::atomic<bool>* f = g_interrupt_flag.load();
  return f && f->load();
}

void CheckInterrupted(const std::string& what) {
  if (Interrupted()) throw InterruptedError("interrupted: " + what);
}

}  // namespace blackout
