#include "harness/run.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>

#include "base/error.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/subprocess.h"
#include "base/units.h"
#include "guests/boot.h"
#include "guests/image.h"
#include "harness/vm/accel.h"
#include "harness/detect/detector.h"
#include "harness/evidence.h"
#include "harness/monitor.h"
#include "harness/vm/libvirt_backend.h"
#include "harness/vm/qemu_backend.h"
#include "kernels/cache.h"
#include "kernels/deb.h"
#include "kernels/kernel.h"
#include "results/run_dir.h"
#include "results/store.h"

#ifndef BLACKOUT_VERSION
#define BLACKOUT_VERSION "dev"
#endif

namespace blackout {
namespace {

nlohmann::json ConfigJson(const RunConfig& c) {
  nlohmann::json stressors = nlohmann::json::array();
  for (const StressorSpec& s : c.workload.stressors) {
    nlohmann::json j = {{"kind", s.kind}, {"params", s.params}};
    if (!s.args.empty()) j["args"] = s.args;
    if (!s.job.empty()) j["job"] = s.job;
    stressors.push_back(j);
  }
  nlohmann::json phases = nlohmann::json::array();
  for (const PhaseSpec& p : c.workload.phases) {
    phases.push_back({{"name", p.name}, {"duration_s", p.duration_s}, {"intensity", p.intensity}, {"only", p.only}});
  }
  nlohmann::json faults = nlohmann::json::array();
  for (const FaultSpec& f : c.workload.faults) {
    faults.push_back({{"kind", f.kind}, {"at_s", f.at_s}, {"length_s", f.length_s}, {"vcpu", f.vcpu}});
  }
  nlohmann::json inject = nlohmann::json::array();
  for (const HostFault& h : c.inject) inject.push_back({{"kind", h.kind}, {"at_s", h.at_s}, {"length_s", h.length_s}});
  nlohmann::json disks = nlohmann::json::array();
  for (const DiskSpec& d : c.workload.disks) {
    disks.push_back({{"size", d.size}, {"format", d.format}, {"cache", d.cache}, {"fs", d.fs}});
  }
  return {{"source", c.source},
          {"kernel", c.kernel.Describe()},
          {"guest",
           {{"type", c.guest.type},
            {"vcpus", c.guest.vcpus},
            {"memory_mb", c.guest.memory >> 20},
            {"xen_cmdline", c.guest.xen_cmdline},
            {"kernel_cmdline", c.guest.kernel_cmdline},
            {"fast", c.guest.fast},
            {"disks", c.guest.disks},
            {"image", c.guest.image},
            {"bootloader", c.guest.image.empty() ? "" : c.guest.bootloader},
            {"inject", c.guest.image.empty() ? "" : c.guest.inject}}},
          {"workload",
           {{"name", c.workload.name},
            {"duration_s", c.workload.duration_s},
            {"stressors", stressors},
            {"phases", phases},
            {"report_s", c.workload.report_s},
            {"faults", faults},
            {"disks", disks}}},
          {"thresholds",
           {{"stall_s", c.thresholds.stall_s},
            {"lockup_s", c.thresholds.lockup_s},
            {"boot_s", c.thresholds.boot_s},
            {"heartbeat_ms", c.thresholds.heartbeat_ms}}},
          {"inject", inject}};
}

// The last n console lines a person would read: heartbeat records left out.
std::vector<std::string> TailLines(const std::string& path, size_t n) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("@BH1 ") != std::string::npos) continue;
    lines.push_back(line);
    if (lines.size() > n) lines.erase(lines.begin());
  }
  return lines;
}

// The hypervisor and, for a domU, dom0's kernel (Debian's default) and Xen's
// toolstack, from packages (cached), into in and result.
void FetchXenStack(const RunConfig& cfg, const GuestType& type, const std::string& cache, nlohmann::json& result,
                   BootInputs* in) {
  if (type.xen && !type.xen_host) {
    Status("hypervisor: " + cfg.xen.Describe());
    in->xen = FetchXen(cfg.xen, cache);
    result["xen"] = {{"package", in->xen.package}, {"version", in->xen.version}};
    if (!cfg.xen.archive.host()) result["xen"]["archive"] = cfg.xen.archive.Describe();
  }
  if (type.dom0_toolstack) {
    Status("dom0: kernel and Xen toolstack");
    in->dom0_kernel = FetchKernel(KernelSpec{}, cache);
    in->xen_tools = FetchXenTools(in->xen, cache);
    result["dom0"] = {{"kernel", {{"package", in->dom0_kernel.package}, {"version", in->dom0_kernel.version}}},
                      {"xen_tools", in->xen_tools.version},
                      {"vcpus", cfg.guest.dom0_vcpus},
                      {"memory_mb", cfg.guest.dom0_memory >> 20},
                      {"saved_state", cfg.guest.dom0_saved_state}};
  }
}

