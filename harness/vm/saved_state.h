// xen-pv-domu's dom0, booted once and restored many times: the cache of VM
// states QEMU saved (migration to a file) where dom0 parked with its
// toolstack up, keyed by everything that shapes that state.
//
// The key is the sha256 of the QEMU command line with the run's own paths
// taken out (its socket directory and disks, whose bytes dom0 has not read
// when it parks) and, for every file QEMU loads at boot (Xen, dom0's kernel
// and initramfs) and for QEMU itself, its path, size and inode: a new
// Xen, dom0 kernel, toolstack (in dom0's initramfs), dom0 init script,
// sizing, CPU model or QEMU makes a new key, and the old state ages out.
#pragma once

#include <string>
#include <vector>

#include "harness/vm/backend.h"

namespace blackout {

// CacheDir()/dom0-state.
std::string SavedStateDir();

// The state's key for a boot and the QEMU command line that starts it.
// Throws InfraError when a file QEMU loads is missing.
std::string SavedStateKey(const std::vector<std::string>& argv, const BootSpec& boot, const StartOptions& options,
                          const std::string& qemu_binary);

// Keeps the `keep` newest states in dir (by mtime: a restore touches its
// state) and removes writers' temporaries older than an hour.
void PruneSavedStates(const std::string& dir, size_t keep);
constexpr size_t kSavedStatesKept = 4;

}  // namespace blackout
