#include "guests/boot.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "base/error.h"
#include "base/fsutil.h"
#include "base/subprocess.h"
#include "base/protocol.h"
#include "guests/initramfs.h"
#include "guests/libclosure.h"
#include "guests/modules.h"
#include "kernels/bzimage.h"
#include "kernels/deb.h"

namespace blackout {

const char kInitScript[] = R"(#!/bin/busybox sh
# blackout guest init: mount what the agent needs, then hand PID 1 to it.
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox mount -t tmpfs tmpfs /tmp
/bin/busybox --install -s /bin
exec /bin/blackout-agent
)";

// dom0's init in xen-pv-domu runs: the toolstack, then (parked: with
// blackout.park on its command line) says so and waits for the host's go,
// which may come in this boot or in any later one restored from a saved state
// of this moment. Then the run's own files from the first virtio disk (its
// driver loads only now, so a restored dom0 never saw that disk), the domU
// with its console relayed (prefixed) to dom0's console, a listener for the
// host's evidence requests, and evidence of its own when the domU ends badly.
const char kDom0InitScript[] = R"sh(#!/bin/busybox sh
# blackout dom0 init (xen-pv-domu): Xen's toolstack, then the domU under test.
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox mount -t tmpfs tmpfs /tmp
/bin/busybox --install -s /bin
mkdir -p /dev/pts /run/blackout /var/lock /var/run/xen /var/run/xenstored /var/lib/xen /var/lib/xenstored /var/log/xen /etc/xen
/bin/busybox mount -t devpts devpts /dev/pts  # xenconsoled gives each domU console a pty
touch /etc/xen/xl.conf
say() { echo "@DOM0MARKER@$*"; }
fail() { say "error $*"; sleep 2; poweroff -f; }
X=@XENBIN@
export PATH=$X:/sbin:/usr/sbin:/bin:/usr/bin
while read -r m; do insmod "$m" || fail "insmod $m"; done < /etc/blackout/dom0-modules
mount -t xenfs xenfs /proc/xen || fail "mount xenfs"
$X/xenstored --pid-file /var/run/xenstored.pid || fail "xenstored"
$X/xen-init-dom0 > /tmp/xen-init-dom0.log 2>&1 || { cat /tmp/xen-init-dom0.log; fail "xen-init-dom0"; }
$X/xenconsoled --pid-file=/var/run/xenconsoled.pid || fail "xenconsoled"
# xl's domain UUID waits for the kernel's random pool: wait for it here, once,
# not in every run.
head -c 1 /dev/random > /dev/null
stty -echo < /dev/console 2> /dev/null
if grep -q '@PARKARG@' /proc/cmdline; then
  say "@PARKED@"
  go=""
  while [ -z "$go" ] && read -r line; do
    case "$line" in *"@GOCOMMAND@ "*) go=${line##*@GOCOMMAND@ } ;; esac
  done < /dev/console
  # The host's clock: a restored dom0 still has the one it was saved with.
  go=${go%%[!0-9]*}
  [ -n "$go" ] && date -s "@$go" > /dev/null || fail "no clock in the host's go"
  say "@RESUMED@ $go"
fi
while read -r m; do insmod "$m" || fail "insmod $m"; done < /etc/blackout/dom0-run-modules
for i in $(seq 50); do [ -b /dev/vda ] && break; sleep 0.1; done
cd /run/blackout && cpio -i -d < /dev/vda 2> /tmp/cpio.log && [ -f domu.cfg ] || { cat /tmp/cpio.log; fail "read the run's files from /dev/vda"; }
cd /
NONCE=$(cat /run/blackout/nonce)
evidence() {
  say "evidence-begin"
  xl list
  xl sysrq blackout-domu w; xl sysrq blackout-domu l
  for k in d q r; do xl debug-keys $k; done
  xl dmesg | tail -n 300
  say "@EVIDENCEEND@"
}
# The host asks for evidence over the console while the domU still exists.
( while read -r line; do
    case "$line" in *"@COMMAND@$NONCE @EVIDENCE@"*) evidence ;; esac
  done ) < /dev/console &
