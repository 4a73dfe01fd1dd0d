#include "kernels/kernel.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <algorithm>
#include <functional>
#include <map>
#include <regex>
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
  return "apt " + package + (version.empty() ? "" : "=" + version) +
         (archive.host() ? "" : " from " + archive.Describe());
}

std::string XenSpec::Describe() const {
  return package + (version.empty() ? "" : "=" + version) + (archive.host() ? "" : " from " + archive.Describe());
}

XenPvSupport XenPvFromConfig(const std::string& text) {
  bool xen = ConfigValue(text, "XEN") == "y";
  bool pvops = ConfigValue(text, "PARAVIRT") == "y" || ConfigValue(text, "PARAVIRT_GUEST") == "y";
  XenPvSupport s;
  if (ConfigValue(text, "XEN_PV") == "y") {
    s = {true, "CONFIG_XEN_PV=y"};
  } else if (("\n" + text).find("\n# CONFIG_XEN_PV is not set") != std::string::npos ||
             !ConfigValue(text, "XEN_PV").empty()) {
    // From 4.14 the config names XEN_PV, set or not.
    return {false, xen ? "CONFIG_XEN=y but CONFIG_XEN_PV is not set (HVM/PVH support only)"
                       : "no Xen support (CONFIG_XEN and CONFIG_XEN_PV are not set)"};
  } else if (!xen) {
    return {false, "no Xen support (CONFIG_XEN is not set)"};
  } else if (pvops) {
    s = {true, "CONFIG_XEN=y (before 4.14, where that meant PV)"};
  } else if (("\n" + text).find("\nCONFIG_XEN_COMPAT") != std::string::npos) {
    // Classic XenLinux (2.6.18-xen and its forward ports): PV without pvops,
    // its console is xvc0.
    return {true, "CONFIG_XEN=y (classic XenLinux)", "console=xvc0 xencons=xvc"};
  } else {
    return {false, "CONFIG_XEN=y without CONFIG_PARAVIRT"};
  }
  if (ConfigValue(text, "HVC_XEN") != "y") {
    return {false, s.why + ", but no Xen console driver built in (CONFIG_HVC_XEN is not y): its heartbeats "
                           "could not be heard"};
  }
  return s;
}

bool Is64BitConfig(const std::string& text) {
  return ConfigValue(text, "64BIT") == "y" || ConfigValue(text, "X86_64") == "y";
}

void ReadKernelTraits(const std::string& config_text, KernelArtifact* k) {
  XenPvSupport pv = XenPvFromConfig(config_text);
  k->xen_pv = pv.pv;
  k->xen_pv_why = pv.why;
  k->xen_console = pv.console;
  k->x86_64 = Is64BitConfig(config_text);
  k->loadable_modules = ConfigValue(config_text, "MODULES") == "y";
  if (!k->vmlinux.empty() && fs::exists(k->vmlinux)) {
    ElfNotesInfo elf = InspectElfNotes(k->vmlinux);
    k->pvh_entry = elf.pvh_entry;
    if (!elf.is_64bit) k->x86_64 = false;
  }
}

namespace {

// The package a name and version mean. A fully named build that is already
// cached needs no apt at all (and no archive to answer).
AptPackage ResolveUnlessCached(const std::string& package, const std::string& version, const AptArchive& archive,
                               const std::string& cache_dir) {
  if (version.empty() || CachedEntry(cache_dir, "apt", AptEntryKey(package, version)).empty()) {
    return AptResolve(package, version, archive, cache_dir);
  }
  AptPackage pkg;
  pkg.name = package;
  pkg.version = version;
  pkg.archive = archive;
  return pkg;
}

// blackout's guests are x86-64: a kernel package of another architecture
// (i386's 686 flavours are 32-bit kernels) is refused before it is fetched.
void CheckKernelArchitecture(const std::string& what, const std::string& arch) {
  if (arch.empty() || arch == "amd64") return;
  throw ConfigError({"kernel " + what + " is built for " + arch +
                     (arch == "i386" ? " (a 32-bit kernel)" : "") +
                     ": blackout's guests, agent and workloads are x86-64 (amd64)"});
}

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
  k.id = k.release;
  ReadKernelTraits(ReadFile(k.config), &k);
  return k;
}

