// `blackout hosts check`: each host of a pool reached as a run would reach
// it, with what it says of itself and what blackout keeps there.
#include <cstdio>

#include "base/error.h"
#include "base/log.h"
#include "harness/cli/command.h"
#include "harness/config.h"
#include "harness/fleet.h"
#include "harness/vm/libvirt_backend.h"
#include "results/verdict.h"

namespace blackout {
namespace {

struct HostsFlags {
  std::vector<std::string> hosts;
  std::string hosts_file;
  bool json = false;
};

std::string Mib(uint64_t bytes) { return std::to_string((bytes + (1 << 19)) >> 20) + "M"; }

int CmdHostsCheck(const HostsFlags& f) {
  std::vector<PoolHost> hosts = HostsFromFlags(f.hosts, f.hosts_file);
  if (hosts.empty()) throw ConfigError({"name the hosts: --host URI (repeatable) or --hosts FILE"});
  RunConfig config = DefaultConfig();
  nlohmann::json all = nlohmann::json::array();
  int down = 0;
  if (!f.json) std::printf("%-40s %-8s %-20s %5s %7s %5s  %s\n", "host", "status", "hostname", "cpus", "memory", "slots", "pool");
  for (const PoolHost& h : hosts) {
    nlohmann::json j = {{"uri", h.uri}, {"source", h.source}};
    try {
      LibvirtHostInfo info = DescribeLibvirtHost(h.uri);
      int slots = h.slots > 0 ? h.slots : DefaultSlots(info.cpus, config);
      j.update({{"ok", true}, {"hostname", info.hostname}, {"cpus", info.cpus}, {"memory_mib", info.memory_mib},
                {"hypervisor", info.hypervisor}, {"slots", slots}, {"slots_given", h.slots > 0},
                {"pool_files", info.pool_volumes}, {"pool_bytes", info.pool_bytes}});
      if (!f.json) {
        std::string pool = info.pool_volumes < 0 ? "none yet"
                                                 : std::to_string(info.pool_volumes) + " files, " + Mib(info.pool_bytes);
        std::printf("%-40s %-8s %-20s %5d %6lluM %4d%s  %s\n", ElideMiddle(h.uri, 40).c_str(), "ok",
                    ElideMiddle(TerminalSafe(info.hostname), 20).c_str(), info.cpus,
                    static_cast<unsigned long long>(info.memory_mib), slots, h.slots > 0 ? " " : "*", pool.c_str());
      }
    } catch (const HostError& e) {
      ++down;
      j.update({{"ok", false}, {"error", e.what()}});
      if (!f.json) std::printf("%-40s %-8s %s\n", ElideMiddle(h.uri, 40).c_str(), "down", TerminalSafe(e.what()).c_str());
    }
    all.push_back(j);
  }
  if (f.json) {
    std::printf("%s\n", all.dump(2).c_str());
  } else {
    std::printf("* slots from the host's CPUs over the default guest's %d vCPUs\n", config.guest.vcpus);
  }
  return down > 0 ? VerdictExitCode(Verdict::kInfraError) : 0;
}

}  // namespace

void AddHostsCommands(CLI::App& app, CommandTable& table) {
  auto f = std::make_shared<HostsFlags>();
  CLI::App* hosts = app.add_subcommand("hosts", "the libvirt hosts runs can be placed on");
  hosts->require_subcommand(1);
  CLI::App* check = hosts->add_subcommand(
      "check", "reach each host as a run would: its name, CPUs, memory, slots and blackout's pool there (exit 5 if "
               "any is down)");
  check->add_option("--host", f->hosts, "a libvirt host URI (repeatable)")->type_size(1)->allow_extra_args(false);
  check->add_option("--hosts", f->hosts_file, "a hosts file (hosts: [{uri: URI, slots: N}, ...])");
  check->add_flag("--json", f->json, "JSON instead of a table");
  table.Add(check, [f] { return CmdHostsCheck(*f); });
}

}  // namespace blackout
