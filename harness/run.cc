#include "harness/run.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>

#include "base/error.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/subprocess.h"
#include "base/units.h"
#include "guests/boot.h"
#include "harness/vm/accel.h"
#include "harness/detect/detector.h"
#include "harness/evidence.h"
#include "harness/monitor.h"
#include "harness/vm/qemu_backend.h"
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
            {"disks", c.guest.disks}}},
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
  const GuestType& type = cfg.guest.Type();
  // The kernel under test and the hypervisor, from packages (cached).
  Status("kernel: " + cfg.kernel.Describe());
  KernelArtifact kernel = FetchKernel(cfg.kernel, cache);
  result["kernel"] = {{"package", kernel.package}, {"version", kernel.version},
                      {"release", kernel.release}, {"sha256", kernel.sha256},
                      {"xen_pv", kernel.xen_pv}};
  XenArtifact xen;
  if (type.xen) {
    Status("hypervisor: " + cfg.xen_package);
    xen = FetchXen(cfg.xen_package, cfg.xen_version, cache);
    result["xen"] = {{"package", xen.package}, {"version", xen.version}};
  }
  // A domU's dom0 runs Debian's default kernel and Xen's toolstack.
  KernelArtifact dom0_kernel;
  XenToolsArtifact xen_tools;
  if (type.dom0_toolstack) {
    Status("dom0: kernel and Xen toolstack");
    dom0_kernel = FetchKernel(KernelSpec{}, cache);
    xen_tools = FetchXenTools(xen, cache);
    result["dom0"] = {{"kernel", {{"package", dom0_kernel.package}, {"version", dom0_kernel.version}}},
                      {"xen_tools", xen_tools.version},
                      {"vcpus", cfg.guest.dom0_vcpus},
                      {"memory_mb", cfg.guest.dom0_memory >> 20}};
  }

  // The accelerator: KVM only when it demonstrably runs a guest.
  std::string busybox = FindBusybox();
  Status("accelerator: probing");
  AccelChoice accel = ChooseAccel(cfg.accel, kernel.bzimage, busybox, cache);
  result["accel"] = {{"mode", accel.mode}, {"reason", accel.reason}};
  Log("accelerator " + accel.mode + " (" + accel.reason + ")");

  // The boot: initramfs with busybox, the agent and the workload.
  Status("boot: assembling the initramfs");
  BootInputs in;
  in.guest = cfg.guest;
  in.kernel = kernel;
  in.xen = xen;
  in.nonce = nonce;
  in.heartbeat_ms = cfg.thresholds.heartbeat_ms;
  in.workload_conf = AgentConf(cfg.workload, type.disk_bus);
  in.modules = RequiredModules(cfg.workload, type.disk_bus);
  in.dom0_kernel = dom0_kernel;
  in.xen_tools = xen_tools;
  in.disks = cfg.workload.disks;
  in.tools = WorkloadTools(cfg.workload);
  in.files = WorkloadFiles(cfg.workload);
  in.agent_path = FindAgent();
  in.busybox_path = busybox;
  in.scratch_dir = scratch;
  PreparedBoot out;
  out.boot = AssembleBoot(in);
  out.accel = accel.mode;
  ClearStatus();
  return out;
}

Backend& PackageEnvironment::backend() {
  static QemuBackend qemu;
  return qemu;
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
  dc.guest_prefix = cfg.guest.Type().console_prefix;
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

}  // namespace

