// A scripted VM for tests whose subject is something else (the run loop, the
// monitor, evidence gathering): it plays console chunks at set times through
// a real pipe, as a guest would write them, then exits (cleanly or not) or
// stays up until stopped, answers console commands with scripted replies, and
// records every control call. The real path beside it is the QEMU backend,
// exercised by the e2e tests.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "harness/vm/backend.h"

namespace blackout {

struct FakeChunk {
  double at_s = 0;    // seconds after Start
  std::string bytes;  // what the guest writes then
};

struct FakeScript {
  // The console, given the run's nonce (read from the boot's kernel command
  // line, as the agent reads it).
  std::function<std::vector<FakeChunk>(const std::string& nonce)> console;
  std::optional<double> exit_at_s;  // the VM process ends then (after the last chunk before it)
  bool exit_clean = true;
  bool fail_start = false;  // Start throws InfraError, as when QEMU cannot start
  bool keeps_bytes = false;  // the console's pipe keeps bytes (the monitor reads at its judging pace)
  // When the bytes written to the console contain a key, the guest answers
  // with its value (e.g. the agent's reply to a sysrq request).
  std::map<std::string, std::string> replies;
};

// What the instances were asked, shared with the test.
struct FakeCalls {
  std::mutex mu;
  int starts = 0, pauses = 0, resumes = 0, diagnoses = 0, dumps = 0, stops = 0;
  std::string written;  // everything written to the console
  BootSpec boot;        // the last boot started
};

class FakeBackend : public Backend {
 public:
  explicit FakeBackend(FakeScript script) : script_(std::move(script)), calls_(std::make_shared<FakeCalls>()) {}
  std::unique_ptr<Instance> Start(const BootSpec& boot, const StartOptions& options) override;
  std::vector<std::string> CommandFor(const BootSpec& boot, const StartOptions& options) const override {
    return {"fake-vm", boot.kernel};
  }
  FakeCalls& calls() { return *calls_; }

 private:
  FakeScript script_;
  std::shared_ptr<FakeCalls> calls_;
};

// A heartbeat line of vCPU vcpu, sealed for nonce (guest time in seconds).
std::string FakeHeartbeat(const std::string& nonce, int vcpu, uint64_t seq, double guest_s);
// A status line of the agent, sealed for nonce.
std::string FakeStatus(const std::string& nonce, const std::string& event, const std::string& fields = "");

// A guest that says hello, starts its workload, beats every interval_s on
// each of vcpus vCPUs from t0_s to t1_s (skipping vCPU v's beats inside any
// of `silent` [from, to) windows), and ends its workload at t1_s (unless
// done is false).
struct FakeSilence {
  int vcpu;
  double from_s, to_s;
};
std::vector<FakeChunk> FakeGuest(const std::string& nonce, int vcpus, double interval_s, double t0_s, double t1_s,
                                 const std::vector<FakeSilence>& silent = {}, bool done = true);

}  // namespace blackout
