// The saved dom0 state's key and cache: what must make a new state (QEMU,
// the files it loads, the command line's shape) and what must not (the run's
// own sockets and disks), and which states the cache keeps.
#include "harness/vm/saved_state.h"

#include <sys/stat.h>
#include <utime.h>

#include <filesystem>
#include <gtest/gtest.h>

#include "base/fsutil.h"
#include "base/subprocess.h"
#include "base/test_tmpdir.h"
#include "harness/vm/qemu_backend.h"

namespace blackout {
namespace {

// One boot's files in dir (made when missing).
struct Fixture {
  std::string dir;
  BootSpec boot;
  StartOptions options;
  std::string qemu;
  explicit Fixture(const std::string& in = testing_util::TestTempDir("state")) : dir(in) {
    setenv("XDG_CACHE_HOME", (dir + "/cache").c_str(), 1);
    for (const char* f : {"xen.elf", "vmlinux", "dom0.cpio.gz", "qemu"}) {
      if (!std::filesystem::exists(dir + "/" + f)) WriteFileAtomic(dir + "/" + f, f);
    }
    qemu = dir + "/qemu";
    boot.guest_type = "xen-pv-domu";
    boot.cpus = 2;
    boot.memory_mb = 1536;
    boot.kernel = dir + "/xen.elf";
    boot.append = "console=com1 dom0_mem=512M";
    boot.modules = {{dir + "/vmlinux", "console=hvc0 blackout.park"}, {dir + "/dom0.cpio.gz", ""}};
    boot.disks = {{dir + "/run1/dom0-run.cpio", "raw", "writeback", 4096, true},
                  {dir + "/run1/disk0.raw", "raw", "none", 1 << 20, false}};
    boot.dom0_parks = true;
    options.accel = "tcg";
    options.socket_dir = dir + "/run1";
  }
  std::string Key() const { return SavedStateKey(QemuCommand(boot, options), boot, options, qemu); }
};

TEST(SavedState, KeyIgnoresTheRunsOwnSocketsAndDisks) {
  Fixture f;
  std::string key = f.Key();
  EXPECT_EQ(key.size(), 64u);
  f.options.socket_dir = f.dir + "/run2";
  f.boot.disks[0].path = f.dir + "/run2/dom0-run.cpio";
  f.boot.disks[0].size = 8192;  // another run's files
  f.boot.disks[1].path = f.dir + "/run2/disk0.raw";
  EXPECT_EQ(f.Key(), key);
}

TEST(SavedState, KeyChangesWithWhatShapesTheState) {
  Fixture f;
  const std::string key = f.Key();
  auto changed = [&](const char* what, auto&& change) {
    Fixture g(f.dir);
    change(g);
    EXPECT_NE(g.Key(), key) << what;
  };
  EXPECT_EQ(Fixture(f.dir).Key(), key) << "the same boot, made again";
  changed("memory", [](Fixture& g) { g.boot.memory_mb = 2048; });
  changed("vCPUs", [](Fixture& g) { g.boot.cpus = 4; });
  changed("Xen's command line", [](Fixture& g) { g.boot.append += " sched=credit2"; });
  changed("dom0's command line", [](Fixture& g) { g.boot.modules[0].cmdline += " mitigations=off"; });
  changed("accelerator", [](Fixture& g) { g.options.accel = "kvm"; });
  changed("a disk's cache mode", [](Fixture& g) { g.boot.disks[1].cache = "writeback"; });
  changed("one disk more", [](Fixture& g) { g.boot.disks.push_back({g.dir + "/run1/disk1.raw", "raw", "none", 1, false}); });
  // A file rewritten (as the caches do: a new file renamed in) is a new state.
  auto rewritten = [&](const std::string& path) {
    std::string before = f.Key();
    WriteFileAtomic(path, "rebuilt");
    EXPECT_NE(f.Key(), before) << path;
  };
  rewritten(f.boot.kernel);
  rewritten(f.boot.modules[0].path);
  rewritten(f.boot.modules[1].path);
  rewritten(f.qemu);
}

TEST(SavedState, KeyOfAMissingFileIsAnError) {
  Fixture f;
  std::filesystem::remove(f.boot.modules[0].path);
  try {
    f.Key();
    FAIL() << "no error";
  } catch (const InfraError& e) {
    EXPECT_NE(std::string(e.what()).find(f.boot.modules[0].path), std::string::npos) << e.what();
  }
}

TEST(SavedState, PruneKeepsTheNewestAndSweepsDeadWriters) {
  std::string dir = testing_util::TestTempDir("states");
  auto make = [&](const std::string& name, time_t age_s) {
    WriteFileAtomic(dir + "/" + name, name);
    struct utimbuf t;
    t.actime = t.modtime = time(nullptr) - age_s;
    utime((dir + "/" + name).c_str(), &t);
  };
  for (int i = 0; i < 6; ++i) make("k" + std::to_string(i) + ".state", 100 * (i + 1));
  make("k9.state.tmp.1.2", 7200);  // a writer that died
  make("k8.state.tmp.3.4", 10);    // one still writing
  make("notes.txt", 7200);
  PruneSavedStates(dir, 4);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(std::filesystem::exists(dir + "/k" + std::to_string(i) + ".state"), i < 4) << i;
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/k9.state.tmp.1.2"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/k8.state.tmp.3.4"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/notes.txt"));
}

// An image guest: no -kernel (the firmware boots the overlay), and every
// disk its own -device in order, so the workload's disks stay /dev/vda, ...
TEST(QemuCommand, AnImageGuestBootsItsOverlayFromTheFirmware) {
  BootSpec boot;
  boot.guest_type = "hvm";
  boot.cpus = 2;
  boot.memory_mb = 1024;
  boot.disks = {{"/s/disk0.raw", "raw", "none", 1 << 20, false, false, false},
                {"/s/image-overlay.qcow2", "qcow2", "writeback", 2ull << 30, true, false, true},
                {"/s/config-drive.img", "raw", "writeback", 4 << 20, true, true, false}};
  StartOptions options;
  options.accel = "tcg";
  options.socket_dir = "/s";
  std::vector<std::string> argv = QemuCommand(boot, options);
  std::string line;
  for (const std::string& a : argv) line += a + " ";
  EXPECT_EQ(line.find("-kernel"), std::string::npos) << line;
  EXPECT_EQ(line.find("-append"), std::string::npos) << line;
  EXPECT_NE(line.find("-drive file=/s/disk0.raw,format=raw,cache=none,if=none,id=disk0 "
                      "-device virtio-blk-pci,drive=disk0 "
                      "-drive file=/s/image-overlay.qcow2,format=qcow2,cache=writeback,if=none,id=disk1 "
                      "-device virtio-blk-pci,drive=disk1,bootindex=0 "
                      "-drive file=/s/config-drive.img,format=raw,cache=writeback,readonly=on,if=none,id=disk2 "
                      "-device virtio-blk-pci,drive=disk2 "),
            std::string::npos)
      << line;
  // A kernel boot keeps its plain virtio drives.
  boot.kernel = "/s/vmlinux";
  boot.append = "console=ttyS0";
  boot.disks.resize(1);
  line.clear();
  for (const std::string& a : QemuCommand(boot, options)) line += a + " ";
  EXPECT_NE(line.find("-kernel /s/vmlinux -append console=ttyS0 "), std::string::npos) << line;
  EXPECT_NE(line.find("-drive file=/s/disk0.raw,format=raw,cache=none,if=virtio "), std::string::npos) << line;
}

}  // namespace
}  // namespace blackout