// What an image is and its sha256, remembered by path, size and mtime for
// the process's life: a qualification boots the same image run after run
// (each look is a raw view, debugfs and a hash: ~2 s for a 400 MB image).
struct ImageFacts {
  ImageInfo info;
  std::string sha256;
};
ImageFacts InspectImageOnce(const std::string& path, const std::string& scratch) {
  static std::mutex mu;
  static std::map<std::string, std::pair<std::string, ImageFacts>> memo;
  struct stat st;
  std::string key;
  if (stat(path.c_str(), &st) == 0) {
    key = std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
          std::to_string(st.st_mtim.tv_nsec);
    std::lock_guard<std::mutex> lock(mu);
    auto it = memo.find(path);
    if (it != memo.end() && it->second.first == key) return it->second.second;
  }
  ImageFacts facts;
  facts.info = InspectImage(path, scratch);  // throws ConfigError for a missing or unreadable image
  facts.sha256 = Sha256File(path);
  std::lock_guard<std::mutex> lock(mu);
  if (!key.empty()) memo[path] = {key, facts};
  return facts;
}

// An image guest: the image's own kernel, booted by its own GRUB from a
// throwaway overlay; the agent comes from the config drive. The kernel's
// release is the one the image's grub.cfg boots by default.
PreparedBoot PrepareImage(const RunConfig& cfg, const std::string& nonce, const std::string& scratch,
                          const std::string& cache, nlohmann::json& result) {
  Status("image: " + cfg.guest.image);
  bool libvirt = cfg.backend == "libvirt";
  if (libvirt && LibvirtUriIsXen(cfg.host)) throw ConfigError({ImageOnXenHostProblem(cfg.host)});
  ImageFacts facts = InspectImageOnce(cfg.guest.image, scratch);
  const ImageInfo& info = facts.info;
  std::string refusal = ImageRefusal(cfg.guest.image, info, cfg.guest.inject);
  if (!refusal.empty()) throw ConfigError({refusal});
  const std::string& sha256 = facts.sha256;
  std::string release;
  if (info.grub_cfg.empty() && cfg.guest.xen()) {
    throw ConfigError({"image " + cfg.guest.image + " has no /boot/grub/grub.cfg on its root file system: " +
                       cfg.guest.bootloader + " has no menu to boot from"});
  }
  if (cfg.guest.xen() && cfg.guest.bootloader == "pvgrub") {
    std::string problem = PvgrubProblem(cfg.guest.image, info);
    if (!problem.empty()) throw ConfigError({problem});
  }
  if (!info.kernel.empty()) {
    size_t dash = info.kernel.find("vmlinuz-");
    release = dash == std::string::npos ? info.kernel : info.kernel.substr(dash + 8);
  }
  result["image"] = {{"path", cfg.guest.image}, {"format", info.format}, {"sha256", sha256},
                     {"virtual_bytes", info.virtual_size}, {"cloud_init", info.cloud_init},
                     {"systemd", info.systemd}, {"inject", cfg.guest.inject},
                     {"kernel", info.kernel}, {"kernel_compression", info.kernel_compression}};
  result["kernel"] = {{"id", "image:" + sha256.substr(0, 16)}, {"package", "image"}, {"version", release},
                      {"release", release}, {"sha256", sha256}, {"xen_pv", cfg.guest.xen()}, {"source", "image"}};
  // A remote host's accelerator is its libvirt's to say; here, KVM's probe
  // boots a kernel of blackout's own: Debian's default.
  AccelChoice accel;
  if (libvirt && !LibvirtUriIsLocal(cfg.host)) {
    accel = LibvirtHostAccel(cfg.host, cfg.accel);
  } else {
    std::string probe_kernel;
    if (cfg.accel != "tcg" && access("/dev/kvm", F_OK) == 0) probe_kernel = FetchKernel(KernelSpec{}, cache).bzimage;
    accel = ChooseAccel(cfg.accel, probe_kernel, FindBusybox(), cache);
  }
  result["accel"] = {{"mode", accel.mode}, {"reason", accel.reason}};
  BootInputs in;
  std::string pvgrub_version;
  if (cfg.guest.xen()) {
    // A PV domU: Xen, and dom0 with Debian's default kernel and Xen's
    // toolstack (whose pygrub reads the image), as for any domU.
    FetchXenStack(cfg, RunGuestType(cfg), cache, result, &in);
    // Only QEMU on this machine saves and restores dom0 (libvirt's hosts boot it).
    in.park_dom0 = !libvirt && cfg.guest.dom0_saved_state;
    in.emulated_cpu = accel.mode == "tcg";
    in.busybox_path = FindBusybox();
    if (cfg.guest.bootloader == "pvgrub") {
      Status("pvgrub: grub-xen-host");
      in.pvgrub = FetchPvGrub(cache, &pvgrub_version);
    }
  }
  Status("boot: overlay and config drive");
  in.guest = cfg.guest;
  in.nonce = nonce;
  in.heartbeat_ms = cfg.thresholds.heartbeat_ms;
  in.workload_conf = AgentConf(cfg.workload, RunGuestType(cfg).disk_bus);
  in.disks = cfg.workload.disks;
  in.agent_path = FindAgent();
  in.scratch_dir = scratch;
  PreparedBoot out;
  out.boot = AssembleImageBoot(in, info);
  out.accel = accel.mode;
  result["boot"] = {{"image", cfg.guest.image}, {"bootloader", cfg.guest.xen() ? cfg.guest.bootloader : "bios"}};
  if (!pvgrub_version.empty()) result["boot"]["pvgrub"] = "grub-xen-host=" + pvgrub_version;
  ClearStatus();
  return out;
}

}  // namespace

