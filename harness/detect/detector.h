// The detector: a pure function of timestamped console input (and VM facts the
// monitor reports) to events and a verdict. No I/O and no clock of its own:
// every call carries the host time, so golden logs and scripted lines test it.
//
// Heartbeats give each vCPU a pulse. A vCPU silent longer than the stall
// threshold and then beating again is a gap; overlapping gaps of several vCPUs
// are one freeze (whole-guest when every vCPU was silent). A vCPU silent longer
// than the lockup timeout is a lockup. Comparing how far the guest's monotonic
// clock moved with how far host time moved says whose fault a gap was: the guest
// ran but its heartbeat threads did not (guest-internal), or the VM itself was
// not run (vm-external). Kernel reports (panic, soft lockup, ...) come from
// ReportParser. The rules that turn all this into one verdict are in Decide().
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/protocol.h"
#include "harness/detect/host_stats.h"
#include "harness/detect/kernel_report.h"
#include "results/verdict.h"

namespace blackout {

// Heartbeat records name at most this many vCPUs (the agent's limit too).
inline constexpr int kMaxVcpus = 4096;

struct DetectorConfig {
  std::string nonce;
  int vcpus = 1;
  double heartbeat_s = 0.2;   // the agent's interval
  double stall_s = 2;         // a gap longer than this is a freeze
  double lockup_s = 30;       // silence longer than this is a lockup
  double boot_s = 180;        // the first heartbeat must come within this (0: no limit)
  // A log that never carried heartbeats (a console log from elsewhere):
  // judged by the kernel's reports alone (crash, lockup, or pass with "no
  // kernel report"), never boot-failure for the heartbeats it cannot have.
  bool reports_only = false;
  double workload_s = 60;     // workload duration
  double finish_slack_s = 60; // the workload must report done this long after its end
  double report_grace_s = 3;  // keep reading this long after a crash/lockup report opens
  double done_grace_s = 30;   // after "done", wait this long for the VM to power off
  // xen-pv-domu: the guest's console lines arrive with this prefix (dom0 adds
  // it). Only they carry heartbeats and guest kernel reports; Xen's "(XEN)"
  // lines are still read for Xen's reports; dom0's own lines are kept in the
  // log but judged only for dom0's errors ("blackout-dom0: error ...").
  std::string guest_prefix;
  // The guest's clock stops while its VM is not run (QEMU's, and Xen under
  // QEMU). A domU on a Xen host reads Xen's system time, which runs on while
  // the domain is paused or descheduled: its clock cannot tell a freeze of
  // the guest from one of the host, and such freezes are "unattributed".
  bool guest_clock_stops_with_vm = true;
};


struct Gap {
  int vcpu = 0;
  double host_start = 0, host_end = 0;    // host seconds since the run started
  double guest_start = 0, guest_end = 0;  // guest CLOCK_MONOTONIC seconds
  double length() const { return host_end - host_start; }
  double guest_advance() const { return guest_end - guest_start; }
};

// Whose fault a freeze was, most specific first.
//   host-lateness   blackout's own loop was not scheduled over the gap
//   host-contention the VM's vCPU threads waited for a host CPU most of the gap
//   vm-external     the guest clock stood still: the VM was not run (paused)
//   guest-internal  the guest ran but its heartbeat threads did not
struct Freeze {
  double host_start = 0, host_end = 0;
  double guest_start = 0;    // guest clock when the first frozen vCPU last beat
  double guest_advance = 0;  // least guest time any frozen vCPU saw pass over it
  std::vector<int> vcpus;
  bool whole_guest = false;
  std::string cause;
  double run_delay_fraction = -1;  // the most-starved vCPU thread's wait / length; -1 unknown
  double psi_some_fraction = -1;   // host CPU pressure over the gap; -1 unknown
  double monitor_late_s = 0;       // blackout's own lateness inside the gap
  double length() const { return host_end - host_start; }
};

nlohmann::json FreezeJson(const Freeze& f);

struct DetectorEvent {
  double t = 0;
  std::string type;
  nlohmann::json data;
};

class Detector {
 public:
  Detector(DetectorConfig config, double start_t);

