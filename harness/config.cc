#include "harness/config.h"

#include <filesystem>
#include <sstream>

#include "base/error.h"
#include "base/fsutil.h"
#include "harness/vm/libvirt_backend.h"
#include "kernels/catalogue.h"

namespace blackout {

RunConfig DefaultConfig() {
  RunConfig c;
  c.guest = *FindGuestProfile("xen-pv-dom0");
  c.workload = *FindWorkload("pv-spinlock-race");
  return c;
}

std::vector<std::string> SettleBackend(RunConfig& c) {
  if (c.backend == "qemu") {
    if (!c.host.empty()) return {"'host' names a libvirt host: it needs backend libvirt, not qemu"};
    return {};
  }
  if (c.host.empty()) c.host = kDefaultLibvirtUri;
  std::string problem = LibvirtUriProblem(c.host);
  if (!problem.empty()) return {problem};
  if (LibvirtUriIsXen(c.host) && c.guest.type != "xen-pv-domu") {
    return {"'" + c.host + "' is a Xen host: its libvirt runs the kernel under test as a PV domU, so the guest "
            "type must be xen-pv-domu, not " + c.guest.type};
  }
  return {};
}

const GuestType& RunGuestType(const RunConfig& c) {
  if (c.backend == "libvirt" && LibvirtUriIsXen(c.host)) return XenHostDomU();
  return c.guest.Type();
}

RunConfig ParseConfig(const std::string& text, const std::string& source) {
  YamlReader r(source);
  auto root = r.Parse(text);
  if (!root) r.Checkpoint();
  std::string dir = std::filesystem::path(source).parent_path().string();
  RunConfig c = ParseConfigNode(*root, r, dir.empty() ? "." : dir);
  c.source = source;
  r.Checkpoint();
  return c;
}

void ParseKernelSpec(const YAML::Node& k, YamlReader& r, KernelSpec* spec) {
  if (k.IsScalar()) {
    // A catalogue name, else a package name.
    if (const CatalogueKernel* c = BuiltinCatalogue().Find(k.Scalar())) {
      *spec = c->spec;
    } else {
      *spec = KernelSpec();
      spec->package = k.Scalar();
    }
    return;
  }
  std::vector<std::string> keys = {"package", "version", "deb", "sha256", "image", "modules", "config", "git", "rev"};
  keys.insert(keys.end(), kArchiveKeys.begin(), kArchiveKeys.end());
  if (!r.CheckMap(k, "kernel", keys)) return;
  *spec = KernelSpec();
  if ((k["suite"].IsDefined() || k["archive"].IsDefined()) && !k["package"].IsDefined()) {
    r.Error(k, "'suite' and 'archive' say where an apt kernel's 'package' comes from");
  }
  if (k["git"].IsDefined()) {
    *spec = GitKernelSpec(r.String(k, "git").value_or(""), r.String(k, "rev").value_or("HEAD"));
    if (YAML::Node c = k["config"]; c.IsDefined() && r.CheckMap(c, "kernel config", {"base", "fragments"})) {
      if (auto b = r.String(c, "base")) spec->config_base = *b;
      if (YAML::Node f = c["fragments"]; f.IsDefined()) {
        spec->fragments.clear();
        if (!f.IsSequence()) r.Error(f, "'fragments' must be a list of kernels/configs names or files");
        for (const YAML::Node& x : f) spec->fragments.push_back(x.IsScalar() ? x.Scalar() : "");
      }
    }
    if (spec->repo.empty()) r.Error(k["git"], "'git' must name a repository");
  } else if (k["deb"].IsDefined()) {
    spec->source = "deb";
    spec->deb = r.String(k, "deb").value_or("");
    spec->sha256 = r.String(k, "sha256").value_or("");
    if (spec->sha256.size() != 64) r.Error(k, "a kernel 'deb' needs its 'sha256' (64 hex digits)");
  } else if (k["image"].IsDefined()) {
    spec->source = "path";
    spec->image = r.String(k, "image").value_or("");
    spec->modules = r.String(k, "modules").value_or("");
    spec->config = r.String(k, "config").value_or("");
  } else {
    if (auto p = r.String(k, "package")) spec->package = *p;
    if (auto v = r.String(k, "version")) spec->version = *v;
    ParseAptArchive(k, r, &spec->archive);
  }
}

void ParseXenSpec(const YAML::Node& x, YamlReader& r, XenSpec* spec) {
  if (x.IsScalar()) {
    // A catalogue name (xen-4.14), else a package name.
    if (const CatalogueXen* c = BuiltinCatalogue().FindXen(x.Scalar())) {
      *spec = c->spec;
    } else {
      *spec = XenSpec();
      spec->package = x.Scalar();
    }
    return;
  }
  std::vector<std::string> keys = {"package", "version"};
  keys.insert(keys.end(), kArchiveKeys.begin(), kArchiveKeys.end());
  if (!r.CheckMap(x, "xen", keys)) return;
  *spec = XenSpec();
  if (auto p = r.String(x, "package")) spec->package = *p;
  if (auto v = r.String(x, "version")) spec->version = *v;
  ParseAptArchive(x, r, &spec->archive);
}

namespace {

// `workload: ./mine.yaml`: built-in names hold neither a '/' nor a YAML suffix.
bool NamesAFile(const std::string& value) {
  auto ends = [&](const std::string& suffix) {
    return value.size() > suffix.size() && value.compare(value.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return value.find('/') != std::string::npos || ends(".yaml") || ends(".yml");
}

}  // namespace

std::string ImageOnXenHostProblem(const std::string& uri) {
  return "an image guest runs in QEMU (here or on a qemu libvirt host), not on a Xen host (" + uri +
         "): its libvirt would need the image's own bootloader, which blackout does not ask of it";
}

std::vector<std::string> ImageWorkloadMisfits(const Workload& w) {
  std::vector<std::string> out;
  if (!WorkloadTools(w).empty() || !WorkloadFiles(w).empty()) {
    out.push_back("workload " + w.name + " runs host tools (stress-ng, fio) in the guest: an image guest has only "
                  "the agent's own stressors");
  }
  for (const FaultSpec& f : w.faults) {
    if (f.kind == "hang") {
      out.push_back("fault hang needs a ramdisk module blackout loads itself: not in an image guest");
      break;
    }
  }
  return out;
}

namespace {

// An image guest boots the image's kernel and runs the agent from a config
// drive under the image's own init: nothing blackout would copy into an
// initramfs (tools, files, modules) reaches it. A relative image path is the
// config file's neighbour.
void CheckImageGuest(const YAML::Node& n, YamlReader& r, const std::optional<std::string>& config_dir, RunConfig& c) {
  YAML::Node at = n["guest"]["image"];
  if (n["kernel"].IsDefined()) r.Error(n["kernel"], "an image boots its own kernel: drop 'kernel' (or 'image')");
  if (c.guest.fast || !c.guest.kernel_cmdline.empty()) {
    r.Error(at, "an image boots the command line its own grub.cfg gives: 'fast' and 'kernel_cmdline' do not reach it");
  }
  if (c.backend == "libvirt" && LibvirtUriIsXen(c.host)) r.Error(at, ImageOnXenHostProblem(c.host));
  for (const std::string& problem : ImageWorkloadMisfits(c.workload)) r.Error(n["workload"], problem);
  if (config_dir && !std::filesystem::path(c.guest.image).is_absolute()) {
    c.guest.image = (std::filesystem::path(*config_dir) / c.guest.image).string();
  }
}

}  // namespace

RunConfig ParseConfigNode(const YAML::Node& n, YamlReader& r, const std::optional<std::string>& workload_dir) {
  RunConfig c = DefaultConfig();
  if (!r.CheckMap(n, "config", {"kernel", "xen", "guest", "workload", "thresholds", "accel", "inject",
                                    "backend", "host"})) {
    return c;
  }

  if (YAML::Node k = n["kernel"]; k.IsDefined()) ParseKernelSpec(k, r, &c.kernel);
  if (YAML::Node x = n["xen"]; x.IsDefined()) ParseXenSpec(x, r, &c.xen);
  if (YAML::Node g = n["guest"]; g.IsDefined()) c.guest = ParseGuest(g, r, c.guest);
  if (YAML::Node w = n["workload"]; w.IsDefined()) {
    if (w.IsScalar() && !FindWorkload(w.Scalar()) && NamesAFile(w.Scalar())) {
      std::filesystem::path file = w.Scalar();
      std::error_code ec;
      if (!workload_dir) {
        r.Error(w, "a bisect plan holds its workload itself (a built-in name or a mapping; start from `blackout "
                   "workloads show NAME`), so that resume and replay run the same one");
      } else if (file = std::filesystem::path(*workload_dir) / file; !std::filesystem::is_regular_file(file, ec)) {
        r.Error(w, "workload file " + file.string() + " does not exist");
      } else {
        c.workload = ParseWorkloadFile(file.string(), r, c.workload);
      }
    } else {
      c.workload = ParseWorkloadValue(w, r, c.workload);
    }
  }
  for (const std::string& problem : WorkloadMisfits(c.workload, c.guest.vcpus)) r.Error(n["workload"], problem);
  if (YAML::Node t = n["thresholds"]; t.IsDefined() &&
      r.CheckMap(t, "thresholds", {"stall", "lockup", "boot", "heartbeat"})) {
    if (auto v = r.Seconds(t, "stall")) c.thresholds.stall_s = *v;
    if (auto v = r.Seconds(t, "lockup")) c.thresholds.lockup_s = *v;
    if (auto v = r.Seconds(t, "boot")) c.thresholds.boot_s = *v;
    if (auto v = r.Seconds(t, "heartbeat")) {
      if (*v < 0.01 || *v > 10) {
        r.Error(t["heartbeat"], "'heartbeat' must be between 10ms and 10s");
      } else {
        c.thresholds.heartbeat_ms = static_cast<int>(*v * 1000 + 0.5);
      }
    }
    if (c.thresholds.stall_s <= c.thresholds.heartbeat_ms / 1000.0) {
      r.Error(t, "'stall' must be longer than the heartbeat interval");
    }
    if (c.thresholds.lockup_s <= c.thresholds.stall_s) {
      r.Error(t, "'lockup' must be longer than 'stall'");
    }
  }
  if (auto a = r.String(n, "accel")) {
    if (*a != "auto" && *a != "kvm" && *a != "tcg") {
      r.Error(n["accel"], "'accel' must be auto, kvm or tcg, not '" + Excerpt(*a) + "'");
    } else {
      c.accel = *a;
    }
  }
  if (auto b = r.String(n, "backend")) {
    if (*b != "qemu" && *b != "libvirt") {
      r.Error(n["backend"], "'backend' must be qemu or libvirt, not '" + Excerpt(*b) + "'");
    } else {
      c.backend = *b;
    }
  }
  if (auto h = r.String(n, "host")) {
    c.host = *h;
    if (!n["backend"].IsDefined()) c.backend = "libvirt";
  }
  for (const std::string& problem : SettleBackend(c)) r.Error(n["host"].IsDefined() ? n["host"] : n["backend"], problem);
  if (YAML::Node list = n["inject"]; list.IsDefined()) {
    if (!list.IsSequence()) {
      r.Error(list, "'inject' must be a list");
    } else {
      for (const YAML::Node& f : list) {
        if (!r.CheckMap(f, "inject entry", {"pause", "starve", "at", "cpu"})) continue;
        HostFault h;
        h.kind = f["starve"].IsDefined() ? "starve" : "pause";
        auto len = r.Seconds(f, h.kind);
        if (!len || (f["pause"].IsDefined() && f["starve"].IsDefined())) {
          r.Error(f, "inject entry needs one of 'pause: DURATION' or 'starve: DURATION'");
        }
        h.length_s = len.value_or(0);
        h.at_s = r.Seconds(f, "at").value_or(0);
        if (h.kind == "starve") {
          h.cpu = static_cast<int>(r.Int(f, "cpu", 0, 63).value_or(0));
          if (h.cpu >= c.guest.vcpus) r.Error(f["cpu"], "'cpu' names a vCPU the guest does not have");
        } else if (f["cpu"].IsDefined()) {
          r.Error(f["cpu"], "'cpu' goes with 'starve'");
        }
        c.inject.push_back(h);
      }
    }
  }
  if (!c.guest.image.empty()) CheckImageGuest(n, r, workload_dir, c);
  return c;
}

Workload ParseWorkloadValue(const YAML::Node& w, YamlReader& r, const Workload& current) {
  if (w.IsScalar()) {
    if (const Workload* found = FindWorkload(w.Scalar())) return *found;
    r.Error(w, "unknown workload '" + Excerpt(w.Scalar()) + "' (see: blackout workloads list)");
    return current;
  }
  if (!w.IsMap()) {
    r.Error(w, "'workload' must be a name or a mapping");
    return current;
  }
  // A name that is no built-in starts a workload of its own (from nothing).
  const Workload* base = &current;
  if (YAML::Node name = w["name"]; name.IsDefined() && name.IsScalar()) {
    base = FindWorkload(name.Scalar());
    if (!base && !w["stressors"].IsDefined()) {
      r.Error(name, "unknown workload '" + Excerpt(name.Scalar()) + "' and no 'stressors' to define it");
      base = &current;
    }
  }
  return ParseWorkload(w, r, base);
}

std::vector<std::string> WorkloadMisfits(const Workload& workload, int vcpus) {
  std::vector<std::string> out;
  for (const FaultSpec& f : workload.faults) {
    if (f.kind == "freeze" && f.vcpu >= vcpus) {
      out.push_back("fault freeze names vCPU " + std::to_string(f.vcpu) + " but the guest has " +
                    std::to_string(vcpus));
    }
  }
  for (const StressorSpec& s : workload.stressors) {
    auto cpus = s.params.find("cpus");
    if (cpus == s.params.end()) continue;
    std::istringstream list(cpus->second);
    for (std::string cpu; std::getline(list, cpu, ',');) {
      if (std::stoi(cpu) >= vcpus) {
        out.push_back("stressor " + s.kind + " is placed on vCPU " + cpu + " but the guest has " +
                      std::to_string(vcpus));
        break;
      }
    }
  }
  return out;
}

Workload ParseWorkloadFile(const std::string& path, YamlReader& into, const Workload& current,
                           const std::string& shown_as) {
  YamlReader file(shown_as.empty() ? path : shown_as);
  Workload w = current;
  try {
    if (auto node = file.Parse(ReadInputFile(path, kMaxConfigBytes, "workload file"))) {
      // A file naming a file would let two files name each other.
      if (node->IsScalar() && !FindWorkload(node->Scalar())) {
        file.Error(*node, "a workload file holds a mapping (see: blackout workloads show NAME) or a built-in's name");
      } else {
        w = ParseWorkloadValue(*node, file, current);
      }
    }
  } catch (const InfraError& e) {
    file.Error(e.what());
  }
  into.Adopt(file);
  return w;
}

Workload WorkloadByNameOrFile(const std::string& arg, const Workload& current) {
  if (const Workload* found = FindWorkload(arg)) return *found;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(arg, ec)) {
    throw ConfigError({"--workload: '" + arg + "' is neither a built-in workload (see: blackout workloads list) nor a file"});
  }
  YamlReader r("--workload");
  Workload w = ParseWorkloadFile(arg, r, current);
  r.Checkpoint();
  return w;
}

std::string ReadConfigText(const std::string& path, const std::string& what) {
  try {
    return ReadInputFile(path, kMaxConfigBytes, what);
  } catch (const InfraError& e) {
    throw ConfigError({e.what()});
  }
}

RunConfig LoadConfig(const std::string& path) { return ParseConfig(ReadConfigText(path, "config"), path); }

}  // namespace blackout