say "toolstack-up"
{ xl create -c /run/blackout/domu.cfg < /dev/null; echo $? > /tmp/xl.rc; } 2>&1 | /bin/blackout-agent relay '@DOMUPREFIX@'
rc=$(cat /tmp/xl.rc)
say "domu-exited xl=$rc"
[ "$rc" = 0 ] || xl list blackout-domu > /dev/null 2>&1 || fail "xl create exit $rc"
# A crashed domU is preserved (on_crash) for the host's evidence request; the
# host stops the machine when it has what it wants.
if xl list blackout-domu > /dev/null 2>&1; then
  say "domu-preserved"
  while :; do sleep 3600; done
fi
poweroff -f
)sh";

// libxl's hotplug call for a domU disk (xl's `script=`): tells blkback which
// of dom0's devices backs it. busybox sh; Xen's own script needs bash.
const char kBlockScript[] = R"sh(#!/bin/busybox sh
dev=$(xenstore-read "$XENBUS_PATH/params")
case "$1" in
add)
  mm=$(cat /sys/class/block/${dev##*/}/dev)
  xenstore-write "$XENBUS_PATH/physical-device" "$(printf '%x:%x' ${mm%:*} ${mm#*:})"
  xenstore-write "$XENBUS_PATH/physical-device-path" "$dev"
  xenstore-write "$XENBUS_PATH/hotplug-status" connected
  ;;
esac
exit 0
)sh";

// dom0's init on a nested Xen host (blackout xen-host): Xen's toolstack and
// libvirtd with its libxl driver on QEMU's user network, then nothing else:
// the domUs are libvirt's to start.
const char kXenHostInitScript[] = R"sh(#!/bin/busybox sh
# blackout xen-host dom0: Xen's toolstack and libvirt's libxl driver.
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox mount -t tmpfs tmpfs /tmp
/bin/busybox --install -s /bin
mkdir -p /dev/pts /run /var/lock /var/run/xen /var/run/xenstored /var/lib/xen /var/lib/xenstored /var/log/xen /etc/xen \
  /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt
/bin/busybox mount -t devpts devpts /dev/pts  # xenconsoled gives each domU console a pty
touch /etc/xen/xl.conf
say() { echo "@DOM0MARKER@$*"; }
fail() { say "error $*"; sleep 2; poweroff -f; }
X=@XENBIN@
export PATH=$X:/sbin:/usr/sbin:/bin:/usr/bin
while read -r m; do insmod "$m" || fail "insmod $m"; done < /etc/blackout/dom0-modules
mount -t xenfs xenfs /proc/xen || fail "mount xenfs"
$X/xenstored --pid-file /var/run/xenstored.pid || fail "xenstored"
$X/xen-init-dom0 > /tmp/xen-init-dom0.log 2>&1 || { cat /tmp/xen-init-dom0.log; fail "xen-init-dom0"; }
$X/xenconsoled --pid-file=/var/run/xenconsoled.pid || fail "xenconsoled"
hostname blackout-xenhost
ip link set lo up
# QEMU's user network: 10.0.2.15 is the guest's address, forwarded ports reach it.
ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 || fail "network"
/usr/sbin/libvirtd --listen --config /etc/libvirt/libvirtd.conf > /var/log/libvirt/libvirtd.out 2>&1 &
for i in $(seq 120); do
  [ -S /run/libvirt/libvirt-sock ] && break
  kill -0 $! 2> /dev/null || { tail -n 30 /var/log/libvirt/libvirtd.out /var/log/libvirt/libvirtd.log; fail "libvirtd exited"; }
  sleep 0.5
done
[ -S /run/libvirt/libvirt-sock ] || fail "libvirtd did not listen within 60s"
say "libvirt-up"
# What went wrong inside libvirt or libxl reaches the console as it happens.
tail -n 0 -F /var/log/libvirt/libvirtd.log /var/log/libvirt/libxl/libxl-driver.log 2> /dev/null &
while :; do sleep 3600; done
)sh";

// libvirtd's configuration in a nested Xen host: TCP without authentication
// (the port is bound to 127.0.0.1 on the machine running QEMU), errors to a
// log the init script relays.
const char kXenHostLibvirtdConf[] = R"(listen_tls = 0
listen_tcp = 1
listen_addr = "0.0.0.0"
auth_tcp = "none"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
)";

