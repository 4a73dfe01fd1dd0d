#include "harness/vm/qemu_backend.h"

#include <poll.h>
#include <unistd.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstring>
#include <thread>

#include "base/error.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/protocol.h"
#include "base/subprocess.h"
#include "harness/vm/qmp.h"
#include "harness/vm/saved_state.h"

namespace blackout {
namespace {

// The console FIFOs' name in the socket directory (console.in, console.out).
constexpr const char* kConsoleName = "console";

class QemuInstance : public Instance {
 public:
  QemuInstance(const std::vector<std::string>& argv, const StartOptions& options)
      : argv_(argv), qmp_path_(options.socket_dir + "/qmp.sock") {
    OpenConsole(options.socket_dir + "/" + kConsoleName);
    unlink(qmp_path_.c_str());  // an earlier QEMU's (a restore that failed) is not this one's
    Child::Options co;
    co.stdout_path = options.log_path;
    co.stderr_path = options.log_path;
    child_ = std::make_unique<Child>(argv, co);
    WaitForQmpSocket(options.log_path);
    try {
      qmp_ = std::make_unique<Qmp>(qmp_path_, 15);
    } catch (const InfraError& e) {
      Fail(std::string("connect QMP: ") + e.what(), options.log_path);
    }
  }

  ~QemuInstance() override {
    if (console_fd_ >= 0) close(console_fd_);
    if (input_fd_ >= 0) close(input_fd_);
  }

  int console_fd() const override { return console_fd_; }
  bool console_keeps_bytes() const override { return console_keeps_bytes_; }

  // Never blocks: a guest that reads no input does not stall the monitor.
  void WriteConsole(const std::string& bytes) override {
    if (input_fd_ >= 0) (void)!write(input_fd_, bytes.data(), bytes.size());
  }

  bool Exited(bool* clean, std::string* status) override {
    if (!child_->Exited()) return false;
    *status = child_->Status();
    *clean = *status == "exit 0";
    return true;
  }

  void Pause() override { qmp_->Execute("stop"); }
  void Resume() override { qmp_->Execute("cont"); }

  std::string Diagnose() override { return qmp_->Human("info registers -a", 30); }

  void DumpMemory(const std::string& path) override {
    MakeDirs(path.substr(0, path.rfind('/')));
    qmp_->Execute("dump-guest-memory", {{"paging", false}, {"protocol", "file:" + path}}, 600);
  }

  void Stop() override {
    if (child_->Exited()) return;
    try {
      qmp_->Execute("quit", nullptr, 5);
    } catch (const InfraError&) {
      // QEMU may close the socket before replying: fine, it is quitting.
    }
    if (!child_->WaitFor(5)) child_->Kill();
  }

  pid_t pid() const override { return child_->pid(); }
  std::vector<std::string> command() const override { return argv_; }

  std::string TakeEarlyConsole() override { return std::move(early_); }
  nlohmann::json start_info() const override { return start_info_; }
  void set_start_info(const nlohmann::json& info) { start_info_ = info; }

  // Reads the console (kept for the monitor) until `text` appears; throws
  // InfraError, with the console's tail, when QEMU exits, timeout_s passes or
  // the run is interrupted.
  void ReadConsoleUntil(const std::string& text, double timeout_s, const std::atomic<bool>* interrupted) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    size_t from = early_.size();
    for (;;) {
      if (early_.find(text, from > text.size() ? from - text.size() : 0) != std::string::npos) return;
      from = early_.size();
      if (interrupted && interrupted->load()) throw InfraError("interrupted while waiting for '" + text + "'");
      if (std::chrono::steady_clock::now() > deadline) {
        throw InfraError("no '" + text + "' on the console within " + std::to_string(static_cast<int>(timeout_s)) +
                         "s\n" + OutputTail(early_, 15));
      }
      pollfd p{console_fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char buf[65536];
      ssize_t n = read(console_fd_, buf, sizeof buf);
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
        child_->WaitFor(2);
        throw InfraError("QEMU's console closed (" + child_->Status() + ") before '" + text + "'\n" +
                         OutputTail(early_, 15));
      }
      // A dom0 boot is a few tens of KiB; a console that floods is cut, not kept.
      if (n > 0 && early_.size() < kEarlyCap) early_.append(buf, static_cast<size_t>(n));
    }
  }

