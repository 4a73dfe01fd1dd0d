// Placement and retry over a pool of hosts, with a fake run in place of a
// libvirt host (the real path: tests/e2e/fleet_two_hosts.sh).
#include "harness/fleet.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "base/error.h"

namespace blackout {
namespace {

std::vector<std::string> HostsProblems(const std::string& text) {
  try {
    ParseHostsFile(text, "hosts.yaml");
  } catch (const ConfigError& e) {
    return e.problems();
  }
  return {};
}

TEST(HostsFile, ReadsUrisAndSlots) {
  auto hosts = ParseHostsFile(
      "hosts:\n  - {uri: qemu+ssh://h1/system, slots: 4}\n  - {uri: qemu+tcp://10.0.0.2/system, slots: 2}\n"
      "  - {uri: qemu:///system}\n  - qemu+tls://h3/system\n",
      "hosts.yaml");
  ASSERT_EQ(hosts.size(), 4u);
  EXPECT_EQ(hosts[0].uri, "qemu+ssh://h1/system");
  EXPECT_EQ(hosts[0].slots, 4);
  EXPECT_EQ(hosts[1].slots, 2);
  EXPECT_EQ(hosts[2].slots, 0);  // the host's own CPUs decide
  EXPECT_EQ(hosts[3].uri, "qemu+tls://h3/system");
  EXPECT_EQ(hosts[1].source, "hosts.yaml:3:5");
}

TEST(HostsFile, EveryProblemWithItsPlace) {
  auto p = HostsProblems(
      "hosts:\n  - {uri: qemu+ssh//h1/system, slots: 4}\n  - {uri: qemu:///system, slots: 0}\n"
      "  - {url: qemu:///system}\n  - {uri: qemu:///system}\n");
  std::string all;
  for (const std::string& x : p) all += x + "\n";
  ASSERT_EQ(p.size(), 5u) << all;
  EXPECT_EQ(p[0].rfind("hosts.yaml:2:11: 'qemu+ssh//h1/system' is not a libvirt URI", 0), 0u) << p[0];
  EXPECT_EQ(p[1].rfind("hosts.yaml:3:34: 'slots' must be", 0), 0u) << p[1];
  EXPECT_EQ(p[2].rfind("hosts.yaml:4:6: unknown key 'url' in host", 0), 0u) << p[2];
  EXPECT_EQ(p[3], "hosts.yaml:4:5: a host needs a 'uri'");
  EXPECT_EQ(p[4], "hosts.yaml:5:11: host qemu:///system is listed twice");
  EXPECT_EQ(HostsProblems("hosts: []\n").size(), 1u);
  EXPECT_EQ(HostsProblems("hosts: [\n").size(), 1u);  // not YAML
  EXPECT_EQ(HostsProblems("kernel: linux-image-amd64\n").size(), 1u);  // a run config, not a hosts file
}

TEST(HostsFile, FlagsAddToTheFile) {
  EXPECT_THROW(HostsFromFlags({"qemu+ssh//h1/system"}, ""), ConfigError);
  EXPECT_THROW(HostsFromFlags({"qemu:///system", "qemu:///system"}, ""), ConfigError);
  auto hosts = HostsFromFlags({"qemu+tcp://a/system", "qemu+tcp://b/system"}, "");
  ASSERT_EQ(hosts.size(), 2u);
  EXPECT_EQ(hosts[1].source, "--host");
  try {
    LoadHostsFile("/nonexistent/hosts.yaml");
    FAIL() << "no error for a missing hosts file";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/hosts.yaml"), std::string::npos) << e.what();
  }
}

TEST(HostPool, DefaultSlotsAreCoresOverGuestVcpus) {
  RunConfig c = DefaultConfig();
  c.guest.vcpus = 2;
  EXPECT_EQ(DefaultSlots(16, c), 8);
  EXPECT_EQ(DefaultSlots(2, c), 1);
  EXPECT_EQ(DefaultSlots(1, c), 1);  // never none
}

PoolHost Host(const std::string& uri, int slots) {
  PoolHost h;
  h.uri = uri;
  h.slots = slots;
  return h;
}

TEST(HostPool, SpreadsOverHostsWithinTheirSlots) {
  HostPool pool({Host("qemu+tcp://a/system", 2), Host("qemu+tcp://b/system", 1)});
  EXPECT_EQ(pool.total_slots(), 3);
  auto x = pool.Acquire();
  auto y = pool.Acquire();
  auto z = pool.Acquire();
  ASSERT_TRUE(x && y && z);
  std::map<size_t, int> per_host;
  for (size_t h : {*x, *y, *z}) ++per_host[h];
  EXPECT_EQ(per_host[0], 2);
  EXPECT_EQ(per_host[1], 1);
  // Full: the next caller waits until a slot is released.
  std::atomic<bool> got{false};
  std::thread waiter([&] {
    auto w = pool.Acquire();
    EXPECT_TRUE(w.has_value());
    EXPECT_EQ(*w, 1u);
    got = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(got.load());
  pool.Release(*x == 1 ? *x : *y == 1 ? *y : *z, 10);  // b's one slot
  waiter.join();
  EXPECT_TRUE(got.load());
}

RunOutcome Outcome(Verdict v, const std::string& host_failure = "") {
  RunOutcome o;
  o.verdict = v;
  o.host_failure = host_failure;
  o.run_dir = "r";
  return o;
}

TEST(HostPool, AHostThatFailsIsDrainedAndTheRunGoesElsewhere) {
  HostPool pool({Host("qemu+tcp://a/system", 1), Host("qemu+tcp://b/system", 1)});
  std::vector<std::string> tried;
  RunOutcome out = RunPlaced(pool, DefaultConfig(), [&](const RunConfig& c) {
    tried.push_back(c.host);
    EXPECT_EQ(c.backend, "libvirt");
    if (c.host == "qemu+tcp://a/system") return Outcome(Verdict::kInfraError, "libvirt: the connection was lost");
    return Outcome(Verdict::kLockup);
  });
  EXPECT_EQ(out.verdict, Verdict::kLockup);
  ASSERT_EQ(tried.size(), 2u);
  EXPECT_EQ(tried[0], "qemu+tcp://a/system");
  EXPECT_EQ(tried[1], "qemu+tcp://b/system");
  auto usage = pool.Usage();
  EXPECT_EQ(usage[0].failed, 1);
  EXPECT_NE(usage[0].drained.find("connection was lost"), std::string::npos);
  EXPECT_EQ(usage[1].drained, "");
  // A drained host takes nothing more: the next run goes to b at once.
  tried.clear();
  RunPlaced(pool, DefaultConfig(), [&](const RunConfig& c) {
    tried.push_back(c.host);
    return Outcome(Verdict::kPass);
  });
  EXPECT_EQ(tried, std::vector<std::string>{"qemu+tcp://b/system"});
  EXPECT_NE(pool.UsageTable(100).find("drained: libvirt: the connection was lost"), std::string::npos);
}

TEST(HostPool, AKernelVerdictIsNeverRetried) {
  HostPool pool({Host("qemu+tcp://a/system", 1), Host("qemu+tcp://b/system", 1)});
  int runs = 0;
  // An infra-error that is not the host's (QEMU killed on a live host) stays.
  RunOutcome out = RunPlaced(pool, DefaultConfig(), [&](const RunConfig&) {
    ++runs;
    return Outcome(Verdict::kInfraError);
  });
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(out.verdict, Verdict::kInfraError);
  EXPECT_EQ(pool.Usage()[0].drained, "");
}

TEST(HostPool, EveryHostDrainedIsAnInfraErrorWithTheReason) {
  HostPool pool({Host("qemu+tcp://a/system", 1), Host("qemu+tcp://b/system", 1)});
  int runs = 0;
  RunOutcome out = RunPlaced(pool, DefaultConfig(), [&](const RunConfig& c) {
    ++runs;
    return Outcome(Verdict::kInfraError, "libvirt: cannot connect to " + c.host);
  });
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(out.verdict, Verdict::kInfraError);
  EXPECT_EQ(out.title, "no host left to run on: libvirt: cannot connect to qemu+tcp://b/system");
  EXPECT_FALSE(pool.Acquire().has_value());  // nobody waits forever on an empty pool
}

TEST(HostPool, ManyRunsOverSlotsNeverExceedThem) {
  HostPool pool({Host("qemu+tcp://a/system", 2), Host("qemu+tcp://b/system", 3)});
  std::mutex mu;
  std::map<std::string, int> now, peak, total;
  std::vector<std::thread> workers;
  for (int w = 0; w < 8; ++w) {
    workers.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        RunPlaced(pool, DefaultConfig(), [&](const RunConfig& c) {
          {
            std::lock_guard<std::mutex> lock(mu);
            peak[c.host] = std::max(peak[c.host], ++now[c.host]);
            ++total[c.host];
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
          std::lock_guard<std::mutex> lock(mu);
          --now[c.host];
          return Outcome(Verdict::kPass);
        });
      }
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(total["qemu+tcp://a/system"] + total["qemu+tcp://b/system"], 80);
  EXPECT_LE(peak["qemu+tcp://a/system"], 2);
  EXPECT_LE(peak["qemu+tcp://b/system"], 3);
  EXPECT_GT(total["qemu+tcp://a/system"], 0);
  EXPECT_GT(total["qemu+tcp://b/system"], 0);
}

}  // namespace
}  // namespace blackout
