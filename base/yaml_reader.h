// Typed, validating access to a YAML document that collects every problem with
// its file:line:column instead of stopping at the first, so a user fixes a
// config in one pass (mold's Error(ctx) + checkpoint()).
//
// yaml-cpp exceptions are caught here and never leave this wrapper.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace blackout {

// A value quoted in a message: at most max characters of it, control
// characters shown as '?': a file that was not what it should be (a secret,
// a binary) is never printed whole.
std::string Excerpt(const std::string& text, size_t max = 40);

class YamlReader {
 public:
  // source names the document in messages: a path, or "<builtin smoke.yaml>".
  explicit YamlReader(std::string source) : source_(std::move(source)) {}

  // Parses text; on a syntax error records it and returns nullopt.
  std::optional<YAML::Node> Parse(const std::string& text);

  // Records "source:line:col: message" at node (or without a position).
  void Error(const YAML::Node& at, const std::string& message);
  void Error(const std::string& message);

  // True if node is a map; records an error for any key not in `allowed`
  // and for a node that is not a map. A map none of whose keys is allowed is
  // one error that quotes nothing (a wrong file, not a typo) and false.
  bool CheckMap(const YAML::Node& node, const std::string& what,
                const std::vector<std::string>& allowed);

  // Scalar accessors: nullopt when the key is absent (no error) or its value is
  // bad (error recorded).
  std::optional<std::string> String(const YAML::Node& map, const std::string& key);
  std::optional<int64_t> Int(const YAML::Node& map, const std::string& key, int64_t min,
                             int64_t max);
  std::optional<double> Seconds(const YAML::Node& map, const std::string& key);
  std::optional<uint64_t> Bytes(const YAML::Node& map, const std::string& key);
  std::optional<bool> Bool(const YAML::Node& map, const std::string& key);

  const std::vector<std::string>& errors() const { return errors_; }
  // Takes over another document's problems as they are (each names its own
  // file and position): a document that refers to another one.
  void Adopt(const YamlReader& other) { errors_.insert(errors_.end(), other.errors_.begin(), other.errors_.end()); }
  // Throws ConfigError with every problem recorded so far, if any.
  void Checkpoint() const;

 private:
  std::string Where(const YAML::Node& node) const;
  std::optional<std::string> Scalar(const YAML::Node& map, const std::string& key);

  std::string source_;
  std::vector<std::string> errors_;
};

}  // namespace blackout
