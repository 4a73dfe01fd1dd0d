#include "guests/image.h"

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/fsutil.h"
#include "base/subprocess.h"
#include "kernels/apt.h"
#include "kernels/cache.h"
#include "kernels/deb.h"

namespace blackout {
namespace {
namespace fs = std::filesystem;

// Changes whenever the build below would make a different image from the
// same recipe: part of the cache key.
constexpr const char kBuilderVersion[] = "1";
constexpr uint64_t kDiskBytes = 2ull << 30;
constexpr uint64_t kRootOffset = 1ull << 20;  // the root partition starts at sector 2048
constexpr const char kRootLabel[] = "blackout-root";
// Where the mirror's URL stood in a recorded command: the record says what
// was run, not which host this machine's apt sources name.
constexpr const char kMirrorPlaceholder[] = "$DEBIAN_MIRROR";

// What every recipe installs: the cloud kernel and an initrd generator, the
// image's own init (systemd) and cloud-init, an ext4 root's tools, and the
// network configuration cloud-init writes for.
const std::vector<std::string> kCloudPackages = {
    "linux-image-cloud-amd64", "systemd-sysv", "udev",     "cloud-init", "initramfs-tools",
    "e2fsprogs",               "ifupdown",     "netbase"};

std::string Join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

// GRUB's menu for the image: one entry, no wait. Both consoles: tty0 for a
// screen and ttyS0 for hvm's serial port (the last named is /dev/console);
// hvc0 is a Xen PV guest's console, where the kernel's log goes there.
std::string GrubCfg(const std::string& release) {
  return "set default=0\nset timeout=0\n"
         "menuentry 'Debian GNU/Linux, " + release + "' {\n"
         "  linux /boot/vmlinuz-" + release + " root=LABEL=" + kRootLabel +
         " ro console=tty0 console=hvc0 console=ttyS0,115200\n"
         "  initrd /boot/initrd.img-" + release + "\n"
         "}\n";
}

// The kernel release the root's /boot holds (exactly one).
std::string RootKernelRelease(const std::string& root) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root + "/boot", ec)) {
    std::string n = e.path().filename();
    if (n.rfind("vmlinuz-", 0) == 0) found.push_back(n.substr(8));
  }
  if (found.size() != 1) {
    throw InfraError("images: the built root's /boot holds " + std::to_string(found.size()) +
                     " kernels (want one): " + Join(found, ", "));
  }
  if (!fs::is_regular_file(root + "/boot/initrd.img-" + found[0])) {
    throw InfraError("images: the built root has no /boot/initrd.img-" + found[0]);
  }
  return found[0];
}

