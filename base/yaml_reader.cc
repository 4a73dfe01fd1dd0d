#include "base/yaml_reader.h"

#include <cstdlib>

#include "base/error.h"
#include "base/units.h"

namespace blackout {

std::optional<YAML::Node> YamlReader::Parse(const std::string& text) {
  try {
    YAML::Node root = YAML::Load(text);
    if (!root.IsDefined() || root.IsNull()) return YAML::Node(YAML::NodeType::Map);
    return root;
  } catch (const YAML::Exception& e) {
    errors_.push_back(source_ + ":" + std::to_string(e.mark.line + 1) + ":" +
                      std::to_string(e.mark.column + 1) + ": " + e.msg);
    return std::nullopt;
  }
}

std::string YamlReader::Where(const YAML::Node& node) const {
  YAML::Mark m = node.Mark();
  if (m.line < 0) return source_;
  return source_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

std::string Excerpt(const std::string& text, size_t max) {
  std::string out;
  for (unsigned char c : text.substr(0, max)) out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  if (text.size() > max) out += "...";
  return out;
}

void YamlReader::Error(const YAML::Node& at, const std::string& message) {
  errors_.push_back(Where(at) + ": " + message);
}

void YamlReader::Error(const std::string& message) { errors_.push_back(source_ + ": " + message); }

bool YamlReader::CheckMap(const YAML::Node& node, const std::string& what,
                          const std::vector<std::string>& allowed) {
  if (!node.IsMap()) {
    Error(node, what + " must be a mapping");
    return false;
  }
  std::string list;
  for (const std::string& a : allowed) list += (list.empty() ? "" : ", ") + a;
  std::vector<YAML::Node> unknown;
  size_t keys = 0;
  for (const auto& kv : node) {
    ++keys;
    std::string key = kv.first.Scalar();
    bool known = false;
    for (const std::string& a : allowed) known = known || a == key;
    if (!known) unknown.push_back(kv.first);
  }
  if (keys > 1 && unknown.size() == keys) {
    // Not one key is ours: the file is something else (a typo'd path, say
    // /etc/shadow). Say so once and quote none of it.
    Error(node, what + " has none of the keys it takes (" + list + "): is this the right file?");
    return false;
  }
  for (const YAML::Node& key : unknown) {
    Error(key, "unknown key '" + Excerpt(key.Scalar()) + "' in " + what + " (known: " + list + ")");
  }
  return true;
}

std::optional<std::string> YamlReader::Scalar(const YAML::Node& map, const std::string& key) {
  YAML::Node v = map[key];
  if (!v.IsDefined()) return std::nullopt;
  if (!v.IsScalar()) {
    Error(v, "'" + key + "' must be a single value");
    return std::nullopt;
  }
  return v.Scalar();
}

std::optional<std::string> YamlReader::String(const YAML::Node& map, const std::string& key) {
  return Scalar(map, key);
}

std::optional<int64_t> YamlReader::Int(const YAML::Node& map, const std::string& key,
                                       int64_t min, int64_t max) {
  auto s = Scalar(map, key);
  if (!s) return std::nullopt;
  char* end = nullptr;
  long long v = std::strtoll(s->c_str(), &end, 10);
  if (s->empty() || *end != '\0' || v < min || v > max) {
    Error(map[key], "'" + key + "' must be a whole number from " + std::to_string(min) + " to " +
                        std::to_string(max) + ", not '" + Excerpt(*s) + "'");
    return std::nullopt;
  }
  return v;
}

std::optional<double> YamlReader::Seconds(const YAML::Node& map, const std::string& key) {
  auto s = Scalar(map, key);
  if (!s) return std::nullopt;
  auto v = ParseDuration(*s);
  if (!v) Error(map[key], "'" + key + "' must be a duration like 60s, 500ms, 2m or 8h, not '" + Excerpt(*s) + "'");
  return v;
}

std::optional<uint64_t> YamlReader::Bytes(const YAML::Node& map, const std::string& key) {
  auto s = Scalar(map, key);
  if (!s) return std::nullopt;
  auto v = ParseSize(*s);
  if (!v) Error(map[key], "'" + key + "' must be a size like 512M or 2G, not '" + Excerpt(*s) + "'");
  return v;
}

std::optional<bool> YamlReader::Bool(const YAML::Node& map, const std::string& key) {
  auto s = Scalar(map, key);
  if (!s) return std::nullopt;
  if (*s == "true" || *s == "yes" || *s == "on") return true;
  if (*s == "false" || *s == "no" || *s == "off") return false;
  Error(map[key], "'" + key + "' must be true or false, not '" + Excerpt(*s) + "'");
  return std::nullopt;
}

void YamlReader::Checkpoint() const {
  if (!errors_.empty()) throw ConfigError(errors_);
}

}  // namespace blackout
