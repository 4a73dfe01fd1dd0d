#include "kernels/kernel.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "base/error.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/subprocess.h"
#include "kernels/apt.h"
#include "kernels/bzimage.h"
#include "kernels/cache.h"
#include "kernels/deb.h"
#include "kernels/git_build.h"
#include "kernels/kconfig.h"
#include "kernels/builtin_fragments.h"

namespace blackout {
namespace fs = std::filesystem;
namespace {

std::string FindOne(const std::string& dir, const std::string& prefix) {
  if (!fs::is_directory(dir)) return "";
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().rfind(prefix, 0) == 0) return e.path().string();
  }
  return "";
}

double Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

std::string ConfigValue(const std::string& text, const std::string& name) {
  std::string key = "\nCONFIG_" + name + "=";
  size_t at = ("\n" + text).find(key);
  if (at == std::string::npos) return "";
  size_t start = at + key.size() - 1;
  size_t end = text.find('\n', start);
  return text.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

KernelSpec GitKernelSpec(const std::string& repo, const std::string& rev) {
  KernelSpec spec;
  spec.source = "git";
  spec.repo = repo;
  spec.rev = rev;
  spec.fragments = {"xen-pv-guest"};
  return spec;
}

std::string KernelSpec::Describe() const {
  if (source == "git") return "git " + repo + " " + rev;
  if (source == "deb") return "deb " + deb;
  if (source == "path") return "path " + image;
  return "apt " + package + (version.empty() ? "" : "=" + version);
}

namespace {

// Fills in an artifact from an unpacked package in dir (boot/, lib/modules/).
KernelArtifact FromUnpacked(const std::string& dir, const std::string& package, const std::string& version) {
  KernelArtifact k;
  k.package = package;
  k.version = version;
  k.dir = dir;
  k.bzimage = FindOne(dir + "/boot", "vmlinuz-");
  k.config = FindOne(dir + "/boot", "config-");
  k.vmlinux = dir + "/vmlinux";
  k.release = fs::path(k.bzimage).filename().string().substr(std::string("vmlinuz-").size());
  k.modules_dir = dir + "/lib/modules/" + k.release;
  std::string sha = ReadFile(dir + "/sha256");
  k.sha256 = sha.substr(0, sha.find('\n'));
  if (k.config.empty()) throw InfraError("kernel " + package + ": package has no boot/config-*");
  k.xen_pv = ConfigValue(ReadFile(k.config), "XEN_PV") == "y";
  return k;
}

// Unpacks a kernel .deb into tmp: boot/, lib/modules/, the raw vmlinux.
void UnpackKernelDeb(const std::string& deb, const std::string& tmp, const std::string& what) {
  ExtractDeb(deb, tmp, [](const std::string& p) {
    return p.rfind("boot/", 0) == 0 || p.rfind("lib/modules/", 0) == 0;
  });
  std::string bz = FindOne(tmp + "/boot", "vmlinuz-");
  if (bz.empty()) throw InfraError("unpack " + what + ": no boot/vmlinuz-* in the package");
  ExtractVmlinux(bz, tmp + "/vmlinux");
  // Packages ship modules without modules.dep (depmod runs at install time):
  // make it while the entry is still private, so its manifest covers it.
  std::string release = fs::path(bz).filename().string().substr(std::string("vmlinuz-").size());
  if (fs::is_directory(tmp + "/lib/modules/" + release)) {
    CommandOptions opts;
    opts.timeout_s = 300;
    RunChecked({"depmod", "-b", tmp, release}, opts);
  }
}

KernelArtifact FetchDebKernel(const KernelSpec& spec, const std::string& cache_dir) {
  if (!fs::exists(spec.deb)) throw ConfigError({"kernel deb " + spec.deb + ": no such file"});
  if (!fs::is_regular_file(spec.deb)) throw ConfigError({"kernel deb " + spec.deb + ": not a regular file"});
  std::string got = Sha256File(spec.deb);
  if (got != spec.sha256) {
    throw ConfigError({"kernel deb " + spec.deb + ": sha256 " + got + " differs from the required " + spec.sha256 +
                       "; refusing to use it"});
  }
  std::map<std::string, std::string> control = ReadDebControl(spec.deb);
  std::string dir = CacheEntry(cache_dir, spec.sha256, [&](const std::string& tmp) {
    Log("unpacking kernel " + spec.deb);
    UnpackKernelDeb(spec.deb, tmp, spec.deb);
    WriteFileAtomic(tmp + "/sha256", spec.sha256 + "\n");
  }, "deb");
  return FromUnpacked(dir, control["Package"], control["Version"]);
}

KernelArtifact FetchPathKernel(const KernelSpec& spec, const std::string& cache_dir) {
  if (!fs::exists(spec.image)) throw ConfigError({"kernel image " + spec.image + ": no such file"});
  if (!fs::is_regular_file(spec.image)) throw ConfigError({"kernel image " + spec.image + ": not a regular file"});
  BzImageInfo info = InspectBzImage(spec.image);
  std::string sha = Sha256File(spec.image);
  std::string dir = CacheEntry(cache_dir, sha, [&](const std::string& tmp) {
    ExtractVmlinux(spec.image, tmp + "/vmlinux");
    WriteFileAtomic(tmp + "/sha256", sha + "\n");
  }, "path");
  KernelArtifact k;
  k.package = spec.image;
  k.release = info.version.substr(0, info.version.find(' '));
  k.version = k.release;
  k.sha256 = sha;
  k.dir = dir;
  k.bzimage = spec.image;
  k.vmlinux = dir + "/vmlinux";
  k.modules_dir = spec.modules;
  k.config = spec.config;
  // Without a config the image's Xen PV support cannot be read; Xen says so at boot.
  k.xen_pv = spec.config.empty() || ConfigValue(ReadFile(spec.config), "XEN_PV") == "y";
  return k;
}

}  // namespace

std::vector<std::string> BuiltinFragmentNames() {
  std::vector<std::string> out;
  for (const BuiltinFile& f : kBuiltinFragmentFiles) {
    std::string n = f.name;
    out.push_back(n.substr(0, n.size() - 7));
  }
  return out;
}

KernelArtifact FetchKernel(const KernelSpec& spec, const std::string& cache_dir) {
  if (spec.source == "git") return FetchGitKernel(spec, cache_dir);
  if (spec.source == "deb") return FetchDebKernel(spec, cache_dir);
  if (spec.source == "path") return FetchPathKernel(spec, cache_dir);
  AptPackage pkg;
  // A fully named build that is already cached needs no apt at all.
  if (!spec.version.empty() && !CachedEntry(cache_dir, "apt", AptEntryKey(spec.package, spec.version)).empty()) {
    pkg.name = spec.package;
    pkg.version = spec.version;
  } else {
    pkg = AptResolve(spec.package, spec.version);
  }
  std::string dir = CacheEntry(cache_dir, AptEntryKey(pkg.name, pkg.version), [&](const std::string& tmp) {
    auto t0 = std::chrono::steady_clock::now();
    Log("fetching kernel " + pkg.name + "=" + pkg.version + " with apt-get download");
    std::string deb = AptDownload(pkg, tmp);
    UnpackKernelDeb(deb, tmp, pkg.name);
    fs::remove(deb);
    WriteFileAtomic(tmp + "/sha256", pkg.sha256 + "\n");
    Log("kernel " + pkg.name + " ready in " + std::to_string(static_cast<int>(Since(t0))) + "s");
  });

  return FromUnpacked(dir, pkg.name, pkg.version);
}

XenArtifact FetchXen(const std::string& package, const std::string& version,
                     const std::string& cache_dir) {
  AptPackage pkg = AptResolve(package, version);
  std::string dir = CacheEntry(cache_dir, AptEntryKey(pkg.name, pkg.version), [&](const std::string& tmp) {
    Log("fetching hypervisor " + pkg.name + "=" + pkg.version + " with apt-get download");
    std::string deb = AptDownload(pkg, tmp);
    ExtractDeb(deb, tmp, [](const std::string& p) { return p.rfind("boot/", 0) == 0; });
    fs::remove(deb);
    std::string gz;
    for (const auto& e : fs::directory_iterator(tmp + "/boot")) {
      std::string n = e.path().filename().string();
      if (n.rfind("xen-", 0) == 0 && e.path().extension() == ".gz") gz = e.path().string();
    }
    if (gz.empty()) throw InfraError("unpack " + pkg.name + ": no boot/xen-*.gz in the package");
    GunzipFile(gz, tmp + "/xen.elf");
  });
  return XenArtifact{pkg.name, pkg.version, dir + "/xen.elf"};
}

namespace {

// The packages this host has installed, by name.
std::set<std::string> InstalledPackages() {
  std::set<std::string> out;
  std::istringstream lines(RunChecked({"dpkg-query", "-W", "-f=${Package} ${db:Status-Abbrev}\n"}));
  for (std::string name, status; lines >> name >> status;) {
    if (status.size() >= 2 && status[1] == 'i') out.insert(name.substr(0, name.find(':')));
  }
  return out;
}

// Unpacks `tops` (name -> version, "" for apt's candidate) and the packages
// they depend on that this host lacks into tmp/root, for copying binaries
// and their libraries into a guest. `pinned` picks the dependencies that
// must come at `pin_version` (Xen's own libraries at the toolstack's).
void UnpackPackageTree(const std::string& tmp, const std::map<std::string, std::string>& tops,
                       const std::function<bool(const std::string&)>& pinned, const std::string& pin_version) {
  std::vector<std::string> args = {"apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                                   "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"};
  for (const auto& [name, version] : tops) args.push_back(version.empty() ? name : name + "=" + version);
  std::string listing = RunChecked(args);
  std::set<std::string> installed = InstalledPackages();
  std::map<std::string, std::string> wanted = tops;
  std::istringstream lines(listing);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == ' ' || line[0] == '<') continue;  // fields, virtual packages
    std::string name = line.substr(0, line.find(':'));
    if (!installed.count(name) && !wanted.count(name)) wanted[name] = pinned(name) ? pin_version : "";
  }
  std::string debs = tmp + "/debs";
  MakeDirs(debs);
  for (const auto& [name, version] : wanted) {
    std::string deb = AptDownload(AptResolve(name, version), debs);
    // No docs or configuration; libvirt's CPU models are data it reads.
    ExtractDeb(deb, tmp + "/root", [](const std::string& p) {
      return (p.rfind("usr/share/", 0) != 0 || p.rfind("usr/share/libvirt/cpu_map/", 0) == 0) &&
             p.rfind("etc/", 0) != 0;
    });
  }
  fs::remove_all(debs);
}

// The tree's library directories, the host's layout.
std::vector<std::string> TreeLibDirs(const std::string& root, const std::vector<std::string>& extra) {
  std::vector<std::string> out;
  std::vector<std::string> dirs = {"/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu"};
  dirs.insert(dirs.end(), extra.begin(), extra.end());
  for (const std::string& lib : dirs) {
    if (fs::is_directory(root + lib)) out.push_back(root + lib);
  }
  return out;
}

}  // namespace

