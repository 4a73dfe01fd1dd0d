// Progress for people on stderr: whole log lines, never torn between threads,
// and one status line for long steps (a kernel build, a fetch, a boot, the
// workload's phases, a bisection) that a smart terminal rewrites in place the
// way ninja shows a build, and that plain output (CI logs, pipes, TERM=dumb)
// prints as ordinary lines, at most one per interval. --quiet silences both.
// Guest console text goes through StripEscapes before it is shown.
#pragma once

#include <string>

namespace blackout {

void SetLogQuiet(bool quiet);
// "blackout: <message>" on stderr (above the status line, which is redrawn).
void Log(const std::string& message);

// How the status line is shown: decided once from stderr (a terminal, TERM
// not "dumb") and NO_COLOR (set: no bold), or forced by tests.
struct StatusMode {
  bool smart = false;      // rewrite one line in place
  bool color = false;      // bold prefix on a smart terminal
  int width = 80;          // columns the line may use
  double plain_every_s = 10;  // plain mode: at most one status line this often
};
StatusMode DetectStatusMode();
void SetStatusMode(const StatusMode& mode);

// Sets the status line. Plain mode prints it as "blackout: [status] TEXT"
// when it is the first, `force`d, or the interval has passed since the last
// one printed. Thread-safe.
void Status(const std::string& text, bool force = false);
// Removes the status line (the step is over).
void ClearStatus();

// The text a status line shows in width columns: escapes dropped, cut with
// "..." in the middle when too long (the start names the step, the end its
// progress).
std::string ElideMiddle(const std::string& text, size_t width);

// Drops ANSI escape sequences and other control characters except tab and newline.
std::string StripEscapes(const std::string& text);
// For one line shown on a terminal: control characters (newlines included)
// and escape sequences become visible as '?', so a title can neither move the
// cursor nor look like two lines.
std::string TerminalSafe(const std::string& text);

// Broken UTF-8 replaced by U+FFFD (JSON and XML both want valid text).
std::string ValidUtf8(const std::string& s);
// Text made safe for XML and HTML: & < > " ' escaped, and characters XML 1.0
// cannot carry (control characters, broken UTF-8) replaced by U+FFFD.
std::string XmlEscape(const std::string& text);

}  // namespace blackout