namespace {

std::string StaticBinary(const std::string& what, const char* env, const std::string& fallback,
                         const std::string& hint) {
  const char* override_path = std::getenv(env);
  std::string path = override_path && *override_path ? override_path : fallback;
  if (!std::filesystem::exists(path)) throw InfraError("find " + what + ": " + path + " is missing (" + hint + ")");
  if (!IsStaticElf(path)) throw InfraError("use " + what + " " + path + ": not a static binary (" + hint + ")");
  return path;
}

void CheckNoComma(const std::string& what, const std::string& text) {
  if (text.find(',') != std::string::npos) {
    throw ConfigError({what + " '" + text +
                       "' contains a comma: QEMU splits multiboot modules at commas, so a module's "
                       "command line cannot hold one"});
  }
}

}  // namespace

std::string FindAgent() {
  return StaticBinary("blackout-agent", "BLACKOUT_AGENT", ExecutableDir() + "/blackout-agent",
                      "build it with ci/build.sh");
}

std::string FindBusybox() {
  return StaticBinary("busybox", "BLACKOUT_BUSYBOX", "/bin/busybox",
                      "install busybox-static with ci/install-deps.sh");
}

std::string XlConfig(const GuestSpec& guest, const std::string& kernel, const std::string& ramdisk,
                     const std::string& cmdline, size_t disks, const std::vector<bool>& read_only) {
  if (cmdline.find_first_of("\"\\\n") != std::string::npos) {
    throw ConfigError({"kernel command line '" + cmdline + "' holds a quote, backslash or newline, which xl cannot take"});
  }
  std::string cfg = "# the domU under test (generated by blackout)\n"
                    "name = \"blackout-domu\"\n"
                    "type = \"pv\"\n"
                    "kernel = \"" + kernel + "\"\n" +
                    (ramdisk.empty() ? "" : "ramdisk = \"" + ramdisk + "\"\n") +
                    "cmdline = \"" + cmdline + "\"\n"
                    "memory = " + std::to_string(guest.memory >> 20) + "\n"
                    "vcpus = " + std::to_string(guest.vcpus) + "\n"
                    "on_poweroff = \"destroy\"\n"
                    "on_reboot = \"destroy\"\n"
                    "on_crash = \"preserve\"\n";
  if (disks > 0) {
    cfg += "disk = [";
    for (size_t i = 0; i < disks; ++i) {
      char letter = static_cast<char>('a' + i);
      char dom0_letter = static_cast<char>('b' + i);  // dom0's vda holds the run's files
      bool ro = i < read_only.size() && read_only[i];
      cfg += std::string(i ? ", " : " ") + "'format=raw, vdev=xvd" + letter + (ro ? ", access=ro" : ", access=rw") +
             ", script=/etc/blackout/block, target=/dev/vd" + dom0_letter + "'";
    }
    cfg += " ]\n";
  }
  return cfg;
}

