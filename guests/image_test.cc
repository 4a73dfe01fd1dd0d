#include "guests/image.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "base/error.h"
#include "base/fsutil.h"
#include "base/subprocess.h"
#include "base/test_tmpdir.h"
#include "kernels/deb.h"

namespace blackout {
namespace {
namespace fs = std::filesystem;

std::string TempDir() { return testing_util::TestTempDir("image"); }

// The problems of the ConfigError `f` throws, one per line; "" if it does not throw.
template <typename F>
std::string Problems(F f) {
  try {
    f();
  } catch (const ConfigError& e) {
    std::string out;
    for (const std::string& p : e.problems()) out += p + "\n";
    return out;
  }
  return "";
}

TEST(GrubCfg, ReadsTheDefaultEntry) {
  const char* cfg =
      "# made by hand\n"
      "set default=\"1\"\nset timeout=5\n"
      "menuentry 'rescue' {\n  linux /boot/vmlinuz-old root=/dev/xvda1 single\n}\n"
      "menuentry 'Debian GNU/Linux' --class debian {\n"
      "  insmod ext2\n"
      "  if [ x$feature_all_video_module = xy ]; then\n    insmod all_video\n  fi\n"
      "  linux\t/boot/vmlinuz-6.1.0-28-cloud-amd64 root=LABEL=r ro console=hvc0\n"
      "  initrd /boot/initrd.img-6.1.0-28-cloud-amd64\n"
      "}\n";
  int def = -1;
  std::vector<GrubEntry> e = ParseGrubCfg(cfg, "grub.cfg", &def);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(def, 1);
  EXPECT_EQ(e[1].title, "Debian GNU/Linux");
  EXPECT_EQ(e[1].kernel, "/boot/vmlinuz-6.1.0-28-cloud-amd64");
  EXPECT_EQ(e[1].args, "root=LABEL=r ro console=hvc0");
  EXPECT_EQ(e[1].initrd, "/boot/initrd.img-6.1.0-28-cloud-amd64");
  EXPECT_EQ(e[1].line, 7);
  EXPECT_EQ(e[0].initrd, "");
}

TEST(GrubCfg, ErrorsSayFileAndLine) {
  EXPECT_EQ(Problems([] { ParseGrubCfg("set timeout=0\n", "g.cfg"); }),
            "g.cfg: no menuentry: nothing pygrub or pvgrub could boot\n");
  EXPECT_EQ(Problems([] { ParseGrubCfg("\nmenuentry 'a' {\n  linux /vmlinuz\n", "g.cfg"); }),
            "g.cfg:2: menu entry 'a' is not closed (no '}' before the end of the file)\n");
  EXPECT_EQ(Problems([] { ParseGrubCfg("menuentry 'a' {\n  initrd /i\n}\n", "g.cfg"); }),
            "g.cfg:1: menu entry 'a' has no linux line\n");
  EXPECT_EQ(Problems([] { ParseGrubCfg("set default=3\nmenuentry 'a' {\n linux /k\n}\n", "g.cfg"); }),
            "g.cfg:1: default 3 is past the last entry (there are 1)\n");
  EXPECT_EQ(Problems([] { ParseGrubCfg("set default=saved\nmenuentry 'a' {\n linux /k\n}\n", "g.cfg"); }),
            "g.cfg:1: default 'saved' is not an entry number (blackout reads numbered defaults only)\n");
  EXPECT_EQ(Problems([] { ParseGrubCfg("menuentry 'a'\n{\n linux /k\n}\n", "g.cfg"); }),
            "g.cfg:1: menuentry without '{' on its line\n");
}

TEST(ConfigDrive, FilesStartTheAgentFromCloudInit) {
  ConfigDriveInputs in;
  in.instance_id = "blackout-1234";
  in.console = "/dev/hvc0";
  in.nonce = "abcd";
  in.heartbeat_ms = 250;
  in.workload_conf = "name=x\n";
  auto files = ConfigDriveFiles(in);
  ASSERT_EQ(files.size(), 5u);
  EXPECT_EQ(files["user-data"].rfind("#cloud-config\nbootcmd:\n", 0), 0u) << files["user-data"];
  // Never waits for the unit (bootcmd runs while the boot transaction waits
  // for cloud-init) and does not order it after basic.target.
  EXPECT_NE(files["user-data"].find("systemd-run --no-block -p DefaultDependencies=no --unit=blackout-agent "
                                    "/run/blackout/drive/blackout-agent service /run/blackout/drive"),
            std::string::npos);
  EXPECT_NE(files["user-data"].find("/dev/disk/by-label/CIDATA"), std::string::npos);
  EXPECT_EQ(files["meta-data"], "instance-id: blackout-1234\nlocal-hostname: blackout-guest\n");
  EXPECT_EQ(files["network-config"], "network:\n  config: disabled\n");
  EXPECT_EQ(files["agent.conf"], "console=/dev/hvc0\nnonce=abcd\ninterval_ms=250\n");
  EXPECT_EQ(files["workload.conf"], "name=x\n");
}

// Read back with mtools and blkid, as cloud-init's ds-identify finds it.
TEST(ConfigDrive, RealFatImageLabelledCidata) {
  std::string dir = TempDir();
  WriteFileAtomic(dir + "/agent-binary", std::string(100000, 'A'), 0755);
  std::map<std::string, std::string> files = {{"user-data", "#cloud-config\n"}, {"meta-data", "instance-id: i\n"}};
  WriteConfigDrive(dir + "/seed.img", files, dir + "/agent-binary");
  std::string label = RunChecked({"blkid", "-o", "value", "-s", "LABEL", dir + "/seed.img"});
  EXPECT_EQ(label, "CIDATA\n");
  EXPECT_EQ(RunChecked({"mtype", "-i", dir + "/seed.img", "::/meta-data"}), "instance-id: i\n");
  std::string listing = RunChecked({"mdir", "-b", "-i", dir + "/seed.img", "::/"});
  EXPECT_NE(listing.find("::/blackout-agent"), std::string::npos) << listing;
  EXPECT_NE(listing.find("::/user-data"), std::string::npos) << listing;
  EXPECT_FALSE(fs::exists(dir + "/seed.img.files"));
}

TEST(Overlay, WritesNeverReachTheImage) {
  std::string dir = TempDir();
  RunChecked({"qemu-img", "create", "-q", "-f", "qcow2", dir + "/base.qcow2", "16M"});
  RunChecked({"qemu-io", "-c", "write -P 0x11 0 64k", dir + "/base.qcow2"});
  std::string before = Sha256File(dir + "/base.qcow2");
  MakeOverlay(dir + "/base.qcow2", "qcow2", dir + "/ov.qcow2");
  std::string info = RunChecked({"qemu-img", "info", dir + "/ov.qcow2"});
  EXPECT_NE(info.find("backing file: " + dir + "/base.qcow2"), std::string::npos) << info;
  RunChecked({"qemu-io", "-c", "write -P 0x22 0 64k", dir + "/ov.qcow2"});
  EXPECT_EQ(Sha256File(dir + "/base.qcow2"), before);
  // The overlay reads the write; the image still reads its own bytes.
  EXPECT_NE(RunChecked({"qemu-io", "-c", "read -P 0x22 0 64k", dir + "/ov.qcow2"}).find("read 65536"), std::string::npos);
  EXPECT_NE(RunChecked({"qemu-io", "-c", "read -P 0x11 0 64k", dir + "/base.qcow2"}).find("read 65536"), std::string::npos);
  EXPECT_THROW(MakeOverlay(dir + "/missing.qcow2", "qcow2", dir + "/ov2.qcow2"), InfraError);
}

// A small partitioned disk with an ext4 root made from dir `root`.
std::string MakeDisk(const std::string& dir, const std::string& root, const std::string& format) {
  std::string raw = dir + "/disk.raw";
  RunChecked({"truncate", "-s", "40M", raw});
  RunChecked({"sh", "-c", "echo 'label: dos\nstart=2048, type=83, bootable' | sfdisk --quiet " + raw});
  RunChecked({"mke2fs", "-q", "-t", "ext4", "-d", root, "-E", "offset=1048576", raw, "38M"});
  if (format == "raw") return raw;
  RunChecked({"qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, dir + "/disk.qcow2"});
  return dir + "/disk.qcow2";
}

TEST(InspectImage, RefusesAnImageWithoutCloudInit) {
  std::string dir = TempDir();
  MakeDirs(dir + "/root/boot/grub");
  MakeDirs(dir + "/root/usr/bin");
  WriteFileAtomic(dir + "/root/boot/grub/grub.cfg", "menuentry 'x' {\n linux /boot/vmlinuz\n}\n");
  std::string image = MakeDisk(dir, dir + "/root", "qcow2");
  ImageInfo info = InspectImage(image, dir);
  EXPECT_EQ(info.format, "qcow2");
  EXPECT_EQ(info.virtual_size, 40u << 20);
  EXPECT_TRUE(info.bios_bootable);
  EXPECT_FALSE(info.cloud_init);
  EXPECT_EQ(info.grub_cfg, "menuentry 'x' {\n linux /boot/vmlinuz\n}\n");
  EXPECT_EQ(ImageRefusal(image, info),
            "image " + image + " has no cloud-init (/usr/bin/cloud-init): blackout starts its agent from a NoCloud "
            "config drive, which only cloud-init reads; install cloud-init in the image, or put 'inject: overlay' "
            "in the guest to have the agent and a systemd unit written into the run's overlay");
  EXPECT_FALSE(info.systemd);
  EXPECT_EQ(ImageRefusal(image, info, "overlay"),
            "image " + image + " has no systemd (/lib/systemd/systemd): inject: overlay starts the agent with a "
            "systemd unit written into the overlay");
  // The raw view it read through is gone.
  for (const auto& e : fs::directory_iterator(dir)) EXPECT_EQ(e.path().string().find("inspect-"), std::string::npos);
}

TEST(InspectImage, AcceptsARawImageWithCloudInit) {
  std::string dir = TempDir();
  MakeDirs(dir + "/root/usr/bin");
  WriteFileAtomic(dir + "/root/usr/bin/cloud-init", "#!/usr/bin/python3\n", 0755);
  std::string image = MakeDisk(dir, dir + "/root", "raw");
  ImageInfo info = InspectImage(image, dir);
  EXPECT_EQ(info.format, "raw");
  EXPECT_TRUE(info.cloud_init);
  EXPECT_EQ(info.grub_cfg, "");
  EXPECT_EQ(ImageRefusal(image, info), "");
}

// An image with systemd and no cloud-init, in both formats.
std::string SystemdImage(const std::string& dir, const std::string& format) {
  MakeDirs(dir + "/root/lib/systemd");
  MakeDirs(dir + "/root/etc/systemd/system");
  WriteFileAtomic(dir + "/root/lib/systemd/systemd", "#!/bin/sh\n", 0755);
  WriteFileAtomic(dir + "/root/etc/hostname", "image\n");
  return MakeDisk(dir, dir + "/root", format);
}

// A file of an image's (or overlay's) root, read back through a raw copy.
std::string ReadRootFile(const std::string& dir, const std::string& image, const std::string& request) {
  std::string raw = dir + "/readback.raw";
  RunChecked({"qemu-img", "convert", "-O", "raw", image, raw});
  std::string out = RunChecked({"debugfs", "-R", request, raw + "?offset=1048576"});
  fs::remove(raw);
  if (out.rfind("debugfs ", 0) == 0) out.erase(0, out.find('\n') + 1);
  return out;
}

TEST(InjectOverlay, TheUnitStartsTheAgentFromItsDirectory) {
  ConfigDriveInputs in;
  in.console = "/dev/hvc0";
  in.nonce = "abc123";
  in.heartbeat_ms = 250;
  in.workload_conf = "duration=5\n";
  std::map<std::string, std::string> files = InjectedFiles(in);
  ASSERT_EQ(files.size(), 4u);
  EXPECT_EQ(files["/opt/blackout/agent.conf"], "console=/dev/hvc0\nnonce=abc123\ninterval_ms=250\n");
  EXPECT_EQ(files["/opt/blackout/workload.conf"], "duration=5\n");
  const std::string& unit = files["/etc/systemd/system/blackout-agent.service"];
  EXPECT_NE(unit.find("\nExecStart=/opt/blackout/blackout-agent service /opt/blackout\n"), std::string::npos) << unit;
  EXPECT_NE(unit.find("\nDefaultDependencies=no\nAfter=local-fs.target\n"), std::string::npos) << unit;
  EXPECT_NE(unit.find("\nWantedBy=sysinit.target\n"), std::string::npos) << unit;
  EXPECT_EQ(files["/etc/systemd/system/sysinit.target.wants/blackout-agent.service"],
            "/etc/systemd/system/blackout-agent.service");
}

TEST(InjectOverlay, WritesTheAgentIntoTheOverlayNeverTheImage) {
  for (const std::string format : {"qcow2", "raw"}) {
    std::string dir = TempDir();
    std::string image = SystemdImage(dir, format);
    ImageInfo info = InspectImage(image, dir);
    EXPECT_TRUE(info.systemd);
    EXPECT_FALSE(info.cloud_init);
    EXPECT_EQ(info.root_offset, 1048576u);
    EXPECT_EQ(ImageRefusal(image, info, "overlay"), "");
    std::string before = Sha256File(image);
    WriteFileAtomic(dir + "/agent-binary", std::string(300000, 'A'), 0755);
    ConfigDriveInputs in;
    in.console = "/dev/ttyS0";
    in.nonce = "n0nce";
    in.workload_conf = "duration=7\n";
    std::string overlay = dir + "/ov.qcow2";
    MakeInjectedOverlay(image, info, InjectedFiles(in), dir + "/agent-binary", overlay, dir);
    EXPECT_EQ(Sha256File(image), before) << format;
    std::string qinfo = RunChecked({"qemu-img", "info", overlay});
    EXPECT_NE(qinfo.find("backing file: " + image), std::string::npos) << qinfo;
    // Only what changed is in the overlay: far less than the 40 MiB disk.
    EXPECT_LT(fs::file_size(overlay), 4u << 20) << format;
    EXPECT_EQ(ReadRootFile(dir, overlay, "cat /opt/blackout/workload.conf"), "duration=7\n");
    EXPECT_EQ(ReadRootFile(dir, overlay, "cat /opt/blackout/agent.conf"),
              "console=/dev/ttyS0\nnonce=n0nce\ninterval_ms=200\n");
    EXPECT_EQ(ReadRootFile(dir, overlay, "cat /etc/hostname"), "image\n");
    std::string agent = ReadRootFile(dir, overlay, "stat /opt/blackout/blackout-agent");
    EXPECT_NE(agent.find("Mode:  0755"), std::string::npos) << agent;
    EXPECT_NE(agent.find("Size: 300000"), std::string::npos) << agent;
    std::string link = ReadRootFile(dir, overlay, "stat /etc/systemd/system/sysinit.target.wants/blackout-agent.service");
    EXPECT_NE(link.find("Fast link dest: \"/etc/systemd/system/blackout-agent.service\""), std::string::npos) << link;
    // The image reads as it did: no agent there.
    EXPECT_EQ(ReadRootFile(dir, image, "stat /opt/blackout/blackout-agent").find("Inode:"), std::string::npos);
    // The copy it wrote in is gone.
    for (const auto& e : fs::directory_iterator(dir)) EXPECT_EQ(e.path().filename().string().find("inject-"), std::string::npos);
  }
}

TEST(InjectOverlay, RefusesARootWhoseJournalNeedsRecovery) {
  std::string dir = TempDir();
  std::string image = SystemdImage(dir, "raw");
  RunChecked({"debugfs", "-w", "-R", "feature needs_recovery", image + "?offset=1048576"});
  ImageInfo info = InspectImage(image, dir);
  EXPECT_TRUE(info.needs_recovery);
  EXPECT_EQ(ImageRefusal(image, info, "overlay"),
            "image " + image + ": its root file system's journal was not closed cleanly (needs_recovery): blackout "
            "will not write the agent beside a journal the guest's kernel replays; fsck the image (e2fsck -fy on its "
            "root partition) first");
}

TEST(InjectOverlay, SaysWhatFailedWhenTheRootCannotTakeTheFiles) {
  std::string dir = TempDir();
  std::string image = SystemdImage(dir, "qcow2");
  ImageInfo info = InspectImage(image, dir);
  // A root full to the last block takes no agent.
  WriteFileAtomic(dir + "/agent-binary", std::string(64u << 20, 'A'), 0755);
  try {
    MakeInjectedOverlay(image, info, InjectedFiles(ConfigDriveInputs{}), dir + "/agent-binary", dir + "/ov.qcow2", dir);
    ADD_FAILURE() << "a 64 MiB agent fit a 38 MiB root";
  } catch (const InfraError& e) {
    EXPECT_NE(std::string(e.what()).find("inject: debugfs could not write into " + image + "'s root (write: Could not allocate block"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(fs::exists(dir + "/ov.qcow2"));
}

TEST(InspectImage, SaysWhatIsWrongWithANonImage) {
  std::string dir = TempDir();
  EXPECT_EQ(Problems([&] { InspectImage(dir + "/nope.qcow2", dir); }), "image " + dir + "/nope.qcow2: no such file\n");
  WriteFileAtomic(dir + "/notes.txt", "not a disk\n");
  EXPECT_EQ(Problems([&] { InspectImage(dir + "/notes.txt", dir); }),
            "image " + dir + "/notes.txt: no ext2/3/4 root file system blackout can read (and no Linux partition)\n");
}

// A bzImage head: the boot protocol's header and a payload at its offset.
std::string BzImage(const std::string& payload_magic) {
  std::string head(0x2000, '\0');
  head[0x1f1] = 3;  // setup sectors: the payload area starts at 4 * 512
  head.replace(0x202, 4, "HdrS");
  uint32_t offset = 0x100;
  std::memcpy(&head[0x248], &offset, 4);
  head.replace(4 * 512 + offset, payload_magic.size(), payload_magic);
  return head;
}

TEST(KernelCompression, ReadsTheBzImagePayloadsMagic) {
  EXPECT_EQ(KernelCompression(std::string("\x7f" "ELF\x02\x01", 6)), "elf");
  EXPECT_EQ(KernelCompression(BzImage(std::string("\x02\x21\x4c\x18", 4))), "lz4");
  EXPECT_EQ(KernelCompression(BzImage(std::string("\x1f\x8b\x08", 3))), "gzip");
  EXPECT_EQ(KernelCompression(BzImage(std::string("\xfd" "7zXZ\0", 6))), "xz");
  EXPECT_EQ(KernelCompression(BzImage(std::string("\x28\xb5\x2f\xfd", 4))), "zstd");
  EXPECT_EQ(KernelCompression(BzImage("nothing")), "unknown");
  EXPECT_EQ(KernelCompression("#!/bin/sh\n"), "unknown");
  EXPECT_EQ(KernelCompression(std::string("\x1f\x8b\x08\0", 4)), "gzip");  // a vmlinux.gz
  // A header whose payload offset points past what was read.
  std::string far = BzImage("x");
  uint32_t offset = 0x7fffffff;
  std::memcpy(&far[0x248], &offset, 4);
  EXPECT_EQ(KernelCompression(far), "unknown");
}

TEST(PvgrubProblem, SaysWhatGrubsXenLoaderCannotUnpack) {
  ImageInfo info;
  EXPECT_EQ(PvgrubProblem("d.qcow2", info), "image d.qcow2 has no /boot/grub/grub.cfg: pvgrub has no menu to boot from");
  info.kernel = "/boot/vmlinuz-6.1.0-28-cloud-amd64";
  info.kernel_compression = "gzip";
  EXPECT_EQ(PvgrubProblem("d.qcow2", info), "");
  info.kernel_compression = "lz4";
  EXPECT_EQ(PvgrubProblem("d.qcow2", info),
            "image d.qcow2: pvgrub cannot boot its kernel /boot/vmlinuz-6.1.0-28-cloud-amd64, which is lz4-compressed: "
            "GRUB's Xen loader unpacks a plain, gzip, xz or lzo kernel only (pygrub reads lz4: use bootloader: pygrub)");
}

TEST(ImageRecipes, NameDebianSuites) {
  ASSERT_NE(FindImageRecipe("debian-12"), nullptr);
  EXPECT_EQ(FindImageRecipe("debian-12")->suite, "bookworm");
  EXPECT_EQ(FindImageRecipe("debian-11")->suite, "bullseye");
  EXPECT_EQ(FindImageRecipe("ubuntu-12.04"), nullptr);
  EXPECT_EQ(Problems([] { BuildImage("ubuntu-12.04", TempDir(), false); }),
            "images build: no image recipe 'ubuntu-12.04' (there are: debian-12, debian-11)\n");
}

}  // namespace
}  // namespace blackout
