// `blackout kernels` (list, show, fetch, gc) and `blackout workloads` (list,
// show): what blackout can run, and its kernel cache.
#include <cstdio>

#include "base/error.h"
#include "base/fsutil.h"
#include "base/units.h"
#include "harness/cli/command.h"
#include "kernels/cache.h"
#include "kernels/catalogue.h"
#include "kernels/kernel.h"
#include "workloads/workload.h"

namespace blackout {
namespace {

std::string Size(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fM", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

// Whether a catalogue kernel is in the cache, without fetching it.
std::string CachedKernel(const KernelSpec& spec) {
  if (spec.source != "apt" || spec.version.empty()) return "";
  return CachedEntry(CacheDir(), "apt", AptEntryKey(spec.package, spec.version));
}

int CmdKernelsList() {
  const Catalogue& cat = BuiltinCatalogue();
  for (const CatalogueKernel& k : cat.kernels) {
    std::printf("%-20s %-48s %s\n", k.name.c_str(), k.spec.Describe().c_str(),
                CachedKernel(k.spec).empty() ? "" : "cached");
  }
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
              k.sha256.c_str(), k.xen_pv ? "yes (CONFIG_XEN_PV=y)" : "NO: cannot boot as a Xen PV guest",
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
