#include "harness/config.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "base/error.h"
#include "base/fsutil.h"

namespace blackout {
namespace {

std::vector<std::string> Problems(const std::string& text) {
  try {
    ParseConfig(text, "run.yaml");
  } catch (const ConfigError& e) {
    return e.problems();
  }
  return {};
}

TEST(Config, DefaultIsTheEmbeddedJob) {
  RunConfig c = DefaultConfig();
  EXPECT_EQ(c.kernel.package, "linux-image-amd64");
  EXPECT_EQ(c.xen.package, "xen-hypervisor-4.17-amd64");
  EXPECT_TRUE(c.xen.archive.host());
  EXPECT_EQ(c.guest.type, "xen-pv-dom0");
  EXPECT_EQ(c.guest.vcpus, 2);
  EXPECT_EQ(c.workload.name, "pv-spinlock-race");
  EXPECT_EQ(c.workload.duration_s, 60);
}

TEST(Config, ReadsEverySection) {
  RunConfig c = ParseConfig(R"(
kernel:
  package: linux-image-6.1.0-50-amd64
  version: 6.1.153-1
guest:
  vcpus: 4
  memory: 1G
  xen_cmdline: sched=credit2
  kernel_cmdline: mitigations=off
workload:
  name: smoke
  duration: 30s
  faults:
    - kind: freeze
      vcpu: 3
      at: 5s
      length: 4s
thresholds:
  stall: 1500ms
  lockup: 20s
  boot: 2m
  heartbeat: 100ms
accel: tcg
inject:
  - pause: 8s
    at: 10s
)",
                            "run.yaml");
  EXPECT_EQ(c.kernel.package, "linux-image-6.1.0-50-amd64");
  EXPECT_EQ(c.kernel.version, "6.1.153-1");
  EXPECT_EQ(c.guest.vcpus, 4);
  EXPECT_EQ(c.guest.memory, 1ull << 30);
  EXPECT_EQ(c.workload.name, "smoke");
  EXPECT_EQ(c.workload.duration_s, 30);
  EXPECT_EQ(c.workload.stressors.size(), FindWorkload("smoke")->stressors.size());
  ASSERT_EQ(c.workload.faults.size(), 1u);
  EXPECT_EQ(c.thresholds.stall_s, 1.5);
  EXPECT_EQ(c.thresholds.heartbeat_ms, 100);
  EXPECT_EQ(c.accel, "tcg");
  ASSERT_EQ(c.inject.size(), 1u);
  EXPECT_EQ(c.inject[0].length_s, 8);
}

TEST(Config, KernelAndXenFromTheirArchives) {
  RunConfig c = ParseConfig(R"(
kernel: {package: linux-image-5.10.0-32-amd64, version: 5.10.223-1, suite: bullseye}
xen: xen-4.20
)",
                            "a.yaml");
  EXPECT_EQ(c.kernel.archive.suite, "bullseye");
  EXPECT_TRUE(c.kernel.archive.url.empty());
  EXPECT_EQ(c.kernel.Describe(), "apt linux-image-5.10.0-32-amd64=5.10.223-1 from bullseye main (the host's Debian mirror)");
  EXPECT_EQ(c.xen.package, "xen-hypervisor-4.20-amd64");
  EXPECT_EQ(c.xen.archive.suite, "trixie");
  c = ParseConfig(R"(
xen: {package: xen-hypervisor-4.14-amd64, archive: "https://archive.example/debian", suite: bullseye,
      components: [main], keyring: /k.gpg}
)",
                  "b.yaml");
  EXPECT_EQ(c.xen.archive.url, "https://archive.example/debian");
  EXPECT_EQ(c.xen.archive.keyring, "/k.gpg");
  try {
    ParseConfig("kernel: {git: /src/linux, suite: bullseye}\nxen: {package: x, archive: \"http://a.example\", suite: s}\n",
                "c.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.problems().size(), 2u) << e.what();
    EXPECT_EQ(e.problems()[0].rfind("c.yaml:1:9: 'suite' and 'archive' say where an apt kernel's", 0), 0u)
        << e.problems()[0];
    EXPECT_EQ(e.problems()[1].rfind("c.yaml:2:6: an archive named by URL needs a 'keyring'", 0), 0u) << e.problems()[1];
  }
}

TEST(Config, WorkloadByName) {
  EXPECT_EQ(ParseConfig("workload: idle\n", "x").workload.name, "idle");
}