RunOutcome RunOnce(const RunRequest& req) {
  const RunConfig& cfg = req.config;
  PackageEnvironment packages;
  RunEnvironment& env = req.env ? *req.env : packages;
  std::string cache = req.cache_dir.empty() ? CacheDir() : req.cache_dir;
  std::string nonce = NewNonce();
  std::string id = UtcStamp("%Y%m%dT%H%M%SZ") + "-" + nonce.substr(0, 8);
  // The store first: a store this blackout cannot use stops the run before
  // anything boots.
  Store store(Store::PathIn(req.results_root));
  RunDir dir(req.results_root, id, req.console_cap);
  RunOutcome out;
  out.run_dir = dir.path();
  Log("run " + id + " in " + dir.path());

  nlohmann::json result = {{"schema", kResultSchemaVersion},
                           {"blackout_version", BLACKOUT_VERSION},
                           {"run_id", id},
                           {"nonce", nonce},
                           {"started_at", UtcStamp("%Y-%m-%dT%H:%M:%SZ")},
                           {"host", {{"hostname", Hostname()}, {"cpus", sysconf(_SC_NPROCESSORS_ONLN)}}},
                           {"config", ConfigJson(cfg)}};
  if (!req.bisection.empty()) result["bisection"] = req.bisection;
  store.BeginRun(id, dir.path(), result);
  auto wall0 = HostClock::now();
  std::string scratch;
  std::unique_ptr<Instance> vm;
  std::optional<Detector> detector;
  HostClock::time_point start;
  bool build_failed = false;
  try {
    // 1. Scratch for the boot's files; what SIGKILLed runs left goes first.
    if (int swept = SweepOrphanScratch()) Log("removed " + std::to_string(swept) + " scratch directories of dead runs");
    scratch = MakeScratchDir();

    // 2. The kernel, hypervisor, accelerator and initramfs.
    PreparedBoot prepared = env.Prepare(cfg, nonce, scratch, cache, result);

    // 3. The detector, configured from the thresholds.
    detector.emplace(DetectorFor(cfg, nonce), 0.0);

    // 4. Start the VM; host time zero is the moment we launch it.
    StartOptions so;
    so.accel = prepared.accel;
    so.socket_dir = scratch;
    so.log_path = dir.File("qemu.log");
    result["command"] = env.backend().CommandFor(prepared.boot, so);
    start = HostClock::now();
    vm = env.backend().Start(prepared.boot, so);
    Log("VM started (pid " + std::to_string(vm->pid()) + "), waiting for heartbeats");

    // 5. Watch it until the detector decides.
    MonitorOptions mo;
    mo.workload_s = cfg.workload.duration_s;
    mo.inject = cfg.inject;
    mo.interrupted = req.interrupted;
    mo.echo_console = req.echo_console;
    double decided_t = Monitor(*vm, *detector, dir, start, mo);
    detector->Finish(decided_t);
    FlushEvents(*detector, dir);

    // 6. Evidence on a bad verdict while the VM is still there, then stop it.
    bool clean;
    std::string status;
    bool alive = !vm->Exited(&clean, &status);
    if (alive && detector->verdict() != Verdict::kPass && !(req.interrupted && req.interrupted->load())) {
      EvidenceRequest er;
      er.type = &cfg.guest.Type();
      er.nonce = nonce;
      er.guest_was_up = detector->first_heartbeat().has_value();
      er.dump_memory = req.dump_memory;
      GatherEvidence(*vm, dir, start, er);
    }
    vm->Stop();
    result["timings"]["decided_s"] = decided_t;
  } catch (const KernelBuildError& e) {
    // Nothing booted: the build's own verdict (a bisection skips the commit).
    build_failed = true;
    result["error"] = e.what();
    result["build_log"] = e.log;
  } catch (const ConfigError& e) {
    out.config_error = true;
    if (detector) detector->InfraFailure(0, e.what());
    result["error"] = e.what();
  } catch (const InfraError& e) {
    if (detector) detector->InfraFailure(vm ? Seconds(HostClock::now() - start) : 0, e.what());
    result["error"] = e.what();
  }
  if (vm) vm->Stop();
  ClearStatus();

  // 7. The verdict: the detector's, or why the run never got that far.
  if (detector) {
    detector->Finish(Seconds(HostClock::now() - start));
    FlushEvents(*detector, dir);
    out.verdict = detector->verdict();
    out.title = detector->title();
    RecordDetector(*detector, dir, result);
  } else {
    out.verdict = build_failed ? Verdict::kBuildFailure : Verdict::kInfraError;
    out.title = result.value("error", std::string("run failed before the VM started"));
    if (build_failed) out.title = out.title.substr(0, out.title.find('\n'));
  }

  // 8. The result, written once and atomically, then indexed.
  out.interrupted = req.interrupted && req.interrupted->load();
  result["verdict"] = VerdictName(out.verdict);
  result["title"] = out.title;
  result["interrupted"] = out.interrupted;
  result["timings"]["total_s"] = Seconds(HostClock::now() - wall0);
  result["console_tail"] = TailLines(dir.File("console.log"), 40);
  dir.WriteResult(result);
  // The run directory is the record; a store that fails now is settled from
  // it on the next start.
  try {
    store.RecordRun(result, dir.path());
  } catch (const InfraError& e) {
    Log(std::string("results store: ") + e.what() + " (the next blackout indexes " + dir.path() + ")");
  }

  // 9. Scratch: a kept directory is the user's now (without its owner file
  // no later run sweeps it).
  if (!scratch.empty() && req.keep_scratch) std::remove((scratch + "/owner").c_str());
  if (!scratch.empty() && !req.keep_scratch) {
    std::error_code ec;
    std::filesystem::remove_all(scratch, ec);
  }
  return out;
}

}  // namespace blackout
