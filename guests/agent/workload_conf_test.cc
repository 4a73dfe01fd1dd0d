// The host writes workload.conf (workloads/workload.cc AgentConf, boot.cc's
// module lines); the agent reads it (workload_conf.cc). This reads back what
// the host writes for every built-in workload and for one that uses every
// directive, so the two sides of the grammar in base/protocol.h cannot drift.
#include "guests/agent/workload_conf.h"

#include <gtest/gtest.h>

#include <cmath>

#include "base/protocol.h"
#include "base/yaml_reader.h"
#include "workloads/workload.h"

namespace blackout {
namespace {

// The stressor kinds the agent runs (its StressorTable's keys).
const std::set<std::string> kAgentKinds = {"pingpong", "migrate", "forkexit", "yield", "spinsleep",
                                           "futex",    "io",      "stress-ng", "fio"};

void ExpectReadsBack(const Workload& w, DiskBus bus) {
  SCOPED_TRACE(w.name);
  std::string text = AgentConf(w, bus);
  agent::Workload got;
  std::string error;
  ASSERT_TRUE(agent::ParseWorkloadConf(text, kAgentKinds, 8, &got, &error)) << error << "\n" << text;
  EXPECT_NEAR(got.duration_s, w.duration_s, 1e-3);
  EXPECT_NEAR(got.report_s, std::max(1.0, w.report_s), 1e-3);
  ASSERT_EQ(got.phases.size(), w.phases.size());
  for (size_t i = 0; i < w.phases.size(); ++i) {
    EXPECT_EQ(got.phases[i].name, w.phases[i].name);
    EXPECT_NEAR(got.phases[i].duration_s, w.phases[i].duration_s, 1e-3);
    EXPECT_NEAR(got.phases[i].intensity, w.phases[i].intensity, 1e-3);
    EXPECT_EQ(got.phases[i].only, w.phases[i].only);
  }
  ASSERT_EQ(got.disks.size(), w.disks.size());
  for (size_t i = 0; i < w.disks.size(); ++i) {
    EXPECT_EQ(got.disks[i].index, static_cast<int>(i));
    EXPECT_EQ(got.disks[i].fs, w.disks[i].fs);
    EXPECT_EQ(got.disks[i].device.rfind(bus == DiskBus::kXenBlkfront ? "/dev/xvd" : "/dev/vd", 0), 0u);
  }
  ASSERT_EQ(got.stressors.size(), w.stressors.size());
  for (size_t i = 0; i < w.stressors.size(); ++i) {
    const StressorSpec& want = w.stressors[i];
    const agent::Stressor& s = *got.stressors[i];
    EXPECT_EQ(s.kind, want.kind);
    for (const auto& [k, v] : want.params) EXPECT_EQ(s.fields.at(k), v) << k;
    if (IsToolKind(want.kind)) {
      ASSERT_FALSE(s.argv.empty());
      EXPECT_EQ(s.argv[0], ToolHostPath(want.kind));
      for (size_t a = 0; a < want.args.size(); ++a) EXPECT_EQ(s.argv[a + 1], want.args[a]);
    } else {
      EXPECT_TRUE(s.argv.empty());
      int threads = want.params.count("threads") ? std::stoi(want.params.at("threads")) : 1;
      EXPECT_EQ(s.nthreads, std::max(1, threads));
    }
  }
  ASSERT_EQ(got.faults.size(), w.faults.size());
  for (size_t i = 0; i < w.faults.size(); ++i) {
    EXPECT_EQ(got.faults[i].kind, w.faults[i].kind);
    EXPECT_NEAR(std::stod(got.faults[i].fields.at("at")), w.faults[i].at_s, 1e-3);
    double mean = got.faults[i].fields.count("delay_mean") ? std::stod(got.faults[i].fields.at("delay_mean")) : 0;
    EXPECT_NEAR(mean, w.faults[i].delay_mean_s, 1e-3);
  }
}

TEST(WorkloadConf, EveryBuiltinWorkloadReadsBack) {
  for (const Workload& w : BuiltinWorkloads()) {
    ExpectReadsBack(w, DiskBus::kVirtio);
    ExpectReadsBack(w, DiskBus::kXenBlkfront);
  }
}

TEST(WorkloadConf, EveryDirectiveReadsBack) {
  YamlReader r("test");
  auto node = r.Parse(R"(name: all
duration: 30s
report: 5s
phases:
  - {name: ramp, duration: 5s, intensity: 0.5}
  - {name: burst, duration: 2s, only: [io, migrate]}
disks:
  - {size: 64M, fs: ext4}
  - {size: 64M, format: qcow2, fs: none}
stressors:
  - {kind: io, threads: 2, block_size: 4096, disk: 1, cpus: [0, 1]}
  - {kind: migrate, threads: 3}
  - {kind: stress-ng, args: --switch 2 --iomix 1}
faults:
  - {kind: freeze, vcpu: 1, at: 10s, length: 3s}
  - {kind: kmsg, at: 2s, text: hello world}
  - {kind: panic, at: 20s, probability: 0.5, delay_mean: 30s}
)");
  ASSERT_TRUE(node);
  Workload w = ParseWorkload(*node, r, nullptr);
  r.Checkpoint();
  ExpectReadsBack(w, DiskBus::kVirtio);
}

TEST(WorkloadConf, ModuleLinesKeepTheirParameters) {
  agent::Workload got;
  std::string error;
  ASSERT_TRUE(agent::ParseWorkloadConf(std::string(protocol::conf::kModule) + " /lib/modules/x/brd.ko rd_size=4096 rd_nr=1\n",
                                       kAgentKinds, 2, &got, &error));
  ASSERT_EQ(got.modules.size(), 1u);
  EXPECT_EQ(got.modules[0].path, "/lib/modules/x/brd.ko");
  EXPECT_EQ(got.modules[0].params, "rd_size=4096 rd_nr=1");
}

TEST(WorkloadConf, TheAgentRefusesWhatItCannotRun) {
  agent::Workload got;
  std::string error;
  EXPECT_FALSE(agent::ParseWorkloadConf("stressor teleport threads=1\n", kAgentKinds, 2, &got, &error));
  EXPECT_EQ(error, "unknown-stressor:teleport line=1");
  agent::Workload got2;
  EXPECT_FALSE(agent::ParseWorkloadConf("stressor io cpus=0,2\n", kAgentKinds, 2, &got2, &error));
  EXPECT_NE(error.find("stressor-cpu-out-of-range"), std::string::npos) << error;
  agent::Workload got3;
  EXPECT_FALSE(agent::ParseWorkloadConf("duration 10\nlaunch missiles\n", kAgentKinds, 2, &got3, &error));
  EXPECT_EQ(error, "bad-directive line=2");
}

}  // namespace
}  // namespace blackout
