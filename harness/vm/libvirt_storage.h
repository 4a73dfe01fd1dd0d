// A remote libvirt host has none of blackout's files and shares no file
// system with it: the boot's files reach it as storage volumes, uploaded with
// virStorageVolUpload into a directory pool blackout creates there
// ("blackout", at /var/lib/libvirt/blackout). Volumes are named by content
// (sha256 and file name), so a file the host already holds is not sent again;
// a volume counts only once its ".done" marker exists, so an upload cut short
// is never booted. The workload's disks are made empty on the host (the guest
// makes its file systems) and deleted after the run. An image guest's image
// is a file like the others (sent once); its overlay, rebased on the host's
// copy, is the run's own.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "guests/boot.h"

namespace blackout {

class LibvirtConnection;

struct HostBoot {
  BootSpec boot;                          // the same boot, with the host's paths
  uint64_t uploaded_bytes = 0;            // sent for this run
  uint64_t reused_bytes = 0;              // already on the host
  std::vector<std::string> run_volumes;   // made for this run only: DeleteRunVolumes after it
};

inline constexpr char kPoolName[] = "blackout";
inline constexpr char kPoolPath[] = "/var/lib/libvirt/blackout";

// Puts the boot's kernel, modules and disks on the host. `run_name` names the
// run's own volumes. Throws HostError.
HostBoot PlaceBootOnHost(LibvirtConnection& conn, const BootSpec& boot, const std::string& run_name);

// Deletes volumes PlaceBootOnHost made for one run; errors are ignored (the
// host may be gone).
void DeleteRunVolumes(LibvirtConnection& conn, const std::vector<std::string>& names);

struct PoolUsage {
  int volumes = -1;     // files held (markers not counted); -1: the host has no "blackout" pool yet
  uint64_t bytes = 0;   // allocated on the host
};
PoolUsage DescribePool(LibvirtConnection& conn);

// The volume name for a file with this content: "<sha256 prefix>-<file name>",
// the name cut to what libvirt and file systems take.
std::string ContentVolumeName(const std::string& sha256, const std::string& path);

}  // namespace blackout