namespace {

// Xen's command line for a dom0 of `memory` and `vcpus`; `no_xpti`: see
// BootInputs::emulated_cpu. The guest's own xen_cmdline comes last and wins.
std::string XenCmdline(const GuestSpec& guest, uint64_t dom0_memory, int dom0_vcpus, bool no_xpti = false) {
  std::string mb = std::to_string(dom0_memory >> 20);
  std::string out = "console=com1 com1=115200,8n1 dom0_mem=" + mb + "M,max:" + mb +
                    "M dom0_max_vcpus=" + std::to_string(dom0_vcpus) + " noreboot";
  if (guest.fast) {
    out += " xpti=no pv-l1tf=no spec-ctrl=no";
  } else if (no_xpti) {
    out += " xpti=no";
  }
  if (!guest.xen_cmdline.empty()) out += " " + guest.xen_cmdline;
  return out;
}

// What every image starts from: the directories and device nodes the kernel
// and busybox need, the init script, busybox and the agent.
Initramfs BaseImage(const std::string& busybox_path, const std::string& agent_path, const std::string& init) {
  Initramfs img;
  for (const char* dir : {"proc", "sys", "dev", "tmp", "bin", "sbin", "etc/blackout", "root"}) img.AddDir(dir);
  img.AddCharDevice("dev/console", 5, 1);
  img.AddCharDevice("dev/null", 1, 3, 0666);
  img.AddText("init", init, 0755);
  img.AddFile("bin/busybox", busybox_path, 0755);
  img.AddFile("bin/blackout-agent", agent_path, 0755);
  return img;
}

// A boot of Xen under QEMU: its multiboot modules are dom0's kernel with its
// command line, then dom0's initramfs; `initramfs` is the image recorded as
// the guest's.
BootSpec XenBoot(const BootInputs& in, int cpus, uint64_t memory_mb, uint64_t dom0_memory, int dom0_vcpus,
                 const BootModule& dom0_kernel, const std::string& dom0_initramfs, const std::string& initramfs,
                 const std::vector<BootDisk>& disks) {
  BootSpec b;
  b.guest_type = in.guest.type;
  b.cpus = cpus;
  b.memory_mb = memory_mb;
  b.kernel = in.xen.elf;
  b.append = XenCmdline(in.guest, dom0_memory, dom0_vcpus, in.emulated_cpu && in.guest.type == "xen-pv-domu");
  b.modules = {dom0_kernel, {dom0_initramfs, ""}};
  b.initramfs = initramfs;
  b.disks = disks;
  return b;
}

// The kernel's vmlinux, gzip'd once and kept beside it in the cache.
std::string GzippedVmlinux(const KernelArtifact& kernel) {
  std::string gz = kernel.vmlinux + ".gz";
  if (!std::filesystem::exists(gz)) GzipFile(kernel.vmlinux, gz);
  return gz;
}

// Modules from a kernel's package, dependencies first, added to img under
// lib/modules/<release>/; returns their paths in the image, in load order.
std::vector<std::string> AddModules(Initramfs& img, const KernelArtifact& kernel,
                                    const std::vector<std::string>& names) {
  std::vector<std::string> out;
  // A kernel without loadable modules has every driver it has built in.
  if (!kernel.loadable_modules) return out;
  if (kernel.modules_dir.empty() || !std::filesystem::exists(kernel.modules_dir + "/modules.dep")) {
    throw ConfigError({"kernel " + kernel.package + " " + kernel.version + " has no modules (no " +
                       (kernel.modules_dir.empty() ? "modules directory" : kernel.modules_dir + "/modules.dep") +
                       ") but the workload needs " + std::to_string(names.size()) + " of them"});
  }
  for (const std::string& rel : ModuleClosure(kernel.modules_dir, names)) {
    std::string dest = "lib/modules/" + kernel.release + "/" + rel;
    // A compressed module (Debian 13's .ko.xz) goes in plain: every kernel's
    // finit_module and init_module read it so, whatever it was built with.
    size_t ko = dest.rfind(".ko");
    if (ko != std::string::npos && ko + 3 < dest.size()) {
      dest.resize(ko + 3);
      img.AddText(dest, DecompressFile(kernel.modules_dir + "/" + rel), 0644);
    } else {
      img.AddFile(dest, kernel.modules_dir + "/" + rel, 0644);
    }
    out.push_back("/" + dest);
  }
  return out;
}

}  // namespace

std::vector<std::string> AddXenToolstack(Initramfs& img, const XenToolsArtifact& tools) {
  std::vector<std::string> binaries;
  for (const char* b : {"xl", "xenstored", "xenconsoled", "xenconsole", "xen-init-dom0", "libxl-save-helper"}) {
    binaries.push_back(tools.bin_dir + "/" + b);
  }
  for (const char* b : {"xenstore-read", "xenstore-write", "xenstore-ls"}) binaries.push_back(tools.root + "/usr/bin/" + b);
  std::vector<LibraryDir> dirs;
  for (const std::string& d : tools.lib_dirs) dirs.push_back({d, d.substr(tools.root.size())});
  std::vector<std::string> guest_paths;
  for (const std::string& b : binaries) {
    guest_paths.push_back(b.substr(tools.root.size()));
    img.AddFile(guest_paths.back().substr(1), b, 0755);
  }
  for (const LibraryFile& f : LibraryClosure(binaries, dirs)) img.AddFile(f.guest_path.substr(1), f.host_path, 0755);
  return guest_paths;
}

