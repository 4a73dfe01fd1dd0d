#include "harness/vm/libvirt_backend.h"

#include <fcntl.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "base/error.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/subprocess.h"
#include "harness/vm/libvirt_connection.h"
#include "harness/vm/libvirt_storage.h"
#include "harness/vm/libvirt_xml.h"

namespace blackout {

std::string LibvirtLastError() {
  virErrorPtr e = virGetLastError();
  return e && e->message ? e->message : "unknown libvirt error";
}

namespace {

// libvirt prints every error to stderr unless told otherwise; blackout reports
// them itself, in context. The event loop must be registered before the first
// connection opens, and runs on its own thread for the process's life.
void StartEventLoop() {
  static std::once_flag once;
  std::call_once(once, [] {
    virSetErrorFunc(nullptr, [](void*, virErrorPtr) {});
    if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0) {
      throw InfraError("libvirt: cannot start its event loop: " + LibvirtLastError());
    }
    std::thread([] {
      for (;;) {
        if (virEventRunDefaultImpl() < 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }).detach();
  });
}

const char* StoppedDetail(int detail) {
  switch (detail) {
    case VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN: return "the guest shut down";
    case VIR_DOMAIN_EVENT_STOPPED_DESTROYED: return "destroyed";
    case VIR_DOMAIN_EVENT_STOPPED_CRASHED: return "the guest crashed";
    case VIR_DOMAIN_EVENT_STOPPED_FAILED: return "QEMU failed or was killed";
    default: return "stopped";
  }
}

// The directory part of a path.
std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

}  // namespace

std::string LibvirtUriProblem(const std::string& uri) {
  static const std::regex kUri(
      R"(^(qemu(\+(ssh|libssh|libssh2|tcp|tls|unix|ext))?://([^/?#\s]*)/(system|session)|xen(\+(ssh|libssh|libssh2|tcp|tls|unix|ext))?://([^/?#\s]*)/system)(\?\S*)?$)");
  if (std::regex_match(uri, kUri)) return "";
  return "'" + uri + "' is not a libvirt URI blackout can use: DRIVER[+TRANSPORT]://[HOST]/system, e.g. " +
         kDefaultLibvirtUri + ", qemu+ssh://host/system, qemu+tcp://10.0.0.2/system or xen+ssh://host/system";
}

bool LibvirtUriIsXen(const std::string& uri) { return uri.rfind("xen:", 0) == 0 || uri.rfind("xen+", 0) == 0; }

bool LibvirtUriIsLocal(const std::string& uri) {
  size_t p = uri.find("://");
  return p != std::string::npos && uri.compare(p + 3, 1, "/") == 0;
}

LibvirtConnection::LibvirtConnection(const std::string& uri) : uri_(uri) {
  StartEventLoop();
  conn_ = virConnectOpen(uri.c_str());
  if (!conn_) {
    throw HostError("libvirt: cannot connect to " + uri + ": " + LibvirtLastError() +
                    (LibvirtUriIsLocal(uri) ? " (is libvirtd running? ci/libvirtd.sh start starts one)" : ""));
  }
  // A dead peer is noticed within ~8 s, well before a lockup threshold:
  // a host that drops off the network must not look like a hung guest.
  virConnectSetKeepAlive(conn_, 2, 3);
  using Flag = std::shared_ptr<std::atomic<bool>>;
  virConnectRegisterCloseCallback(
      conn_, [](virConnectPtr, int, void* opaque) { (*static_cast<Flag*>(opaque))->store(true); }, new Flag(closed_),
      [](void* opaque) { delete static_cast<Flag*>(opaque); });
}

LibvirtConnection::~LibvirtConnection() { virConnectClose(conn_); }

bool LibvirtConnection::closed() const { return closed_->load() || virConnectIsAlive(conn_) != 1; }

std::string LibvirtConnection::hostname() const {
  char* name = virConnectGetHostname(conn_);
  std::string out = name ? name : uri_;
  free(name);
  return out;
}

std::string LibvirtConnection::hypervisor() const {
  const char* type = virConnectGetType(conn_);
  unsigned long version = 0;
  if (!type || virConnectGetVersion(conn_, &version) != 0) return "";
  return std::string(type) + " " + std::to_string(version / 1000000) + "." + std::to_string(version / 1000 % 1000) +
         "." + std::to_string(version % 1000);
}

int LibvirtConnection::cpus() const {
  virNodeInfo info;
  return virNodeGetInfo(conn_, &info) == 0 ? static_cast<int>(info.cpus) : 0;
}

namespace {

// What libvirt's event loop thread shares with the instance: console bytes
// on their way into the pipe, and whether the domain has stopped. Held by a
// shared_ptr on both sides, so a late callback never touches freed memory.
struct DomainState {
  std::mutex mu;
  int write_fd = -1;     // the pipe's write end; -1 once the console ended
  int watch = -1;        // libvirt event handle: the pipe has room again
  std::string pending;   // console bytes the pipe had no room for yet
  bool console_eof = false;
  uint64_t dropped = 0;  // bytes past the pending cap (a monitor that stopped reading)
  bool stopped = false;
  bool clean = false;
  std::string status;

