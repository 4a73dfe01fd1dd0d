// Choosing the accelerator. KVM is used only when a short probe shows it
// really runs a guest: on some hosts /dev/kvm exists and guests still hang at
// "Booting from ROM". Otherwise TCG, and the run records why.
#pragma once

#include <string>

namespace blackout {

struct AccelChoice {
  std::string mode;    // "kvm" or "tcg"
  std::string reason;  // "kvm probe booted in 1.2s", "no /dev/kvm", "requested"
};

// requested: auto | kvm | tcg. The probe boots probe_kernel (a bzImage) with a
// busybox initramfs under KVM with a short deadline; its outcome is cached for
// this host boot under cache_dir. Throws InfraError when kvm is requested and
// does not work.
AccelChoice ChooseAccel(const std::string& requested, const std::string& probe_kernel,
                        const std::string& busybox, const std::string& cache_dir);

}  // namespace blackout
