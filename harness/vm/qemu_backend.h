// The default backend: QEMU as a child process (no daemon). The serial console
// is a unix socket QEMU waits on before it starts the guest, so not one byte
// is missed; control is QMP on a second socket.
#pragma once

#include "harness/vm/backend.h"

namespace blackout {

class QemuBackend : public Backend {
 public:
  std::unique_ptr<Instance> Start(const BootSpec& boot, const StartOptions& options) override;
  std::vector<std::string> CommandFor(const BootSpec& boot, const StartOptions& options) const override;
};

// The QEMU command line for a boot (exposed for tests and the run record).
std::vector<std::string> QemuCommand(const BootSpec& boot, const StartOptions& options);
// QEMU's -netdev value for a boot's port forwards (user network, restricted).
std::string UserNetdev(const BootSpec& boot);

}  // namespace blackout
