#include "base/log.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace blackout {
namespace {

std::atomic<bool> g_quiet{false};
std::mutex g_mu;  // guards everything below and every write to stderr
StatusMode g_mode = DetectStatusMode();
std::string g_status;  // the status line a smart terminal shows now ("" none)
std::chrono::steady_clock::time_point g_last_plain{};
bool g_plain_printed = false;

void Write(const std::string& s) { (void)!write(2, s.data(), s.size()); }

// The status line as a smart terminal draws it: back to column 0, the text,
// clear to the end of the line.
std::string Drawn(const std::string& text) {
  std::string shown = ElideMiddle(text, static_cast<size_t>(g_mode.width > 12 ? g_mode.width - 1 : 11));
  if (g_mode.color) return "\r\x1b[1m" + shown.substr(0, shown.find(' ')) + "\x1b[0m" +
                           (shown.find(' ') == std::string::npos ? "" : shown.substr(shown.find(' '))) + "\x1b[K";
  return "\r" + shown + "\x1b[K";
}

}  // namespace

StatusMode DetectStatusMode() {
  StatusMode m;
  const char* term = std::getenv("TERM");
  m.smart = isatty(2) && term && *term && std::strcmp(term, "dumb") != 0;
  const char* no_color = std::getenv("NO_COLOR");
  m.color = m.smart && !(no_color && *no_color);
  winsize ws{};
  if (m.smart && ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) m.width = ws.ws_col;
  return m;
}

void SetStatusMode(const StatusMode& mode) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_mode = mode;
  g_status.clear();
  g_plain_printed = false;
}

void SetLogQuiet(bool quiet) { g_quiet = quiet; }

void Log(const std::string& message) {
  if (g_quiet) return;
  std::string line = "blackout: " + message + "\n";
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_mode.smart && !g_status.empty()) {
    Write("\r\x1b[K" + line + Drawn(g_status));
  } else {
    Write(line);
  }
}

void Status(const std::string& text, bool force) {
  if (g_quiet) return;
  std::string clean = StripEscapes(text);
  for (char& c : clean) {
    if (c == '\n') c = ' ';
  }
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_mode.smart) {
    if (clean == g_status) return;
    g_status = clean;
    Write(Drawn(clean));
    return;
  }
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - g_last_plain).count();
  if (!force && g_plain_printed && since < g_mode.plain_every_s) return;
  g_last_plain = now;
  g_plain_printed = true;
  Write("blackout: [status] " + clean + "\n");
}

void ClearStatus() {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_mode.smart && !g_status.empty()) Write("\r\x1b[K");
  g_status.clear();
  g_plain_printed = false;
}

std::string ElideMiddle(const std::string& text, size_t width) {
  if (text.size() <= width) return text;
  if (width < 5) return text.substr(0, width);
  size_t keep = width - 3;
  size_t head = keep / 2;
  return text.substr(0, head) + "..." + text.substr(text.size() - (keep - head));
}

std::string StripEscapes(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == 0x1b) {
      // CSI: ESC [ params final-byte; other escapes: ESC + one char.
      if (i + 1 < text.size() && text[i + 1] == '[') {
        i += 2;
        while (i < text.size() && !(text[i] >= 0x40 && text[i] <= 0x7e)) ++i;
      } else {
        ++i;
      }
      continue;
    }
    if (c < 0x20 && c != '\t' && c != '\n') continue;
    if (c == 0x7f) continue;
    out += static_cast<char>(c);
  }
  return out;
}

std::string TerminalSafe(const std::string& text) {
  std::string out = text;
  for (char& ch : out) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) ch = '?';
  }
  return out;
}

std::string ValidUtf8(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    if (ok) {
      out.append(s, i, len);
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}


std::string XmlEscape(const std::string& text) {
  std::string s = ValidUtf8(text);
  std::string out;
  out.reserve(s.size() + 16);
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        if (c < 0x20 && ch != '\n' && ch != '\t' && ch != '\r') {
          out += "\xEF\xBF\xBD";
        } else if (c == 0x7F) {
          out += "\xEF\xBF\xBD";
        } else {
          out += ch;
        }
    }
  }
  return out;
}

}  // namespace blackout
