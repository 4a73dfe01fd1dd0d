// One run, top to bottom: resolve the kernel and hypervisor, assemble the
// boot, start the VM through the environment's backend, monitor it to a
// verdict, gather evidence on a bad one, stop the VM and write the run
// directory.
#pragma once

#include <atomic>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "guests/boot.h"
#include "harness/config.h"
#include "harness/vm/backend.h"
#include "results/verdict.h"

namespace blackout {

// A boot ready to start: what the backend needs and the accelerator chosen.
struct PreparedBoot {
  BootSpec boot;
  std::string accel = "tcg";
};

// What a run needs from the world beyond its config: the boot (kernel,
// hypervisor, accelerator, initramfs) and the backend that starts the VM.
// The real one (PackageEnvironment) fetches packages and starts QEMU; unit
// tests of the run loop pass a fake.
class RunEnvironment {
 public:
  virtual ~RunEnvironment() = default;
  // Resolves what the config names and assembles the boot into scratch,
  // recording what it resolved (kernel, xen, dom0, accel) in result. Throws
  // ConfigError, InfraError or KernelBuildError.
  virtual PreparedBoot Prepare(const RunConfig& config, const std::string& nonce, const std::string& scratch,
                               const std::string& cache_dir, nlohmann::json& result) = 0;
  virtual Backend& backend() = 0;
};

// Debian's packages (or a .deb, an image, a git build) booted under QEMU.
// The backend is the config's: QEMU as a child, or a libvirt host.
class PackageEnvironment : public RunEnvironment {
 public:
  PreparedBoot Prepare(const RunConfig& config, const std::string& nonce, const std::string& scratch,
                       const std::string& cache_dir, nlohmann::json& result) override;
  Backend& backend() override;

 private:
  std::unique_ptr<Backend> backend_;
  std::string backend_key_;
};

struct RunRequest {
  RunConfig config;
  std::string results_root = "blackout-results";
  std::string store;      // --store: a postgresql:// URL or sqlite:PATH; empty: the results root's blackout.db
  std::string cache_dir;  // empty: CacheDir()
  bool keep_scratch = false;
  uint64_t console_cap = 64ull << 20;  // per console file; see results/run_dir.h
  bool echo_console = false;
  bool dump_memory = false;  // full guest memory (ELF) into evidence/ on a bad verdict
  const std::atomic<bool>* interrupted = nullptr;
  std::string bisection;  // the bisection this run is a step of, if any
  nlohmann::json matrix;  // the matrix slot it fills ({id, name, cell, repeat}), or null
  RunEnvironment* env = nullptr;  // nullptr: a PackageEnvironment
};

struct RunOutcome {
  Verdict verdict = Verdict::kInfraError;
  std::string title;
  std::string run_dir;
  bool config_error = false;  // the user's input was wrong: exit 64, not a verdict
  bool interrupted = false;
  std::optional<double> exposure_s;  // Detector::exposure_s
  std::string host_failure;   // the host failed the run (HostError, connection lost): run it elsewhere
};

// Never throws for a run's own failures: they become the outcome (and are in
// result.json). Throws only when the run directory itself cannot be made or
// the results store cannot be opened (then nothing boots). The run is
// indexed in the store when it starts and when it ends.
RunOutcome RunOnce(const RunRequest& request);

// A random hex nonce for the heartbeat protocol.
std::string NewNonce();

}  // namespace blackout
