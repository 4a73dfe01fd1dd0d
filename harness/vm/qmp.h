// A small QMP client over a unix socket: capabilities handshake, commands with
// a deadline, asynchronous events skipped (and kept for the caller).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace blackout {

class Qmp {
 public:
  // Connects, reads the greeting and negotiates capabilities. Retries the
  // connect until timeout_s (QEMU creates the socket a moment after start).
  // Throws InfraError.
  Qmp(const std::string& socket_path, double timeout_s);
  ~Qmp();
  Qmp(const Qmp&) = delete;
  Qmp& operator=(const Qmp&) = delete;

  // Runs a command and returns its "return" value. Throws InfraError on an
  // error reply, a closed socket or the deadline.
  nlohmann::json Execute(const std::string& command, const nlohmann::json& args = nullptr,
                         double timeout_s = 10);
  // The HMP command through QMP (e.g. "info registers -a"); returns its text.
  std::string Human(const std::string& command_line, double timeout_s = 20);

  const std::vector<nlohmann::json>& events() const { return events_; }

 private:
  nlohmann::json ReadMessage(double timeout_s);
  int fd_ = -1;
  std::string buffer_;
  std::vector<nlohmann::json> events_;
};

}  // namespace blackout
