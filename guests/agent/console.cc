// The console both ways: host commands to the agent, and dom0's relay of a domU's console.
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <sstream>
#include <string>

#include "base/protocol.h"
#include "guests/agent/agent.h"

namespace blackout::agent {

// Commands from the host over the console (see the header comment).
namespace {

void ReadCommands() {
  // No echo: an echoed command would land in the middle of our own records.
  termios tio;
  if (tcgetattr(0, &tio) == 0) {
    tio.c_lflag &= ~static_cast<tcflag_t>(ECHO | ECHONL);
    tcsetattr(0, TCSANOW, &tio);
  }
  std::string line;
  char c;
  while (read(0, &c, 1) == 1) {
    if (c != '\n' && c != '\r') {
      if (line.size() < 256) line += c;
      continue;
    }
    std::istringstream words(line);
    line.clear();
    std::string marker, nonce, command, keys;
    words >> marker >> nonce >> command >> keys;
    if (marker + " " != protocol::kCommandMarker || nonce != g_nonce) continue;
    if (command == protocol::kCommandSysrq) {
      WriteProc("/proc/sys/kernel/sysrq", "1");
      Status("sysrq", "keys=" + keys);
      for (char k : keys) {
        char key[2] = {k, 0};
        WriteProc("/proc/sysrq-trigger", key);
      }
    }
  }
}

}  // namespace

void ConsoleCommands() {
  // A console hung up under us (service mode: the image's getty started) is
  // opened again; elsewhere the end of input ends the commands.
  do {
    ReadCommands();
  } while (!g_stop && ReopenConsole() && usleep(200000) == 0);
}

// `blackout-agent relay PREFIX`, in a xen-pv-domu dom0: copies the domU's
// console (xl create -c on stdin) to dom0's console with PREFIX on every line,
// each line in one write so dom0's own messages never split one.
int Relay(const std::string& prefix) {
  std::string pending;
  char buf[4096];
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string line = pending.substr(start, nl - start);
      while (!line.empty() && line.back() == '\r') line.pop_back();
      WriteLine(prefix + line + "\n");
    }
    pending.erase(0, start);
    // A line that never ends (a prompt) still goes out, once it is long.
    if (pending.size() > 1024) {
      WriteLine(prefix + pending + "\n");
      pending.clear();
    }
  }
  if (!pending.empty()) WriteLine(prefix + pending + "\n");
  return 0;
}

}  // namespace blackout::agent