// Unpacks a kernel .deb into tmp: boot/, lib/modules/, the raw vmlinux.
void UnpackKernelDeb(const std::string& deb, const std::string& tmp, const std::string& what) {
  ExtractDeb(deb, tmp, [](const std::string& p) {
    return p.rfind("boot/", 0) == 0 || p.rfind("lib/modules/", 0) == 0 || p.rfind("usr/lib/modules/", 0) == 0;
  });
  // Debian 13 ships modules under usr/lib/modules (merged /usr): one layout
  // in the cache, lib/modules, as before.
  if (fs::is_directory(tmp + "/usr/lib/modules") && !fs::exists(tmp + "/lib/modules")) {
    MakeDirs(tmp + "/lib");
    fs::rename(tmp + "/usr/lib/modules", tmp + "/lib/modules");
    fs::remove_all(tmp + "/usr");
  }
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
  CheckKernelArchitecture(control["Package"] + " " + control["Version"] + " (" + spec.deb + ")",
                          control["Architecture"]);
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
  k.id = spec.rev.empty() ? k.release : k.release + "@" + spec.rev.substr(0, 12);
  k.sha256 = sha;
  k.dir = dir;
  k.bzimage = spec.image;
  k.vmlinux = dir + "/vmlinux";
  k.modules_dir = spec.modules;
  k.config = spec.config;
  if (spec.config.empty()) {
    // Without a config, the image's own notes: a PV kernel tells Xen its entry.
    ElfNotesInfo elf = InspectElfNotes(k.vmlinux);
    k.xen_pv = elf.xen_pv;
    k.xen_pv_why = elf.xen_pv ? "Xen's ENTRY note in the image (no config given)"
                              : "no Xen ENTRY note in the image (no config given)";
    k.x86_64 = elf.is_64bit;
    k.pvh_entry = elf.pvh_entry;
  } else {
    ReadKernelTraits(ReadFile(spec.config), &k);
  }
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
  AptPackage pkg = ResolveUnlessCached(spec.package, spec.version, spec.archive, cache_dir);
  CheckKernelArchitecture(pkg.name + " " + pkg.version, pkg.architecture);
  std::string dir = CacheEntry(cache_dir, AptEntryKey(pkg.name, pkg.version), [&](const std::string& tmp) {
    auto t0 = std::chrono::steady_clock::now();
    Log("fetching kernel " + pkg.name + "=" + pkg.version + " with apt-get download");
    std::string deb = AptDownload(pkg, tmp, cache_dir);
    UnpackKernelDeb(deb, tmp, pkg.name);
    fs::remove(deb);
    WriteFileAtomic(tmp + "/sha256", pkg.sha256 + "\n");
    Log("kernel " + pkg.name + " ready in " + std::to_string(static_cast<int>(Since(t0))) + "s");
  });

  return FromUnpacked(dir, pkg.name, pkg.version);
}