std::string NewNonce() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd() ^ static_cast<uint64_t>(getpid()));
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(gen()));
  return buf;
}

PreparedBoot PackageEnvironment::Prepare(const RunConfig& cfg, const std::string& nonce, const std::string& scratch,
                                         const std::string& cache, nlohmann::json& result) {
  const GuestType& type = RunGuestType(cfg);
  // The backend the config names; a libvirt connection is kept while the
  // config names the same host.
  std::string key = cfg.backend + " " + cfg.host;
  if (!backend_ || key != backend_key_) {
    if (cfg.backend == "libvirt") {
      backend_ = std::make_unique<LibvirtBackend>(cfg.host);
    } else {
      backend_ = std::make_unique<QemuBackend>();
    }
    backend_key_ = key;
  }
  result["backend"] = cfg.backend;
  if (cfg.backend == "libvirt") result["host"]["uri"] = cfg.host;
  if (!cfg.guest.image.empty()) return PrepareImage(cfg, nonce, scratch, cache, result);
  // The kernel under test and the hypervisor, from packages (cached).
  Status("kernel: " + cfg.kernel.Describe());
  KernelArtifact kernel = FetchKernel(cfg.kernel, cache);
  result["kernel"] = {{"id", kernel.id},           {"package", kernel.package}, {"version", kernel.version},
                      {"release", kernel.release}, {"sha256", kernel.sha256},   {"xen_pv", kernel.xen_pv}};
  if (!cfg.kernel.archive.host()) result["kernel"]["archive"] = cfg.kernel.archive.Describe();
  BootInputs in;
  FetchXenStack(cfg, type, cache, result, &in);

  // The accelerator: KVM only when it demonstrably runs a guest.
  std::string busybox = FindBusybox();
  Status("accelerator: probing");
  // A remote host's own: its libvirt says what it offers.
  // A Xen host's: Xen runs the domU on its CPUs, there is no QEMU.
  AccelChoice accel = type.xen_host ? AccelChoice{"xen", "the host runs Xen"}
                      : cfg.backend == "libvirt" && !LibvirtUriIsLocal(cfg.host)
                          ? LibvirtHostAccel(cfg.host, cfg.accel)
                          : ChooseAccel(cfg.accel, kernel.bzimage, busybox, cache);
  result["accel"] = {{"mode", accel.mode}, {"reason", accel.reason}};
  Log("accelerator " + accel.mode + " (" + accel.reason + ")");

  // The boot: initramfs with busybox, the agent and the workload.
  Status("boot: assembling the initramfs");
  in.guest = cfg.guest;
  in.kernel = kernel;
  in.nonce = nonce;
  in.heartbeat_ms = cfg.thresholds.heartbeat_ms;
  in.workload_conf = AgentConf(cfg.workload, type.disk_bus);
  in.modules = RequiredModules(cfg.workload, type.disk_bus);
  // Only QEMU on this machine saves and restores dom0 (libvirt's hosts boot it).
  in.park_dom0 = type.dom0_toolstack && cfg.backend != "libvirt" && cfg.guest.dom0_saved_state;
  in.xen_host = type.xen_host;
  in.emulated_cpu = accel.mode == "tcg";
  in.disks = cfg.workload.disks;
  in.tools = WorkloadTools(cfg.workload);
  in.files = WorkloadFiles(cfg.workload);
  in.agent_path = FindAgent();
  in.busybox_path = busybox;
  in.scratch_dir = scratch;
  PreparedBoot out;
  out.boot = AssembleBoot(in);
  out.accel = accel.mode;
  // What booted: the kernel under test as its raw vmlinux (Xen loads it; hvm
  // through its PVH entry) or its bzImage (hvm, no PVH entry), and the
  // initramfs with the agent, tools and module closure.
  std::error_code size_error;
  uintmax_t initramfs_bytes = std::filesystem::file_size(out.boot.initramfs, size_error);
  result["boot"] = {{"kernel_image", type.xen ? kernel.vmlinux : out.boot.kernel},
                    {"initramfs_bytes", size_error ? 0 : initramfs_bytes}};
  ClearStatus();
  return out;
}

