#include "harness/fleet.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "base/error.h"
#include "base/log.h"
#include "base/yaml_reader.h"
#include "harness/vm/libvirt_backend.h"

namespace blackout {

std::vector<PoolHost> ParseHostsFile(const std::string& text, const std::string& source) {
  YamlReader r(source);
  auto root = r.Parse(text);
  if (!root) r.Checkpoint();
  std::vector<PoolHost> hosts;
  // A file of another kind (a run config) is one problem, not one per key.
  if (!r.CheckMap(*root, "hosts file", {"hosts"}) || !r.errors().empty()) r.Checkpoint();
  YAML::Node list = (*root)["hosts"];
  if (!list.IsDefined() || !list.IsSequence() || list.size() == 0) {
    r.Error(list.IsDefined() ? list : *root, "'hosts' must be a list of {uri, slots} entries");
    r.Checkpoint();
  }
  std::set<std::string> seen;
  for (const YAML::Node& h : list) {
    if (h.IsScalar()) {  // a bare URI
      PoolHost p;
      p.uri = h.Scalar();
      p.source = source + ":" + std::to_string(h.Mark().line + 1) + ":" + std::to_string(h.Mark().column + 1);
      if (std::string problem = LibvirtUriProblem(p.uri); !problem.empty()) r.Error(h, problem);
      if (!seen.insert(p.uri).second) r.Error(h, "host " + p.uri + " is listed twice");
      hosts.push_back(p);
      continue;
    }
    if (!r.CheckMap(h, "host", {"uri", "slots"})) continue;
    PoolHost p;
    p.source = source + ":" + std::to_string(h.Mark().line + 1) + ":" + std::to_string(h.Mark().column + 1);
    if (auto uri = r.String(h, "uri")) {
      p.uri = *uri;
      if (std::string problem = LibvirtUriProblem(p.uri); !problem.empty()) r.Error(h["uri"], problem);
      if (!seen.insert(p.uri).second) r.Error(h["uri"], "host " + p.uri + " is listed twice");
    } else if (!h["uri"].IsDefined()) {
      r.Error(h, "a host needs a 'uri'");
    }
    if (auto slots = r.Int(h, "slots", 1, 1024)) p.slots = static_cast<int>(*slots);
    hosts.push_back(p);
  }
  r.Checkpoint();
  return hosts;
}

std::vector<PoolHost> LoadHostsFile(const std::string& path) {
  return ParseHostsFile(ReadConfigText(path, "hosts file"), path);
}

std::vector<PoolHost> HostsFromFlags(const std::vector<std::string>& uris, const std::string& hosts_file) {
  std::vector<PoolHost> pool;
  if (!hosts_file.empty()) pool = LoadHostsFile(hosts_file);
  std::vector<std::string> problems;
  for (const std::string& uri : uris) {
    if (std::string problem = LibvirtUriProblem(uri); !problem.empty()) {
      problems.push_back("--host: " + problem);
      continue;
    }
    bool listed = false;
    for (const PoolHost& h : pool) listed = listed || h.uri == uri;
    if (listed) {
      problems.push_back("--host " + uri + " is named twice");
      continue;
    }
    PoolHost h;
    h.uri = uri;
    h.source = "--host";
    pool.push_back(h);
  }
  if (!problems.empty()) throw ConfigError(problems);
  return pool;
}

std::unique_ptr<HostPool> OpenHostPool(std::vector<PoolHost> hosts, const RunConfig& config) {
  std::vector<std::string> down(hosts.size());
  for (size_t i = 0; i < hosts.size(); ++i) {
    if (hosts[i].slots > 0) continue;
    try {
      hosts[i].slots = DefaultSlots(LibvirtHostCpus(hosts[i].uri), config);
    } catch (const HostError& e) {
      hosts[i].slots = 1;
      down[i] = e.what();
    }
  }
  auto pool = std::make_unique<HostPool>(hosts);
  for (size_t i = 0; i < hosts.size(); ++i) {
    if (!down[i].empty()) pool->Drain(i, down[i]);
  }
  return pool;
}

int DefaultSlots(int host_cpus, const RunConfig& config) {
  int vcpus = config.guest.vcpus;
  if (RunGuestType(config).dom0_toolstack) vcpus = std::max(vcpus, config.guest.dom0_vcpus);
  return std::max(1, host_cpus / std::max(1, vcpus));
}

HostPool::HostPool(std::vector<PoolHost> hosts) : hosts_(std::move(hosts)), in_use_(hosts_.size(), 0) {
  for (const PoolHost& h : hosts_) {
    HostUsage u;
    u.uri = h.uri;
    u.slots = std::max(1, h.slots);
    usage_.push_back(u);
  }
}

std::optional<size_t> HostPool::Acquire(const std::set<size_t>& avoid) {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    bool any_live = false;
    // The least loaded live host first: runs spread over the pool.
    std::optional<size_t> best;
    for (size_t i = 0; i < hosts_.size(); ++i) {
      if (!usage_[i].drained.empty() || avoid.count(i)) continue;
      any_live = true;
      if (in_use_[i] >= usage_[i].slots) continue;
      auto load = [&](size_t k) { return static_cast<double>(in_use_[k]) / usage_[k].slots; };
      if (!best || load(i) < load(*best)) best = i;
    }
    if (best) {
      ++in_use_[*best];
      ++usage_[*best].runs;
      return best;
    }
    if (!any_live) return std::nullopt;
    cv_.wait(lock);
  }
}