XenToolsArtifact FetchXenTools(const XenArtifact& xen, const std::string& cache_dir) {
  // xen-hypervisor-4.17-amd64 -> series 4.17: the toolstack must match it.
  std::string series = xen.package.substr(std::string("xen-hypervisor-").size());
  series = series.substr(0, series.find('-'));
  std::string utils = "xen-utils-" + series;
  AptPackage top = AptResolve(utils, xen.version);
  std::string dir = CacheEntry(cache_dir, "xen-tools_" + top.version, [&](const std::string& tmp) {
    Log("fetching the Xen toolstack " + utils + "=" + top.version + " with apt-get download");
    UnpackPackageTree(
        tmp, {{utils, top.version}, {"xenstore-utils", top.version}},
        [](const std::string& name) { return name.rfind("libxen", 0) == 0 || name.rfind("xen", 0) == 0; },
        top.version);
    if (!fs::exists(tmp + "/root/usr/lib/xen-" + series + "/bin/xl")) {
      throw InfraError("unpack " + utils + "=" + top.version + ": no usr/lib/xen-" + series + "/bin/xl in it");
    }
  });
  XenToolsArtifact a;
  a.version = top.version;
  a.root = dir + "/root";
  a.bin_dir = a.root + "/usr/lib/xen-" + series + "/bin";
  a.lib_dirs = TreeLibDirs(a.root, {"/usr/lib/xen-" + series + "/lib/x86_64-linux-gnu"});
  return a;
}

