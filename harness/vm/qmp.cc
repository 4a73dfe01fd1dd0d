#include "harness/vm/qmp.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "base/error.h"

namespace blackout {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

Qmp::Qmp(const std::string& socket_path, double timeout_s) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) {
    throw InfraError("connect QMP " + socket_path + ": path too long for a unix socket");
  }
  std::strcpy(addr.sun_path, socket_path.c_str());
  double deadline = Now() + timeout_s;
  for (;;) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw InfraError(std::string("create socket: ") + std::strerror(errno));
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) break;
    int err = errno;
    close(fd_);
    fd_ = -1;
    if (Now() > deadline) {
      throw InfraError("connect QMP " + socket_path + ": " + std::strerror(err));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  nlohmann::json greeting = ReadMessage(std::max(1.0, deadline - Now()));
  if (!greeting.contains("QMP")) throw InfraError("connect QMP " + socket_path + ": no greeting");
  Execute("qmp_capabilities");
}

Qmp::~Qmp() {
  if (fd_ >= 0) close(fd_);
}

nlohmann::json Qmp::ReadMessage(double timeout_s) {
  double deadline = Now() + timeout_s;
  for (;;) {
    size_t nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      if (line.find_first_not_of(" \r") == std::string::npos) continue;
      try {
        return nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception& e) {
        throw InfraError("read QMP: malformed message: " + line.substr(0, 200));
      }
    }
    double left = deadline - Now();
    if (left <= 0) throw InfraError("read QMP: no reply within " + std::to_string(static_cast<int>(timeout_s)) + "s");
    pollfd p{fd_, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left * 1000) + 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char buf[65536];
    ssize_t n = read(fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw InfraError("read QMP: connection closed");
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

nlohmann::json Qmp::Execute(const std::string& command, const nlohmann::json& args, double timeout_s) {
  nlohmann::json msg = {{"execute", command}};
  if (!args.is_null()) msg["arguments"] = args;
  std::string text = msg.dump() + "\n";
  if (send(fd_, text.data(), text.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(text.size())) {
    throw InfraError("send QMP " + command + ": " + std::strerror(errno));
  }
  double deadline = Now() + timeout_s;
  for (;;) {
    nlohmann::json reply = ReadMessage(std::max(0.001, deadline - Now()));
    if (reply.contains("event")) {
      events_.push_back(reply);
      continue;
    }
    if (reply.contains("error")) {
      throw InfraError("QMP " + command + ": " + reply["error"].value("desc", reply.dump()));
    }
    return reply.value("return", nlohmann::json::object());
  }
}

std::string Qmp::Human(const std::string& command_line, double timeout_s) {
  nlohmann::json r = Execute("human-monitor-command", {{"command-line", command_line}}, timeout_s);
  return r.is_string() ? r.get<std::string>() : r.dump();
}

}  // namespace blackout