  // Saves the whole VM (QEMU's migration to a file) while it is stopped, then
  // lets it run on. The file appears at path complete or not at all.
  void SaveState(const std::string& path) {
    std::string tmp = path + ".tmp." + std::to_string(getpid()) + "." + std::to_string(child_->pid());
    qmp_->Execute("stop");
    try {
      qmp_->Execute("migrate", {{"uri", "exec:cat > " + CommandLine({tmp})}});
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
      for (;;) {
        nlohmann::json r = qmp_->Execute("query-migrate");
        std::string status = r.value("status", "");
        if (status == "completed") break;
        if (status == "failed" || status == "cancelled") {
          throw InfraError("migration " + status + ": " + r.value("error-desc", std::string("no reason given")));
        }
        if (std::chrono::steady_clock::now() > deadline) throw InfraError("migration took over 300s");
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (rename(tmp.c_str(), path.c_str()) != 0) throw InfraError("rename " + tmp + ": " + std::strerror(errno));
    } catch (const InfraError&) {
      std::remove(tmp.c_str());
      qmp_->Execute("cont");
      throw;
    }
    qmp_->Execute("cont");
  }

  // A VM started with -incoming: waits until the saved state is loaded, then
  // runs it (a state saved while stopped loads stopped).
  void FinishIncoming(double timeout_s) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    for (;;) {
      if (child_->Exited()) throw InfraError("QEMU exited while loading the saved state (" + child_->Status() + ")");
      std::string status = qmp_->Execute("query-status").value("status", "");
      if (status == "paused" || status == "running") break;
      if (status != "inmigrate") throw InfraError("the VM is '" + status + "' after loading the saved state");
      if (std::chrono::steady_clock::now() > deadline) {
        throw InfraError("loading the saved state took over " + std::to_string(static_cast<int>(timeout_s)) + "s");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    qmp_->Execute("cont");
  }

 private:
  static constexpr size_t kEarlyCap = 4u << 20;
  static constexpr int kConsolePipeBytes = 1 << 20;

  [[noreturn]] void Fail(const std::string& what, const std::string& log_path) {
    child_->Kill();
    std::string log;
    try {
      log = ReadFile(log_path);
    } catch (const InfraError&) {
    }
    throw InfraError("start " + CommandLine(argv_) + ": " + what + " (" + child_->Status() + ")" +
                     (log.empty() ? "" : "\n" + OutputTail(log, 15)));
  }

  // The console is a pair of FIFOs QEMU opens by name (`-chardev pipe`):
  // NAME.out carries the guest's bytes to us, NAME.in ours to the guest.
  // Both are open here before QEMU starts, so nothing the guest writes is
  // lost before the monitor reads. A pipe gathers QEMU's one-byte UART
  // writes into whole pages (a socket spends a buffer on each), and one
  // deepened to 1 MiB holds seconds of a flooding console: the monitor may
  // read it at its judging pace.
  void OpenConsole(const std::string& base) {
    for (const char* end : {".out", ".in"}) {
      std::string path = base + end;
      unlink(path.c_str());
      if (mkfifo(path.c_str(), 0600) != 0) throw InfraError("console: mkfifo " + path + ": " + std::strerror(errno));
    }
    console_fd_ = open((base + ".out").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    // Read-write: opening a FIFO to write only fails while nobody reads it.
    input_fd_ = open((base + ".in").c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (console_fd_ < 0 || input_fd_ < 0) {
      std::string why = std::strerror(errno);
      if (console_fd_ >= 0) close(console_fd_);
      if (input_fd_ >= 0) close(input_fd_);
      throw InfraError("console: open " + base + ".*: " + why);
    }
    console_keeps_bytes_ = fcntl(console_fd_, F_SETPIPE_SZ, kConsolePipeBytes) >= kConsolePipeBytes;
    if (!console_keeps_bytes_) {
      Log("console: could not deepen its pipe to 1 MiB (" + std::string(std::strerror(errno)) +
          ", see /proc/sys/fs/pipe-max-size): the monitor reads every byte as it comes");
    }
  }

  // QEMU runs the guest from the start (its console waits in the pipe); the
  // QMP socket appearing says it got that far.
  void WaitForQmpSocket(const std::string& log_path) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    struct stat st;
    while (stat(qmp_path_.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
      if (child_->Exited()) Fail("QEMU exited before opening its QMP socket", log_path);
      if (std::chrono::steady_clock::now() > deadline) Fail("QMP socket never appeared", log_path);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  std::vector<std::string> argv_;
  std::string qmp_path_;
  std::unique_ptr<Child> child_;
  std::unique_ptr<Qmp> qmp_;
  int console_fd_ = -1;  // the guest's bytes (NAME.out), read only
  int input_fd_ = -1;    // bytes for the guest (NAME.in)
  bool console_keeps_bytes_ = false;
  std::string early_;
  nlohmann::json start_info_;
};

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Tells a parked dom0 to go on with this run (with the host's clock) and
// waits for its answer: a restored dom0 that does not answer is a failed
// restore.
void SendGo(QemuInstance& vm, double timeout_s, const std::atomic<bool>* interrupted) {
  vm.WriteConsole(protocol::FormatCommand(protocol::kDom0GoNonce, std::string(protocol::kCommandDom0Go) + " " +
                                                                      std::to_string(std::time(nullptr))));
  vm.ReadConsoleUntil(std::string(protocol::kDom0Marker) + protocol::kDom0Resumed, timeout_s, interrupted);
}

// xen-pv-domu with a parking dom0: restore the saved state for this boot when
// there is one, else boot, save the state where dom0 parks, and go on. A
// state that fails to restore is deleted and the boot made cold.
std::unique_ptr<Instance> StartParked(const BootSpec& boot, const StartOptions& options,
                                      const std::vector<std::string>& argv) {
  std::string dir = SavedStateDir();
  std::string key = SavedStateKey(argv, boot, options, FindProgram("qemu-system-x86_64"));
  std::string state = dir + "/" + key + kDom0States.ext;
  auto t0 = std::chrono::steady_clock::now();
  std::string restore_error;
  if (access(state.c_str(), R_OK) == 0) {
    utimensat(AT_FDCWD, state.c_str(), nullptr, 0);  // newest used: kept longest
    std::vector<std::string> incoming = argv;
    incoming.insert(incoming.end(), {"-incoming", "exec:" + CommandLine({"cat", state})});
    std::unique_ptr<QemuInstance> vm;
    try {
      vm = std::make_unique<QemuInstance>(incoming, options);
      vm->FinishIncoming(120);
      double loaded = SecondsSince(t0);
      SendGo(*vm, 30, options.interrupted);
      vm->set_start_info({{"dom0_state", "restored"}, {"key", key}, {"load_s", loaded}, {"go_s", SecondsSince(t0)}});
      return vm;
    } catch (const InfraError& e) {
      if (options.interrupted && options.interrupted->load()) throw;
      restore_error = e.what();
      if (vm) vm->Stop();
      std::remove(state.c_str());
      Log("saved dom0 state " + key.substr(0, 12) + " did not restore, booting dom0 again: " +
          restore_error.substr(0, restore_error.find('\n')));
      t0 = std::chrono::steady_clock::now();
    }
  }
  auto vm = std::make_unique<QemuInstance>(argv, options);
  vm->ReadConsoleUntil(std::string(protocol::kDom0Marker) + protocol::kDom0Parked, options.boot_s, options.interrupted);
  double parked = SecondsSince(t0);
  nlohmann::json info = {{"dom0_state", "saved"}, {"key", key}, {"parked_s", parked}};
  if (!restore_error.empty()) info["restore_error"] = restore_error;
  try {
    vm->SaveState(state);
    info["save_s"] = SecondsSince(t0) - parked;
    PruneSavedStates(dir, kSavedStatesKept);
  } catch (const InfraError& e) {
    // The run goes on; the next one boots dom0 again.
    info["dom0_state"] = "unsaved";
    info["save_error"] = e.what();
    Log(std::string("could not save dom0's state: ") + e.what());
  }
  SendGo(*vm, 60, options.interrupted);
  info["go_s"] = SecondsSince(t0);
  vm->set_start_info(info);
  return vm;
}

}  // namespace

std::string UserNetdev(const BootSpec& boot) {
  // restrict=on: the guest reaches nothing; the forwards still reach it.
  std::string arg = "user,id=net0,restrict=on";
  for (const PortForward& f : boot.forwards) {
    arg += ",hostfwd=tcp:127.0.0.1:" + std::to_string(f.host_port) + "-:" + std::to_string(f.guest_port);
  }
  return arg;
}

std::vector<std::string> QemuCommand(const BootSpec& boot, const StartOptions& options) {
  // debug-threads names the vCPU threads ("CPU 0/TCG") for host-side accounting.
  std::vector<std::string> argv = {"qemu-system-x86_64", "-name", "blackout,debug-threads=on"};
  if (options.accel == "kvm") {
    argv.insert(argv.end(), {"-accel", "kvm", "-cpu", "host"});
  } else {
    // -cpu max crashes Xen's dom0 early under TCG; Nehalem is measured to work.
    argv.insert(argv.end(), {"-accel", "tcg", "-cpu", "Nehalem"});
  }
  argv.insert(argv.end(),
              {"-m", std::to_string(boot.memory_mb), "-smp", std::to_string(boot.cpus), "-nodefaults",
               "-display", "none", "-no-reboot", "-chardev",
               "pipe,id=con,path=" + options.socket_dir + "/" + kConsoleName,
               "-serial", "chardev:con", "-qmp",
               "unix:" + options.socket_dir + "/qmp.sock,server=on,wait=off"});
  // No kernel: an image guest, which the firmware boots from its disk.
  if (!boot.kernel.empty()) argv.insert(argv.end(), {"-kernel", boot.kernel, "-append", boot.append});
  if (!boot.modules.empty()) argv.insert(argv.end(), {"-initrd", InitrdArg(boot)});
  bool boot_disk = std::any_of(boot.disks.begin(), boot.disks.end(), [](const BootDisk& d) { return d.boot; });
  for (size_t i = 0; i < boot.disks.size(); ++i) {
    const BootDisk& d = boot.disks[i];
    std::string drive = "file=" + d.path + ",format=" + d.format + ",cache=" + d.cache + (d.read_only ? ",readonly=on" : "");
    if (!boot_disk) {
      argv.insert(argv.end(), {"-drive", drive + ",if=virtio"});
      continue;
    }
    std::string id = "disk" + std::to_string(i);
    argv.insert(argv.end(), {"-drive", drive + ",if=none,id=" + id, "-device",
                             "virtio-blk-pci,drive=" + id + (d.boot ? ",bootindex=0" : "")});
  }
  if (!boot.forwards.empty()) argv.insert(argv.end(), {"-netdev", UserNetdev(boot), "-device", "virtio-net-pci,netdev=net0"});
  return argv;
}

std::unique_ptr<Instance> QemuBackend::Start(const BootSpec& boot, const StartOptions& options) {
  if (FindProgram("qemu-system-x86_64").empty()) {
    throw InfraError("start VM: qemu-system-x86_64 not found (ci/install-deps.sh installs qemu-system-x86)");
  }
  std::vector<std::string> argv = QemuCommand(boot, options);
  if (boot.dom0_parks) return StartParked(boot, options, argv);
  return std::make_unique<QemuInstance>(argv, options);
}

std::vector<std::string> QemuBackend::CommandFor(const BootSpec& boot, const StartOptions& options) const {
  return QemuCommand(boot, options);
}

}  // namespace blackout