  static constexpr size_t kPendingCap = 64u << 20;

  void Queue(const char* data, size_t n) {
    if (pending.size() + n > kPendingCap) {
      dropped += n;
      return;
    }
    pending.append(data, n);
  }

  // Moves pending bytes into the pipe without blocking the event loop; asks
  // for a writable callback while some are left. Called with mu held.
  void Flush() {
    while (write_fd >= 0 && !pending.empty()) {
      ssize_t n = write(write_fd, pending.data(), pending.size());
      if (n > 0) {
        pending.erase(0, static_cast<size_t>(n));
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && errno == EAGAIN) {
        break;
      } else {
        pending.clear();  // the reader is gone
      }
    }
    if (watch >= 0) virEventUpdateHandle(watch, pending.empty() ? 0 : VIR_EVENT_HANDLE_WRITABLE);
    if (console_eof && pending.empty() && write_fd >= 0) {
      close(write_fd);
      write_fd = -1;
    }
  }
};

using StatePtr = std::shared_ptr<DomainState>;

void* Hold(const StatePtr& s) { return new StatePtr(s); }
void Release(void* opaque) { delete static_cast<StatePtr*>(opaque); }
DomainState& From(void* opaque) { return **static_cast<StatePtr*>(opaque); }

void OnConsole(virStreamPtr stream, int events, void* opaque) {
  DomainState& s = From(opaque);
  std::lock_guard<std::mutex> lock(s.mu);
  char buf[65536];
  for (;;) {
    int n = virStreamRecv(stream, buf, sizeof buf);
    if (n > 0) {
      s.Queue(buf, static_cast<size_t>(n));
      continue;
    }
    // -2: nothing more for now; 0: the console ended; -1: it failed.
    if (n == -2 && !(events & (VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP))) break;
    virStreamEventUpdateCallback(stream, 0);
    s.console_eof = true;
    break;
  }
  s.Flush();
}

void OnPipeWritable(int, int, int, void* opaque) {
  DomainState& s = From(opaque);
  std::lock_guard<std::mutex> lock(s.mu);
  s.Flush();
}

int OnLifecycle(virConnectPtr, virDomainPtr, int event, int detail, void* opaque) {
  if (event != VIR_DOMAIN_EVENT_STOPPED) return 0;
  DomainState& s = From(opaque);
  std::lock_guard<std::mutex> lock(s.mu);
  s.stopped = true;
  s.clean = detail == VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN;
  s.status = std::string("libvirt: ") + StoppedDetail(detail);
  return 0;
}

// Who owns a domain on a Xen host and until when, in its <metadata>: this
// machine's name, the blackout process (pid and start time: pids are reused,
// start times are not) and the time (Unix seconds) by which its run is over
// whatever happened to blackout.
constexpr char kRunMetadataNs[] = "urn:blackout:run:1";

std::string OwnerMetadata(int max_seconds) {
  // Unknown length: a day, longer than any run blackout makes.
  long long deadline = static_cast<long long>(time(nullptr)) + (max_seconds > 0 ? max_seconds : 86400) + 600;
  return std::string("<blackout:run xmlns:blackout='") + kRunMetadataNs + "' owner='" + XmlEscape(Hostname()) +
         "' pid='" + std::to_string(getpid()) + "' start='" + ProcessStart(getpid()) + "' deadline='" +
         std::to_string(deadline) + "'/>";
}

// An attribute of the metadata element, "" when absent.
std::string MetadataAttr(const std::string& xml, const std::string& name) {
  std::smatch m;
  std::regex re(" " + name + R"(=['"]([^'"]*)['"])");
  return std::regex_search(xml, m, re) ? m[1].str() : "";
}

// Destroys the blackout domains on a Xen host whose blackout is gone: one on
// this machine whose process has ended, or any whose deadline has passed
// (nothing else ends a hung domU there: libxl has no autodestroy).
void DestroyOrphanDomains(const LibvirtConnection& conn) {
  virDomainPtr* doms = nullptr;
  int n = virConnectListAllDomains(conn.get(), &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
  const long long now = static_cast<long long>(time(nullptr));
  for (int i = 0; i < n; ++i) {
    const char* name = virDomainGetName(doms[i]);
    char* meta = name && std::string(name).rfind("blackout-", 0) == 0
                     ? virDomainGetMetadata(doms[i], VIR_DOMAIN_METADATA_ELEMENT, kRunMetadataNs, 0)
                     : nullptr;
    std::string text = meta ? meta : "";
    free(meta);
    std::string deadline = MetadataAttr(text, "deadline");
    std::string pid = MetadataAttr(text, "pid");
    bool expired = !deadline.empty() && deadline.size() < 19 &&
                   deadline.find_first_not_of("0123456789") == std::string::npos && std::stoll(deadline) < now;
    bool owner_gone = MetadataAttr(text, "owner") == XmlEscape(Hostname()) && !pid.empty() && pid.size() < 10 &&
                      pid.find_first_not_of("0123456789") == std::string::npos &&
                      ProcessStart(std::stol(pid)) != MetadataAttr(text, "start");
    if (expired || owner_gone) {
      Log("libvirt: destroying " + std::string(name) + " on " + conn.uri() + ", left by a blackout that is gone (" +
          (owner_gone ? "its process ended" : "past its deadline") + ")");
      virDomainDestroy(doms[i]);
    }
    virDomainFree(doms[i]);
  }
  free(doms);
}

class LibvirtInstance : public Instance {
 public:
  LibvirtInstance(std::shared_ptr<LibvirtConnection> conn, const BootSpec& boot, const StartOptions& options,
                  std::vector<std::string> command)
      : conn_(std::move(conn)),
        xen_(LibvirtUriIsXen(conn_->uri())),
        name_(options.name),
        log_path_(options.log_path),
        command_(std::move(command)) {
    // A Xen host has no autodestroy: what a killed blackout left there goes
    // once its deadline has passed.
    if (xen_) DestroyOrphanDomains(*conn_);
    // A remote host gets the files first, as storage volumes.
    BootSpec placed = boot;
    if (!LibvirtUriIsLocal(conn_->uri())) {
      HostBoot hb = PlaceBootOnHost(*conn_, boot, options.name);
      placed = hb.boot;
      run_volumes_ = hb.run_volumes;
      host_info_["uploaded_bytes"] = hb.uploaded_bytes;
      host_info_["reused_bytes"] = hb.reused_bytes;
    }
    DomainOptions dopts;
    dopts.name = options.name;
    dopts.accel = options.accel;
    dopts.xen = xen_;
    if (xen_) dopts.metadata = OwnerMetadata(options.max_seconds);
    std::string xml = DomainXml(placed, dopts);
    WriteFileAtomic(DirOf(options.log_path) + "/domain.xml", xml);

    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw InfraError("libvirt console: pipe: " + std::string(strerror(errno)));
    read_fd_ = fds[0];
    fcntl(fds[1], F_SETFL, O_NONBLOCK);
    fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
    state_->write_fd = fds[1];
    state_->watch = virEventAddHandle(fds[1], 0, OnPipeWritable, Hold(state_), Release);

    // Paused until the console is attached: nothing the guest prints is lost.
    dom_ = virDomainCreateXML(conn_->get(), xml.c_str(),
                              xen_ ? VIR_DOMAIN_START_PAUSED : VIR_DOMAIN_START_AUTODESTROY | VIR_DOMAIN_START_PAUSED);
    if (!dom_) Fail("start the domain: " + LibvirtLastError());
    lifecycle_ = virConnectDomainEventRegisterAny(conn_->get(), dom_, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                  VIR_DOMAIN_EVENT_CALLBACK(OnLifecycle), Hold(state_), Release);
    stream_ = virStreamNew(conn_->get(), VIR_STREAM_NONBLOCK);
    if (!stream_ || virDomainOpenConsole(dom_, nullptr, stream_, VIR_DOMAIN_CONSOLE_FORCE) < 0 ||
        virStreamEventAddCallback(stream_, VIR_STREAM_EVENT_READABLE | VIR_STREAM_EVENT_ERROR |
                                               VIR_STREAM_EVENT_HANGUP,
                                  OnConsole, Hold(state_), Release) < 0) {
      Fail("open the console: " + LibvirtLastError());
    }
    if (virDomainResume(dom_) < 0) Fail("resume the domain: " + LibvirtLastError());
    pid_ = FindPid();
    host_info_["hostname"] = conn_->hostname();
    host_info_["hypervisor"] = conn_->hypervisor();
  }

  ~LibvirtInstance() override {
    Stop();
    Teardown();
  }

  // Lets go of the console, the callbacks and the domain handle.
  void Teardown() {
    if (stream_) {
      virStreamEventRemoveCallback(stream_);
      virStreamAbort(stream_);
      virStreamFree(stream_);
      stream_ = nullptr;
    }
    if (lifecycle_ >= 0) virConnectDomainEventDeregisterAny(conn_->get(), lifecycle_);
    lifecycle_ = -1;
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      if (state_->watch >= 0) virEventRemoveHandle(state_->watch);
      state_->watch = -1;
      if (state_->write_fd >= 0) close(state_->write_fd);
      state_->write_fd = -1;
    }
    if (dom_) virDomainFree(dom_);
    dom_ = nullptr;
    if (read_fd_ >= 0) close(read_fd_);
    read_fd_ = -1;
  }

  int console_fd() const override { return read_fd_; }
  // The event loop queues what the pipe has no room for (up to 64 MiB).
  bool console_keeps_bytes() const override { return true; }

  void WriteConsole(const std::string& bytes) override {
    // A console that is gone takes no keys; that is not an error of the run.
    if (stream_) (void)virStreamSend(stream_, bytes.data(), bytes.size());
  }

  bool Exited(bool* clean, std::string* status) override {
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      if (state_->stopped) {
        *clean = state_->clean;
        *status = state_->status;
        return true;
      }
    }
    if (conn_->closed()) {
      *clean = false;
      *status = "libvirt: the connection to " + conn_->uri() + " was lost";
      host_failure_ = *status;
      return true;
    }
    return false;
  }

  void Pause() override {
    if (virDomainSuspend(dom_) < 0) throw InfraError("libvirt: suspend " + name_ + ": " + LibvirtLastError());
  }
  void Resume() override {
    if (virDomainResume(dom_) < 0) throw InfraError("libvirt: resume " + name_ + ": " + LibvirtLastError());
  }

  std::string Diagnose() override {
    if (xen_) return XenVcpus();
    char* out = nullptr;
    if (virDomainQemuMonitorCommand(dom_, "info registers -a", &out, VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP) < 0) {
      throw InfraError("libvirt: info registers on " + name_ + ": " + LibvirtLastError());
    }
    std::string text = out ? out : "";
    free(out);
    return text;
  }

  void DumpMemory(const std::string& path) override {
    if (xen_) {
      throw InfraError("libvirt: a Xen host writes a domain's core dump on its own disk; blackout does not fetch it "
                       "from there (virsh -c " + conn_->uri() + " dump " + name_ + " FILE does)");
    }
    MakeDirs(DirOf(path));
    if (virDomainCoreDumpWithFormat(dom_, path.c_str(), VIR_DOMAIN_CORE_DUMP_FORMAT_RAW, VIR_DUMP_MEMORY_ONLY) < 0) {
      throw InfraError("libvirt: memory dump of " + name_ + ": " + LibvirtLastError());
    }
  }

  void Stop() override {
    if (!dom_ || stop_done_) return;
    stop_done_ = true;
    bool clean;
    std::string status;
    // A Xen host may keep a domain libvirt says has stopped: destroy it anyway.
    if (!Exited(&clean, &status) || xen_) {
      virDomainDestroy(dom_);  // an error here means it is already gone
      for (int i = 0; i < 50 && !Exited(&clean, &status); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    DeleteRunVolumes(*conn_, run_volumes_);
    run_volumes_.clear();
    // QEMU's own output, which libvirt keeps in its log on this machine.
    if (LibvirtUriIsLocal(conn_->uri())) {
      try {
        WriteFileAtomic(log_path_, ReadFile("/var/log/libvirt/qemu/" + name_ + ".log"));
      } catch (const Error&) {
      }
    }
  }

  pid_t pid() const override { return pid_; }
  std::vector<std::string> command() const override { return command_; }
  std::string host_failure() const override { return host_failure_; }
  nlohmann::json host_info() const override { return host_info_; }

 private:
  [[noreturn]] void Fail(const std::string& what) {
    std::string log;
    if (LibvirtUriIsLocal(conn_->uri())) {
      try {
        log = OutputTail(ReadFile("/var/log/libvirt/qemu/" + name_ + ".log"), 15);
      } catch (const Error&) {
      }
    }
    if (dom_) virDomainDestroy(dom_);
    DeleteRunVolumes(*conn_, run_volumes_);
    Teardown();
    // The host refused the domain (or went away while taking it): the host's
    // failure, which a pool of hosts answers by running elsewhere.
    throw HostError("libvirt on " + conn_->uri() + ": " + name_ + ": " + what + (log.empty() ? "" : "\n" + log));
  }

  // QEMU's process, for host-side accounting: the thread group of its first
  // vCPU thread, which QEMU's monitor names. Only on this machine; -1 for a
  // remote host.
  pid_t FindPid() {
    if (xen_ || !LibvirtUriIsLocal(conn_->uri())) return -1;
    char* out = nullptr;
    if (virDomainQemuMonitorCommand(dom_, R"({"execute":"query-cpus-fast"})", &out, 0) < 0) return -1;
    std::string reply = out ? out : "";
    free(out);
    try {
      auto j = nlohmann::json::parse(reply);
      long tid = j.at("return").at(0).at("thread-id").get<long>();
      std::string status = ReadFile("/proc/" + std::to_string(tid) + "/status");
      size_t at = status.find("\nTgid:");
      if (at == std::string::npos) return -1;
      return static_cast<pid_t>(std::stol(status.substr(at + 6)));
    } catch (const std::exception&) {
      return -1;
    }
  }

  // A Xen host's view of the domU's vCPUs, sampled twice a second apart: a
  // vCPU whose CPU time runs on while its heartbeats stopped spins (a
  // lockup); one whose time stands still is blocked or never scheduled.
  // Then the live domain XML (where libxl placed the console and disks).
  std::string XenVcpus() {
    auto sample = [&](std::vector<virVcpuInfo>* out) {
      virDomainInfo info;
      if (virDomainGetInfo(dom_, &info) < 0) return false;
      out->resize(info.nrVirtCpu);
      return virDomainGetVcpus(dom_, out->data(), static_cast<int>(out->size()), nullptr, 0) >= 0;
    };
    std::vector<virVcpuInfo> a, b;
    if (!sample(&a)) throw InfraError("libvirt: vCPUs of " + name_ + ": " + LibvirtLastError());
    std::this_thread::sleep_for(std::chrono::seconds(1));
    if (!sample(&b) || b.size() != a.size()) throw InfraError("libvirt: vCPUs of " + name_ + ": " + LibvirtLastError());
    std::string text = "vCPUs of " + name_ + " on " + conn_->uri() + " (libvirt virDomainGetVcpus, 1 s apart):\n";
    static const char* kStates[] = {"offline", "running", "blocked"};
    for (size_t i = 0; i < a.size(); ++i) {
      double ran_ms = static_cast<double>(b[i].cpuTime - a[i].cpuTime) / 1e6;
      char line[160];
      std::snprintf(line, sizeof line, "vcpu %u: %s on pCPU %d, cpu time %.3f s, ran %.0f ms of the last 1000\n",
                    b[i].number, b[i].state >= 0 && b[i].state <= 2 ? kStates[b[i].state] : "unknown", b[i].cpu,
                    static_cast<double>(b[i].cpuTime) / 1e9, ran_ms);
      text += line;
    }
    char* xml = virDomainGetXMLDesc(dom_, 0);
    if (xml) {
      text += "\nlive domain XML:\n" + std::string(xml);
      free(xml);
    }
    return text;
  }

  std::shared_ptr<LibvirtConnection> conn_;
  bool xen_ = false;
  std::string name_, log_path_;
  std::vector<std::string> command_;
  StatePtr state_ = std::make_shared<DomainState>();
  virDomainPtr dom_ = nullptr;
  virStreamPtr stream_ = nullptr;
  int lifecycle_ = -1;
  int read_fd_ = -1;
  pid_t pid_ = -1;
  bool stop_done_ = false;
  std::string host_failure_;
  nlohmann::json host_info_;
  std::vector<std::string> run_volumes_;
};

}  // namespace

int LibvirtHostCpus(const std::string& uri) {
  LibvirtConnection conn(uri);
  int cpus = conn.cpus();
  if (cpus <= 0) throw HostError("libvirt: " + uri + " does not say how many CPUs it has: " + LibvirtLastError());
  return cpus;
}

namespace {

// Whether a kvm domain starts on the host at all: a paused one-vCPU domain
// with nothing to boot, destroyed at once. A host can list kvm in its
// capabilities and still fail every kvm domain (a /dev/kvm that opens but
// cannot set a vCPU's MSRs, as nested hosts do). "" when it starts, else why.
std::string KvmDomainFails(LibvirtConnection& conn) {
  static std::atomic<int> serial{0};
  std::string name = "blackout-kvm-probe-" + std::to_string(getpid()) + "-" + std::to_string(serial++);
  std::string xml = "<domain type='kvm'><name>" + name +
                    "</name><memory unit='MiB'>32</memory><vcpu>1</vcpu>"
                    "<os><type arch='x86_64'>hvm</type></os><devices/></domain>";
  virDomainPtr dom = virDomainCreateXML(conn.get(), xml.c_str(), VIR_DOMAIN_START_PAUSED | VIR_DOMAIN_START_AUTODESTROY);
  if (!dom) {
    std::string why = LibvirtLastError();
    return why.substr(0, why.find('\n'));
  }
  virDomainDestroy(dom);
  virDomainFree(dom);
  return "";
}

}  // namespace

AccelChoice LibvirtHostAccel(const std::string& uri, const std::string& requested) {
  if (requested == "tcg") return {"tcg", "requested"};
  // Asked once per host per process: a probe domain costs a QEMU start.
  static std::mutex mu;
  static std::map<std::string, AccelChoice> known;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (auto it = known.find(uri); it != known.end() && (requested != "kvm" || it->second.mode == "kvm")) {
      return it->second;
    }
  }
  LibvirtConnection conn(uri);
  char* caps = virConnectGetCapabilities(conn.get());
  if (!caps) throw HostError("libvirt: capabilities of " + uri + ": " + LibvirtLastError());
  std::string xml = caps;
  free(caps);
  // <guest><os_type>hvm</os_type><arch name='x86_64'>...<domain type='kvm'/>
  size_t arch = xml.find("<arch name='x86_64'>");
  size_t end = arch == std::string::npos ? std::string::npos : xml.find("</arch>", arch);
  bool kvm = end != std::string::npos && xml.substr(arch, end - arch).find("<domain type='kvm'") != std::string::npos;
  AccelChoice choice{"tcg", "the host's libvirt offers no kvm"};
  if (kvm) {
    std::string fails = KvmDomainFails(conn);
    choice = fails.empty() ? AccelChoice{"kvm", "the host's libvirt offers kvm and a kvm domain starts there"}
                           : AccelChoice{"tcg", "the host's libvirt offers kvm, but a kvm domain does not start: " + fails};
  }
  if (requested == "kvm" && choice.mode != "kvm") {
    throw HostError("libvirt: " + uri + ": no working kvm for x86_64 guests (accel: kvm): " + choice.reason);
  }
  std::lock_guard<std::mutex> lock(mu);
  known[uri] = choice;
  return choice;
}

LibvirtHostInfo DescribeLibvirtHost(const std::string& uri) {
  LibvirtConnection conn(uri);
  LibvirtHostInfo info;
  info.hostname = conn.hostname();
  virNodeInfo node;
  if (virNodeGetInfo(conn.get(), &node) == 0) {
    info.cpus = static_cast<int>(node.cpus);
    info.memory_mib = node.memory / 1024;
  }
  info.hypervisor = conn.hypervisor();
  PoolUsage pool = DescribePool(conn);
  info.pool_volumes = pool.volumes;
  info.pool_bytes = pool.bytes;
  return info;
}

LibvirtBackend::LibvirtBackend(std::string uri) : uri_(std::move(uri)) {}
LibvirtBackend::~LibvirtBackend() = default;

std::shared_ptr<LibvirtConnection> LibvirtBackend::Connect() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!connection_ || connection_->closed()) connection_ = std::make_shared<LibvirtConnection>(uri_);
  return connection_;
}

std::unique_ptr<Instance> LibvirtBackend::Start(const BootSpec& boot, const StartOptions& options) {
  if (options.name.empty()) throw InfraError("libvirt: a domain needs a name");
  return std::make_unique<LibvirtInstance>(Connect(), boot, options, CommandFor(boot, options));
}

std::vector<std::string> LibvirtBackend::CommandFor(const BootSpec&, const StartOptions& options) const {
  std::vector<std::string> argv = {"virsh", "-c", uri_, "create", DirOf(options.log_path) + "/domain.xml"};
  if (!LibvirtUriIsXen(uri_)) argv.push_back("--autodestroy");  // libxl has none
  return argv;
}

}  // namespace blackout
