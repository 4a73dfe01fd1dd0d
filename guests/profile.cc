#include "guests/profile.h"

#include "base/error.h"
#include "guests/builtin_profiles.h"

namespace blackout {
namespace {

// Reads the keys present in node onto g (every key optional).
void ReadGuestKeys(const YAML::Node& node, YamlReader& r, GuestSpec* g) {
  if (auto f = r.Bool(node, "fast")) g->fast = *f;
  if (auto v = r.Int(node, "vcpus", 1, 64)) g->vcpus = static_cast<int>(*v);
  auto memory = [&](const YAML::Node& n, uint64_t* into) {
    if (auto m = r.Bytes(n, "memory")) {
      if (*m < (128ull << 20) || *m > (16ull << 30)) {
        r.Error(n["memory"], "'memory' must be between 128M and 16G");
      } else {
        *into = *m;
      }
    }
  };
  memory(node, &g->memory);
  if (auto x = r.String(node, "xen_cmdline")) g->xen_cmdline = *x;
  if (auto k = r.String(node, "kernel_cmdline")) {
    if (k->find(',') != std::string::npos && g->Type().multiboot_cmdline) {
      r.Error(node["kernel_cmdline"],
              "'kernel_cmdline' cannot contain a comma (QEMU splits multiboot modules at commas)");
    } else {
      g->kernel_cmdline = *k;
    }
  }
  if (auto d = r.String(node, "disks")) {
    const std::string& want = g->Type().disks;
    if (*d != want) {
      r.Error(node["disks"], "guest type " + g->type + " attaches disks as " + want + ", not '" + Excerpt(*d) + "'");
    } else {
      g->disks = *d;
    }
  }
  if (YAML::Node d = node["dom0"]; d.IsDefined()) {
    if (!g->Type().dom0_toolstack) {
      r.Error(d, "'dom0' sizing applies to guest type xen-pv-domu only");
    } else if (r.CheckMap(d, "dom0", {"vcpus", "memory", "saved_state"})) {
      if (auto v = r.Int(d, "vcpus", 1, 64)) g->dom0_vcpus = static_cast<int>(*v);
      memory(d, &g->dom0_memory);
      if (auto v = r.Bool(d, "saved_state")) g->dom0_saved_state = *v;
    }
  }
}

}  // namespace

const GuestType& GuestSpec::Type() const {
  const GuestType* t = FindGuestType(type);
  if (!t) throw ConfigError({"guest type '" + type + "' is not supported (known: " + GuestTypeNames() + ")"});
  return *t;
}

const std::vector<GuestSpec>& GuestProfiles() {
  static const std::vector<GuestSpec> all = [] {
    std::vector<GuestSpec> out;
    for (const BuiltinFile& file : kBuiltinProfileFiles) {
      YamlReader r(std::string("<builtin ") + file.name + ">");
      auto node = r.Parse(file.text);
      GuestSpec g;
      if (node && r.CheckMap(*node, "guest profile",
                             {"type", "vcpus", "memory", "xen_cmdline", "kernel_cmdline", "disks", "dom0"})) {
        if (auto t = r.String(*node, "type")) g.type = *t;
        if (FindGuestType(g.type)) g.disks = g.Type().disks;
        ReadGuestKeys(*node, r, &g);
      }
      r.Checkpoint();  // a broken built-in is a bug in blackout; the unit tests catch it
      out.push_back(g);
    }
    return out;
  }();
  return all;
}

const GuestSpec* FindGuestProfile(const std::string& type) {
  for (const GuestSpec& g : GuestProfiles()) {
    if (g.type == type) return &g;
  }
  return nullptr;
}

GuestSpec ParseGuest(const YAML::Node& node, YamlReader& r, const GuestSpec& current) {
  GuestSpec g = current;
  if (node.IsScalar()) {
    if (const GuestSpec* p = FindGuestProfile(node.Scalar())) return *p;
    r.Error(node, "guest type '" + Excerpt(node.Scalar()) + "' is not supported (known: " + GuestTypeNames() + ")");
    return g;
  }
  if (!r.CheckMap(node, "guest",
                  {"type", "vcpus", "memory", "xen_cmdline", "kernel_cmdline", "fast", "disks", "dom0", "image",
                   "bootloader", "inject"})) {
    return g;
  }
  if (auto t = r.String(node, "type")) {
    if (const GuestSpec* p = FindGuestProfile(*t)) {
      bool fast = g.fast;
      g = *p;
      g.fast = fast;
    } else {
      r.Error(node["type"], "guest type '" + Excerpt(*t) + "' is not supported (known: " + GuestTypeNames() + ")");
    }
  }
  ReadGuestKeys(node, r, &g);
  if (auto i = r.String(node, "image")) {
    if (i->empty()) {
      r.Error(node["image"], "'image' names a disk image file (raw or qcow2)");
    } else if (g.type != "hvm" && g.type != "xen-pv-domu") {
      r.Error(node["image"], "an image boots as guest type xen-pv-domu (through pygrub) or hvm (through its BIOS "
                             "bootloader), not " + g.type);
    } else {
      g.image = *i;
    }
  }
  if (auto b = r.String(node, "bootloader")) {
    if (g.image.empty() || g.type != "xen-pv-domu") {
      r.Error(node["bootloader"], "'bootloader' goes with an image of guest type xen-pv-domu");
    } else if (*b != "pygrub" && *b != "pvgrub") {
      r.Error(node["bootloader"], "'bootloader' must be pygrub or pvgrub, not '" + Excerpt(*b) + "'");
    } else {
      g.bootloader = *b;
    }
  }
  if (auto i = r.String(node, "inject")) {
    if (g.image.empty()) {
      r.Error(node["inject"], "'inject' goes with an image: it says how the agent gets into it");
    } else if (*i != "cloud-init" && *i != "overlay") {
      r.Error(node["inject"], "'inject' must be cloud-init or overlay, not '" + Excerpt(*i) + "'");
    } else {
      g.inject = *i;
    }
  }
  return g;
}

}  // namespace blackout
