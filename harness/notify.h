// Telling people: an email through an SMTP server and a JSON POST to a
// webhook, both through libcurl (a matrix's regression: MatrixMessage in
// harness/matrix.h).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/yaml_reader.h"

namespace blackout {

struct NotifySpec {
  std::string smtp;  // host:port ("" no email)
  std::string from;  // "" blackout@<this host>
  std::vector<std::string> to;
  std::string webhook;  // http:// or https:// URL ("" none)
  bool always = false;  // tell on every matrix, not only on a regression
  bool empty() const { return smtp.empty() && webhook.empty(); }
};

// `notify: {smtp: HOST:PORT, from: ADDR, to: [ADDR...], webhook: URL, on:
// regression|always}`; problems go to the reader, placed.
NotifySpec ParseNotify(const YAML::Node& node, YamlReader& reader);

// The message: a subject line and a plain-text body; the webhook's JSON.
struct NotifyMessage {
  std::string subject, body;
  nlohmann::json json;
};

// Sends what the spec asks for; returns the problems ("" each sent), never throws.
std::vector<std::string> SendNotifications(const NotifySpec& spec, const NotifyMessage& message);

}  // namespace blackout