// xen-pv-domu: dom0's image (the same for every run of a Xen and dom0, so a
// saved state of it serves them all), the run's files on a disk of their own
// (the domU's raw vmlinux: libxc then copies instead of inflating it, its
// initramfs, xl's config and the nonce), and the boot.
BootSpec AssembleDomU(const BootInputs& in, const std::string& domu_initramfs, const std::string& domu_cmdline,
                      const std::vector<BootDisk>& drives) {
  const XenToolsArtifact& tools = in.xen_tools;
  if (tools.bin_dir.empty() || in.dom0_kernel.vmlinux.empty()) {
    throw InfraError("assemble xen-pv-domu: no dom0 kernel or Xen toolstack was fetched");
  }
  if (!in.dom0_kernel.xen_pv) {
    throw ConfigError({"dom0 kernel " + in.dom0_kernel.package + " lacks CONFIG_XEN_PV=y"});
  }
  std::string guest_bin = tools.bin_dir.substr(tools.root.size());  // /usr/lib/xen-4.17/bin
  std::string init = kDom0InitScript;
  // The console protocol's words (base/protocol.h), spelled once.
  std::string go = std::string(protocol::kCommandMarker) + protocol::kDom0GoNonce + " " + protocol::kCommandDom0Go;
  for (const auto& [key, value] :
       std::initializer_list<std::pair<std::string, std::string>>{{"@XENBIN@", guest_bin},
                                                                  {"@DOM0MARKER@", protocol::kDom0Marker},
                                                                  {"@PARKARG@", protocol::kParkArg},
                                                                  {"@PARKED@", protocol::kDom0Parked},
                                                                  {"@RESUMED@", protocol::kDom0Resumed},
                                                                  {"@GOCOMMAND@", go},
                                                                  {"@COMMAND@", protocol::kCommandMarker},
                                                                  {"@EVIDENCE@", protocol::kCommandDom0Evidence},
                                                                  {"@EVIDENCEEND@", protocol::kDom0EvidenceEnd},
                                                                  {"@DOMUPREFIX@", protocol::kDomUPrefix}}) {
    for (size_t at; (at = init.find(key)) != std::string::npos;) init.replace(at, key.size(), value);
  }
  // The agent is dom0's console relay.
  Initramfs img = BaseImage(in.busybox_path, in.agent_path, init);
  for (const char* dir : {"boot", "run", "var/run", "var/lib", "var/log"}) img.AddDir(dir);
  AddXenToolstack(img, tools);
  // dom0's Xen drivers and the domU's disk backend from dom0's package; the
  // virtio disk drivers load only once the run's disk is there to read.
  std::string module_list, run_module_list;
  for (const std::string& m : AddModules(img, in.dom0_kernel,
                                         {"xen-evtchn", "xenfs", "xen-privcmd", "xen-gntdev", "xen-gntalloc",
                                          "xen-blkback"})) {
    module_list += m + "\n";
  }
  for (const std::string& m : AddModules(img, in.dom0_kernel, {"virtio_pci", "virtio_blk"})) run_module_list += m + "\n";
  img.AddText("etc/blackout/dom0-modules", module_list);
  img.AddText("etc/blackout/dom0-run-modules", run_module_list);
  img.AddText("etc/blackout/block", kBlockScript, 0755);
  std::string dom0_initramfs = img.Cached(CacheDir() + "/" + kInitramfsImages.dir);

  // The run's files: a plain cpio on dom0's first virtio disk, padded to
  // whole sectors (the disk's size is counted in them).
  Initramfs run_files;
  run_files.AddText("nonce", in.nonce + "\n");
  run_files.AddFile("domu-vmlinux", in.kernel.vmlinux, 0644);
  // pvgrub (an image domU's) has none: it loads the image's own.
  if (!domu_initramfs.empty()) run_files.AddFile("domu-initramfs.cpio.gz", domu_initramfs, 0644);
  std::vector<bool> read_only;
  for (const BootDisk& d : drives) read_only.push_back(d.read_only);
  run_files.AddText("domu.cfg", XlConfig(in.guest, "/run/blackout/domu-vmlinux",
                                         domu_initramfs.empty() ? "" : "/run/blackout/domu-initramfs.cpio.gz",
                                         domu_cmdline, drives.size(), read_only));
  std::string run_disk = in.scratch_dir + "/dom0-run.cpio";
  run_files.Write(run_disk, false);
  uint64_t size = std::filesystem::file_size(run_disk);
  size = (size + 4095) / 4096 * 4096;
  std::filesystem::resize_file(run_disk, size);
  CheckNoComma("disk path", run_disk);
  std::vector<BootDisk> disks = {{run_disk, "raw", "writeback", size, true}};
  disks.insert(disks.end(), drives.begin(), drives.end());

  std::string dom0_cmdline = "console=hvc0 earlyprintk=xen loglevel=4";
  if (in.guest.fast) dom0_cmdline += " mitigations=off";
  if (in.park_dom0) dom0_cmdline += std::string(" ") + protocol::kParkArg;
  CheckNoComma("dom0 kernel path", in.dom0_kernel.vmlinux);
  CheckNoComma("initramfs path", dom0_initramfs);
  // Xen, its heap and the domU's page tables need room beside both domains.
  uint64_t memory_mb = (in.guest.dom0_memory >> 20) + (in.guest.memory >> 20) + 512;
  BootSpec b = XenBoot(in, std::max(in.guest.vcpus, in.guest.dom0_vcpus), memory_mb, in.guest.dom0_memory,
                       in.guest.dom0_vcpus, {in.dom0_kernel.vmlinux, dom0_cmdline}, dom0_initramfs, domu_initramfs,
                       disks);
  b.dom0_parks = in.park_dom0;
  return b;
}

