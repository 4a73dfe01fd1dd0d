#include "harness/vm/fake_backend.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <thread>

#include "base/error.h"
#include "base/protocol.h"

namespace blackout {
namespace {

using Clock = std::chrono::steady_clock;

// The nonce the boot hands the guest on its kernel command line.
std::string NonceOf(const BootSpec& boot) {
  std::string key = protocol::kNonceArg;
  size_t at = boot.append.find(key);
  if (at == std::string::npos) return "";
  size_t start = at + key.size();
  return boot.append.substr(start, boot.append.find(' ', start) - start);
}

class FakeInstance : public Instance {
 public:
  FakeInstance(const FakeScript& script, std::shared_ptr<FakeCalls> calls, const std::string& nonce)
      : script_(script), calls_(std::move(calls)) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw InfraError("fake vm: pipe failed");
    read_fd_ = fds[0];
    write_fd_ = fds[1];
    std::vector<FakeChunk> chunks = script.console ? script.console(nonce) : std::vector<FakeChunk>{};
    std::stable_sort(chunks.begin(), chunks.end(),
                     [](const FakeChunk& a, const FakeChunk& b) { return a.at_s < b.at_s; });
    start_ = Clock::now();
    player_ = std::thread([this, chunks] { Play(chunks); });
  }
  ~FakeInstance() override {
    Stop();
    if (player_.joinable()) player_.join();
    close(read_fd_);
  }
  int console_fd() const override { return read_fd_; }
  bool console_keeps_bytes() const override { return script_.keeps_bytes; }
  void WriteConsole(const std::string& bytes) override {
    std::lock_guard<std::mutex> lock(calls_->mu);
    calls_->written += bytes;
    for (const auto& [key, reply] : script_.replies) {
      if (bytes.find(key) != std::string::npos) Put(reply);
    }
  }
  bool Exited(bool* clean, std::string* status) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!exited_) return false;
    *clean = clean_;
    *status = clean_ ? "exit 0" : "exit 1";
    return true;
  }
  void Pause() override { Count(&FakeCalls::pauses); }
  void Resume() override { Count(&FakeCalls::resumes); }
  std::string Diagnose() override {
    Count(&FakeCalls::diagnoses);
    return "RAX=0000000000000000 (fake registers)\n";
  }
  void DumpMemory(const std::string& path) override {
    Count(&FakeCalls::dumps);
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
      (void)!write(fd, "\177ELF", 4);
      close(fd);
    }
  }
  void Stop() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) return;
      stopped_ = true;
    }
    cv_.notify_all();
    Count(&FakeCalls::stops);
    if (player_.joinable() && player_.get_id() != std::this_thread::get_id()) player_.join();
    std::lock_guard<std::mutex> lock(mu_);
    if (write_fd_ >= 0) close(write_fd_);
    write_fd_ = -1;
    if (!exited_) clean_ = false;
    exited_ = true;
  }
  pid_t pid() const override { return getpid(); }
  std::vector<std::string> command() const override { return {"fake-vm"}; }

 private:
  void Count(int FakeCalls::*field) {
    std::lock_guard<std::mutex> lock(calls_->mu);
    ++(calls_.get()->*field);
  }
  void Put(const std::string& bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    if (write_fd_ >= 0) (void)!write(write_fd_, bytes.data(), bytes.size());
  }
  // Sleeps until at_s after start; false when stopped first.
  bool WaitUntil(double at_s) {
    std::unique_lock<std::mutex> lock(mu_);
    auto when = start_ + std::chrono::microseconds(static_cast<int64_t>(at_s * 1e6));
    return !cv_.wait_until(lock, when, [this] { return stopped_; });
  }
  void Play(const std::vector<FakeChunk>& chunks) {
    for (const FakeChunk& c : chunks) {
      if (script_.exit_at_s && c.at_s > *script_.exit_at_s) break;
      if (!WaitUntil(c.at_s)) return;
      Put(c.bytes);
    }
    if (!script_.exit_at_s || !WaitUntil(*script_.exit_at_s)) return;
    std::lock_guard<std::mutex> lock(mu_);
    clean_ = script_.exit_clean;
    exited_ = true;
    if (write_fd_ >= 0) close(write_fd_);  // EOF, as when QEMU exits
    write_fd_ = -1;
  }

  const FakeScript& script_;
  std::shared_ptr<FakeCalls> calls_;
  int read_fd_ = -1, write_fd_ = -1;
  Clock::time_point start_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
  std::atomic<bool> exited_{false};
  bool clean_ = true;
  std::thread player_;
};

}  // namespace

std::unique_ptr<Instance> FakeBackend::Start(const BootSpec& boot, const StartOptions& options) {
  {
    std::lock_guard<std::mutex> lock(calls_->mu);
    ++calls_->starts;
    calls_->boot = boot;
  }
  if (script_.fail_start) throw InfraError("fake vm: could not start (scripted)");
  return std::make_unique<FakeInstance>(script_, calls_, NonceOf(boot));
}

std::string FakeHeartbeat(const std::string& nonce, int vcpu, uint64_t seq, double guest_s) {
  return protocol::FormatHeartbeat(nonce, vcpu, seq, static_cast<uint64_t>(guest_s * 1e9));
}

std::string FakeStatus(const std::string& nonce, const std::string& event, const std::string& fields) {
  return protocol::FormatStatus(nonce, event, fields);
}

std::vector<FakeChunk> FakeGuest(const std::string& nonce, int vcpus, double interval_s, double t0_s, double t1_s,
                                 const std::vector<FakeSilence>& silent, bool done) {
  std::vector<FakeChunk> out;
  out.push_back({t0_s, "[    1.000000] Linux version 6.1.0-fake\n" +
                           FakeStatus(nonce, "hello", "vcpus=" + std::to_string(vcpus) + " kernel=6.1.0-fake")});
  out.push_back({t0_s, FakeStatus(nonce, "workload-start",
                                  "duration=" + std::to_string(static_cast<int>(std::ceil(t1_s - t0_s))) +
                                      " stressors=none")});
  uint64_t seq = 0;
  for (double t = t0_s; t < t1_s; t += interval_s, ++seq) {
    for (int v = 0; v < vcpus; ++v) {
      bool quiet = std::any_of(silent.begin(), silent.end(),
                               [&](const FakeSilence& s) { return s.vcpu == v && t >= s.from_s && t < s.to_s; });
      // The guest's clock runs with the host's here: a silence is the guest's own.
      if (!quiet) out.push_back({t, FakeHeartbeat(nonce, v, seq, t)});
    }
  }
  if (done) {
    out.push_back({t1_s, FakeStatus(nonce, "workload-done", "seconds=" +
                                                                std::to_string(static_cast<int>(t1_s - t0_s)))});
    out.push_back({t1_s, FakeStatus(nonce, "done")});
  }
  return out;
}

}  // namespace blackout
