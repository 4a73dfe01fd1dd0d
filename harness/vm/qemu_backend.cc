#include "harness/vm/qemu_backend.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "base/error.h"
#include "base/fsutil.h"
#include "base/subprocess.h"
#include "harness/vm/qmp.h"

namespace blackout {
namespace {

class QemuInstance : public Instance {
 public:
  QemuInstance(const std::vector<std::string>& argv, const StartOptions& options)
      : argv_(argv), console_path_(options.socket_dir + "/console.sock"),
        qmp_path_(options.socket_dir + "/qmp.sock") {
    Child::Options co;
    co.stdout_path = options.log_path;
    co.stderr_path = options.log_path;
    child_ = std::make_unique<Child>(argv, co);
    ConnectConsole(options.log_path);
    try {
      qmp_ = std::make_unique<Qmp>(qmp_path_, 15);
    } catch (const InfraError& e) {
      Fail(std::string("connect QMP: ") + e.what(), options.log_path);
    }
  }

  ~QemuInstance() override {
    if (console_fd_ >= 0) close(console_fd_);
  }

  int console_fd() const override { return console_fd_; }

  void WriteConsole(const std::string& bytes) override {
    if (console_fd_ >= 0) (void)!send(console_fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
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

 private:
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

  // QEMU listens on the console socket and waits for us before running the
  // guest; retry until it is there or QEMU has died.
  void ConnectConsole(const std::string& log_path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (console_path_.size() >= sizeof addr.sun_path) Fail("socket path too long", log_path);
    std::strcpy(addr.sun_path, console_path_.c_str());
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      if (child_->Exited()) Fail("QEMU exited before opening its console", log_path);
      int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        console_fd_ = fd;
        return;
      }
      if (fd >= 0) close(fd);
      if (std::chrono::steady_clock::now() > deadline) Fail("console socket never appeared", log_path);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  std::vector<std::string> argv_;
  std::string console_path_, qmp_path_;
  std::unique_ptr<Child> child_;
  std::unique_ptr<Qmp> qmp_;
  int console_fd_ = -1;
};

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
               "socket,id=con,path=" + options.socket_dir + "/console.sock,server=on,wait=on",
               "-serial", "chardev:con", "-qmp",
               "unix:" + options.socket_dir + "/qmp.sock,server=on,wait=off", "-kernel", boot.kernel,
               "-append", boot.append});
  if (!boot.modules.empty()) argv.insert(argv.end(), {"-initrd", InitrdArg(boot)});
  for (const BootDisk& d : boot.disks) {
    argv.insert(argv.end(), {"-drive", "file=" + d.path + ",format=" + d.format + ",if=virtio,cache=" + d.cache});
  }
  if (!boot.forwards.empty()) argv.insert(argv.end(), {"-netdev", UserNetdev(boot), "-device", "virtio-net-pci,netdev=net0"});
  return argv;
}

std::unique_ptr<Instance> QemuBackend::Start(const BootSpec& boot, const StartOptions& options) {
  if (FindProgram("qemu-system-x86_64").empty()) {
    throw InfraError("start VM: qemu-system-x86_64 not found (ci/install-deps.sh installs qemu-system-x86)");
  }
  return std::make_unique<QemuInstance>(QemuCommand(boot, options), options);
}

std::vector<std::string> QemuBackend::CommandFor(const BootSpec& boot, const StartOptions& options) const {
  return QemuCommand(boot, options);
}

}  // namespace blackout
