#include "harness/notify.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <mutex>
#include <regex>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/subprocess.h"

namespace blackout {

NotifySpec ParseNotify(const YAML::Node& n, YamlReader& r) {
  NotifySpec s;
  if (!r.CheckMap(n, "notify", {"smtp", "from", "to", "webhook", "on"})) return s;
  static const std::regex kHostPort(R"(^[A-Za-z0-9.-]{1,253}:[0-9]{1,5}$)");
  static const std::regex kAddress(R"(^[^\s<>@,;"]{1,64}@[A-Za-z0-9.-]{1,253}$)");
  if (auto smtp = r.String(n, "smtp")) {
    if (!std::regex_match(*smtp, kHostPort)) {
      r.Error(n["smtp"], "'smtp' must be HOST:PORT, not '" + Excerpt(*smtp) + "'");
    } else {
      s.smtp = *smtp;
    }
  }
  if (auto from = r.String(n, "from")) {
    if (!std::regex_match(*from, kAddress)) r.Error(n["from"], "'from' is not an address: '" + Excerpt(*from) + "'");
    s.from = *from;
  }
  if (YAML::Node to = n["to"]; to.IsDefined()) {
    if (!to.IsSequence() || to.size() == 0) {
      r.Error(to, "'to' must be a non-empty list of addresses");
    } else {
      for (const YAML::Node& a : to) {
        std::string addr = a.IsScalar() ? a.Scalar() : "";
        if (!std::regex_match(addr, kAddress)) {
          r.Error(a, "'to' entry is not an address: '" + Excerpt(addr) + "'");
        } else {
          s.to.push_back(addr);
        }
      }
    }
  }
  if (!s.smtp.empty() && s.to.empty() && !n["to"].IsDefined()) r.Error(n, "'smtp' needs 'to': who gets the mail");
  if (auto hook = r.String(n, "webhook")) {
    if ((hook->rfind("http://", 0) != 0 && hook->rfind("https://", 0) != 0) || hook->size() > 2000 ||
        hook->find_first_of(" \t\r\n") != std::string::npos) {
      r.Error(n["webhook"], "'webhook' must be an http:// or https:// URL");
    } else {
      s.webhook = *hook;
    }
  }
  if (auto on = r.String(n, "on")) {
    if (*on != "regression" && *on != "always") {
      r.Error(n["on"], "'on' must be regression or always, not '" + Excerpt(*on) + "'");
    }
    s.always = *on == "always";
  }
  return s;
}

namespace {

void CurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Upload {
  std::string data;
  size_t at = 0;
};

size_t ReadUpload(char* buf, size_t size, size_t n, void* p) {
  Upload* u = static_cast<Upload*>(p);
  size_t k = std::min(size * n, u->data.size() - u->at);
  std::memcpy(buf, u->data.data() + u->at, k);
  u->at += k;
  return k;
}

size_t KeepReply(char* buf, size_t size, size_t n, void* p) {
  std::string* s = static_cast<std::string*>(p);
  if (s->size() < 4096) s->append(buf, std::min(size * n, 4096 - s->size()));
  return size * n;
}

// A header value on one line: no CR or LF can start another header.
std::string OneLine(const std::string& s) {
  std::string out;
  for (char c : s) out += (c == '\r' || c == '\n') ? ' ' : c;
  return out;
}

std::string SendMail(const NotifySpec& spec, const NotifyMessage& m) {
  CurlOnce();
  std::string from = spec.from.empty() ? "blackout@" + Hostname() : spec.from;
  char date[64];
  std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", std::gmtime(&now));
  Upload u;
  u.data = "Date: " + std::string(date) + "\r\nFrom: " + from + "\r\nTo: ";
  for (size_t i = 0; i < spec.to.size(); ++i) u.data += (i ? ", " : "") + spec.to[i];
  u.data += "\r\nSubject: " + OneLine(m.subject) +
            "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n";
  // SMTP's dot-stuffing and line endings are curl's; lines end in CRLF here.
  for (char c : m.body) {
    if (c == '\n') u.data += "\r\n";
    else u.data += c;
  }
  CURL* c = curl_easy_init();
  if (!c) return "smtp: curl_easy_init failed";
  std::string url = "smtp://" + spec.smtp;
  curl_slist* rcpt = nullptr;
  for (const std::string& t : spec.to) rcpt = curl_slist_append(rcpt, ("<" + t + ">").c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, ("<" + from + ">").c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, ReadUpload);
  curl_easy_setopt(c, CURLOPT_READDATA, &u);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(rcpt);
  curl_easy_cleanup(c);
  if (rc != CURLE_OK) return "email to " + url + ": " + curl_easy_strerror(rc);
  return "";
}

std::string PostWebhook(const std::string& url, const nlohmann::json& json) {
  CurlOnce();
  CURL* c = curl_easy_init();
  if (!c) return "webhook: curl_easy_init failed";
  std::string body = json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string reply;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, KeepReply);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  if (rc != CURLE_OK) return "webhook " + url + ": " + curl_easy_strerror(rc);
  if (status < 200 || status >= 300) {
    return "webhook " + url + ": HTTP " + std::to_string(status) + ": " + TerminalSafe(OutputTail(reply, 5));
  }
  return "";
}

}  // namespace

std::vector<std::string> SendNotifications(const NotifySpec& spec, const NotifyMessage& message) {
  std::vector<std::string> problems;
  if (!spec.smtp.empty()) {
    std::string p = SendMail(spec, message);
    if (!p.empty()) problems.push_back(p);
  }
  if (!spec.webhook.empty()) {
    std::string p = PostWebhook(spec.webhook, message.json);
    if (!p.empty()) problems.push_back(p);
  }
  return problems;
}

}  // namespace blackout
