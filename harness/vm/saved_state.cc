#include "harness/vm/saved_state.h"

#include <sys/stat.h>

#include <cstring>

#include "base/error.h"
#include "base/fsutil.h"
#include "kernels/deb.h"

namespace blackout {
namespace {

// path, size and inode: cache files are written once and renamed in, so a
// changed file is a new inode. (Not mtime: the initramfs cache touches what it
// hands out.)
std::string Identity(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) throw InfraError("saved dom0 state: " + path + ": " + std::strerror(errno));
  return path + " " + std::to_string(st.st_size) + " " + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

void ReplaceAll(std::string& s, const std::string& from, const std::string& to) {
  if (from.empty()) return;
  for (size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size()) s.replace(at, from.size(), to);
}

}  // namespace

std::string SavedStateDir() { return CacheDir() + "/" + kDom0States.dir; }

std::string SavedStateKey(const std::vector<std::string>& argv, const BootSpec& boot, const StartOptions& options,
                          const std::string& qemu_binary) {
  std::string desc = "blackout dom0 state 1\nqemu " + Identity(qemu_binary) + "\naccel " + options.accel + "\n";
  for (std::string arg : argv) {
    if (!options.socket_dir.empty()) ReplaceAll(arg, options.socket_dir, "@SOCKETS@");
    for (size_t i = 0; i < boot.disks.size(); ++i) ReplaceAll(arg, boot.disks[i].path, "@DISK" + std::to_string(i) + "@");
    desc += std::to_string(arg.size()) + ":" + arg + "\n";
  }
  desc += "kernel " + Identity(boot.kernel) + "\n";
  for (const BootModule& m : boot.modules) desc += "module " + Identity(m.path) + "\n";
  return Sha256Text(SavedStateDir(), desc);
}

void PruneSavedStates(const std::string& dir, size_t keep) { PruneNewest(dir, kDom0States.ext, keep); }

}  // namespace blackout