Backend& PackageEnvironment::backend() {
  if (!backend_) backend_ = std::make_unique<QemuBackend>();
  return *backend_;
}

namespace {

// The detector, configured from the thresholds and the guest type.
DetectorConfig DetectorFor(const RunConfig& cfg, const std::string& nonce) {
  DetectorConfig dc;
  dc.nonce = nonce;
  dc.vcpus = cfg.guest.vcpus;
  dc.heartbeat_s = cfg.thresholds.heartbeat_ms / 1000.0;
  dc.stall_s = cfg.thresholds.stall_s;
  dc.lockup_s = cfg.thresholds.lockup_s;
  dc.boot_s = cfg.thresholds.boot_s;
  dc.workload_s = cfg.workload.duration_s;
  dc.guest_prefix = RunGuestType(cfg).console_prefix;
  dc.guest_clock_stops_with_vm = !RunGuestType(cfg).xen_host;
  return dc;
}

// What the detector knows, into result.json's fields.
void RecordDetector(const Detector& d, const RunDir& dir, nlohmann::json& result) {
  nlohmann::json gaps = nlohmann::json::array();
  for (const Gap& g : d.gaps()) {
    gaps.push_back({{"vcpu", g.vcpu}, {"host_start_s", g.host_start}, {"length_s", g.length()},
                    {"guest_start_s", g.guest_start}, {"guest_advance_s", g.guest_advance()}});
  }
  nlohmann::json freezes = nlohmann::json::array();
  for (const Freeze& f : d.Freezes()) freezes.push_back(FreezeJson(f));
  nlohmann::json reports = nlohmann::json::array();
  for (const Report& r : d.reports()) {
    reports.push_back({{"kind", ReportKindName(r.kind)}, {"type", r.type}, {"title", r.title},
                       {"host_t_s", r.host_t}});
    if (!r.discounted.empty()) reports.back()["discounted"] = r.discounted;
  }
  result["gaps"] = gaps;
  result["freezes"] = freezes;
  result["reports"] = reports;
  result["stats"] = d.Stats();
  result["stats"]["console_omitted_bytes"] = dir.ConsoleOmitted();
  result["workload_done"] = d.workload_done();
  if (auto fh = d.first_heartbeat()) result["timings"]["first_heartbeat_s"] = *fh;
}

double Seconds(HostClock::duration d) { return std::chrono::duration<double>(d).count(); }

// One run's state, as the steps of RunOnce pass it along.
struct Run {
  const RunRequest& req;
  RunEnvironment& env;
  std::string nonce = NewNonce();
  std::string cache;
  nlohmann::json result;
  std::string scratch;
  std::optional<Detector> detector;
  std::unique_ptr<Instance> vm;
  HostClock::time_point start;
  bool build_failed = false;
  bool config_error = false;
  bool interrupted() const { return req.interrupted && req.interrupted->load(); }
};

// Steps 1-6: prepare the boot, start the VM, watch it to a verdict, gather
// evidence on a bad one. A failure becomes the run's error (and, once the
// detector exists, its infra-error); nothing escapes.
void BootAndWatch(Run& run, RunDir& dir) {
  const RunConfig& cfg = run.req.config;
  try {
    // 1. Scratch for the boot's files; what SIGKILLed runs left goes first.
    if (int swept = SweepOrphanScratch()) Log("removed " + std::to_string(swept) + " scratch directories of dead runs");
    run.scratch = MakeScratchDir();

    // 2. The kernel, hypervisor, accelerator and initramfs.
    PreparedBoot prepared = run.env.Prepare(cfg, run.nonce, run.scratch, run.cache, run.result);

    // 3. The detector, configured from the thresholds.
    run.detector.emplace(DetectorFor(cfg, run.nonce), 0.0);

    // 4. Start the VM; host time zero is the moment we launch it.
    StartOptions so;
    so.accel = prepared.accel;
    so.socket_dir = run.scratch;
    so.log_path = dir.File("qemu.log");
    so.name = "blackout-" + std::filesystem::path(dir.path()).filename().string();
    // The longest a run can go before the detector decides, evidence after.
    so.max_seconds = static_cast<int>(cfg.thresholds.boot_s + cfg.workload.duration_s + 600);
    so.boot_s = cfg.thresholds.boot_s;
    so.interrupted = run.req.interrupted;
    run.result["command"] = run.env.backend().CommandFor(prepared.boot, so);
    run.start = HostClock::now();
    run.vm = run.env.backend().Start(prepared.boot, so);
    if (nlohmann::json info = run.vm->start_info(); info.is_object()) {
      run.result["dom0"]["boot"] = info;
      run.result["command"] = run.vm->command();  // with -incoming when restored
    }
    nlohmann::json host = run.vm->host_info();
    if (host.is_object()) run.result["host"].update(host);
    // A Xen host's Xen is its own: the record names it as the host reports it.
    if (RunGuestType(cfg).xen_host) run.result["xen"] = {{"host", host.is_object() ? host.value("hypervisor", std::string("?")) : "?"}};
    std::string where = run.vm->pid() > 0 ? "pid " + std::to_string(run.vm->pid())
                                          : "on " + run.result["host"].value("hostname", std::string("?"));
    Log("VM started (" + where + "), waiting for heartbeats");

    // 5. Watch it until the detector decides.
    MonitorOptions mo;
    mo.workload_s = cfg.workload.duration_s;
    mo.inject = cfg.inject;
    mo.interrupted = run.req.interrupted;
    mo.echo_console = run.req.echo_console;
    double decided_t = Monitor(*run.vm, *run.detector, dir, run.start, mo);
    run.detector->Finish(decided_t);
    FlushEvents(*run.detector, dir);
    run.result["timings"]["decided_s"] = decided_t;

    // 6. Evidence on a bad verdict while the VM is still there.
    bool clean;
    std::string status;
    bool alive = !run.vm->Exited(&clean, &status);
    if (alive && run.detector->verdict() != Verdict::kPass && !run.interrupted()) {
      EvidenceRequest er;
      er.type = &RunGuestType(cfg);
      er.nonce = run.nonce;
      er.guest_was_up = run.detector->first_heartbeat().has_value();
      er.dump_memory = run.req.dump_memory;
      GatherEvidence(*run.vm, dir, run.start, er);
    }
  } catch (const KernelBuildError& e) {
    // Nothing booted: the build's own verdict (a bisection skips the commit).
    run.build_failed = true;
    run.result["error"] = e.what();
    run.result["build_log"] = e.log;
  } catch (const ConfigError& e) {
    run.config_error = true;
    if (run.detector) run.detector->InfraFailure(0, e.what());
    run.result["error"] = e.what();
    run.result["config_error"] = true;
  } catch (const InfraError& e) {
    if (run.detector) run.detector->InfraFailure(run.vm ? Seconds(HostClock::now() - run.start) : 0, e.what());
    run.result["error"] = e.what();
    if (dynamic_cast<const HostError*>(&e)) run.result["host_failure"] = e.what();
  } catch (const std::exception& e) {
    // A bug of ours (or a library's) must not cost the run its record: it is
    // the harness's fault, an infra-error, never the kernel's.
    std::string what = std::string("blackout failed: ") + e.what();
    if (run.detector) run.detector->InfraFailure(run.vm ? Seconds(HostClock::now() - run.start) : 0, what);
    run.result["error"] = what;
  }
  if (run.vm) {
    run.vm->Stop();
    if (std::string why = run.vm->host_failure(); !why.empty()) run.result["host_failure"] = why;
  }
  ClearStatus();
}

// Step 7: the verdict, the detector's or why the run never got that far.
void Judge(Run& run, RunDir& dir, RunOutcome* out) {
  if (run.detector) {
    run.detector->Finish(Seconds(HostClock::now() - run.start));
    FlushEvents(*run.detector, dir);
    out->verdict = run.detector->verdict();
    out->title = run.detector->title();
    out->exposure_s = run.detector->exposure_s();
    RecordDetector(*run.detector, dir, run.result);
  } else {
    out->verdict = run.build_failed ? Verdict::kBuildFailure : Verdict::kInfraError;
    out->title = run.result.value("error", std::string("run failed before the VM started"));
    if (run.build_failed) out->title = out->title.substr(0, out->title.find('\n'));
  }
  out->config_error = run.config_error;
  out->interrupted = run.interrupted();
  // A host that failed the run matters only when nothing of the kernel's was
  // seen first: a lockup before the connection dropped is still a lockup.
  if (out->verdict == Verdict::kInfraError) out->host_failure = run.result.value("host_failure", std::string());
}

// Step 9: a kept scratch directory is the user's now (without its owner
// file no later run sweeps it); otherwise it goes.
void CleanScratch(const Run& run) {
  if (run.scratch.empty()) return;
  if (run.req.keep_scratch) {
    std::remove((run.scratch + "/owner").c_str());
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(run.scratch, ec);
}

}  // namespace

RunOutcome RunOnce(const RunRequest& req) {
  // The cache entries this run uses stay share-locked until it ends, so
  // `kernels gc` cannot pull them from under it.
  CacheHoldScope cache_holds;
  PackageEnvironment packages;
  Run run{req, req.env ? *req.env : packages};
  run.cache = req.cache_dir.empty() ? CacheDir() : req.cache_dir;
  std::string id = UtcStamp("%Y%m%dT%H%M%SZ") + "-" + run.nonce.substr(0, 8);
  // The store first: a store this blackout cannot use stops the run before
  // anything boots.
  Store store(Store::Locate(req.results_root, req.store));
  RunDir dir(req.results_root, id, req.console_cap);
  RunOutcome out;
  out.run_dir = dir.path();
  Log("run " + id + " in " + dir.path());
  run.result = {{"schema", kResultSchemaVersion},
                {"blackout_version", BLACKOUT_VERSION},
                {"run_id", id},
                {"nonce", run.nonce},
                {"started_at", UtcStamp("%Y-%m-%dT%H:%M:%SZ")},
                {"host", {{"hostname", Hostname()}, {"cpus", sysconf(_SC_NPROCESSORS_ONLN)}}},
                {"config", ConfigJson(req.config)}};
  if (!req.bisection.empty()) run.result["bisection"] = req.bisection;
  if (req.matrix.is_object()) run.result["matrix"] = req.matrix;
  store.BeginRun(id, dir.path(), run.result);
  auto wall0 = HostClock::now();

  BootAndWatch(run, dir);  // steps 1-6
  Judge(run, dir, &out);   // step 7

  // 8. The result, written once and atomically, then indexed. The run
  // directory is the record; a store that fails now is settled from it on
  // the next start.
  run.result["verdict"] = VerdictName(out.verdict);
  run.result["title"] = out.title;
  run.result["interrupted"] = out.interrupted;
  if (out.exposure_s) run.result["exposure_s"] = *out.exposure_s;
  run.result["timings"]["total_s"] = Seconds(HostClock::now() - wall0);
  run.result["console_tail"] = TailLines(dir.File("console.log"), 40);
  dir.WriteResult(run.result);
  try {
    store.RecordRun(run.result, dir.path());
  } catch (const InfraError& e) {
    Log(std::string("results store: ") + e.what() + " (the next blackout indexes " + dir.path() + ")");
  }

  CleanScratch(run);  // step 9
  return out;
}

}  // namespace blackout
