// A text file compiled into the blackout binary (built-in workloads, guest
// profiles, catalogue entries), so `blackout run` needs no source tree.
#pragma once

namespace blackout {

struct BuiltinFile {
  const char* name;
  const char* text;
};

}  // namespace blackout