  // Console bytes as they arrived. Lines are split here (in place: no copy of
  // a whole line); a partial line waits for the next chunk and keeps the time
  // its first byte arrived.
  void Bytes(double t, std::string_view data);
  // One complete console line (without its newline).
  void Line(double t, std::string_view line);
  // Time passes: checks the boot, lockup and report deadlines.
  void Tick(double t);
  // The VM process ended; clean means it exited 0 (the guest powered off).
  void VmExited(double t, bool clean, const std::string& why);
  // Something outside the guest failed (harness, host); the run is over.
  void InfraFailure(double t, const std::string& why);
  // The user interrupted the run.
  void Interrupted(double t);
  // Host-side accounting sampled by the monitor (see host_stats.h).
  void HostStats(const HostSample& sample);
  // The monitor's own loop ran late by late_s, ending at t.
  void MonitorLate(double t, double late_s);
  // The recorded console lost a span here (the run's console cap): what
  // follows is no continuation, so no gap is measured across it.
  void Omitted(double t);
  // End of input: closes open reports and fixes the verdict.
  void Finish(double t);

  // True once the run should stop (a verdict is certain or the VM is gone).
  bool decided() const { return decided_; }
  Verdict verdict() const { return verdict_; }
  const std::string& title() const { return title_; }

  std::vector<DetectorEvent> TakeEvents();
  const std::vector<Gap>& gaps() const { return gaps_; }
  std::vector<Freeze> Freezes() const;
  const std::vector<Report>& reports() const { return reports_; }
  std::optional<double> first_heartbeat() const { return first_heartbeat_; }
  bool workload_done() const { return done_; }
  // After Finish: the workload seconds the run was exposed for, from the
  // workload's start to the start of the evidence that decided a hang (a
  // report, the last heartbeat before a lockup, a freeze, the deadline a
  // workload missed) or to the workload's end for a pass. Empty when the
  // workload never started or the verdict is neither (the bisection's
  // exposure model reads it).
  std::optional<double> exposure_s() const { return exposure_s_; }
  // Counters: heartbeats accepted, records rejected, stressor results.
  nlohmann::json Stats() const;

 private:
  void Heartbeat(double t, const struct Heartbeat& hb);
  void Dom0Line(double t, std::string_view line);
  void Status(double t, const AgentStatus& status);
  void Emit(double t, const std::string& type, nlohmann::json data);
  void Decide(double t, const std::string& reason);
  // Completed reports, judged against the heartbeats as of host time t.
  void TakeReports(double t, std::vector<Report>& done);
  // Why vCPU heartbeats contradict a watchdog report, or "" (see detector.cc).
  std::string Contradiction(const Report& r, double now) const;
  // The longest stretch of [a, b] (host time) in which vCPU v did not beat.
  double LongestSilence(size_t v, double a, double b, double now) const;
  void Classify(Freeze& f) const;
  // The first stressor that reported zero operations, or "".
  std::string IdleStressor() const;

  DetectorConfig config_;
  double start_t_;
  ReportParser parser_;

  std::string partial_;
  double partial_t_ = 0;

  std::optional<double> first_heartbeat_;
  std::vector<double> last_host_;   // per vCPU, host time of the last heartbeat
  std::vector<double> last_guest_;  // per vCPU, guest time of the last heartbeat
  std::vector<uint64_t> last_seq_;
  std::vector<bool> seen_;
  std::vector<Gap> gaps_;
  std::vector<Report> reports_;
  std::optional<double> workload_start_;
  bool done_ = false;
  std::optional<double> done_t_;
  std::optional<double> report_deadline_;
  std::optional<double> heartbeat_lockup_t_;
  std::optional<double> heartbeat_lockup_since_;  // the silent vCPUs' last heartbeat
  std::optional<double> exposure_s_;
  std::string heartbeat_lockup_what_;
  std::optional<std::string> agent_error_;
  std::optional<std::string> vm_exit_;
  bool vm_exit_clean_ = false;
  std::optional<std::string> infra_;
  bool interrupted_ = false;
  bool boot_timed_out_ = false;
  bool workload_overdue_ = false;

  std::vector<HostSample> host_samples_;
  std::vector<std::pair<double, double>> late_;  // [start, end] of monitor lateness
  uint64_t clock_jumps_ = 0;
  uint64_t heartbeats_ = 0, bad_seal_ = 0, foreign_ = 0, lost_ = 0, out_of_range_ = 0, bad_value_ = 0;
  uint64_t dropped_reports_ = 0, dropped_gaps_ = 0;
  nlohmann::json stressors_ = nlohmann::json::array();
  // Per-interval stressor counters and the guest's own kernel counters.
  nlohmann::json intervals_ = nlohmann::json::array();
  nlohmann::json guest_stats_ = nlohmann::json::object();
  std::string guest_kernel_;

  bool decided_ = false;
  bool finished_ = false;
  Verdict verdict_ = Verdict::kInfraError;
  std::string title_;
  std::vector<DetectorEvent> events_;
};

}  // namespace blackout