// The MBR's boot code from GRUB's BIOS build, then its core (which finds
// /boot/grub on the first partition) from sector 1 on, as grub-install
// would write them, without a loop device.
void InstallGrub(const std::string& disk, const std::string& scratch, std::vector<std::string>* commands) {
  const std::string boot_img = "/usr/lib/grub/i386-pc/boot.img";
  if (!fs::is_regular_file(boot_img)) throw InfraError("images: no " + boot_img + " (install grub-pc-bin)");
  std::vector<std::string> mkimage = {"grub-mkimage", "-O", "i386-pc", "-p", "(hd0,msdos1)/boot/grub",
                                      "-o", scratch + "/core.img", "biosdisk", "part_msdos", "ext2", "normal",
                                      "linux", "echo", "configfile", "test", "boot"};
  RunChecked(mkimage);
  commands->push_back(CommandLine(mkimage));
  std::string boot = ReadFile(boot_img);
  std::string core = ReadFile(scratch + "/core.img");
  if (boot.size() < 440 || core.size() > kRootOffset - 512) throw InfraError("images: GRUB's images are not the expected sizes");
  std::fstream f(disk, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(0);
  f.write(boot.data(), 440);  // the boot code only: the partition table stays
  f.seekp(512);
  f.write(core.data(), static_cast<std::streamsize>(core.size()));
  f.flush();
  if (!f) throw InfraError("images: cannot write GRUB into " + disk);
  commands->push_back("write boot.img's first 440 bytes to the MBR and core.img from sector 1");
}

// Fills an image cache entry: root with mmdebstrap, the disk, GRUB, qcow2,
// the record.
void FillImage(const ImageRecipe& recipe, const std::string& entry, const std::string& scratch,
               const std::function<void(const std::string&)>& status) {
  auto say = [&](const std::string& s) { if (status) status(s); };
  auto start = std::chrono::steady_clock::now();
  std::string mirror = HostDebianMirror(recipe.suite);
  if (mirror.empty()) {
    throw ConfigError({"images build " + recipe.name + ": this host's apt sources name no Debian mirror for " +
                       recipe.suite});
  }
  std::vector<std::string> commands;
  auto record_command = [&](const std::vector<std::string>& argv) {
    std::string line = CommandLine(argv);
    for (size_t at; (at = line.find(mirror)) != std::string::npos;) line.replace(at, mirror.size(), kMirrorPlaceholder);
    commands.push_back(line);
  };
  std::string root = scratch + "/root";
  std::vector<std::string> mm = {"mmdebstrap", "--variant=apt", "--include=" + Join(recipe.packages, ","),
                                 "--dpkgopt=path-exclude=/usr/share/doc/*", "--dpkgopt=path-exclude=/usr/share/man/*",
                                 "--dpkgopt=path-exclude=/usr/share/locale/*", recipe.suite, root,
                                 "deb " + mirror + " " + recipe.suite + " main"};
  say("images: mmdebstrap " + recipe.suite + " (about a minute)");
  CommandOptions long_run;
  long_run.timeout_s = 1800;
  RunChecked(mm, long_run);
  record_command(mm);

  std::string release = RootKernelRelease(root);
  std::string grub_cfg = GrubCfg(release);
  MakeDirs(root + "/boot/grub");
  WriteFileAtomic(root + "/boot/grub/grub.cfg", grub_cfg);
  WriteFileAtomic(root + "/etc/fstab", std::string("LABEL=") + kRootLabel + " / ext4 defaults 0 1\n");
  WriteFileAtomic(root + "/etc/hostname", recipe.name + "\n");
  commands.push_back("write /boot/grub/grub.cfg, /etc/fstab (root by label) and /etc/hostname");
  std::string packages = RunChecked({"dpkg-query", "--admindir=" + root + "/var/lib/dpkg", "-W",
                                     "-f=${Package}=${Version}\\n"});

  say("images: disk, ext4 root, GRUB");
  std::string disk = scratch + "/disk.raw";
  {
    std::ofstream f(disk, std::ios::binary);
    f.close();
    fs::resize_file(disk, kDiskBytes);
  }
  CommandOptions table;
  table.timeout_s = 60;
  std::string script = "label: dos\nstart=2048, type=83, bootable\n";
  fs::path script_path = scratch + "/partitions";
  WriteFileAtomic(script_path, script);
  RunChecked({"sh", "-c", "sfdisk --quiet \"$0\" < \"$1\"", disk, script_path.string()}, table);
  commands.push_back("sfdisk disk.raw <<< '" + script.substr(0, script.size() - 1) + "' (2 GiB, one bootable partition)");
  std::vector<std::string> mke2fs = {"mke2fs", "-q", "-t", "ext4", "-L", kRootLabel, "-d", root, "-E",
                                     "offset=" + std::to_string(kRootOffset), disk,
                                     std::to_string((kDiskBytes - kRootOffset) / 1024) + "k"};
  RunChecked(mke2fs, long_run);
  record_command(mke2fs);
  InstallGrub(disk, scratch, &commands);
  fs::remove_all(root);

  say("images: qcow2");
  std::vector<std::string> convert = {"qemu-img", "convert", "-f", "raw", "-O", "qcow2", disk,
                                      entry + "/image.qcow2"};
  RunChecked(convert, long_run);
  record_command(convert);
  fs::remove(disk);

  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  nlohmann::json record = {
      {"name", recipe.name},
      {"suite", recipe.suite},
      {"builder_version", kBuilderVersion},
      {"kernel_release", release},
      {"sha256", Sha256File(entry + "/image.qcow2")},
      {"bytes", fs::file_size(entry + "/image.qcow2")},
      {"virtual_bytes", kDiskBytes},
      {"build_seconds", seconds},
      {"grub_cfg", grub_cfg},
      {"commands", commands},
      {"packages", nlohmann::json::array()},
  };
  for (size_t pos = 0; pos < packages.size();) {
    size_t end = packages.find('\n', pos);
    if (end == std::string::npos) end = packages.size();
    if (end > pos) record["packages"].push_back(packages.substr(pos, end - pos));
    pos = end + 1;
  }
  WriteFileAtomic(entry + "/record.json", record.dump(2) + "\n");
}

// A qcow2 (or raw) image's format and size, from qemu-img; "" format when
// qemu-img does not know it as a disk image.
void QemuImgInfo(const std::string& path, std::string* format, uint64_t* size) {
  CommandOptions o;
  o.timeout_s = 60;
  CommandResult r = RunCommand({"qemu-img", "info", "--output=json", path}, o);
  if (!r.ok()) return;
  nlohmann::json j = nlohmann::json::parse(r.output, nullptr, false);
  if (!j.is_object()) return;
  *format = j.value("format", "");
  *size = j.value("virtual-size", uint64_t{0});
}

// A raw view of an image for the tools that read only raw disks (sfdisk,
// debugfs, pygrub): the image itself, or a qcow2 one converted (sparse) to
// view_path, removed when the view goes.
class RawView {
 public:
  RawView(const std::string& image, const std::string& format, const std::string& view_path) {
    if (format != "qcow2") {
      path_ = image;
      return;
    }
    CommandOptions o;
    o.timeout_s = 600;
    RunChecked({"qemu-img", "convert", "-f", "qcow2", "-O", "raw", "-S", "4k", image, view_path}, o);
    path_ = temporary_ = view_path;
  }
  ~RawView() {
    std::error_code ec;
    if (!temporary_.empty()) fs::remove(temporary_, ec);
  }
  RawView(const RawView&) = delete;
  RawView& operator=(const RawView&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_, temporary_;
};

}  // namespace

const std::vector<ImageRecipe>& ImageRecipes() {
  static const std::vector<ImageRecipe> recipes = {
      {"debian-12", "bookworm", kCloudPackages, "Debian 12 (bookworm) with its cloud kernel and cloud-init"},
      {"debian-11", "bullseye", kCloudPackages, "Debian 11 (bullseye) with its cloud kernel and cloud-init"},
  };
  return recipes;
}

const ImageRecipe* FindImageRecipe(const std::string& name) {
  for (const ImageRecipe& r : ImageRecipes()) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

BuiltImage BuildImage(const std::string& name, const std::string& cache_dir, bool force,
                      const std::function<void(const std::string&)>& status) {
  const ImageRecipe* recipe = FindImageRecipe(name);
  if (!recipe) {
    std::vector<std::string> names;
    for (const ImageRecipe& r : ImageRecipes()) names.push_back(r.name);
    throw ConfigError({"images build: no image recipe '" + name + "' (there are: " + Join(names, ", ") + ")"});
  }
  for (const char* tool : {"mmdebstrap", "mke2fs", "sfdisk", "grub-mkimage", "qemu-img", "dpkg-query"}) {
    if (FindProgram(tool).empty()) throw InfraError(std::string("images build: no ") + tool + " (run ci/install-deps.sh)");
  }
  std::string key = recipe->name + "-" +
                    Sha256Text(cache_dir + "/images",
                               std::string(kBuilderVersion) + "\n" + recipe->suite + "\n" + Join(recipe->packages, " "))
                        .substr(0, 16);
  std::string existing = CachedEntry(cache_dir, "images", key);
  if (force && !existing.empty()) fs::remove_all(existing);
  bool filled = false;
  std::string entry = CacheEntry(
      cache_dir, key,
      [&](const std::string& tmp) {
        filled = true;
        std::string scratch = MakeScratchDir(cache_dir);
        try {
          FillImage(*recipe, tmp, scratch, status);
        } catch (...) {
          fs::remove_all(scratch);
          throw;
        }
        fs::remove_all(scratch);
      },
      "images");
  nlohmann::json record = nlohmann::json::parse(ReadFile(entry + "/record.json"), nullptr, false);
  if (!record.is_object()) throw InfraError("images: " + entry + "/record.json is not JSON");
  BuiltImage out;
  out.path = entry + "/image.qcow2";
  out.record_path = entry + "/record.json";
  out.sha256 = record.value("sha256", "");
  out.kernel_release = record.value("kernel_release", "");
  out.cached = !filled;
  out.seconds = filled ? record.value("build_seconds", 0.0) : 0;
  return out;
}

std::vector<GrubEntry> ParseGrubCfg(const std::string& text, const std::string& source, int* default_entry) {
  std::vector<GrubEntry> entries;
  std::vector<std::string> problems;
  int default_index = 0, default_line = 0;
  bool in_entry = false;
  int depth = 0;  // braces open inside the current entry (submenu, if blocks)
  int lineno = 0;
  for (size_t pos = 0; pos <= text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = Trim(text.substr(pos, end - pos));
    pos = end + 1;
    ++lineno;
    if (line.empty() || line[0] == '#') continue;
    std::string where = source + ":" + std::to_string(lineno) + ": ";
    if (!in_entry) {
      if (line.rfind("set default=", 0) == 0) {
        std::string v = line.substr(12);
        if (v.size() >= 2 && (v[0] == '"' || v[0] == '\'') && v.back() == v[0]) v = v.substr(1, v.size() - 2);
        if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos) {
          problems.push_back(where + "default '" + v + "' is not an entry number (blackout reads numbered defaults only)");
        } else {
          default_index = std::atoi(v.c_str());
          default_line = lineno;
        }
      } else if (line.rfind("menuentry", 0) == 0) {
        if (line.back() != '{') {
          problems.push_back(where + "menuentry without '{' on its line");
          continue;
        }
        GrubEntry e;
        e.line = lineno;
        size_t q = line.find_first_of("'\"");
        if (q != std::string::npos) {
          size_t qe = line.find(line[q], q + 1);
          if (qe != std::string::npos) e.title = line.substr(q + 1, qe - q - 1);
        }
        entries.push_back(e);
        in_entry = true;
        depth = 0;
      }
      continue;
    }
    GrubEntry& e = entries.back();
    if (line == "}") {
      if (depth > 0) {
        --depth;
        continue;
      }
      in_entry = false;
      if (e.kernel.empty()) {
        problems.push_back(source + ":" + std::to_string(e.line) + ": menu entry '" + e.title + "' has no linux line");
      }
      continue;
    }
    if (line.back() == '{') ++depth;
    auto word_end = line.find_first_of(" \t");
    std::string word = line.substr(0, word_end);
    std::string rest = word_end == std::string::npos ? "" : Trim(line.substr(word_end));
    if (word == "linux" || word == "linux16" || word == "linuxefi") {
      auto k_end = rest.find_first_of(" \t");
      e.kernel = rest.substr(0, k_end);
      e.args = k_end == std::string::npos ? "" : Trim(rest.substr(k_end));
      if (e.kernel.empty()) problems.push_back(where + "linux line without a kernel path");
    } else if (word == "initrd" || word == "initrd16" || word == "initrdefi") {
      e.initrd = rest.substr(0, rest.find_first_of(" \t"));
    }
  }
  if (in_entry) {
    problems.push_back(source + ":" + std::to_string(entries.back().line) + ": menu entry '" + entries.back().title +
                       "' is not closed (no '}' before the end of the file)");
  }
  if (entries.empty() && problems.empty()) problems.push_back(source + ": no menuentry: nothing pygrub or pvgrub could boot");
  if (!entries.empty() && default_index >= static_cast<int>(entries.size())) {
    problems.push_back(source + ":" + std::to_string(default_line) + ": default " + std::to_string(default_index) +
                       " is past the last entry (there are " + std::to_string(entries.size()) + ")");
  }
  if (!problems.empty()) throw ConfigError(problems);
  if (default_entry) *default_entry = default_index;
  return entries;
}

std::map<std::string, std::string> ConfigDriveFiles(const ConfigDriveInputs& in) {
  // The drive mounts where the agent's unit finds it; systemd-run must not
  // wait for the unit (bootcmd runs inside cloud-init's early unit, which
  // the boot transaction is still waiting for) nor order it after basic.target.
  const std::string drive = "/run/blackout/drive";
  std::string start = "mkdir -p " + drive + " && mount -o ro /dev/disk/by-label/CIDATA " + drive +
                      " && systemd-run --no-block -p DefaultDependencies=no --unit=blackout-agent " + drive +
                      "/blackout-agent service " + drive;
  std::map<std::string, std::string> files;
  files["meta-data"] = "instance-id: " + in.instance_id + "\nlocal-hostname: blackout-guest\n";
  files["network-config"] = "network:\n  config: disabled\n";
  files["user-data"] = "#cloud-config\nbootcmd:\n  - [sh, -c, \"" + start + "\"]\n";
  files["agent.conf"] = "console=" + in.console + "\nnonce=" + in.nonce + "\ninterval_ms=" +
                        std::to_string(in.heartbeat_ms) + "\n";
  files["workload.conf"] = in.workload_conf;
  return files;
}

void WriteConfigDrive(const std::string& path, const std::map<std::string, std::string>& files,
                      const std::string& agent_path) {
  if (FindProgram("mkfs.vfat").empty() || FindProgram("mcopy").empty()) {
    throw InfraError("config drive: no mkfs.vfat or mcopy (run ci/install-deps.sh)");
  }
  std::string dir = path + ".files";
  fs::remove_all(dir);
  MakeDirs(dir);
  std::vector<std::string> copy = {"mcopy", "-i", path};
  for (const auto& [name, text] : files) {
    WriteFileAtomic(dir + "/" + name, text);
    copy.push_back(dir + "/" + name);
  }
  copy.push_back(agent_path);
  copy.push_back("::/");
  std::error_code ec;
  uint64_t agent_bytes = fs::file_size(agent_path, ec);
  if (ec) throw InfraError("config drive: no agent at " + agent_path);
  // FAT's overhead and the small files: a few MiB beyond the agent.
  uint64_t kib = agent_bytes / 1024 + 4096;
  fs::remove(path, ec);
  CommandOptions o;
  o.timeout_s = 60;
  RunChecked({"mkfs.vfat", "-n", "CIDATA", "-C", path, std::to_string(kib)}, o);
  RunChecked(copy, o);
  if (fs::path(agent_path).filename() != "blackout-agent") {
    RunChecked({"mren", "-i", path, "::/" + fs::path(agent_path).filename().string(), "::/blackout-agent"}, o);
  }
  fs::remove_all(dir);
}

ImageInfo InspectImage(const std::string& path, const std::string& scratch_dir) {
  if (!fs::is_regular_file(path)) throw ConfigError({"image " + path + ": no such file"});
  ImageInfo info;
  QemuImgInfo(path, &info.format, &info.virtual_size);
  if (info.format != "raw" && info.format != "qcow2") {
    throw ConfigError({"image " + path + ": not a raw or qcow2 disk image" +
                       (info.format.empty() ? std::string() : " (qemu-img says " + info.format + ")")});
  }
  RawView view(path, info.format, scratch_dir + "/inspect-" + std::to_string(getpid()) + ".raw");
  const std::string& raw = view.path();

  std::string mbr;
  {
    std::ifstream f(raw, std::ios::binary);
    mbr.resize(512);
    f.read(&mbr[0], 512);
    mbr.resize(static_cast<size_t>(f.gcount()));
  }
  info.bios_bootable = mbr.size() == 512 && static_cast<unsigned char>(mbr[510]) == 0x55 &&
                       static_cast<unsigned char>(mbr[511]) == 0xAA;
  // The first Linux partition's offset, from sfdisk's JSON.
  CommandOptions o;
  o.timeout_s = 60;
  CommandResult parts = RunCommand({"sfdisk", "-J", raw}, o);
  uint64_t offset = 0;
  bool found = false;
  if (parts.ok()) {
    nlohmann::json j = nlohmann::json::parse(parts.output, nullptr, false);
    if (j.is_object() && j.contains("partitiontable")) {
      const nlohmann::json& t = j["partitiontable"];
      uint64_t sector = t.value("sectorsize", uint64_t{512});
      for (const nlohmann::json& p : t.value("partitions", nlohmann::json::array())) {
        std::string type = p.value("type", "");
        if (type == "83" || type == "0FC63DAF-8483-4772-8E79-3D69D8477DE4") {
          offset = p.value("start", uint64_t{0}) * sector;
          found = true;
          break;
        }
      }
    }
  }
  std::string fsarg = raw + (found ? "?offset=" + std::to_string(offset) : std::string());
  auto debugfs = [&](const std::string& request) {
    return RunCommand({"debugfs", "-R", request, fsarg}, o);
  };
  CommandResult probe = debugfs("stat /");
  if (!probe.ok() || probe.output.find("Inode:") == std::string::npos) {
    throw ConfigError({"image " + path + ": no ext2/3/4 root file system blackout can read" +
                       std::string(found ? " on its first Linux partition" : " (and no Linux partition)")});
  }
  auto exists = [&](const std::string& file) {
    CommandResult r = debugfs("stat " + file);
    return r.ok() && r.output.find("Inode:") != std::string::npos;
  };
  info.root_offset = offset;
  info.cloud_init = exists("/usr/bin/cloud-init");
  info.systemd = exists("/lib/systemd/systemd") || exists("/usr/lib/systemd/systemd");
  CommandResult features = debugfs("features");
  info.needs_recovery = features.output.find("needs_recovery") != std::string::npos;
  CommandResult cfg = debugfs("cat /boot/grub/grub.cfg");
  if (cfg.ok() && cfg.output.find("menuentry") != std::string::npos) {
    info.grub_cfg = cfg.output;
    // debugfs names itself on stderr first ("debugfs 1.47.0 (5-Feb-2023)").
    if (info.grub_cfg.rfind("debugfs ", 0) == 0) info.grub_cfg.erase(0, info.grub_cfg.find('\n') + 1);
    int def = 0;
    std::vector<GrubEntry> entries = ParseGrubCfg(info.grub_cfg, path + ":/boot/grub/grub.cfg", &def);
    info.kernel = entries[def].kernel;
    // The kernel's head tells how it is packed (pvgrub cannot unpack all).
    std::string dump = scratch_dir + "/inspect-kernel-" + std::to_string(getpid());
    CommandResult k = debugfs("dump " + info.kernel + " " + dump);
    std::error_code ec;
    if (k.ok() && fs::is_regular_file(dump, ec)) {
      std::ifstream f(dump, std::ios::binary);
      std::string head(1 << 20, '\0');
      f.read(&head[0], static_cast<std::streamsize>(head.size()));
      head.resize(static_cast<size_t>(f.gcount()));
      info.kernel_compression = KernelCompression(head);
    }
    fs::remove(dump, ec);
  }
  return info;
}

std::string KernelCompression(const std::string& head) {
  auto at = [&](size_t off, const std::string& magic) { return head.compare(off, magic.size(), magic) == 0; };
  static const std::pair<const char*, std::string> kMagics[] = {
      {"gzip", std::string("\x1f\x8b", 2)},         {"xz", std::string("\xfd" "7zXZ\0", 6)},
      {"lzma", std::string("\x5d\0\0", 3)},         {"bzip2", "BZh"},
      {"lzo", std::string("\x89LZO", 4)},            {"lz4", std::string("\x02\x21\x4c\x18", 4)},
      {"zstd", std::string("\x28\xb5\x2f\xfd", 4)}, {"elf", std::string("\x7f" "ELF", 4)}};
  // A whole file packed (a vmlinux.gz), or a plain vmlinux.
  for (const auto& [name, magic] : kMagics) {
    if (at(0, magic)) return name;
  }
  // The boot protocol's header (2.08 and up): payload_offset at 0x248, after
  // setup_sects + 1 sectors.
  if (head.size() < 0x250 || !at(0x202, "HdrS")) return "unknown";
  unsigned setup = static_cast<unsigned char>(head[0x1f1]);
  if (setup == 0) setup = 4;
  uint32_t offset = 0;
  std::memcpy(&offset, head.data() + 0x248, 4);
  size_t p = (setup + 1) * 512ull + offset;
  if (p + 6 > head.size()) return "unknown";
  for (const auto& [name, magic] : kMagics) {
    if (at(p, magic)) return name;
  }
  return "unknown";
}

std::string PvgrubProblem(const std::string& path, const ImageInfo& info) {
  if (info.kernel.empty()) return "image " + path + " has no /boot/grub/grub.cfg: pvgrub has no menu to boot from";
  const std::string& c = info.kernel_compression;
  if (c == "elf" || c == "gzip" || c == "xz" || c == "lzo") return "";
  return "image " + path + ": pvgrub cannot boot its kernel " + info.kernel + ", which is " +
         (c == "unknown" || c.empty() ? std::string("not a kernel GRUB's Xen loader knows")
                                      : c + "-compressed: GRUB's Xen loader unpacks a plain, gzip, xz or lzo kernel "
                                            "only (pygrub reads " + c + ": use bootloader: pygrub)");
}

std::string ImageRefusal(const std::string& path, const ImageInfo& info, const std::string& inject) {
  if (inject == "overlay") {
    if (!info.systemd) {
      return "image " + path + " has no systemd (/lib/systemd/systemd): inject: overlay starts the agent "
             "with a systemd unit written into the overlay";
    }
    if (info.needs_recovery) {
      return "image " + path + ": its root file system's journal was not closed cleanly (needs_recovery): "
             "blackout will not write the agent beside a journal the guest's kernel replays; fsck the image "
             "(e2fsck -fy on its root partition) first";
    }
    return "";
  }
  if (!info.cloud_init) {
    return "image " + path + " has no cloud-init (/usr/bin/cloud-init): blackout starts its agent from a "
           "NoCloud config drive, which only cloud-init reads; install cloud-init in the image, or put "
           "'inject: overlay' in the guest to have the agent and a systemd unit written into the run's overlay";
  }
  return "";
}

std::map<std::string, std::string> InjectedFiles(const ConfigDriveInputs& in) {
  const std::string dir = kInjectedAgentDir;
  std::map<std::string, std::string> drive = ConfigDriveFiles(in);
  std::map<std::string, std::string> files;
  files[dir + "/agent.conf"] = drive["agent.conf"];
  files[dir + "/workload.conf"] = drive["workload.conf"];
  const std::string unit = "/etc/systemd/system/blackout-agent.service";
  files[unit] =
      "# Written by blackout into this run's overlay (inject: overlay); the image itself is unchanged.\n"
      "[Unit]\n"
      "Description=blackout agent: heartbeats and workload\n"
      "DefaultDependencies=no\n"
      "After=local-fs.target\n"
      "\n"
      "[Service]\n"
      "ExecStart=" + dir + "/blackout-agent service " + dir + "\n"
      "\n"
      "[Install]\n"
      "WantedBy=sysinit.target\n";
  files["/etc/systemd/system/sysinit.target.wants/blackout-agent.service"] = unit;
  return files;
}

void MakeInjectedOverlay(const std::string& image, const ImageInfo& info,
                         const std::map<std::string, std::string>& files, const std::string& agent_path,
                         const std::string& overlay_path, const std::string& scratch_dir) {
  std::error_code ec;
  if (!fs::is_regular_file(agent_path, ec)) throw InfraError("inject: no agent at " + agent_path);
  // A copy of the whole disk to write in (the image's own bytes stay as
  // they are), then debugfs's requests, one a line, from a file.
  std::string copy = scratch_dir + "/inject-" + std::to_string(getpid()) + ".raw";
  std::string staged = scratch_dir + "/inject-files";
  fs::remove_all(staged, ec);
  MakeDirs(staged);
  struct Cleanup {
    std::string copy, staged;
    ~Cleanup() {
      std::error_code e;
      fs::remove(copy, e);
      fs::remove_all(staged, e);
    }
  } cleanup{copy, staged};
  CommandOptions o;
  o.timeout_s = 600;
  RunChecked({"qemu-img", "convert", "-f", info.format, "-O", "raw", "-S", "4k", image, copy}, o);
  std::vector<std::string> requests;
  std::vector<std::pair<std::string, int64_t>> made;  // paths to find afterwards, and their sizes (-1: a link)
  std::set<std::string> dirs;
  auto parents = [&](const std::string& path) {
    std::string p;
    size_t at = 1;
    while ((at = path.find('/', at)) != std::string::npos) {
      p = path.substr(0, at++);
      // debugfs makes a top-level directory in its cwd, whatever the slash says.
      if (dirs.insert(p).second) requests.push_back("cd /\nmkdir " + p);
    }
  };
  auto write = [&](const std::string& local, const std::string& path) {
    parents(path);
    std::string dir = fs::path(path).parent_path().string(), name = fs::path(path).filename().string();
    requests.push_back("rm " + path);  // an earlier file of that name (debugfs's write never replaces one)
    requests.push_back("cd " + dir);
    requests.push_back("write " + local + " " + name);
    made.push_back({path, static_cast<int64_t>(fs::file_size(local))});
  };
  int n = 0;
  for (const auto& [path, text] : files) {
    if (path.find(".wants/") != std::string::npos) continue;
    std::string local = staged + "/" + std::to_string(n++);
    WriteFileAtomic(local, text, 0644);
    write(local, path);
  }
  write(agent_path, std::string(kInjectedAgentDir) + "/blackout-agent");
  for (const auto& [path, target] : files) {
    if (path.find(".wants/") == std::string::npos) continue;
    parents(path);
    requests.push_back("rm " + path);
    requests.push_back("cd /\nsymlink " + path + " " + target);
    made.push_back({path, -1});
  }
  std::string script = staged + "/requests";
  std::string text;
  for (const std::string& r : requests) text += r + "\n";
  WriteFileAtomic(script, text);
  std::string fsarg = copy + (info.root_offset ? "?offset=" + std::to_string(info.root_offset) : std::string());
  CommandResult w = RunCommand({"debugfs", "-w", "-f", script, fsarg}, o);
  if (!w.ok()) throw InfraError("inject: debugfs -w -f " + script + " " + fsarg + " failed:\n" + OutputTail(w.output));
  // debugfs goes on past a failed request and exits 0; it says so on a
  // line of its own ("write: Could not allocate block ..."), and may leave a
  // file cut short. Only an existing directory is no failure.
  for (size_t pos = 0; pos < w.output.size();) {
    size_t end = w.output.find('\n', pos);
    if (end == std::string::npos) end = w.output.size();
    std::string line = w.output.substr(pos, end - pos);
    pos = end + 1;
    bool failed = line.rfind("write: ", 0) == 0 || line.rfind("symlink: ", 0) == 0 ||
                  (line.rfind("mkdir: ", 0) == 0 && line.find("already exists") == std::string::npos);
    if (failed) {
      throw InfraError("inject: debugfs could not write into " + image + "'s root (" + line + "):\n" +
                       OutputTail(w.output));
    }
  }
  // And every file must be there now, whole.
  for (const auto& [path, size] : made) {
    CommandResult r = RunCommand({"debugfs", "-R", "stat " + path, fsarg}, o);
    bool whole = r.ok() && r.output.find("Inode:") != std::string::npos &&
                 (size < 0 || r.output.find("Size: " + std::to_string(size) + "\n") != std::string::npos);
    if (!whole) {
      throw InfraError("inject: " + path + " is not in " + image + "'s root (whole) after debugfs wrote it:\n" +
                       OutputTail(w.output));
    }
  }
  // Only what differs from the image lands in the overlay.
  std::string backing = fs::absolute(image, ec).string();
  fs::remove(overlay_path, ec);
  RunChecked({"qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", "-B", backing, "-F", info.format, copy,
              overlay_path},
             o);
}

void MakeOverlay(const std::string& image, const std::string& format, const std::string& overlay_path) {
  std::error_code ec;
  std::string backing = fs::absolute(image, ec).string();
  CommandOptions o;
  o.timeout_s = 60;
  RunChecked({"qemu-img", "create", "-q", "-f", "qcow2", "-b", backing, "-F", format, overlay_path}, o);
}

PygrubBoot RunPygrub(const std::string& image, const std::string& format, const XenToolsArtifact& tools,
                     const std::string& out_dir) {
  // The package's tree: bin/pygrub, lib/python (pygrub's modules and the
  // xenfsimage binding), lib/<triplet>/xenfsimage (its file system plugins).
  std::string xen_lib = fs::path(tools.bin_dir).parent_path().string() + "/lib";
  std::string pygrub = tools.bin_dir + "/pygrub";
  if (!fs::is_regular_file(pygrub)) throw InfraError("pygrub: Xen's toolstack " + tools.version + " has no " + pygrub);
  std::string fsdir;
  for (const std::string& d : tools.lib_dirs) {
    if (fs::is_directory(d + "/xenfsimage")) fsdir = d + "/xenfsimage";
  }
  if (fsdir.empty()) fsdir = xen_lib + "/x86_64-linux-gnu/xenfsimage";
  RawView view(image, format, out_dir + "/pygrub-view.raw");
  std::string ld;
  for (const std::string& d : tools.lib_dirs) ld += (ld.empty() ? "" : ":") + d;
  CommandOptions o;
  o.timeout_s = 120;
  o.env = {"XEN_FSIMAGE_FSDIR=" + fsdir, "LD_LIBRARY_PATH=" + ld, "PYTHONPATH=" + xen_lib + "/python", "TERM=dumb"};
  // -q: the default entry without pygrub's curses menu.
  std::vector<std::string> argv = {"/usr/bin/python3", pygrub, "-q", "--output-format=simple",
                                   "--output-directory=" + out_dir, view.path()};
  CommandResult r = RunCommand(argv, o);
  PygrubBoot out;
  for (size_t pos = 0; pos < r.output.size();) {
    size_t end = r.output.find('\n', pos);
    if (end == std::string::npos) end = r.output.size();
    std::string line = r.output.substr(pos, end - pos);
    pos = end + 1;
    if (line.rfind("kernel ", 0) == 0) out.kernel = line.substr(7);
    if (line.rfind("ramdisk ", 0) == 0) out.ramdisk = line.substr(8);
    if (line.rfind("args ", 0) == 0) out.args = Trim(line.substr(5));
  }
  if (!r.ok() || out.kernel.empty() || !fs::is_regular_file(out.kernel)) {
    throw InfraError("pygrub found no kernel to boot in " + image + ": " + CommandLine(argv) + "\n" +
                     OutputTail(r.output));
  }
  return out;
}

BootSpec AssembleImageBoot(const BootInputs& in, const ImageInfo& image) {
  bool pv = in.guest.type == "xen-pv-domu";
  BootSpec b;
  b.guest_type = in.guest.type;
  b.cpus = in.guest.vcpus;
  b.memory_mb = in.guest.memory >> 20;
  b.disks = MakeWorkloadDisks(in);
  std::string overlay = in.scratch_dir + "/image-overlay.qcow2";
  ConfigDriveInputs drive;
  drive.instance_id = "blackout-" + in.nonce;
  drive.console = pv ? "/dev/hvc0" : "/dev/ttyS0";
  drive.nonce = in.nonce;
  drive.heartbeat_ms = in.heartbeat_ms;
  drive.workload_conf = in.workload_conf;
  std::error_code ec;
  std::string backing = fs::absolute(in.guest.image, ec).string();
  if (in.guest.inject == "overlay") {
    // The agent and its unit in the overlay itself: no config drive.
    MakeInjectedOverlay(in.guest.image, image, InjectedFiles(drive), in.agent_path, overlay, in.scratch_dir);
    b.disks.push_back({overlay, "qcow2", "writeback", image.virtual_size, true, false, !pv, backing, image.format});
  } else {
    MakeOverlay(in.guest.image, image.format, overlay);
    b.disks.push_back({overlay, "qcow2", "writeback", image.virtual_size, true, false, !pv, backing, image.format});
    std::string seed = in.scratch_dir + "/config-drive.img";
    WriteConfigDrive(seed, ConfigDriveFiles(drive), in.agent_path);
    b.disks.push_back({seed, "raw", "writeback", static_cast<uint64_t>(fs::file_size(seed, ec)), true, true, false});
  }
  if (!pv) return b;
  BootInputs domu = in;
  if (in.guest.bootloader == "pvgrub") {
    // GRUB is the domU's kernel: it finds the image's grub.cfg on the
    // xen-blkfront disks and boots the entry it names, initrd and all.
    if (in.pvgrub.empty()) throw InfraError("assemble image domU: no pvgrub was fetched");
    domu.kernel.vmlinux = in.pvgrub;
    return AssembleDomU(domu, "", "", b.disks);
  }
  // xl's bootloader=pygrub, done here on the host from the same package: the
  // kernel and initrd it takes out are the domU's.
  PygrubBoot boot = RunPygrub(in.guest.image, image.format, in.xen_tools, in.scratch_dir);
  domu.kernel.vmlinux = boot.kernel;
  if (boot.ramdisk.empty()) throw ConfigError({"image " + in.guest.image + ": its boot entry has no initrd"});
  return AssembleDomU(domu, boot.ramdisk, boot.args, b.disks);
}

}  // namespace blackout
