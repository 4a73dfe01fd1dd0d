// `blackout kernels` (list, show, fetch, gc) and `blackout workloads` (list,
// show): what blackout can run, and its kernel cache.
#include <cstdio>
#include <filesystem>
#include <map>

#include "base/error.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/units.h"
#include "harness/cli/command.h"
#include "kernels/cache.h"
#include "kernels/catalogue.h"
#include "kernels/kernel.h"
#include "workloads/workload.h"

namespace blackout {
namespace {
namespace fs = std::filesystem;

std::string Size(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fM", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

// Whether a fully named package (a catalogue kernel or Xen) is in the cache,
// without fetching it.
bool CachedPackage(const std::string& package, const std::string& version) {
  return !version.empty() && !CachedEntry(CacheDir(), "apt", AptEntryKey(package, version)).empty();
}

// Whether this machine can fetch a package: "reachable", or why not (the
// archive does not answer, its signature fails, its index lacks the build).
std::string Reachability(const std::string& package, const std::string& version, const AptArchive& archive) {
  static std::map<std::string, std::string> problems;  // by archive: each is asked once
  if (!problems.count(archive.Key())) problems[archive.Key()] = AptArchiveProblem(archive, CacheDir());
  const std::string& problem = problems[archive.Key()];
  if (!problem.empty()) return "NOT REACHABLE: " + problem;
  try {
    AptPackage p = AptResolve(package, version, archive, CacheDir());
    return "reachable (" + p.name + "=" + p.version + ")";
  } catch (const ConfigError& e) {
    std::string w = e.problems().empty() ? e.what() : e.problems().front();
    return "NOT REACHABLE: " + w.substr(0, w.find('\n'));
  } catch (const InfraError& e) {
    std::string w = e.what();
    return "NOT REACHABLE: " + w.substr(0, w.find('\n'));
  }
}

std::string KernelStatus(const KernelSpec& spec) {
  if (spec.source == "apt" && CachedPackage(spec.package, spec.version)) return "cached";
  if (spec.source == "deb") return fs::is_regular_file(spec.deb) ? "local .deb" : "NOT REACHABLE: no file " + spec.deb;
  if (spec.source == "path") {
    return fs::is_regular_file(spec.image) ? "local image" : "NOT REACHABLE: no file " + spec.image;
  }
  return Reachability(spec.package, spec.version, spec.archive);
}

std::string Era(const std::string& era, const std::string& version) {
  std::string linux = KernelEra(version);
  if (era.empty()) return linux.empty() ? "-" : linux;
  return linux.empty() ? era : era + ", " + linux;
}

// Each kernel and Xen with its era, where it comes from and whether this
// machine reaches it (an archive's index is fetched at most once a day; one
// that does not answer is said, not fatal).
int CmdKernelsList() {
  const Catalogue& cat = BuiltinCatalogue();
  std::printf("%-24s %-34s %s\n%-24s %s\n", "KERNEL", "ERA", "SOURCE", "", "STATUS");
  for (const CatalogueKernel& k : cat.kernels) {
    Status("checking " + k.name);
    std::string status = KernelStatus(k.spec);
    ClearStatus();
    std::printf("%-24s %-34s %s\n%-24s %s\n", k.name.c_str(), Era(k.era, k.spec.version).c_str(),
                k.spec.Describe().c_str(), "", status.c_str());
  }
  std::printf("\n%-24s %-34s %s\n", "XEN", "ERA", "SOURCE / STATUS");
  for (const CatalogueXen& x : cat.xens) {
    Status("checking " + x.name);
    std::string status = CachedPackage(x.spec.package, x.spec.version)
                             ? "cached"
                             : Reachability(x.spec.package, x.spec.version, x.spec.archive);
    ClearStatus();
    std::printf("%-24s %-34s %s\n%-24s %s\n", x.name.c_str(), (x.era.empty() ? "-" : x.era).c_str(),
                x.spec.Describe().c_str(), "", status.c_str());
  }
  std::printf("\n");
  for (const CatalogueSeries& s : cat.series) {
    std::printf("series %s: %zu kernels, %s .. %s\n", s.name.c_str(), s.kernels.size(), s.kernels.front().c_str(),
                s.kernels.back().c_str());
  }
  std::string fragments;
  for (const std::string& f : BuiltinFragmentNames()) fragments += (fragments.empty() ? "" : ", ") + f;
  std::printf("config fragments for git kernels (kernels/configs): %s\n", fragments.c_str());
  return 0;
}

// Fetches (if needed) and describes a kernel.
int CmdKernelsShow(const std::string& name) {
  KernelSpec spec = KernelSpecByName(name);
  KernelArtifact k = FetchKernel(spec, CacheDir());
  uint64_t bytes = 0;
  for (const CacheEntryInfo& e : ListCache(CacheDir())) {
    if (e.path == k.dir) bytes = e.bytes;
  }
  std::printf("name:     %s\nsource:   %s\npackage:  %s\nversion:  %s\nrelease:  %s\nsha256:   %s\n"
              "xen pv:   %s\nsize:     %s unpacked\ncached:   %s\n",
              name.c_str(), spec.Describe().c_str(), k.package.c_str(), k.version.c_str(), k.release.c_str(),
              k.sha256.c_str(), ((k.xen_pv ? "yes (" : "NO: cannot boot as a Xen PV guest (") + k.xen_pv_why + ")").c_str(),
              Size(bytes).c_str(), k.dir.c_str());
  return 0;
}

int CmdKernelsGc(const std::string& max) {
  auto bytes = ParseSize(max);
  if (!bytes) throw ConfigError({"--max-size: '" + max + "' is not a size like 10G"});
  auto removed = TrimCache(CacheDir(), *bytes);
  for (const CacheEntryInfo& e : removed) std::printf("removed %s (%s)\n", e.path.c_str(), Size(e.bytes).c_str());
  uint64_t left = 0;
  for (const CacheEntryInfo& e : ListCache(CacheDir(), true)) left += e.bytes;
  std::printf("cache %s: %s in use\n", CacheDir().c_str(), Size(left).c_str());
  return 0;
}

// Every cache entry hashed against its manifest; damaged ones are removed
// (the next use fills them again). Exit 0 when all were intact.
int CmdKernelsVerify() {
  size_t entries = ListCache(CacheDir()).size();
  auto problems = VerifyCache(CacheDir());
  for (const auto& [entry, problem] : problems) std::printf("%s: %s\n", entry.c_str(), problem.c_str());
  std::printf("cache %s: %zu entries checked, %zu damaged or in use\n", CacheDir().c_str(), entries,
              problems.size());
  return problems.empty() ? 0 : 1;
}

int CmdWorkloads() {
  for (const Workload& w : BuiltinWorkloads()) {
    std::printf("%-18s %6s  %s\n", w.name.c_str(), FormatSeconds(w.duration_s).c_str(), w.description.c_str());
  }
  return 0;
}

// The definition itself: a starting point to copy into a run config.
int CmdWorkloadShow(const std::string& name) {
  std::string yaml = BuiltinWorkloadYaml(name);
  if (yaml.empty()) throw ConfigError({"unknown workload '" + name + "' (see: blackout workloads list)"});
  std::fputs(yaml.c_str(), stdout);
  return 0;
}

}  // namespace

void AddCatalogCommands(CLI::App& app, CommandTable& table) {
  auto wname = std::make_shared<std::string>();
  CLI::App* workloads = app.add_subcommand("workloads", "the built-in workloads (alone: the same as list)");
  table.Add(workloads, CmdWorkloads);
  table.Add(workloads->add_subcommand("list", "each built-in workload with its duration and a line on what it does"),
            CmdWorkloads);
  CLI::App* wshow = workloads->add_subcommand("show", "print a built-in workload's YAML definition");
  wshow->add_option("name", *wname, "workload name")->required();
  table.Add(wshow, [wname] { return CmdWorkloadShow(*wname); });

  auto kname = std::make_shared<std::string>();
  auto kmax = std::make_shared<std::string>("20G");
  CLI::App* kernels = app.add_subcommand("kernels", "the kernel catalogue and cache");
  kernels->require_subcommand(1);
  table.Add(kernels->add_subcommand("list", "catalogue kernels and series, and which are cached"), CmdKernelsList);
  CLI::App* kfetch = kernels->add_subcommand("fetch", "fetch and unpack a kernel into the cache");
  kfetch->add_option("name", *kname, "catalogue name or package[=version]")->required();
  table.Add(kfetch, [kname] { return CmdKernelsShow(*kname); });
  CLI::App* kshow = kernels->add_subcommand("show", "version, source, Xen PV support, size (fetches if needed)");
  kshow->add_option("name", *kname, "catalogue name or package[=version]")->required();
  table.Add(kshow, [kname] { return CmdKernelsShow(*kname); });
  CLI::App* kgc = kernels->add_subcommand("gc", "trim the cache to a size, least recently used first");
  kgc->add_option("--max-size", *kmax, "keep at most this much")->capture_default_str();
  table.Add(kgc, [kmax] { return CmdKernelsGc(*kmax); });
  table.Add(kernels->add_subcommand("verify", "hash every cache entry against its manifest; remove damaged ones"),
            CmdKernelsVerify);
}

}  // namespace blackout
