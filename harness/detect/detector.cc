#include "harness/detect/detector.h"

#include "base/protocol.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <cstring>
#include <cstdio>

namespace blackout {
namespace {

// A freeze is the host's fault when one vCPU thread waited for a host CPU
// longer than this share of it. Measured here: a clean default run's worst
// 2-second window is 0.07; a vCPU thread starved by a nice -20 hog shows 0.58
// (it is not runnable all the time: it also waits on the other vCPU).
constexpr double kContendedFraction = 0.3;
// How long after a freeze to look for its run delay (see Classify).
constexpr double kRunDelayCreditLag = 1.5;

// Console lines longer than this are cut so a guest spewing without newlines
// cannot grow our memory without bound.
constexpr size_t kMaxLine = 64 * 1024;
// What the detector keeps, whatever the console says (a hostile guest, or a
// log with forged stamps): beyond these, reports and gaps are counted only.
// A day's soak reports an interval every 10 s: 8640 records.
constexpr size_t kMaxReports = 1000;
constexpr size_t kMaxGaps = 100000;
constexpr size_t kMaxRecords = 20000;

std::string Fmt(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fs", seconds);
  return buf;
}

// A crash or lockup report that stops the run and decides the verdict.
bool Serious(const Report& r) {
  return (r.kind == ReportKind::kCrash || r.kind == ReportKind::kLockup) && r.discounted.empty();
}

std::string VcpuList(const std::vector<int>& vcpus) {
  std::string out;
  for (int v : vcpus) out += (out.empty() ? "" : ",") + std::to_string(v);
  return out;
}

}  // namespace

Detector::Detector(DetectorConfig config, double start_t)
    : config_(std::move(config)), start_t_(start_t) {
  config_.vcpus = std::clamp(config_.vcpus, 1, kMaxVcpus);
  size_t n = static_cast<size_t>(config_.vcpus);
  last_host_.assign(n, 0);
  last_guest_.assign(n, 0);
  last_seq_.assign(n, 0);
  seen_.assign(n, false);
}

void Detector::Emit(double t, const std::string& type, nlohmann::json data) {
  events_.push_back(DetectorEvent{t, type, std::move(data)});
}

std::vector<DetectorEvent> Detector::TakeEvents() {
  std::vector<DetectorEvent> out;
  out.swap(events_);
  return out;
}

void Detector::Bytes(double t, std::string_view data) {
  while (!data.empty()) {
    size_t nl = data.find('\n');
    if (partial_.empty()) partial_t_ = t;
    if (nl == std::string_view::npos) {
      partial_.append(data);
      if (partial_.size() > kMaxLine) {
        Line(partial_t_, partial_);
        partial_.clear();
      }
      return;
    }
    if (partial_.empty()) {
      // The common case: the whole line is in this chunk. One too long is
      // cut into pieces of kMaxLine, as a partial line is.
      size_t len = std::min(nl, kMaxLine);
      Line(t, data.substr(0, len));
      data.remove_prefix(len == nl ? nl + 1 : len);
      continue;
    }
    partial_.append(data.substr(0, nl));
    Line(partial_t_, partial_);
    partial_.clear();
    data.remove_prefix(nl + 1);
  }
}

void Detector::TakeReports(double t, std::vector<Report>& done) {
  for (Report& r : done) {
    r.discounted = Contradiction(r, std::max(r.host_t, t));
    bool kept = reports_.size() < kMaxReports;
    nlohmann::json data = {{"kind", ReportKindName(r.kind)}, {"type", r.type}, {"title", r.title}};
    // A report's lines are its bulk: only the reports kept carry them.
    if (kept) data["lines"] = r.lines;
    if (!r.discounted.empty()) data["discounted"] = r.discounted;
    if (!r.corrupted.empty()) data["corrupted"] = r.corrupted;
    Emit(r.host_t, "report", std::move(data));
    // Bounded whatever the console says: the first reports decide the run.
    if (kept) {
      reports_.push_back(std::move(r));
    } else {
      ++dropped_reports_;
    }
  }
  done.clear();
}

// A watchdog report names CPUs that did not schedule (or pass a quiescent
// state) for some seconds of the guest's own clock. Each vCPU's heartbeat
// thread is pinned to it and sleeps on that CPU's timers, so while the CPU is
// stuck it cannot beat. If every CPU named beat all through the time claimed
// before the report (host time), those CPUs were scheduling and the watchdog
// was misled by its clock (seen once under TCG: four CPUs' soft lockup
// watchdogs, an idle one among them, fired at once with no heartbeat gap).
// Such a report is kept and shown, not believed; the heartbeats still judge
// the run. A named vCPU silent for half the claim or more confirms the report,
// and so does a window the heartbeats do not cover or cannot resolve (half the
// claim within the stall threshold: shorter silences are not kept).
// The claim (Report::stuck_cpus, stuck_s) is read by the report parser;
// reports that name no stuck CPU are believed.
std::string Detector::Contradiction(const Report& r, double now) const {
  if (!first_heartbeat_) return "";
  const std::vector<int>& cpus = r.stuck_cpus;
  const double claimed = r.stuck_s;
  if (cpus.empty() || claimed <= 0 || 0.5 * claimed <= config_.stall_s) return "";
  double b = r.host_t;
  double a = std::max(b - claimed, *first_heartbeat_);
  if (b - a < 0.5 * claimed) return "";
  double longest = 0;
  for (int cpu : cpus) {
    if (cpu < 0 || cpu >= config_.vcpus) return "";
    longest = std::max(longest, LongestSilence(static_cast<size_t>(cpu), a, b, now));
  }
  if (longest >= 0.5 * claimed) return "";
  // Silences under the stall threshold are not kept, so that is all we know.
  std::string silence = longest < config_.stall_s ? "no silence over " + Fmt(config_.stall_s)
                                                  : "longest silence " + Fmt(longest);
  return "vCPU " + VcpuList(cpus) + " beat all through the " + Fmt(claimed) + " it claims (" + silence + "): " +
         (cpus.size() > 1 ? "the CPUs were" : "the CPU was") + " scheduling";
}

double Detector::LongestSilence(size_t v, double a, double b, double now) const {
  auto overlap = [&](double s, double e) { return std::max(0.0, std::min(e, b) - std::max(s, a)); };
  if (!seen_[v]) return b - a;
  double longest = overlap(last_host_[v], now);  // the silence still open
  for (const Gap& g : gaps_) {
    if (g.vcpu == static_cast<int>(v)) longest = std::max(longest, overlap(g.host_start, g.host_end));
  }
  // Shorter silences are not kept as gaps; each is below the stall threshold.
  return longest;
}

void Detector::Line(double t, std::string_view line) {
  if (finished_) return;
  while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (!config_.guest_prefix.empty()) {
    if (line.substr(0, config_.guest_prefix.size()) == config_.guest_prefix) {
      line.remove_prefix(config_.guest_prefix.size());
      while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    } else if (line.substr(0, 5) != "(XEN)") {
      Dom0Line(t, line);
      return;
    }
  }

  struct Heartbeat hb;
  switch (ParseHeartbeat(line, config_.nonce, &hb)) {
    case RecordCheck::kOk: Heartbeat(t, hb); return;
    case RecordCheck::kBadSeal: ++bad_seal_; return;
    case RecordCheck::kForeign: ++foreign_; return;
    case RecordCheck::kNone: break;
  }
  AgentStatus status;
  switch (ParseStatus(line, config_.nonce, &status)) {
    case RecordCheck::kOk: Status(t, status); return;
    case RecordCheck::kBadSeal: ++bad_seal_; return;
    case RecordCheck::kForeign: ++foreign_; return;
    case RecordCheck::kNone: break;
  }

  std::vector<Report> done;
  bool was_open = parser_.open();
  parser_.Line(t, line, &done);
  TakeReports(t, done);
  if (!was_open && parser_.open() && !report_deadline_) {
    // A crash or lockup report opened: read on briefly for its stack, then stop.
    report_deadline_ = t + config_.report_grace_s;
  }
}

void Detector::Dom0Line(double t, std::string_view line) {
  size_t at = line.find(protocol::kDom0Marker);
  if (at == std::string_view::npos) return;
  std::string what(line.substr(at + std::strlen(protocol::kDom0Marker)));
  Emit(t, "dom0", {{"message", what}});
  if (what.rfind("error ", 0) == 0) InfraFailure(t, "dom0: " + what);
}

void Detector::Heartbeat(double t, const struct Heartbeat& hb) {
  if (hb.vcpu >= static_cast<int>(seen_.size())) {
    ++out_of_range_;
    return;
  }
  ++heartbeats_;
  size_t v = static_cast<size_t>(hb.vcpu);
  double guest = static_cast<double>(hb.guest_ns) / 1e9;
  if (!first_heartbeat_) {
    first_heartbeat_ = t;
    // Every vCPU is expected to beat from now on.
    std::fill(last_host_.begin(), last_host_.end(), t);
    Emit(t, "first-heartbeat", {{"vcpu", hb.vcpu}, {"after_s", t - start_t_}});
  }
  if (seen_[v]) {
    if (hb.seq > last_seq_[v] + 1) lost_ += hb.seq - last_seq_[v] - 1;
    double gap = t - last_host_[v];
    // The guest clock should move with host time. Backwards, or well ahead of
    // it, is a clock jump (the 2013 freezes came with them).
    double guest_delta = guest - last_guest_[v];
    if (guest_delta < -0.001 || guest_delta - gap > std::max(1.0, 0.5 * gap)) {
      ++clock_jumps_;
      Emit(t, "clock-jump", {{"vcpu", hb.vcpu}, {"host_delta_s", gap}, {"guest_delta_s", guest_delta}});
    }
    if (gap > config_.stall_s) {
      Gap g{hb.vcpu, last_host_[v], t, last_guest_[v], guest};
      if (gaps_.size() < kMaxGaps) {
        gaps_.push_back(g);
      } else {
        ++dropped_gaps_;
      }
      Emit(t, "gap",
           {{"vcpu", hb.vcpu}, {"host_start", g.host_start}, {"length_s", g.length()},
            {"guest_advance_s", g.guest_advance()}});
    }
  } else {
    seen_[v] = true;
  }
  last_host_[v] = t;
  last_guest_[v] = guest;
  last_seq_[v] = hb.seq;
}

namespace {

// A plain decimal number ("12", "0.250"); nullopt for anything else.
std::optional<double> Number(const std::string& v) {
  if (v.empty() || v.size() > 32 || v.find_first_not_of("0123456789.") != std::string::npos ||
      v.find_first_of("0123456789") == std::string::npos || v.find('.') != v.rfind('.')) {
    return std::nullopt;
  }
  double x = std::strtod(v.c_str(), nullptr);
  if (!std::isfinite(x)) return std::nullopt;
  return x;
}

// "1,2,3" (one per stressor) or "-" (none); nullopt for anything else.
std::optional<nlohmann::json> CountList(const std::string& v) {
  nlohmann::json values = nlohmann::json::array();
  if (v == "-") return values;
  for (size_t start = 0; start <= v.size();) {
    size_t comma = std::min(v.find(',', start), v.size());
    auto c = ParseCount(v.substr(start, comma - start));
    if (!c) return std::nullopt;
    values.push_back(*c);
    start = comma + 1;
  }
  return values;
}

}  // namespace

void Detector::Status(double t, const AgentStatus& status) {
  // Counters first: a record whose numbers do not parse is rejected whole.
  nlohmann::json parsed;
  if (status.event == "stressor") {
    for (const auto& [k, v] : status.fields) {
      bool numeric = !v.empty() && v.find_first_not_of("0123456789") == std::string::npos;
      auto c = numeric ? ParseCount(v) : std::nullopt;
      // A count that is not one (ops, errors, bytes, ...) rejects the record.
      bool must_count = k != "name";
      if ((numeric || must_count) && !c) {
        ++bad_value_;
        return;
      }
      parsed[k] = numeric ? nlohmann::json(*c) : nlohmann::json(v);
    }
  } else if (status.event == "interval" || status.event == "guest-stats") {
    // Numbers (and comma lists of numbers, one per stressor) as JSON numbers.
    parsed["t"] = t;
    for (const auto& [k, v] : status.fields) {
      std::optional<nlohmann::json> value;
      if (k == "ops" || k == "errors") {
        value = CountList(v);
      } else if (!v.empty() && v.find_first_not_of("0123456789.") == std::string::npos) {
        if (auto x = Number(v)) value = *x;
      } else {
        value = v;
      }
      if (!value) {
        ++bad_value_;
        return;
      }
      parsed[k] = *value;
    }
  }
  nlohmann::json data = status.fields;
  data["event"] = status.event;
  Emit(t, "agent", data);
  if (status.event == "hello") {
    guest_kernel_ = status.fields.count("kernel") ? status.fields.at("kernel") : "";
  } else if (status.event == "workload-start") {
    workload_start_ = t;
  } else if (status.event == "stressor") {
    if (stressors_.size() < kMaxRecords) stressors_.push_back(parsed);
  } else if (status.event == "interval" || status.event == "guest-stats") {
    nlohmann::json j = parsed;
    if (status.event == "interval") {
      if (intervals_.size() < kMaxRecords) intervals_.push_back(j);
    } else {
      guest_stats_ = j;
    }
  } else if (status.event == "done") {
    done_ = true;
    done_t_ = t;
  } else if (status.event == "error") {
    std::string reason = status.fields.count("reason") ? status.fields.at("reason") : "unknown";
    agent_error_ = reason;
    Decide(t, "agent error: " + reason);
  }
}

void Detector::Omitted(double t) {
  partial_.clear();
  std::fill(seen_.begin(), seen_.end(), false);
  std::fill(last_host_.begin(), last_host_.end(), t);
  Emit(t, "console-omitted", nlohmann::json::object());
}

void Detector::Tick(double t) {
  if (finished_) return;
  if (report_deadline_ && t >= *report_deadline_) {
    std::vector<Report> done;
    parser_.Flush(&done);
    TakeReports(t, done);
    bool serious = std::any_of(reports_.begin(), reports_.end(), Serious);
    report_deadline_.reset();
    if (serious) Decide(t, "kernel report");
  }
  if (!first_heartbeat_) {
    if (config_.boot_s > 0 && t - start_t_ > config_.boot_s && !boot_timed_out_) {
      boot_timed_out_ = true;
      Decide(t, "boot timeout");
    }
    return;
  }
  if (done_) {
    if (t - *done_t_ > config_.done_grace_s) Decide(t, "done, VM did not power off");
    return;
  }
  if (!heartbeat_lockup_t_) {
    std::vector<int> silent;
    for (size_t v = 0; v < last_host_.size(); ++v) {
      if (t - last_host_[v] > config_.lockup_s) silent.push_back(static_cast<int>(v));
    }
    if (!silent.empty()) {
      heartbeat_lockup_t_ = t;
      bool whole = silent.size() == last_host_.size();
      heartbeat_lockup_what_ = whole ? "whole guest" : "vCPU " + VcpuList(silent);
      double last = t;
      for (int v : silent) last = std::min(last, last_host_[static_cast<size_t>(v)]);
      heartbeat_lockup_since_ = last;
      // detection latency = t - last_heartbeat_s (the threshold plus our tick).
      Emit(t, "heartbeat-lockup",
           {{"vcpus", silent}, {"lockup_s", config_.lockup_s}, {"last_heartbeat_s", last}});
      Decide(t, "heartbeat lockup");
    }
  }
  if (workload_start_ && !workload_overdue_ &&
      t - *workload_start_ > config_.workload_s + config_.finish_slack_s) {
    workload_overdue_ = true;
    Decide(t, "workload overdue");
  }
}

void Detector::VmExited(double t, bool clean, const std::string& why) {
  if (vm_exit_) return;
  vm_exit_ = why;
  vm_exit_clean_ = clean;
  Emit(t, "vm-exit", {{"clean", clean}, {"status", why}});
  Decide(t, "vm exited");
}

void Detector::InfraFailure(double t, const std::string& why) {
  if (infra_) return;
  infra_ = why;
  Emit(t, "infra-error", {{"reason", why}});
  Decide(t, "infra error");
}

void Detector::Interrupted(double t) {
  interrupted_ = true;
  Emit(t, "interrupted", nlohmann::json::object());
  Decide(t, "interrupted");
}

void Detector::HostStats(const HostSample& sample) {
  // Bounded for soak runs: thin out the older half when full.
  if (host_samples_.size() >= 200000) {
    std::vector<HostSample> kept;
    for (size_t i = 0; i < host_samples_.size(); i += (i < host_samples_.size() / 2 ? 2 : 1)) {
      kept.push_back(host_samples_[i]);
    }
    host_samples_.swap(kept);
  }
  host_samples_.push_back(sample);
}

void Detector::MonitorLate(double t, double late_s) {
  late_.emplace_back(t - late_s, t);
  Emit(t, "monitor-late", {{"late_s", late_s}});
}

void Detector::Classify(Freeze& f) const {
  double len = f.length();
  for (const auto& [a, b] : late_) {
    f.monitor_late_s += std::max(0.0, std::min(b, f.host_end) - std::max(a, f.host_start));
  }
  // Host samples bracketing the gap: the last one near its start, and one a
  // little after its end. The kernel credits a thread's run delay only when
  // the thread next gets a CPU, so a starved thread's wait shows up after the
  // starvation, in one lump; the later sample catches it.
  const double slack = std::max(config_.heartbeat_s, 0.3);
  const HostSample* before = nullptr;
  const HostSample* after = nullptr;
  for (const HostSample& s : host_samples_) {
    if (s.t <= f.host_start + slack) before = &s;
    if (s.t >= f.host_end + kRunDelayCreditLag && !after) after = &s;
  }
  if (!after && !host_samples_.empty() && host_samples_.back().t >= f.host_end) after = &host_samples_.back();
  // The most-starved vCPU thread decides: which host thread ran the frozen
  // guest vCPU is unknown (Xen moves vCPUs between its CPUs), and one starved
  // thread is enough to stall a guest.
  if (before && after && after->t > before->t && !before->vcpu_wait_s.empty()) {
    double span = after->t - before->t;
    size_t n = std::min(before->vcpu_wait_s.size(), after->vcpu_wait_s.size());
    for (size_t i = 0; i < n; ++i) {
      f.run_delay_fraction =
          std::max(f.run_delay_fraction, (after->vcpu_wait_s[i] - before->vcpu_wait_s[i]) / span);
    }
    if (before->psi_some_s >= 0 && after->psi_some_s >= 0) {
      f.psi_some_fraction = (after->psi_some_s - before->psi_some_s) / span;
    }
  }
  // The guest clock runs while the guest runs. If it advanced by much less
  // than host time (beyond one heartbeat interval of slack), the VM was not
  // being run: paused, or starved by the host.
  double missing = len - f.guest_advance;
  if (f.monitor_late_s > 0.5 * len) {
    f.cause = "host-lateness";
  } else if (f.run_delay_fraction > kContendedFraction) {
    f.cause = "host-contention";
  } else if (missing > 0.5 * (len - config_.heartbeat_s)) {
    f.cause = "vm-external";
  } else if (!config_.guest_clock_stops_with_vm) {
    f.cause = "unattributed";
  } else {
    f.cause = "guest-internal";
  }
}

void Detector::Decide(double t, const std::string& reason) {
  if (decided_) return;
  decided_ = true;
  Emit(t, "stop", {{"reason", reason}});
}

std::vector<Freeze> Detector::Freezes() const {
  std::vector<Gap> sorted = gaps_;
  std::sort(sorted.begin(), sorted.end(),
            [](const Gap& a, const Gap& b) { return a.host_start < b.host_start; });
  // Gaps that touch or overlap make one freeze: several vCPUs silent at once,
  // or one vCPU beating only now and then (a chain of gaps).
  std::vector<Freeze> out;
  std::vector<std::vector<const Gap*>> members;
  for (const Gap& g : sorted) {
    if (out.empty() || g.host_start > out.back().host_end) {
      Freeze f;
      f.host_start = g.host_start;
      f.host_end = g.host_end;
      f.guest_start = g.guest_start;
      out.push_back(f);
      members.emplace_back();
    }
    Freeze& f = out.back();
    f.host_end = std::max(f.host_end, g.host_end);
    members.back().push_back(&g);
    if (std::find(f.vcpus.begin(), f.vcpus.end(), g.vcpu) == f.vcpus.end()) f.vcpus.push_back(g.vcpu);
  }
  for (size_t i = 0; i < out.size(); ++i) {
    Freeze& f = out[i];
    std::sort(f.vcpus.begin(), f.vcpus.end());
    f.whole_guest = f.vcpus.size() == last_host_.size();
    // What each frozen vCPU saw of the guest clock over the freeze: the guest
    // time inside its own gaps, and host time outside them (it was beating
    // then, so the guest ran). The least of those is the freeze's.
    f.guest_advance = f.length();
    for (int v : f.vcpus) {
      double guest = 0, covered = 0;
      for (const Gap* g : members[i]) {
        if (g->vcpu != v) continue;
        guest += g->guest_advance();
        covered += g->length();
      }
      f.guest_advance = std::min(f.guest_advance, guest + std::max(0.0, f.length() - covered));
    }
    Classify(f);
  }
  return out;
}

std::string Detector::IdleStressor() const {
  for (const nlohmann::json& s : stressors_) {
    if (s.contains("ops") && s["ops"].is_number() && s["ops"].get<uint64_t>() != 0) continue;
    return s.contains("name") ? (s["name"].is_string() ? s["name"].get<std::string>() : s["name"].dump()) : "?";
  }
  return "";
}

void Detector::Finish(double t) {
  if (finished_) return;
  std::string tail = partial_;
  partial_.clear();
  if (!tail.empty()) Line(partial_t_, tail);
  std::vector<Report> done;
  parser_.Flush(&done);
  TakeReports(t, done);
  finished_ = true;
  decided_ = true;

  // The rules, in order. Kernel evidence beats everything that happened after
  // it; a guest that never beat cannot have stalled or locked up.
  // The first serious report in the log decides, as syzkaller's does: what
  // comes after it (a panic, an Oops, a lockup in its wake) is its aftermath.
  const Report* crash = nullptr;
  const Report* lockup = nullptr;
  const Report* first = nullptr;
  for (const Report& r : reports_) {
    // (Reports of several callers can end out of order: the earliest begun.)
    if (Serious(r) && (!first || r.host_t < first->host_t)) first = &r;
  }
  if (first) (first->kind == ReportKind::kCrash ? crash : lockup) = first;
  std::vector<Freeze> freezes = Freezes();
  if (config_.reports_only) {
    verdict_ = crash ? Verdict::kCrash : lockup ? Verdict::kLockup : Verdict::kPass;
    title_ = crash ? crash->title : lockup ? lockup->title : "no kernel report";
  } else if (!first_heartbeat_) {
    if (crash || lockup) {
      verdict_ = Verdict::kBootFailure;
      title_ = (crash ? crash : lockup)->title;
    } else if (agent_error_) {
      verdict_ = Verdict::kInfraError;
      title_ = "agent error: " + *agent_error_;
    } else if (infra_) {
      verdict_ = Verdict::kInfraError;
      title_ = *infra_;
    } else if (vm_exit_ && !vm_exit_clean_) {
      verdict_ = Verdict::kInfraError;
      title_ = "vm died before the first heartbeat: " + *vm_exit_;
    } else if (interrupted_) {
      verdict_ = Verdict::kInfraError;
      title_ = "interrupted before the first heartbeat";
    } else if (vm_exit_) {
      verdict_ = Verdict::kBootFailure;
      title_ = "guest stopped before the first heartbeat";
    } else {
      verdict_ = Verdict::kBootFailure;
      title_ = config_.boot_s > 0 ? "no heartbeat within " + Fmt(config_.boot_s) : "no heartbeat";
    }
  } else if (crash) {
    verdict_ = Verdict::kCrash;
    title_ = crash->title;
  } else if (lockup) {
    verdict_ = Verdict::kLockup;
    title_ = lockup->title;
  } else if (heartbeat_lockup_t_) {
    verdict_ = Verdict::kLockup;
    title_ = "lockup: no heartbeat from " + heartbeat_lockup_what_ + " for " + Fmt(config_.lockup_s);
  } else if (workload_overdue_) {
    verdict_ = Verdict::kLockup;
    title_ = "lockup: workload did not finish within " +
             Fmt(config_.workload_s + config_.finish_slack_s);
  } else if (agent_error_) {
    verdict_ = Verdict::kInfraError;
    title_ = "agent error: " + *agent_error_;
  } else if (std::string idle = IdleStressor(); done_ && !idle.empty()) {
    // A run whose load did nothing proves nothing: never a pass.
    verdict_ = Verdict::kInfraError;
    title_ = "stressor " + idle + " did no work";
  } else if (!done_ && infra_) {
    verdict_ = Verdict::kInfraError;
    title_ = *infra_;
  } else if (!done_ && vm_exit_ && !vm_exit_clean_) {
    verdict_ = Verdict::kInfraError;
    title_ = "vm died: " + *vm_exit_;
  } else if (!done_ && vm_exit_) {
    verdict_ = Verdict::kCrash;
    title_ = "guest stopped before the workload finished";
  } else if (!done_) {
    verdict_ = Verdict::kInfraError;
    title_ = interrupted_ ? "interrupted" : "run ended before the workload finished";
  } else if (!freezes.empty()) {
    const Freeze* longest = &freezes[0];
    for (const Freeze& f : freezes) {
      if (f.length() > longest->length()) longest = &f;
    }
    verdict_ = Verdict::kStall;
    title_ = "stall: " + Fmt(longest->length()) + " " +
             (longest->whole_guest ? "whole-guest freeze" : "freeze of vCPU " + VcpuList(longest->vcpus)) +
             " (" + longest->cause + ")";
    if (freezes.size() > 1) title_ += ", " + std::to_string(freezes.size()) + " freezes";
  } else {
    verdict_ = Verdict::kPass;
    title_ = "pass";
  }
  for (const Freeze& f : freezes) {
    Emit(f.host_end, "freeze", FreezeJson(f));
  }
  // The exposure: from the workload's start to the evidence's.
  if (workload_start_) {
    std::optional<double> at;
    if (verdict_ == Verdict::kCrash || verdict_ == Verdict::kLockup) {
      if (crash || lockup) {
        at = (crash ? crash : lockup)->host_t;
      } else if (heartbeat_lockup_since_) {
        at = *heartbeat_lockup_since_;
      } else if (workload_overdue_) {
        at = *workload_start_ + config_.workload_s;
      }
    } else if (verdict_ == Verdict::kStall && !freezes.empty()) {
      at = std::min_element(freezes.begin(), freezes.end(), [](const Freeze& a, const Freeze& b) {
             return a.host_start < b.host_start;
           })->host_start;
    } else if (verdict_ == Verdict::kPass) {
      at = done_t_ ? *done_t_ : t;
    }
    if (at) exposure_s_ = std::clamp(*at - *workload_start_, 0.0, config_.workload_s + config_.finish_slack_s);
  }
  Emit(t, "verdict", {{"verdict", VerdictName(verdict_)}, {"title", title_}});
}

nlohmann::json FreezeJson(const Freeze& f) {
  return {{"host_start_s", f.host_start},     {"length_s", f.length()},
          {"guest_start_s", f.guest_start},   {"guest_advance_s", f.guest_advance},
          {"vcpus", f.vcpus},                 {"whole_guest", f.whole_guest},
          {"cause", f.cause},                 {"run_delay_fraction", f.run_delay_fraction},
          {"psi_some_fraction", f.psi_some_fraction}, {"monitor_late_s", f.monitor_late_s}};
}

// How much the VM's vCPU threads waited for host CPUs over the run: the
// baseline against which a host-contention freeze stands out.
nlohmann::json HostSummary(const std::vector<HostSample>& samples) {
  double worst = 0, total_wait = 0, total_span = 0;
  for (size_t i = 0, j = 0; i < samples.size(); ++i) {
    while (j < samples.size() && samples[j].t < samples[i].t + 2.0) ++j;
    if (j >= samples.size()) break;
    const HostSample& a = samples[i];
    const HostSample& b = samples[j];
    size_t n = std::min(a.vcpu_wait_s.size(), b.vcpu_wait_s.size());
    for (size_t k = 0; k < n; ++k) {
      worst = std::max(worst, (b.vcpu_wait_s[k] - a.vcpu_wait_s[k]) / (b.t - a.t));
    }
  }
  // The first sample that saw the vCPU threads (QEMU names them a moment
  // after it starts).
  size_t first = 0;
  while (first < samples.size() && samples[first].vcpu_wait_s.empty()) ++first;
  if (samples.size() >= first + 2) {
    const HostSample& a = samples[first];
    const HostSample& b = samples.back();
    size_t n = std::min(a.vcpu_wait_s.size(), b.vcpu_wait_s.size());
    for (size_t k = 0; k < n; ++k) total_wait += b.vcpu_wait_s[k] - a.vcpu_wait_s[k];
    total_span = (b.t - a.t) * static_cast<double>(n);
  }
  return {{"samples", samples.size()},
          {"max_vcpu_wait_fraction_2s", worst},
          {"mean_vcpu_wait_fraction", total_span > 0 ? total_wait / total_span : -1}};
}

nlohmann::json Detector::Stats() const {
  return {{"heartbeats", heartbeats_},
          {"host", HostSummary(host_samples_)},
          {"clock_jumps", clock_jumps_},
          {"dropped", {{"reports", dropped_reports_}, {"gaps", dropped_gaps_}}},
          {"rejected_bad_seal", bad_seal_},
          {"rejected_foreign_nonce", foreign_},
          {"rejected_vcpu_out_of_range", out_of_range_},
          {"rejected_bad_value", bad_value_},
          {"lost_heartbeats", lost_},
          {"guest_kernel", guest_kernel_},
          {"stressors", stressors_},
          {"intervals", intervals_},
          {"guest_counters", guest_stats_}};
}

}  // namespace blackout
