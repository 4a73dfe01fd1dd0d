#include "workloads/workload.h"

#include "base/protocol.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <sstream>

#include "base/error.h"
#include "workloads/builtin_workloads.h"

namespace blackout {
namespace {

// Each stressor kind and the knobs it takes (besides threads), with the range
// of each knob. Kept in step with the agent's table (guests/agent/stressors.cc);
// guests/agent/workload_conf_test.cc reads back what AgentConf writes.
struct Knob {
  const char* name;
  int64_t min, max;
};
const std::map<std::string, std::vector<Knob>>& StressorKinds() {
  static const std::map<std::string, std::vector<Knob>> kinds = {
      {"pingpong", {}},
      {"migrate", {}},
      {"forkexit", {{"burst", 1, 1000}}},
      {"yield", {}},
      {"spinsleep", {{"spin_ms", 0, 10000}, {"sleep_ms", 0, 10000}}},
      {"futex", {}},
      {"io", {{"block_size", 512, 1 << 20}, {"sync_every", 0, 1 << 20}, {"file_kb", 4, 1 << 22}, {"disk", 0, 7}}},
  };
  return kinds;
}

// A word the agent reads from workload.conf: printable, no spaces. Anything
// else could end a field or a line early and add a directive of its own.
bool AgentWord(const std::string& v) {
  if (v.empty()) return false;
  for (unsigned char c : v) {
    if (c <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

const char kKnownKinds[] = "pingpong, migrate, forkexit, yield, spinsleep, futex, io, stress-ng, fio";

// A number in [lo, hi] given as a YAML scalar; nullopt (error recorded) if bad.
std::optional<double> Number(const YAML::Node& node, const std::string& key, double lo, double hi,
                             YamlReader& r) {
  auto text = r.String(node, key);
  if (!text) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(text->c_str(), &end);
  if (text->empty() || *end != '\0' || !(v >= lo && v <= hi)) {
    char range[64];
    std::snprintf(range, sizeof range, "%g to %g", lo, hi);
    r.Error(node[key], "'" + key + "' must be a number from " + range + ", not '" + Excerpt(*text) + "'");
    return std::nullopt;
  }
  return v;
}

// cpus: a list of vCPU numbers ([0, 1]) or a range string ("0-3,6").
std::optional<std::string> ParseCpus(const YAML::Node& node, YamlReader& r) {
  YAML::Node cpus = node["cpus"];
  if (!cpus.IsDefined()) return std::nullopt;
  std::vector<int64_t> list;
  auto bad = [&](const std::string& what) {
    r.Error(cpus, "'cpus' must be a list of vCPU numbers or a range like 0-3,6 (" + what + ")");
  };
  auto add = [&](const std::string& item) {
    size_t dash = item.find('-');
    char* end = nullptr;
    long lo = std::strtol(item.c_str(), &end, 10);
    long hi = lo;
    if (dash != std::string::npos && end == item.c_str() + dash) hi = std::strtol(item.c_str() + dash + 1, &end, 10);
    if (item.empty() || *end != '\0' || lo < 0 || hi < lo || hi > 4095) return bad("'" + item + "'"), false;
    for (long c = lo; c <= hi; ++c) list.push_back(c);
    return true;
  };
  if (cpus.IsSequence()) {
    for (const YAML::Node& c : cpus) {
      if (!c.IsScalar() || !add(c.Scalar())) return std::nullopt;
    }
  } else if (cpus.IsScalar()) {
    std::string text = cpus.Scalar();
    for (size_t start = 0; start <= text.size();) {
      size_t comma = text.find(',', start);
      if (comma == std::string::npos) comma = text.size();
      if (!add(text.substr(start, comma - start))) return std::nullopt;
      start = comma + 1;
    }
  } else {
    bad("not a list");
    return std::nullopt;
  }
  if (list.empty()) {
    bad("empty");
    return std::nullopt;
  }
  std::string out;
  for (int64_t c : list) out += (out.empty() ? "" : ",") + std::to_string(c);
  return out;
}

// A tool stressor: stress-ng or fio with its own arguments (and fio's job text).
void ParseTool(const YAML::Node& node, YamlReader& r, StressorSpec* s) {
  std::vector<std::string> allowed = {"kind", "args", "cpus"};
  if (s->kind == "fio") allowed.push_back("job");
  r.CheckMap(node, "stressor " + s->kind, allowed);
  if (auto args = r.String(node, "args")) {
    bool controls = std::any_of(args->begin(), args->end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
    if (args->find_first_of("\"'\\") != std::string::npos || controls) {
      r.Error(node["args"], "'args' are split at spaces; quotes, backslashes and newlines are not supported (nor other control characters)");
    } else {
      std::istringstream words(*args);
      for (std::string w; words >> w;) s->args.push_back(w);
    }
  }
  if (auto job = r.String(node, "job")) s->job = *job;
  if (!node["args"].IsDefined() && s->job.empty()) {
    r.Error(node, "stressor " + s->kind + " needs 'args'" + (s->kind == "fio" ? " or 'job'" : ""));
  }
  if (auto cpus = ParseCpus(node, r)) s->params["cpus"] = *cpus;
}

StressorSpec ParseStressor(const YAML::Node& node, YamlReader& r) {
  StressorSpec s;
  if (!node.IsMap()) {
    r.Error(node, "a stressor must be a mapping with 'kind'");
    return s;
  }
  auto kind = r.String(node, "kind");
  if (!kind) {
    r.Error(node, std::string("stressor needs 'kind' (one of ") + kKnownKinds + ")");
    return s;
  }
  if (IsToolKind(*kind)) {
    s.kind = *kind;
    ParseTool(node, r, &s);
    return s;
  }
  auto it = StressorKinds().find(*kind);
  if (it == StressorKinds().end()) {
    r.Error(node["kind"], "unknown stressor kind '" + Excerpt(*kind) + "' (known: " + kKnownKinds + ")");
    return s;
  }
  s.kind = *kind;
  std::vector<std::string> allowed = {"kind", "threads", "cpus"};
  for (const Knob& k : it->second) allowed.push_back(k.name);
  if (s.kind == "io") allowed.push_back("dir");
  r.CheckMap(node, "stressor " + s.kind, allowed);
  s.params["threads"] = std::to_string(r.Int(node, "threads", 1, 256).value_or(1));
  for (const Knob& k : it->second) {
    if (auto v = r.Int(node, k.name, k.min, k.max)) s.params[k.name] = std::to_string(*v);
  }
  if (auto cpus = ParseCpus(node, r)) s.params["cpus"] = *cpus;
  if (auto dir = r.String(node, "dir")) {
    if (dir->empty() || (*dir)[0] != '/' || !AgentWord(*dir)) {
      r.Error(node["dir"], "'dir' must be an absolute path without spaces or control characters");
    } else {
      s.params["dir"] = *dir;
    }
  }
  return s;
}

PhaseSpec ParsePhase(const YAML::Node& node, YamlReader& r) {
  PhaseSpec p;
  if (!r.CheckMap(node, "phase", {"name", "duration", "intensity", "only"})) return p;
  auto name = r.String(node, "name");
  if (!name || !AgentWord(*name) || name->find_first_of("=,") != std::string::npos) {
    r.Error(node, "a phase needs a 'name' without spaces, control characters, '=' or ','");
  } else {
    p.name = *name;
  }
  auto d = r.Seconds(node, "duration");
  if (!d || *d < 1) {
    r.Error(node, "a phase needs a 'duration' of at least 1s");
  } else {
    p.duration_s = *d;
  }
  p.intensity = Number(node, "intensity", 0, 1, r).value_or(1);
  if (YAML::Node only = node["only"]; only.IsDefined()) {
    if (!only.IsSequence() || only.size() == 0) {
      r.Error(only, "'only' must be a non-empty list of stressor kinds");
    } else {
      for (const YAML::Node& k : only) p.only.push_back(k.IsScalar() ? k.Scalar() : "");
    }
  }
  return p;
}

FaultSpec ParseFault(const YAML::Node& node, YamlReader& r) {
  FaultSpec f;
  if (!node.IsMap()) {
    r.Error(node, "a fault must be a mapping with 'kind'");
    return f;
  }
  auto kind = r.String(node, "kind");
  if (!kind || (*kind != "freeze" && *kind != "panic" && *kind != "hang" && *kind != "kmsg")) {
    r.Error(node, "fault needs 'kind': freeze, hang, panic or kmsg");
    return f;
  }
  f.kind = *kind;
  if (f.kind == "freeze") {
    r.CheckMap(node, "fault freeze", {"kind", "at", "delay_mean", "length", "vcpu", "probability"});
    f.vcpu = static_cast<int>(r.Int(node, "vcpu", 0, 511).value_or(0));
    auto length = r.Seconds(node, "length");
    if (!length) r.Error(node, "fault freeze needs 'length'");
    f.length_s = length.value_or(0);
  } else if (f.kind == "hang") {
    r.CheckMap(node, "fault hang", {"kind", "at", "delay_mean", "length", "timeout", "probability"});
    f.length_s = r.Seconds(node, "length").value_or(3600);
    f.timeout_s = r.Seconds(node, "timeout").value_or(10);
    if (f.timeout_s < 1) r.Error(node["timeout"], "'timeout' must be at least 1s");
  } else if (f.kind == "kmsg") {
    r.CheckMap(node, "fault kmsg", {"kind", "at", "delay_mean", "text", "probability"});
    f.text = r.String(node, "text").value_or("");
    if (f.text.empty() || f.text.size() > 512 || f.text.find_first_of("\n\r") != std::string::npos) {
      r.Error(node, "fault kmsg needs 'text': one line of at most 512 bytes");
    }
  } else {
    r.CheckMap(node, "fault panic", {"kind", "at", "delay_mean", "probability"});
  }
  f.at_s = r.Seconds(node, "at").value_or(0);
  f.delay_mean_s = r.Seconds(node, "delay_mean").value_or(0);
  if (auto p = Number(node, "probability", 0, 1, r)) f.probability = *p;
  return f;
}

// Where stressor i's fio job file lands in the guest.
std::string JobPath(size_t i) { return "/etc/blackout/job-" + std::to_string(i) + ".fio"; }

}  // namespace

Workload ParseWorkload(const YAML::Node& node, YamlReader& r, const Workload* base) {
  Workload w;
  if (base) w = *base;
  if (!r.CheckMap(node, "workload",
                  {"name", "description", "duration", "stressors", "faults", "disks", "phases", "report"})) {
    return w;
  }
  if (auto name = r.String(node, "name")) {
    if (!AgentWord(*name)) {
      r.Error(node["name"], "a workload's 'name' is one word without spaces or control characters");
    } else {
      w.name = *name;
    }
  }
  if (auto d = r.String(node, "description")) w.description = *d;
  if (!base && w.name.empty()) r.Error(node, "workload needs 'name'");
  if (auto d = r.Seconds(node, "duration")) {
    if (*d < 1) {
      r.Error(node["duration"], "'duration' must be at least 1s");
    } else {
      w.duration_s = *d;
    }
  }
  if (YAML::Node list = node["stressors"]; list.IsDefined()) {
    w.stressors.clear();
    if (!list.IsSequence()) {
      r.Error(list, "'stressors' must be a list");
    } else {
      for (const YAML::Node& s : list) w.stressors.push_back(ParseStressor(s, r));
    }
  }
  if (YAML::Node list = node["disks"]; list.IsDefined()) {
    w.disks.clear();
    if (!list.IsSequence()) {
      r.Error(list, "'disks' must be a list");
    } else {
      for (const YAML::Node& d : list) {
        if (!r.CheckMap(d, "disk", {"size", "format", "cache", "fs"})) continue;
        DiskSpec disk;
        if (auto v = r.Bytes(d, "size")) disk.size = *v;
        if (disk.size < (16ull << 20)) r.Error(d, "a disk needs at least 16M");
        auto pick = [&](const char* key, std::string* into, std::vector<std::string> allowed) {
          auto v = r.String(d, key);
          if (!v) return;
          if (std::find(allowed.begin(), allowed.end(), *v) == allowed.end()) {
            std::string list;
            for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
            r.Error(d[key], std::string("'") + key + "' must be one of " + list + ", not '" + Excerpt(*v) + "'");
          } else {
            *into = *v;
          }
        };
        pick("format", &disk.format, {"raw", "qcow2"});
        pick("cache", &disk.cache, {"none", "writeback", "writethrough", "directsync", "unsafe"});
        pick("fs", &disk.fs, {"ext4", "none"});
        w.disks.push_back(disk);
      }
    }
  }
  for (const StressorSpec& s : w.stressors) {
    auto it = s.params.find("disk");
    if (it != s.params.end() && std::stoul(it->second) >= w.disks.size()) {
      r.Error(node, "stressor " + s.kind + " uses disk " + it->second + " but the workload has " +
                        std::to_string(w.disks.size()) + " disks");
    }
  }
  // Inherited phases belong to the inherited stressors: new stressors start
  // without them.
  if (base && node["stressors"].IsDefined() && !node["phases"].IsDefined()) w.phases.clear();
  if (YAML::Node list = node["phases"]; list.IsDefined()) {
    w.phases.clear();
    if (!list.IsSequence()) {
      r.Error(list, "'phases' must be a list");
    } else {
      for (const YAML::Node& p : list) w.phases.push_back(ParsePhase(p, r));
      // Without a duration of their own, the phases run once.
      if (!node["duration"].IsDefined()) {
        double sum = 0;
        for (const PhaseSpec& p : w.phases) sum += p.duration_s;
        if (sum >= 1) w.duration_s = sum;
      }
    }
  }
  for (const PhaseSpec& p : w.phases) {
    for (const std::string& k : p.only) {
      bool present = std::any_of(w.stressors.begin(), w.stressors.end(),
                                 [&](const StressorSpec& s) { return s.kind == k; });
      if (!present) r.Error(node["phases"].IsDefined() ? node["phases"] : node, "phase " + p.name + " names stressor kind '" + k +
                                                "', which the workload does not run");
    }
  }
  if (auto every = r.Seconds(node, "report")) {
    if (*every < 1) {
      r.Error(node["report"], "'report' must be at least 1s");
    } else {
      w.report_s = *every;
    }
  }
  if (YAML::Node list = node["faults"]; list.IsDefined()) {
    w.faults.clear();
    if (!list.IsSequence()) {
      r.Error(list, "'faults' must be a list");
    } else {
      for (const YAML::Node& f : list) w.faults.push_back(ParseFault(f, r));
    }
  }
  return w;
}

std::string AgentConf(const Workload& w, DiskBus bus) {
  // Every value reaches the agent as a word of its line: one that is not a
  // word would add a directive (the config readers refuse them; this is the
  // last guard, for workloads built some other way).
  std::vector<std::string> bad;
  auto word = [&](const std::string& what, const std::string& v) {
    if (!AgentWord(v)) bad.push_back("workload " + what + " cannot reach the agent: not one printable word");
  };
  word("name", w.name);
  for (const PhaseSpec& p : w.phases) word("phase name", p.name);
  for (const StressorSpec& st : w.stressors) {
    for (const auto& [k, v] : st.params) {
      word("stressor key", k);
      word("stressor " + k, v);
    }
    for (const std::string& a : st.args) word("argument", a);
  }
  if (!bad.empty()) throw ConfigError(bad);
  std::ostringstream out;
  out << "# workload " << w.name << " (generated by blackout)\n";
  char duration[32];
  std::snprintf(duration, sizeof duration, "%.3f", w.duration_s);
  out << protocol::conf::kDuration << " " << duration << "\n";
  std::snprintf(duration, sizeof duration, "%.3f", w.report_s);
  out << protocol::conf::kReport << " " << duration << "\n";
  for (const PhaseSpec& p : w.phases) {
    std::string only;
    for (const std::string& k : p.only) only += (only.empty() ? "" : ",") + k;
    char line[128];
    std::snprintf(line, sizeof line, "%.3f %.3f", p.duration_s, p.intensity);
    out << protocol::conf::kPhase << " " << p.name << " " << line << " "
        << (only.empty() ? protocol::conf::kAllKinds : only) << "\n";
  }
  for (size_t i = 0; i < w.disks.size(); ++i) {
    out << protocol::conf::kDisk << " " << i << (bus == DiskBus::kXenBlkfront ? " /dev/xvd" : " /dev/vd") << static_cast<char>('a' + i)
        << " " << w.disks[i].fs << "\n";
  }
  for (size_t i = 0; i < w.stressors.size(); ++i) {
    const StressorSpec& s = w.stressors[i];
    out << protocol::conf::kStressor << " " << s.kind;
    for (const auto& [k, v] : s.params) out << " " << k << "=" << v;
    if (IsToolKind(s.kind)) {
      // The tool's command line after "--": its path, then its arguments.
      out << " " << protocol::conf::kToolArgs << " " << ToolHostPath(s.kind);
      for (const std::string& a : s.args) out << " " << a;
      if (!s.job.empty()) out << " " << JobPath(i);
    }
    out << "\n";
  }
  for (const FaultSpec& f : w.faults) {
    out << protocol::conf::kFault << " " << f.kind << " at=" << f.at_s;
    if (f.probability < 1) out << " probability=" << f.probability;
    if (f.delay_mean_s > 0) out << " delay_mean=" << f.delay_mean_s;
    if (f.kind == "freeze") out << " vcpu=" << f.vcpu << " length=" << f.length_s;
    if (f.kind == "hang") out << " timeout=" << f.timeout_s << " length=" << f.length_s;
    if (f.kind == "kmsg") {
      // Hex: the agent's fields are space-separated words.
      out << " text=";
      for (unsigned char c : f.text) {
        const char* digits = "0123456789abcdef";
        out << digits[c >> 4] << digits[c & 15];
      }
    }
    out << "\n";
  }
  return out.str();
}

std::map<std::string, std::string> WorkloadFiles(const Workload& w) {
  std::map<std::string, std::string> files;
  for (size_t i = 0; i < w.stressors.size(); ++i) {
    if (!w.stressors[i].job.empty()) files[JobPath(i)] = w.stressors[i].job;
  }
  return files;
}

std::vector<std::string> WorkloadTools(const Workload& w) {
  std::vector<std::string> tools;
  for (const StressorSpec& s : w.stressors) {
    if (!IsToolKind(s.kind)) continue;
    std::string path = ToolHostPath(s.kind);
    if (std::find(tools.begin(), tools.end(), path) == tools.end()) tools.push_back(path);
  }
  return tools;
}

bool IsToolKind(const std::string& kind) { return kind == "stress-ng" || kind == "fio"; }

std::string ToolHostPath(const std::string& kind) { return "/usr/bin/" + kind; }

std::vector<ModuleRequest> RequiredModules(const Workload& w, DiskBus bus) {
  std::vector<ModuleRequest> out;
  bool ext4 = false;
  if (!w.disks.empty()) {
    if (bus == DiskBus::kXenBlkfront) {
      out.push_back({"xen_blkfront", ""});
    } else {
      out.push_back({"virtio_pci", ""});
      out.push_back({"virtio_blk", ""});
    }
    for (const DiskSpec& d : w.disks) ext4 = ext4 || d.fs == "ext4";
  }
  for (const FaultSpec& f : w.faults) {
    if (f.kind == "hang") {
      out.push_back({"brd", "rd_nr=1 rd_size=16384"});
      ext4 = true;
    }
  }
  if (ext4) {
    out.push_back({"crc32c_generic", ""});  // ext4 loads its checksum driver at mount
    out.push_back({"ext4", ""});
  }
  // Each once, in first-asked order.
  std::vector<ModuleRequest> unique;
  for (const ModuleRequest& m : out) {
    bool seen = false;
    for (const ModuleRequest& u : unique) seen = seen || u.name == m.name;
    if (!seen) unique.push_back(m);
  }
  return unique;
}

const std::vector<Workload>& BuiltinWorkloads() {
  static const std::vector<Workload> all = [] {
    std::vector<Workload> out;
    for (const BuiltinFile& file : kBuiltinWorkloadFiles) {
      YamlReader r(std::string("<builtin ") + file.name + ">");
      auto node = r.Parse(file.text);
      if (node) out.push_back(ParseWorkload(*node, r, nullptr));
      // A broken built-in is a bug in blackout itself; the unit tests catch it.
      r.Checkpoint();
    }
    std::sort(out.begin(), out.end(), [](const Workload& a, const Workload& b) { return a.name < b.name; });
    return out;
  }();
  return all;
}

std::string BuiltinWorkloadYaml(const std::string& name) {
  for (const BuiltinFile& file : kBuiltinWorkloadFiles) {
    YamlReader r("<builtin>");
    auto node = r.Parse(file.text);
    if (node && (*node)["name"].IsScalar() && (*node)["name"].Scalar() == name) return file.text;
  }
  return "";
}

const Workload* FindWorkload(const std::string& name) {
  for (const Workload& w : BuiltinWorkloads()) {
    if (w.name == name) return &w;
  }
  return nullptr;
}

}  // namespace blackout
