// One open libvirt connection and libvirt's error text, shared by the libvirt
// backend (domains, console, events) and its storage (volumes on a remote
// host).
#pragma once

#include <libvirt/libvirt.h>

#include <atomic>
#include <memory>
#include <string>

namespace blackout {

// The message of the calling thread's last libvirt error.
std::string LibvirtLastError();

// An open connection, with libvirt's event loop running on its own thread
// (started once per process, before the first connection). A closed
// connection (libvirtd gone, the network down) is remembered: every domain on
// it is gone for us. Throws HostError when the host cannot be reached.
class LibvirtConnection {
 public:
  explicit LibvirtConnection(const std::string& uri);
  ~LibvirtConnection();
  LibvirtConnection(const LibvirtConnection&) = delete;
  LibvirtConnection& operator=(const LibvirtConnection&) = delete;

  virConnectPtr get() const { return conn_; }
  const std::string& uri() const { return uri_; }
  bool closed() const;
  // The host's own name (virConnectGetHostname), or the URI when it will not say.
  std::string hostname() const;
  // The host's CPU count (virNodeGetInfo), or 0 when unknown.
  int cpus() const;
  // "QEMU 7.2.0", "Xen 4.17.0": the hypervisor's name and version, or "".
  std::string hypervisor() const;

 private:
  std::string uri_;
  virConnectPtr conn_ = nullptr;
  std::shared_ptr<std::atomic<bool>> closed_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace blackout
