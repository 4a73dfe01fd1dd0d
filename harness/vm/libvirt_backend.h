// The libvirt backend: the same boot as the direct QEMU backend, started as a
// transient libvirt domain on a host libvirt manages (qemu:///system here, or
// a remote qemu+ssh:// / qemu+tcp:// host). The domain is created with
// VIR_DOMAIN_START_AUTODESTROY: when blackout's connection closes (a SIGKILLed
// blackout included) libvirt destroys it. The console comes through
// virDomainOpenConsole on libvirt's event loop thread into a pipe the monitor
// polls; pause, resume, registers and memory dumps through libvirt's domain
// and QEMU monitor calls.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "harness/vm/accel.h"
#include "harness/vm/backend.h"

namespace blackout {

// The default libvirt host: the machine's own system libvirtd.
inline constexpr char kDefaultLibvirtUri[] = "qemu:///system";

// Why a libvirt URI is not one blackout can use, or "" when it is:
// driver[+transport]://[user@][host[:port]]/system|session[?params], driver
// qemu, or xen (a Xen host through libvirt's libxl driver, /system only).
std::string LibvirtUriProblem(const std::string& uri);
// True for a Xen host's URI (xen:///system, xen+ssh://host/system): its
// libvirt runs PV domUs itself; there is no QEMU, no autodestroy and no QEMU
// monitor. Each domain blackout starts there names its owner (machine, pid,
// process start) and a deadline in its metadata; one a SIGKILLed blackout
// left is destroyed by the next blackout on that host once its owner is
// provably gone (same machine) or its deadline has passed.
bool LibvirtUriIsXen(const std::string& uri);
// True for a URI that names no host: the domain runs on this machine, so its
// QEMU process (for host-contention accounting) and log are reachable here.
bool LibvirtUriIsLocal(const std::string& uri);

// The CPU count a libvirt host reports (for its default slots). Throws
// HostError when it cannot be reached.
int LibvirtHostCpus(const std::string& uri);

// What a libvirt host says of itself, for `blackout hosts check`.
struct LibvirtHostInfo {
  std::string hostname;
  int cpus = 0;
  uint64_t memory_mib = 0;
  std::string hypervisor;       // e.g. "QEMU 7.2.0"
  int pool_volumes = -1;        // blackout's pool: -1 when the host has none yet
  uint64_t pool_bytes = 0;      // what its volumes hold
};
// Throws HostError when the host cannot be reached.
LibvirtHostInfo DescribeLibvirtHost(const std::string& uri);

// The accelerator a remote libvirt host offers, from its capabilities (a
// guest type x86_64 with a kvm domain) and a paused kvm domain started and
// destroyed there (once per host per process): auto takes kvm only when that
// domain starts.
// Throws HostError when the host cannot be reached or kvm is requested and
// the host has none.
AccelChoice LibvirtHostAccel(const std::string& uri, const std::string& requested);

class LibvirtConnection;

class LibvirtBackend : public Backend {
 public:
  explicit LibvirtBackend(std::string uri);
  ~LibvirtBackend() override;
  // Throws InfraError when libvirt cannot be reached or the domain not started.
  std::unique_ptr<Instance> Start(const BootSpec& boot, const StartOptions& options) override;
  // `virsh -c URI create DOMAIN.xml`, the domain XML beside the run's QEMU log.
  std::vector<std::string> CommandFor(const BootSpec& boot, const StartOptions& options) const override;
  const std::string& uri() const { return uri_; }

 private:
  std::shared_ptr<LibvirtConnection> Connect();
  std::string uri_;
  std::mutex mu_;
  std::shared_ptr<LibvirtConnection> connection_;
};

}  // namespace blackout