XenArtifact FetchXen(const XenSpec& spec, const std::string& cache_dir) {
  AptPackage pkg = ResolveUnlessCached(spec.package, spec.version, spec.archive, cache_dir);
  std::string dir = CacheEntry(cache_dir, AptEntryKey(pkg.name, pkg.version), [&](const std::string& tmp) {
    Log("fetching hypervisor " + pkg.name + "=" + pkg.version + " with apt-get download");
    std::string deb = AptDownload(pkg, tmp, cache_dir);
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
  return XenArtifact{pkg.name, pkg.version, spec.archive, dir + "/xen.elf"};
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
                       const std::function<bool(const std::string&)>& pinned, const std::string& pin_version,
                       const AptArchive& archive, const std::string& cache_dir) {
  std::vector<std::string> args = {"apt-cache"};
  std::vector<std::string> options = AptArchiveOptions(archive, cache_dir);
  args.insert(args.end(), options.begin(), options.end());
  args.insert(args.end(), {"depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts", "--no-breaks",
                           "--no-replaces", "--no-enhances"});
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
    std::string deb = AptDownload(AptResolve(name, version, archive, cache_dir), debs, cache_dir);
    // No docs or configuration; libvirt's CPU models are data it reads.
    ExtractDeb(deb, tmp + "/root", [](const std::string& p) {
      return (p.rfind("usr/share/", 0) != 0 || p.rfind("usr/share/libvirt/cpu_map/", 0) == 0) &&
             p.rfind("etc/", 0) != 0;
    });
  }
  fs::remove_all(debs);
}

// The toolstack runs in dom0 from an initramfs built of this host's files
// and its own packages: its binaries link against this host's glibc. One
// from a newer release (xen-utils-4.20 from trixie) needs a newer glibc than
// the host's, and would fail inside dom0 at its first call: refused here.
void CheckRunsOnThisHost(const AptPackage& pkg) {
  static const std::regex libc(R"(libc6 \(>= ([^)]+)\))");
  std::smatch m;
  if (!std::regex_search(pkg.depends, m, libc)) return;
  std::string host = RunChecked({"dpkg-query", "-W", "-f=${Version}", "libc6"});
  CommandResult newer = RunCommand({"dpkg", "--compare-versions", host, "lt", m[1].str()});
  if (newer.ok()) {
    throw ConfigError({pkg.name + "=" + pkg.version + (pkg.archive.host() ? "" : " from " + pkg.archive.Describe()) +
                       " needs libc6 >= " + m[1].str() + ", and this host has " + host +
                       ": its toolstack cannot run in a domU's dom0 here (guest type xen-pv-dom0 needs only the "
                       "hypervisor)"});
  }
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
  AptPackage top = AptResolve(utils, xen.version, xen.archive, cache_dir);
  CheckRunsOnThisHost(top);
  // The same toolstack version from two archives is one build.
  std::string dir = CacheEntry(cache_dir, "xen-tools_" + top.version, [&](const std::string& tmp) {
    Log("fetching the Xen toolstack " + utils + "=" + top.version + " with apt-get download");
    UnpackPackageTree(
        tmp, {{utils, top.version}, {"xenstore-utils", top.version}},
        [](const std::string& name) { return name.rfind("libxen", 0) == 0 || name.rfind("xen", 0) == 0; },
        top.version, xen.archive, cache_dir);
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

std::string FetchPvGrub(const std::string& cache_dir, std::string* version) {
  const std::string member = "usr/lib/grub-xen/grub-x86_64-xen.bin";
  AptPackage pkg = AptResolve("grub-xen-host", "");
  std::string dir = CacheEntry(cache_dir, AptEntryKey(pkg.name, pkg.version), [&](const std::string& tmp) {
    Log("fetching pvgrub grub-xen-host=" + pkg.version + " with apt-get download");
    std::string deb = AptDownload(pkg, tmp, cache_dir);
    ExtractDeb(deb, tmp + "/root", [&](const std::string& path) { return path == member; });
    fs::remove(deb);
    if (!fs::is_regular_file(tmp + "/root/" + member)) {
      throw InfraError("unpack grub-xen-host=" + pkg.version + ": no " + member + " in it");
    }
  });
  if (version) *version = pkg.version;
  return dir + "/root/" + member;
}

XenLibvirtArtifact FetchXenLibvirt(const XenToolsArtifact& tools, const std::string& cache_dir) {
  // libvirt as Debian ships it, whatever this host has installed: the daemon,
  // its library and the libxl driver, built against the toolstack's libxl.
  AptPackage top = AptResolve("libvirt-daemon-driver-xen", "");
  std::string dir = CacheEntry(cache_dir, "xen-libvirt_" + top.version, [&](const std::string& tmp) {
    Log("fetching libvirt's Xen driver libvirt-daemon-driver-xen=" + top.version + " with apt-get download");
    UnpackPackageTree(
        tmp, {{"libvirt-daemon-driver-xen", top.version}, {"libvirt-daemon", top.version}, {"libvirt0", top.version}},
        [](const std::string& name) { return name.rfind("libxen", 0) == 0; }, tools.version, AptArchive(), cache_dir);
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
