#include "guests/guest_type.h"

#include "base/protocol.h"

namespace blackout {

const std::vector<GuestType>& GuestTypes() {
  static const std::vector<GuestType> all = [] {
    GuestType dom0;
    dom0.name = "xen-pv-dom0";
    dom0.xen = true;
    dom0.disks = "virtio-blk";
    dom0.multiboot_cmdline = true;

    GuestType domu;
    domu.name = "xen-pv-domu";
    domu.xen = true;
    domu.dom0_toolstack = true;
    domu.disk_bus = DiskBus::kXenBlkfront;
    domu.disks = "xen-blkfront";
    domu.console_prefix = protocol::kDomUPrefix;
    domu.evidence = GuestType::Evidence::kDom0;

    GuestType hvm;
    hvm.name = "hvm";
    hvm.disks = "virtio-blk";
    return std::vector<GuestType>{dom0, domu, hvm};
  }();
  return all;
}

const GuestType& XenHostDomU() {
  static const GuestType domu = [] {
    GuestType t = *FindGuestType("xen-pv-domu");
    t.dom0_toolstack = false;
    t.xen_host = true;
    t.console_prefix = "";
    t.evidence = GuestType::Evidence::kHost;
    return t;
  }();
  return domu;
}

const GuestType* FindGuestType(const std::string& name) {
  for (const GuestType& t : GuestTypes()) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::string GuestTypeNames() {
  std::string out;
  for (const GuestType& t : GuestTypes()) out += (out.empty() ? "" : ", ") + t.name;
  return out;
}

}  // namespace blackout