XenLibvirtArtifact FetchXenLibvirt(const XenToolsArtifact& tools, const std::string& cache_dir) {
  // libvirt as Debian ships it, whatever this host has installed: the daemon,
  // its library and the libxl driver, built against the toolstack's libxl.
  AptPackage top = AptResolve("libvirt-daemon-driver-xen", "");
  std::string dir = CacheEntry(cache_dir, "xen-libvirt_" + top.version, [&](const std::string& tmp) {
    Log("fetching libvirt's Xen driver libvirt-daemon-driver-xen=" + top.version + " with apt-get download");
    UnpackPackageTree(
        tmp, {{"libvirt-daemon-driver-xen", top.version}, {"libvirt-daemon", top.version}, {"libvirt0", top.version}},
        [](const std::string& name) { return name.rfind("libxen", 0) == 0; }, tools.version);
    if (!fs::exists(tmp + "/root/usr/sbin/libvirtd") ||
        !fs::exists(tmp + "/root/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_libxl.so")) {
      throw InfraError("unpack libvirt-daemon-driver-xen=" + top.version + ": no libvirtd or libxl driver in it");
    }
  });
  XenLibvirtArtifact a;
  a.version = top.version;
  a.root = dir + "/root";
  a.lib_dirs = TreeLibDirs(a.root, {});
  return a;
}

}  // namespace blackout