BootSpec AssembleXenHost(const XenHostInputs& in) {
  if (!in.dom0_kernel.xen_pv) throw ConfigError({"dom0 kernel " + in.dom0_kernel.package + " lacks CONFIG_XEN_PV=y"});
  std::string init = kXenHostInitScript;
  for (const auto& [key, value] : std::initializer_list<std::pair<std::string, std::string>>{
           {"@XENBIN@", in.xen_tools.bin_dir.substr(in.xen_tools.root.size())},
           {"@DOM0MARKER@", protocol::kDom0Marker}}) {
    for (size_t at; (at = init.find(key)) != std::string::npos;) init.replace(at, key.size(), value);
  }
  Initramfs img = BaseImage(in.busybox_path, in.agent_path, init);
  for (const char* dir : {"boot", "run", "var/run", "var/lib", "var/log", "etc/libvirt", "etc/xen/scripts"}) {
    img.AddDir(dir);
  }
  // libvirt asks who root is.
  img.AddText("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
  img.AddText("etc/group", "root:x:0:\n");
  img.AddText("etc/hosts", "127.0.0.1 localhost\n127.0.1.1 blackout-xenhost\n");
  img.AddText("etc/libvirt/libvirtd.conf", kXenHostLibvirtdConf);
  // libxl's hotplug script for a domU's block device (libxl's default path).
  img.AddText("etc/xen/scripts/block", kBlockScript, 0755);
  AddXenToolstack(img, in.xen_tools);
  // libvirtd, its libxl and storage drivers (with the directory backend the
  // volumes live in) and the helper that streams uploads, at Debian's paths.
  const XenLibvirtArtifact& lv = in.libvirt;
  const std::string lib = "/usr/lib/x86_64-linux-gnu/libvirt";
  std::vector<std::string> binaries = {lv.root + "/usr/sbin/libvirtd",
                                       lv.root + lib + "/connection-driver/libvirt_driver_libxl.so",
                                       lv.root + lib + "/connection-driver/libvirt_driver_storage.so",
                                       lv.root + lib + "/storage-backend/libvirt_storage_backend_fs.so",
                                       lv.root + lib + "/storage-file/libvirt_storage_file_fs.so",
                                       lv.root + "/usr/lib/libvirt/libvirt_iohelper"};
  std::vector<LibraryDir> dirs;
  for (const std::string& d : lv.lib_dirs) dirs.push_back({d, d.substr(lv.root.size())});
  for (const std::string& d : in.xen_tools.lib_dirs) dirs.push_back({d, d.substr(in.xen_tools.root.size())});
  for (const std::string& b : binaries) {
    if (!std::filesystem::exists(b)) throw InfraError("assemble the Xen host: " + b + " is missing from libvirt's packages");
    img.AddFile(b.substr(lv.root.size() + 1), b, 0755);
  }
  for (const LibraryFile& f : LibraryClosure(binaries, dirs)) img.AddFile(f.guest_path.substr(1), f.host_path, 0755);
  // The CPU models libvirt describes the host's CPU with.
  const std::string cpu_map = lv.root + "/usr/share/libvirt/cpu_map";
  if (!std::filesystem::is_directory(cpu_map)) throw InfraError("assemble the Xen host: " + cpu_map + " is missing");
  img.AddDir("usr/share/libvirt/cpu_map");
  for (const auto& e : std::filesystem::directory_iterator(cpu_map)) {
    img.AddFile("usr/share/libvirt/cpu_map/" + e.path().filename().string(), e.path().string(), 0644);
  }
  // Xen's dom0 drivers, domU disks through blkback, and the NIC.
  std::string module_list;
  for (const std::string& m : AddModules(img, in.dom0_kernel,
                                         {"xen-evtchn", "xenfs", "xen-privcmd", "xen-gntdev", "xen-gntalloc",
                                          "xen-blkback", "virtio_pci", "virtio_net"})) {
    module_list += m + "\n";
  }
  img.AddText("etc/blackout/dom0-modules", module_list);
  MakeDirs(in.scratch_dir);
  std::string dom0_initramfs = in.scratch_dir + "/xen-host-initramfs.cpio.gz";
  img.Write(dom0_initramfs);

  GuestSpec g;
  g.fast = in.fast;
  std::string dom0_cmdline = "console=hvc0 earlyprintk=xen loglevel=4";
  if (in.fast) dom0_cmdline += " mitigations=off";
  CheckNoComma("dom0 kernel path", in.dom0_kernel.vmlinux);
  CheckNoComma("initramfs path", dom0_initramfs);
  BootSpec b;
  b.guest_type = "xen-host";
  b.cpus = in.cpus;
  b.memory_mb = in.memory_mb;
  b.kernel = in.xen.elf;
  b.append = XenCmdline(g, in.dom0_memory_mb << 20, 1);
  b.modules = {{in.dom0_kernel.vmlinux, dom0_cmdline}, {dom0_initramfs, ""}};
  b.initramfs = dom0_initramfs;
  b.forwards = {{in.port, kLibvirtTcpPort}};
  return b;
}

std::string InitrdArg(const BootSpec& boot) {
  std::string arg;
  for (const BootModule& m : boot.modules) {
    if (!arg.empty()) arg += ",";
    arg += m.cmdline.empty() ? m.path : m.path + " " + m.cmdline;
  }
  return arg;
}

std::vector<BootDisk> MakeWorkloadDisks(const BootInputs& in) {
  std::vector<BootDisk> drives;
  for (size_t i = 0; i < in.disks.size(); ++i) {
    const DiskSpec& d = in.disks[i];
    std::string image = in.scratch_dir + "/disk" + std::to_string(i) + "." + d.format;
    RunChecked({"qemu-img", "create", "-q", "-f", d.format, image, std::to_string(d.size)});
    CheckNoComma("disk path", image);
    drives.push_back({image, d.format, d.cache, d.size});
  }
  return drives;
}

BootSpec AssembleBoot(const BootInputs& in) {
  const GuestType& type = in.guest.Type();  // throws ConfigError for an unknown type
  if (in.xen_host && !type.dom0_toolstack) {
    throw ConfigError({"a Xen host's libvirt runs PV domUs: guest type " + type.name +
                       " needs QEMU (a qemu:// host or this machine)"});
  }
  bool xen = type.xen;
  if (!in.kernel.x86_64) {
    throw ConfigError({"kernel " + in.kernel.package + " " + in.kernel.version +
                       " is a 32-bit kernel (its config sets neither CONFIG_64BIT nor CONFIG_X86_64): blackout's "
                       "guests, agent and workloads are x86-64"});
  }
  if (xen && !in.kernel.xen_pv) {
    throw ConfigError({"kernel " + in.kernel.package + " " + in.kernel.version + " cannot boot as a Xen PV guest (" +
                       in.kernel.xen_pv_why + "); guest type hvm runs it without Xen"});
  }
  Initramfs img = BaseImage(in.busybox_path, in.agent_path, kInitScript);
  // Modules from the kernel's own package, dependencies first; the agent loads
  // them in this order before the workload.
  std::string module_lines;
  if (!in.modules.empty()) {
    std::vector<std::string> names;
    for (const ModuleRequest& m : in.modules) names.push_back(m.name);
    for (const std::string& path : AddModules(img, in.kernel, names)) {
      std::string params;
      for (const ModuleRequest& m : in.modules) {
        std::string base = path.substr(path.rfind('/') + 1);
        if (base == m.name + ".ko") params = m.params;
      }
      module_lines += std::string(protocol::conf::kModule) + " " + path + (params.empty() ? "" : " " + params) + "\n";
    }
  }
  img.AddText("etc/blackout/workload.conf", module_lines + in.workload_conf);
  // Standard tools (stress-ng, fio) with the libraries ldd finds for them.
  AddWithLibraries(img, in.tools);
  for (const auto& [path, text] : in.files) img.AddText(path.substr(1), text);
  MakeDirs(in.scratch_dir);
  std::string initramfs = in.scratch_dir + "/initramfs.cpio.gz";
  // Every run of a kernel and workload boots the same image: built once.
  img.WriteCached(initramfs, CacheDir() + "/" + kInitramfsImages.dir);

  std::string kernel_cmdline = (xen ? in.kernel.xen_console + " earlyprintk=xen " : std::string("console=ttyS0 ")) +
                               protocol::kNonceArg + in.nonce + " " + protocol::kIntervalArg +
                               std::to_string(in.heartbeat_ms);
  if (in.guest.fast) kernel_cmdline += " mitigations=off";
  if (!in.guest.kernel_cmdline.empty()) kernel_cmdline += " " + in.guest.kernel_cmdline;
  uint64_t mem_mb = in.guest.memory >> 20;
  std::vector<BootDisk> drives = MakeWorkloadDisks(in);
  if (!xen) {
    // hvm: the kernel under test straight under QEMU, no Xen: the baseline
    // that tells a Xen-specific hang from a generic one. The raw vmlinux boots
    // through its PVH entry (no decompression); a kernel without one (before
    // 4.19's CONFIG_PVH, or built without it) boots as its bzImage through
    // the Linux boot protocol. The console is the serial port.
    if (!in.kernel.pvh_entry && in.kernel.bzimage.empty()) {
      throw ConfigError({"kernel " + in.kernel.package + " " + in.kernel.version +
                         " has no PVH entry and no bzImage: guest type hvm cannot boot it"});
    }
    BootSpec b;
    b.guest_type = type.name;
    b.cpus = in.guest.vcpus;
    b.memory_mb = mem_mb;
    b.kernel = in.kernel.pvh_entry ? in.kernel.vmlinux : in.kernel.bzimage;
    b.append = kernel_cmdline;
    b.modules = {{initramfs, ""}};
    b.initramfs = initramfs;
    b.disks = drives;
    return b;
  }
  if (in.xen_host) {
    // The host's Xen boots the domU itself: its gzip'd vmlinux, the initramfs
    // and the command line, as libvirt's PV <os> takes them.
    BootSpec b;
    b.guest_type = type.name;
    b.cpus = in.guest.vcpus;
    b.memory_mb = mem_mb;
    b.kernel = GzippedVmlinux(in.kernel);
    b.append = kernel_cmdline;
    b.modules = {{initramfs, ""}};
    b.initramfs = initramfs;
    b.disks = drives;
    return b;
  }
  if (type.dom0_toolstack) return AssembleDomU(in, initramfs, kernel_cmdline, drives);
  CheckNoComma("kernel command line", kernel_cmdline);
  CheckNoComma("kernel path", in.kernel.vmlinux);
  CheckNoComma("initramfs path", initramfs);

  // Xen and its heap need room beside dom0.
  return XenBoot(in, in.guest.vcpus, mem_mb + 384, in.guest.memory, in.guest.vcpus,
                 {in.kernel.vmlinux, kernel_cmdline}, initramfs, initramfs, drives);
}

}  // namespace blackout
