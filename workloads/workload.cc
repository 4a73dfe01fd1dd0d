#include "workloads/workload.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "base/error.h"
#include "workloads/builtin_workloads.h"

namespace blackout {
namespace {

// Each stressor kind and the knobs it takes (besides threads), with the range
// of each knob. Kept in step with guests/agent/agent.cc.
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

StressorSpec ParseStressor(const YAML::Node& node, YamlReader& r) {
  StressorSpec s;
  if (!node.IsMap()) {
    r.Error(node, "a stressor must be a mapping with 'kind'");
    return s;
  }
  auto kind = r.String(node, "kind");
  if (!kind) {
    r.Error(node, "stressor needs 'kind' (one of pingpong, migrate, forkexit, yield, spinsleep, futex, io)");
    return s;
  }
  auto it = StressorKinds().find(*kind);
  if (it == StressorKinds().end()) {
    r.Error(node["kind"], "unknown stressor kind '" + *kind +
                              "' (known: pingpong, migrate, forkexit, yield, spinsleep, futex, io)");
    return s;
  }
  s.kind = *kind;
  std::vector<std::string> allowed = {"kind", "threads"};
  for (const Knob& k : it->second) allowed.push_back(k.name);
  if (s.kind == "io") allowed.push_back("dir");
  r.CheckMap(node, "stressor " + s.kind, allowed);
  s.params["threads"] = std::to_string(r.Int(node, "threads", 1, 256).value_or(1));
  for (const Knob& k : it->second) {
    if (auto v = r.Int(node, k.name, k.min, k.max)) s.params[k.name] = std::to_string(*v);
  }
  if (auto dir = r.String(node, "dir")) {
    if (dir->empty() || (*dir)[0] != '/' || dir->find(' ') != std::string::npos) {
      r.Error(node["dir"], "'dir' must be an absolute path without spaces");
    } else {
      s.params["dir"] = *dir;
    }
  }
  return s;
}

FaultSpec ParseFault(const YAML::Node& node, YamlReader& r) {
  FaultSpec f;
  if (!node.IsMap()) {
    r.Error(node, "a fault must be a mapping with 'kind'");
    return f;
  }
  auto kind = r.String(node, "kind");
  if (!kind || (*kind != "freeze" && *kind != "panic" && *kind != "hang")) {
    r.Error(node, "fault needs 'kind': freeze, hang or panic");
    return f;
  }
  f.kind = *kind;
  if (f.kind == "freeze") {
    r.CheckMap(node, "fault freeze", {"kind", "at", "length", "vcpu", "probability"});
    f.vcpu = static_cast<int>(r.Int(node, "vcpu", 0, 511).value_or(0));
    auto length = r.Seconds(node, "length");
    if (!length) r.Error(node, "fault freeze needs 'length'");
    f.length_s = length.value_or(0);
  } else if (f.kind == "hang") {
    r.CheckMap(node, "fault hang", {"kind", "at", "length", "timeout", "probability"});
    f.length_s = r.Seconds(node, "length").value_or(3600);
    f.timeout_s = r.Seconds(node, "timeout").value_or(10);
    if (f.timeout_s < 1) r.Error(node["timeout"], "'timeout' must be at least 1s");
  } else {
    r.CheckMap(node, "fault panic", {"kind", "at", "probability"});
  }
  f.at_s = r.Seconds(node, "at").value_or(0);
  if (auto p = r.String(node, "probability")) {
    char* end = nullptr;
    double v = std::strtod(p->c_str(), &end);
    if (*end != '\0' || !(v >= 0 && v <= 1)) {
      r.Error(node["probability"], "'probability' must be a number from 0 to 1, not '" + *p + "'");
    } else {
      f.probability = v;
    }
  }
  return f;
}

}  // namespace

Workload ParseWorkload(const YAML::Node& node, YamlReader& r, const Workload* base) {
  Workload w;
  if (base) w = *base;
  if (!r.CheckMap(node, "workload", {"name", "description", "duration", "stressors", "faults", "disks"})) {
    return w;
  }
  if (auto name = r.String(node, "name")) w.name = *name;
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
            r.Error(d[key], std::string("'") + key + "' must be one of " + list + ", not '" + *v + "'");
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

std::string AgentConf(const Workload& w) {
  std::ostringstream out;
  out << "# workload " << w.name << " (generated by blackout)\n";
  char duration[32];
  std::snprintf(duration, sizeof duration, "%.3f", w.duration_s);
  out << "duration " << duration << "\n";
  for (size_t i = 0; i < w.disks.size(); ++i) {
    out << "disk " << i << " /dev/vd" << static_cast<char>('a' + i) << " " << w.disks[i].fs << "\n";
  }
  for (const StressorSpec& s : w.stressors) {
    out << "stressor " << s.kind;
    for (const auto& [k, v] : s.params) out << " " << k << "=" << v;
    out << "\n";
  }
  for (const FaultSpec& f : w.faults) {
    out << "fault " << f.kind << " at=" << f.at_s;
    if (f.probability < 1) out << " probability=" << f.probability;
    if (f.kind == "freeze") out << " vcpu=" << f.vcpu << " length=" << f.length_s;
    if (f.kind == "hang") out << " timeout=" << f.timeout_s << " length=" << f.length_s;
    out << "\n";
  }
  return out.str();
}

std::vector<ModuleRequest> RequiredModules(const Workload& w) {
  std::vector<ModuleRequest> out;
  bool ext4 = false;
  if (!w.disks.empty()) {
    out.push_back({"virtio_pci", ""});
    out.push_back({"virtio_blk", ""});
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
    return out;
  }();
  return all;
}

const Workload* FindWorkload(const std::string& name) {
  for (const Workload& w : BuiltinWorkloads()) {
    if (w.name == name) return &w;
  }
  return nullptr;
}

}  // namespace blackout
