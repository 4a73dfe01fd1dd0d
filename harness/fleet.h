// Runs spread over a pool of libvirt hosts: each host takes at most `slots`
// guests at once; a host that cannot be reached or fails a run (the
// connection lost, the domain refused) is drained for the rest of the
// invocation and the run goes to another host. That is the host's failure,
// recorded with the run as infra-error, never a kernel verdict.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "harness/config.h"
#include "harness/run.h"

namespace blackout {

struct PoolHost {
  std::string uri;
  int slots = 0;       // 0: what the host holds without starving its guests (cores / vCPUs per guest)
  std::string source;  // where it was named: "hosts.yaml:3:5" or "--host"
};

// A hosts file: `hosts: [{uri: qemu+ssh://h1/system, slots: 4}, {uri: ...}]`.
// Throws ConfigError with file:line:column for every problem.
std::vector<PoolHost> LoadHostsFile(const std::string& path);
std::vector<PoolHost> ParseHostsFile(const std::string& text, const std::string& source);

// The hosts named by --host URI (repeatable) and --hosts FILE: the file's,
// then the flags'. Throws ConfigError.
std::vector<PoolHost> HostsFromFlags(const std::vector<std::string>& uris, const std::string& hosts_file);

// The slots a host holds when its entry does not say: its CPUs over the
// guest's vCPUs (QEMU's, so a domU counts dom0's too), at least 1.
int DefaultSlots(int host_cpus, const RunConfig& config);

struct HostUsage {
  std::string uri;
  int slots = 0;
  int runs = 0;        // runs started there
  int failed = 0;      // runs the host failed (each went elsewhere)
  double busy_s = 0;   // guest-seconds of its slots in use
  std::string drained; // why it was drained, or ""
};

class HostPool {
 public:
  explicit HostPool(std::vector<PoolHost> hosts);
  // Blocks until a live host not in `avoid` has a free slot; returns its
  // index, or nullopt when no such host is left.
  std::optional<size_t> Acquire(const std::set<size_t>& avoid = {});
  void Release(size_t host, double busy_s);
  // Takes a host out of the pool: no new runs go there.
  void Drain(size_t host, const std::string& why);
  const PoolHost& host(size_t i) const { return hosts_[i]; }
  size_t size() const { return hosts_.size(); }
  int total_slots() const;
  std::vector<HostUsage> Usage() const;
  // Per host: slots, runs, runs it failed, busy share of its slots over
  // wall_s, and why it was drained.
  std::string UsageTable(double wall_s) const;

 private:
  std::vector<PoolHost> hosts_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int> in_use_;
  std::vector<HostUsage> usage_;
};

// A pool with every host's slots settled: a host whose entry gives none is
// asked for its CPUs (DefaultSlots); one that cannot be reached is drained
// from the start.
std::unique_ptr<HostPool> OpenHostPool(std::vector<PoolHost> hosts, const RunConfig& config);

// Runs `run` on a slot of the pool with config.backend/host set to the
// host's, and again on another host while hosts fail it. Each attempt is its
// own run (its own directory and record); the outcome is the last attempt's.
// With every host drained: an infra-error outcome naming why, with no run.
RunOutcome RunPlaced(HostPool& pool, const RunConfig& config,
                     const std::function<RunOutcome(const RunConfig&)>& run);

// RunOnce(request), placed on the pool when there is one (null: as the
// request's config says).
RunOutcome RunOnPool(const RunRequest& request, HostPool* pool);

// Calls run_one(0..n-1) from `workers` threads (at most n), each taking the
// next index as it finishes one; run_one returns false to stop handing out
// more (the ones running finish). Returns when all have returned.
void RunConcurrently(int n, int workers, const std::function<bool(int)>& run_one);

}  // namespace blackout