void HostPool::Release(size_t host, double busy_s) {
  std::lock_guard<std::mutex> lock(mu_);
  --in_use_[host];
  usage_[host].busy_s += busy_s;
  cv_.notify_all();
}

void HostPool::Drain(size_t host, const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  ++usage_[host].failed;
  if (usage_[host].drained.empty()) {
    usage_[host].drained = why.empty() ? "failed a run" : why;
    Log("host " + hosts_[host].uri + " drained: " + usage_[host].drained);
  }
  cv_.notify_all();
}

int HostPool::total_slots() const {
  std::lock_guard<std::mutex> lock(mu_);
  int n = 0;
  for (const HostUsage& u : usage_) n += u.slots;
  return n;
}

std::vector<HostUsage> HostPool::Usage() const {
  std::lock_guard<std::mutex> lock(mu_);
  return usage_;
}

std::string HostPool::UsageTable(double wall_s) const {
  std::string out = "host                                      slots  runs  failed  busy\n";
  for (const HostUsage& u : Usage()) {
    char line[512];
    double share = wall_s > 0 ? 100.0 * u.busy_s / (u.slots * wall_s) : 0;
    std::snprintf(line, sizeof line, "%-40s  %5d  %4d  %6d  %3.0f%%%s\n", ElideMiddle(u.uri, 40).c_str(), u.slots,
                  u.runs, u.failed, share, u.drained.empty() ? "" : ("  drained: " + ElideMiddle(u.drained, 80)).c_str());
    out += line;
  }
  return out;
}

RunOutcome RunPlaced(HostPool& pool, const RunConfig& config, const std::function<RunOutcome(const RunConfig&)>& run) {
  std::set<size_t> failed;
  std::string last_failure;
  for (;;) {
    std::optional<size_t> host = pool.Acquire(failed);
    if (!host) {
      RunOutcome out;
      out.verdict = Verdict::kInfraError;
      out.title = "no host left to run on" + (last_failure.empty() ? "" : ": " + last_failure);
      return out;
    }
    RunConfig placed = config;
    placed.backend = "libvirt";
    placed.host = pool.host(*host).uri;
    auto t0 = std::chrono::steady_clock::now();
    RunOutcome out;
    try {
      out = run(placed);
    } catch (...) {
      pool.Release(*host, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      throw;
    }
    pool.Release(*host, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    if (out.host_failure.empty() || out.interrupted) return out;
    last_failure = out.host_failure;
    failed.insert(*host);
    pool.Drain(*host, out.host_failure);
    Log("run " + out.run_dir + " failed on " + placed.host + "; running it on another host");
  }
}

RunOutcome RunOnPool(const RunRequest& request, HostPool* pool) {
  if (!pool) return RunOnce(request);
  return RunPlaced(*pool, request.config, [&request](const RunConfig& placed) {
    RunRequest r = request;
    r.config = placed;
    return RunOnce(r);
  });
}

void RunConcurrently(int n, int workers, const std::function<bool(int)>& run_one) {
  std::atomic<int> next{0};
  std::atomic<bool> stop{false};
  auto work = [&] {
    while (!stop) {
      int i = next++;
      if (i >= n) return;
      if (!run_one(i)) stop = true;
    }
  };
  std::vector<std::thread> threads;
  for (int w = 0; w < std::min(n, std::max(1, workers)); ++w) threads.emplace_back(work);
  for (std::thread& t : threads) t.join();
}

}  // namespace blackout