TEST(Config, AllErrorsAtOnceWithPositions) {
  auto p = Problems(R"(kernal: oops
guest:
  vcpus: many
  memory: 1T
  kernel_cmdline: isolcpus=1,2
workload: nosuch
accel: hyperdrive
)");
  ASSERT_EQ(p.size(), 6u) << p[0];
  EXPECT_EQ(p[0].rfind("run.yaml:1:1: unknown key 'kernal' in config", 0), 0u) << p[0];
  EXPECT_EQ(p[1].rfind("run.yaml:3:10: 'vcpus' must be a whole number", 0), 0u) << p[1];
  EXPECT_EQ(p[2].rfind("run.yaml:4:11: 'memory' must be a size", 0), 0u) << p[2];
  EXPECT_EQ(p[3].rfind("run.yaml:5:19: 'kernel_cmdline' cannot contain a comma", 0), 0u) << p[3];
  EXPECT_EQ(p[4], "run.yaml:6:11: unknown workload 'nosuch' (see: blackout workloads list)");
  EXPECT_EQ(p[5], "run.yaml:7:8: 'accel' must be auto, kvm or tcg, not 'hyperdrive'");
}

TEST(Config, FreezeOnMissingVcpuIsAnError) {
  auto p = Problems("workload:\n  faults:\n    - {kind: freeze, vcpu: 2, length: 1s}\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find("names vCPU 2 but the guest has 2"), std::string::npos);
}

TEST(Config, PlacementOnMissingVcpuIsAnError) {
  auto p = Problems("guest: {vcpus: 2}\nworkload:\n  stressors:\n    - {kind: migrate, cpus: [0, 3]}\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find("stressor migrate is placed on vCPU 3 but the guest has 2"), std::string::npos) << p[0];
}

TEST(Config, GitKernelSource) {
  RunConfig c = ParseConfig("kernel: {git: /src/linux, rev: v6.1.60}\n", "run.yaml");
  EXPECT_EQ(c.kernel.source, "git");
  EXPECT_EQ(c.kernel.repo, "/src/linux");
  EXPECT_EQ(c.kernel.rev, "v6.1.60");
  EXPECT_EQ(c.kernel.config_base, "tinyconfig");
  EXPECT_EQ(c.kernel.fragments, (std::vector<std::string>{"xen-pv-guest"}));
  EXPECT_EQ(c.kernel.Describe(), "git /src/linux v6.1.60");
  c = ParseConfig("kernel:\n  git: /src/linux\n  config: {base: defconfig, fragments: [xen-pv-guest, /tmp/extra.config]}\n",
                  "run.yaml");
  EXPECT_EQ(c.kernel.rev, "HEAD");
  EXPECT_EQ(c.kernel.config_base, "defconfig");
  EXPECT_EQ(c.kernel.fragments, (std::vector<std::string>{"xen-pv-guest", "/tmp/extra.config"}));
  auto p = Problems("kernel:\n  git: /src/linux\n  config: {base: tinyconfig, fragment: [x]}\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].rfind("run.yaml:3:30: unknown key 'fragment' in kernel config", 0), 0u) << p[0];
}

TEST(Config, ThresholdsMustBeOrdered) {
  auto p = Problems("thresholds:\n  stall: 40s\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find("'lockup' must be longer than 'stall'"), std::string::npos);
}

TEST(Config, UnreadableFileIsAConfigError) {
  EXPECT_THROW(LoadConfig("/nonexistent/run.yaml"), ConfigError);
}

TEST(Config, EmptyFileIsTheDefault) {
  EXPECT_EQ(ParseConfig("", "x").workload.name, "pv-spinlock-race");
}

// --workload FILE: the definition `blackout workloads show` prints, edited.
TEST(Config, WorkloadFromAFile) {
  std::string dir = MakeScratchDir();
  Workload current = DefaultConfig().workload;
  EXPECT_EQ(WorkloadByNameOrFile("smoke", current).name, "smoke");

  std::string path = dir + "/w.yaml";
  WriteFileAtomic(path, "name: smoke\nduration: 12s\nfaults:\n  - {kind: freeze, vcpu: 1, at: 3s, length: 5s}\n");
  Workload w = WorkloadByNameOrFile(path, current);
  EXPECT_EQ(w.name, "smoke");
  EXPECT_EQ(w.duration_s, 12);
  EXPECT_EQ(w.stressors.size(), FindWorkload("smoke")->stressors.size());  // from the built-in
  ASSERT_EQ(w.faults.size(), 1u);
  EXPECT_EQ(w.faults[0].vcpu, 1);
  EXPECT_TRUE(WorkloadMisfits(w, 2).empty());
  ASSERT_EQ(WorkloadMisfits(w, 1).size(), 1u);
  EXPECT_EQ(WorkloadMisfits(w, 1)[0], "fault freeze names vCPU 1 but the guest has 1");

  // No name: it overrides the workload it is given.
  WriteFileAtomic(path, "duration: 7s\n");
  w = WorkloadByNameOrFile(path, current);
  EXPECT_EQ(w.name, current.name);
  EXPECT_EQ(w.duration_s, 7);

  // Errors: file:line:column, every one at once; neither a name nor a file.
  WriteFileAtomic(path, "name: smoke\nduration: 12q\nstresors: []\n");
  try {
    WorkloadByNameOrFile(path, current);
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.problems().size(), 2u);
    EXPECT_EQ(e.problems()[0].rfind(path + ":3:1: unknown key 'stresors'", 0), 0u) << e.problems()[0];
    EXPECT_EQ(e.problems()[1].rfind(path + ":2:11: 'duration'", 0), 0u) << e.problems()[1];
  }
  try {
    WorkloadByNameOrFile(dir + "/nosuch.yaml", current);
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(e.problems()[0].find("is neither a built-in workload"), std::string::npos) << e.problems()[0];
  }
  std::filesystem::remove_all(dir);
}

// `workload: FILE` in a run config: read next to the config, wherever blackout
// runs from; the file's own problems carry the file's positions and come with
// the config's, all at once.
TEST(Config, WorkloadFileNextToTheConfig) {
  std::string dir = MakeScratchDir();
  WriteFileAtomic(dir + "/w.yaml", "name: smoke\nduration: 9s\nfaults:\n  - {kind: freeze, vcpu: 1, length: 2s}\n");
  WriteFileAtomic(dir + "/run.yaml", "guest: {vcpus: 2}\nworkload: w.yaml\n");
  RunConfig c = LoadConfig(dir + "/run.yaml");
  EXPECT_EQ(c.workload.name, "smoke");
  EXPECT_EQ(c.workload.duration_s, 9);
  ASSERT_EQ(c.workload.faults.size(), 1u);
  EXPECT_EQ(c.workload.stressors.size(), FindWorkload("smoke")->stressors.size());

  auto problems = [&](const std::string& run_yaml) {
    WriteFileAtomic(dir + "/run.yaml", run_yaml);
    try {
      LoadConfig(dir + "/run.yaml");
    } catch (const ConfigError& e) {
      return e.problems();
    }
    return std::vector<std::string>{};
  };
  // The fault names vCPU 1: a one-vCPU guest cannot take it (placed at the reference).
  auto p = problems("guest: {vcpus: 1}\nworkload: ./w.yaml\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], dir + "/run.yaml:2:11: fault freeze names vCPU 1 but the guest has 1");

  p = problems("workload: sub/none.yml\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], dir + "/run.yaml:1:11: workload file " + dir + "/sub/none.yml does not exist");

  WriteFileAtomic(dir + "/w.yaml", "name: smoke\nduration: 12q\n");
  p = problems("accel: warp\nworkload: w.yaml\n");
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].rfind(dir + "/w.yaml:2:11: 'duration'", 0), 0u) << p[0];
  EXPECT_EQ(p[1].rfind(dir + "/run.yaml:1:8: 'accel'", 0), 0u) << p[1];

  // A file that names a file would let two files name each other.
  WriteFileAtomic(dir + "/w.yaml", "w.yaml\n");
  p = problems("workload: w.yaml\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].rfind(dir + "/w.yaml:1:1: a workload file holds a mapping", 0), 0u) << p[0];

  // Text parsed without a file behind it (a bisect plan's run) takes no file.
  YamlReader r("plan.yaml");
  ParseConfigNode(*r.Parse("workload: w.yaml\n"), r);
  ASSERT_EQ(r.errors().size(), 1u);
  EXPECT_EQ(r.errors()[0].rfind("plan.yaml:1:11: a bisect plan holds its workload itself", 0), 0u) << r.errors()[0];
  std::filesystem::remove_all(dir);
}

TEST(Config, BackendAndHost) {
  RunConfig d = ParseConfig("", "run.yaml");
  EXPECT_EQ(d.backend, "qemu");
  EXPECT_EQ(d.host, "");
  RunConfig l = ParseConfig("backend: libvirt\n", "run.yaml");
  EXPECT_EQ(l.backend, "libvirt");
  EXPECT_EQ(l.host, "qemu:///system");
  RunConfig h = ParseConfig("host: qemu+tcp://10.0.0.2/system\n", "run.yaml");
  EXPECT_EQ(h.backend, "libvirt");  // a host implies libvirt
  EXPECT_EQ(h.host, "qemu+tcp://10.0.0.2/system");
}

TEST(Config, BackendAndHostErrorsArePlaced) {
  auto p = Problems("accel: tcg\nbackend: virtualbox\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "run.yaml:2:10: 'backend' must be qemu or libvirt, not 'virtualbox'");
  p = Problems("host: qemu+ssh//h1/system\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].rfind("run.yaml:1:7: 'qemu+ssh//h1/system' is not a libvirt URI", 0), 0u) << p[0];
  p = Problems("backend: qemu\nhost: qemu:///system\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].rfind("run.yaml:2:7: 'host' names a libvirt host: it needs backend libvirt", 0), 0u) << p[0];
  // A Xen host runs PV domUs, nothing that needs QEMU.
  p = Problems("guest: hvm\nhost: xen+ssh://xen1/system\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].rfind("run.yaml:2:7: 'xen+ssh://xen1/system' is a Xen host", 0), 0u) << p[0];
  EXPECT_NE(p[0].find("must be xen-pv-domu, not hvm"), std::string::npos) << p[0];
}

TEST(Config, OnAXenHostTheDomUIsTheHostsOwn) {
  RunConfig x = ParseConfig("guest: xen-pv-domu\nhost: xen+tcp://127.0.0.1:16600/system\n", "run.yaml");
  const GuestType& t = RunGuestType(x);
  EXPECT_TRUE(t.xen_host);
  EXPECT_FALSE(t.dom0_toolstack);
  EXPECT_EQ(t.console_prefix, "");  // the domU's own console, no dom0 relay
  RunConfig q = ParseConfig("guest: xen-pv-domu\nhost: qemu:///system\n", "run.yaml");
  EXPECT_TRUE(RunGuestType(q).dom0_toolstack);
  EXPECT_FALSE(RunGuestType(q).xen_host);
}

TEST(Config, AnImageGuest) {
  RunConfig c = ParseConfig("guest: {type: hvm, image: /images/debian.qcow2, memory: 1G}\nworkload: smoke\n", "run.yaml");
  EXPECT_EQ(c.guest.image, "/images/debian.qcow2");
  EXPECT_EQ(c.guest.type, "hvm");
  EXPECT_EQ(c.guest.memory, 1ull << 30);
  c = ParseConfig("guest: {type: xen-pv-domu, image: /images/debian.qcow2, bootloader: pygrub}\n", "run.yaml");
  EXPECT_EQ(c.guest.image, "/images/debian.qcow2");
  EXPECT_EQ(c.guest.bootloader, "pygrub");
  EXPECT_EQ(c.guest.inject, "cloud-init");
  c = ParseConfig("guest: {type: hvm, image: /images/plain.qcow2, inject: overlay}\n", "run.yaml");
  EXPECT_EQ(c.guest.inject, "overlay");
}

TEST(Config, AnImageGuestsLimitsSayWhere) {
  auto p = Problems("guest: {type: xen-pv-dom0, image: a.qcow2}\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "run.yaml:1:35: an image boots as guest type xen-pv-domu (through pygrub) or hvm (through its "
                  "BIOS bootloader), not xen-pv-dom0");
  p = Problems("guest: {type: xen-pv-domu, image: a.qcow2, bootloader: grub2}\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "run.yaml:1:56: 'bootloader' must be pygrub or pvgrub, not 'grub2'");
  p = Problems("guest: {type: hvm, image: a.qcow2, bootloader: pygrub}\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "run.yaml:1:48: 'bootloader' goes with an image of guest type xen-pv-domu");
  p = Problems("guest: {type: hvm, image: a.qcow2, inject: initramfs}\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "run.yaml:1:44: 'inject' must be cloud-init or overlay, not 'initramfs'");
  p = Problems("guest: {type: hvm, inject: overlay}\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "run.yaml:1:28: 'inject' goes with an image: it says how the agent gets into it");
  p = Problems("kernel: linux-image-amd64\nguest: {type: hvm, image: a.qcow2, kernel_cmdline: quiet}\n"
               "workload: stress-ng-mix\n");
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0], "run.yaml:1:9: an image boots its own kernel: drop 'kernel' (or 'image')");
  EXPECT_EQ(p[1], "run.yaml:2:27: an image boots the command line its own grub.cfg gives: 'fast' and "
                  "'kernel_cmdline' do not reach it");
  EXPECT_EQ(p[2].rfind("run.yaml:3:11: workload stress-ng-mix runs host tools (stress-ng, fio) in the guest", 0), 0u)
      << p[2];
  p = Problems("guest: {type: xen-pv-domu, image: a.qcow2}\nbackend: libvirt\nhost: xen:///system\n");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "run.yaml:1:35: an image guest runs in QEMU (here or on a qemu libvirt host), not on a Xen host "
                  "(xen:///system): its libvirt would need the image's own bootloader, which blackout does not ask of it");
}

}  // namespace
}  // namespace blackout
