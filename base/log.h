// Progress lines for people: whole lines on stderr, never torn between
// threads, silenced by --quiet. Guest console text goes through StripEscapes
// before it is shown.
#pragma once

#include <string>

namespace blackout {

void SetLogQuiet(bool quiet);
// "blackout: <message>" on stderr.
void Log(const std::string& message);
// Drops ANSI escape sequences and other control characters except tab.
std::string StripEscapes(const std::string& text);

}  // namespace blackout
