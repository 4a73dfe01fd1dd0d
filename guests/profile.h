// Guest profiles (guests/profiles/*.yaml, compiled in): the shape of the
// machine a kernel is tested in. A run config names a profile by its type and
// overrides parts of it.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/yaml_reader.h"
#include "guests/guest_type.h"

namespace blackout {

struct GuestSpec {
  std::string type = "xen-pv-dom0";  // xen-pv-dom0 | xen-pv-domu | hvm
  int vcpus = 2;
  uint64_t memory = 512ull << 20;  // the guest's memory (dom0_mem for xen-pv-dom0)
  std::string xen_cmdline;         // appended to Xen's command line
  std::string kernel_cmdline;      // appended to the guest kernel's
  // The fast option set: Xen xpti=no pv-l1tf=no spec-ctrl=no and the guest's
  // mitigations=off. Boots much faster under TCG but changes the code paths
  // under test, so qualification runs keep it off unless told.
  bool fast = false;
  std::string disks = "virtio-blk";  // how workload disks reach the guest: virtio-blk | xen-blkfront
  // xen-pv-domu only: the dom0 that runs the toolstack.
  int dom0_vcpus = 1;
  uint64_t dom0_memory = 512ull << 20;
  // Boot Xen and dom0 once, save the VM when its toolstack is up, and restore
  // that state for later runs (QEMU backend on this machine).
  bool dom0_saved_state = true;
  // A cloud image (raw or qcow2) that boots its own kernel, initrd and init
  // instead of a kernel blackout is handed (guests/image.h); "" for none.
  // Type hvm boots it through its BIOS bootloader; xen-pv-domu through
  // `bootloader`.
  std::string image;
  // How a Xen PV domU boots its image: pygrub (xl's bootloader= runs it on
  // the image in dom0 and boots the kernel and initrd it takes out) or
  // pvgrub (GRUB's Xen PV build is the domU's kernel, and reads the image's
  // grub.cfg itself).
  std::string bootloader = "pygrub";
  // How the agent gets into an image guest: cloud-init (it reads a NoCloud
  // config drive carrying the agent) or overlay (the agent and a systemd
  // unit written into the run's overlay, for images without cloud-init).
  std::string inject = "cloud-init";

  // What the type needs (never null for a spec that came through ParseGuest
  // or the profiles; an unknown type is an error there).
  const GuestType& Type() const;
  // /dev/vd or /dev/xvd: the guest's name for its workload disks, before the letter.
  std::string DiskDevicePrefix() const { return Type().disk_bus == DiskBus::kXenBlkfront ? "/dev/xvd" : "/dev/vd"; }
  bool xen() const { return Type().xen; }
};

// The built-in profiles, one per guest type.
const std::vector<GuestSpec>& GuestProfiles();
// nullptr when there is no such type.
const GuestSpec* FindGuestProfile(const std::string& type);

// A config's `guest`: a type name (its profile), or a mapping whose `type`
// picks the profile the other keys override. Problems go to `reader`.
GuestSpec ParseGuest(const YAML::Node& node, YamlReader& reader, const GuestSpec& current);

}  // namespace blackout
