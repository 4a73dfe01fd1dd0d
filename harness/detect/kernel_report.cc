#include "harness/detect/kernel_report.h"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <cstring>

namespace blackout {

const char* ReportKindName(ReportKind kind) {
  switch (kind) {
    case ReportKind::kCrash: return "crash";
    case ReportKind::kLockup: return "lockup";
    case ReportKind::kWarning: return "warning";
    case ReportKind::kNote: return "note";
  }
  return "note";
}

struct ReportParser::Pattern {
  ReportKind kind;
  const char* type;
  const char* regex;
  // $1..$3 are the regex's captures; {FUNC} becomes " in FUNC" or nothing.
  const char* title;
  // A line that continues an open crash report (the panic after an Oops)
  // joins it instead of opening a report of its own.
  bool joins_open_crash;
  std::shared_ptr<RE2> re;
};

struct ReportParser::Table {
  std::vector<Pattern> patterns;
  std::unique_ptr<RE2::Set> set;
};

struct ReportParser::Open {
  const Pattern* pattern;
  Report report;
  std::vector<std::string> captures;
};

namespace {

// How many lines after the first a report collects at most.
constexpr size_t kMaxReportLines = 80;

struct Spec {
  ReportKind kind;
  const char* type;
  const char* regex;
  const char* title;
  bool joins;
};

// First match in this order wins, so specific patterns stand before the
// generic "BUG: ..." and panic ones.
const Spec kSpecs[] = {
    {ReportKind::kLockup, "soft-lockup", R"(BUG: soft lockup - CPU#(\d+) stuck for (\d+)s)",
     "BUG: soft lockup{FUNC}", false},
    {ReportKind::kLockup, "hard-lockup", R"(Watchdog detected hard LOCKUP on cpu (\d+))",
     "watchdog: hard LOCKUP{FUNC}", false},
    {ReportKind::kLockup, "rcu-stall", R"(INFO: rcu_\w+ (?:self-)?detected stalls?)",
     "INFO: rcu detected stall{FUNC}", false},
    {ReportKind::kLockup, "hung-task", R"(INFO: task (\S+):(\d+) blocked for more than (\d+) seconds)",
     "INFO: task hung{FUNC}", false},
    {ReportKind::kLockup, "workqueue-lockup", R"(BUG: workqueue lockup)", "BUG: workqueue lockup",
     false},
    {ReportKind::kLockup, "spinlock-lockup", R"(BUG: spinlock lockup suspected)",
     "BUG: spinlock lockup suspected{FUNC}", false},
    {ReportKind::kCrash, "kasan", R"(BUG: KASAN: ([a-z0-9\-]+) in ([A-Za-z0-9_.]+))",
     "KASAN: $1 in $2", false},
    {ReportKind::kCrash, "null-deref", R"(BUG: kernel NULL pointer dereference)",
     "BUG: kernel NULL pointer dereference{FUNC}", false},
    {ReportKind::kCrash, "bad-access",
     R"(BUG: unable to handle (?:kernel )?(page fault|NULL pointer dereference|paging request))",
     "BUG: unable to handle kernel $1{FUNC}", false},
    {ReportKind::kCrash, "kernel-bug", R"(kernel BUG at ([^\s!]+))", "kernel BUG at $1", false},
    {ReportKind::kCrash, "gpf", R"(general protection fault)", "general protection fault{FUNC}",
     false},
    {ReportKind::kCrash, "bug", R"(BUG: ([^\n]*?)\s*$)", "BUG: $1{FUNC}", false},
    {ReportKind::kCrash, "oops", R"(Oops(?::| -) )", "Oops{FUNC}", true},
    {ReportKind::kCrash, "panic", R"(Kernel panic - not syncing: ([^\n]*?)\s*$)", "kernel panic: $1",
     true},
    {ReportKind::kCrash, "xen-domain-crash", R"(\(XEN\) Domain (\d+) \(vcpu#\d+\) crashed)",
     "xen: domain $1 crashed", false},
    {ReportKind::kCrash, "xen-domain-crash", R"(\(XEN\) Domain (\d+) crashed)",
     "xen: domain $1 crashed", false},
    {ReportKind::kCrash, "xen-panic", R"(\(XEN\) Panic on CPU (\d+))", "xen: panic on CPU $1", false},
    {ReportKind::kCrash, "xen-fatal", R"(\(XEN\) (?:\*+ )?(FATAL [^\n]*?|Fatal [^\n]*?)\s*$)",
     "xen: $1", false},
    {ReportKind::kWarning, "warning", R"(WARNING: CPU: \d+ PID: \d+ at \S+ ([A-Za-z0-9_.]+)\+0x)",
     "WARNING in $1", false},
    {ReportKind::kNote, "clocksource-unstable",
     R"(clocksource: .*Marking clocksource '([^']+)' as unstable)", "clocksource $1 unstable",
     false},
};

// Frames that say how a report was raised, not where the kernel was stuck.
const RE2& PlumbingFrame() {
  static const RE2 re(
      R"(^(?:watchdog|.*_watchdog.*|rcu_.*|.*_rcu_.*|dump_stack.*|show_stack|sched_show_task|)"
      R"(show_regs|__schedule|schedule|schedule_.*|io_schedule.*|preempt_schedule.*|)"
      R"(panic|__warn|warn_slowpath.*|report_bug|handle_bug|exc_.*|asm_.*|do_.*_exception|)"
      R"(entry_.*|do_syscall_64|ret_from_fork|kthread|smpboot_thread_fn|)"
      R"(hrtimer_.*|__hrtimer_.*|tick_.*|update_process_times|__sysvec_.*|sysvec_.*|)"
      R"(irq_exit.*|__irq_exit.*|do_softirq.*|__do_softirq|handle_irq_event.*|)"
      R"(xen_hypercall_.*|xen_.*_upcall|__xen_.*|nmi_.*|default_idle.*|)"
      R"(native_.*halt|cpu_idle.*|do_idle|cpu_startup_entry|)"
      R"(_raw_spin_lock.*|_raw_spin_unlock.*|do_raw_spin_.*|.*queued_spin_lock_slowpath|)"
      R"(xen_poll_irq.*|xen_qlock_wait|xen_lock_spinning|xen_safe_halt|)"
      R"(percpu_rwsem_wait|__percpu_down_read|percpu_down_.*|rwsem_down_.*|down_read.*|down_write.*|)"
      R"(__down.*|down|mutex_lock.*|__mutex_lock.*|wait_for_completion.*|__wait_for_common|)"
      R"(bit_wait.*|__wait_on_bit.*|out_of_line_wait_on_bit.*|wait_on_page_bit.*|folio_wait_bit.*|)"
      R"(__handle_sysrq|write_sysrq_trigger|proc_reg_write|vfs_write|ksys_write|)"
      R"(__x64_sys_.*|__do_sys_.*|__se_sys_.*|kernel_init|.*_panic)$)");
  return re;
}

}  // namespace

std::string_view StripKernelPrefix(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (!line.empty() && line[0] == '[') {
    size_t close = line.find("] ");
    if (close != std::string_view::npos && close < 20 &&
        line.find_first_not_of(" 0123456789.", 1) == close) {
      return line.substr(close + 2);
    }
  }
  return line;
}

std::string GuiltyFunction(const std::vector<std::string>& lines) {
  // "RIP: 0010:func+0x1a/0x40" (e030 under Xen PV). A RIP in user space or in
  // plumbing does not count.
  static const RE2 rip(R"(RIP: [0-9a-f]{4}:([A-Za-z0-9_.]+)\+0x)");
  // Frames are indented; an unindented "name+0x" is a line torn by
  // interleaved console output and cannot be trusted.
  static const RE2 frame(R"(^\s+(?:\? )?([A-Za-z_][A-Za-z0-9_.]*)\+0x[0-9a-f]+/0x[0-9a-f]+)");
  std::string func;
  for (const std::string& raw : lines) {
    std::string_view line = StripKernelPrefix(raw);
    if (RE2::PartialMatch(line, rip, &func)) {
      func = func.substr(0, func.find('.'));
      if (!RE2::FullMatch(func, PlumbingFrame())) return func;
    }
  }
  bool in_trace = false;
  for (const std::string& raw : lines) {
    std::string_view line = StripKernelPrefix(raw);
    if (line.find("Call Trace:") != std::string_view::npos) {
      in_trace = true;
      continue;
    }
    if (!in_trace) continue;
    if (line.find("? ") < 4) continue;  // unreliable frame
    if (!RE2::PartialMatch(line, frame, &func)) continue;
    // Strip compiler suffixes (".constprop.0", ".isra.0", ".cold").
    func = func.substr(0, func.find('.'));
    if (!RE2::FullMatch(func, PlumbingFrame())) return func;
  }
  return "";
}

const ReportParser::Table& ReportParser::Patterns() {
  static const Table* table = [] {
    auto* t = new Table;
    RE2::Options options;
    options.set_log_errors(false);
    t->set = std::make_unique<RE2::Set>(options, RE2::UNANCHORED);
    for (const Spec& spec : kSpecs) {
      std::string error;
      t->set->Add(spec.regex, &error);
      t->patterns.push_back(Pattern{spec.kind, spec.type, spec.regex, spec.title, spec.joins,
                                    std::make_shared<RE2>(spec.regex, options)});
    }
    t->set->Compile();
    return t;
  }();
  return *table;
}

// Every pattern contains one of these literally, so a line without any of them
// cannot match: most console lines skip the pattern set entirely.
// KernelReport.EveryPatternHasAKeyword keeps this list honest.
const char* const kKeywords[] = {"BUG",     "LOCKUP",  "INFO:",            "panic",      "Oops",
                                 "XEN",     "WARNING", "protection fault", "clocksource"};

// The keywords by their first byte, so MayMatch reads a line once instead of
// once per keyword; most bytes start no keyword and cost one table lookup.
struct KeywordIndex {
  bool starts[256] = {};
  std::vector<std::string_view> by_first[256];
  KeywordIndex() {
    for (const char* k : kKeywords) {
      starts[static_cast<unsigned char>(k[0])] = true;
      by_first[static_cast<unsigned char>(k[0])].emplace_back(k);
    }
  }
};

bool MayMatch(std::string_view line) {
  static const KeywordIndex index;
  const char* p = line.data();
  const char* end = p + line.size();
  for (; p < end; ++p) {
    unsigned char c = static_cast<unsigned char>(*p);
    if (!index.starts[c]) continue;
    for (std::string_view k : index.by_first[c]) {
      if (static_cast<size_t>(end - p) >= k.size() && std::memcmp(p, k.data(), k.size()) == 0) return true;
    }
  }
  return false;
}

ReportParser::ReportParser() = default;

bool PatternHasKeyword(const std::string& regex) {
  for (const char* k : kKeywords) {
    if (regex.find(k) != std::string::npos) return true;
  }
  return false;
}

std::vector<std::string> ReportPatterns() {
  std::vector<std::string> out;
  for (const Spec& spec : kSpecs) out.push_back(spec.regex);
  return out;
}
ReportParser::~ReportParser() = default;

namespace {

// Fills in report->stuck_cpus and stuck_s (see Report) from the first line's
// captures (soft lockup) or the lines after it (RCU stall).
void ReadClaim(const std::vector<std::string>& captures, Report* report) {
  if (report->type == "soft-lockup" && captures.size() >= 2) {
    int cpu = 0, secs = 0;
    if (RE2::FullMatch(captures[0], R"((\d+))", &cpu) && RE2::FullMatch(captures[1], R"((\d+))", &secs)) {
      report->stuck_cpus = {cpu};
      report->stuck_s = secs;
    }
  } else if (report->type == "rcu-stall") {
    static const RE2 kCpu(R"(rcu:\s+(\d+)-\S*:\s*\()");
    static const RE2 kJiffies(R"(\bt=(\d+) jiffies)");
    static const RE2 kNoCpu(R"(Tasks blocked on|kthread starved|All QSes seen)");
    std::vector<int> cpus;
    double secs = 0;
    for (const std::string& line : report->lines) {
      int cpu = 0;
      long jiffies = 0;
      if (RE2::PartialMatch(line, kNoCpu)) return;
      if (RE2::PartialMatch(line, kCpu, &cpu)) cpus.push_back(cpu);
      if (RE2::PartialMatch(line, kJiffies, &jiffies)) secs = std::max(secs, static_cast<double>(jiffies) / 1000.0);
    }
    if (secs <= 0) return;
    report->stuck_cpus = cpus;
    report->stuck_s = secs;
  }
}

}  // namespace

void ReportParser::Close(std::vector<Report>* done) {
  if (!open_) return;
  std::string title = open_->pattern->title;
  for (size_t i = 0; i < open_->captures.size(); ++i) {
    std::string key = "$" + std::to_string(i + 1);
    size_t pos = title.find(key);
    if (pos != std::string::npos) title.replace(pos, key.size(), open_->captures[i]);
  }
  size_t func_at = title.find("{FUNC}");
  if (func_at != std::string::npos) {
    std::string func = GuiltyFunction(open_->report.lines);
    title.replace(func_at, 6, func.empty() ? "" : " in " + func);
  }
  open_->report.title = title;
  ReadClaim(open_->captures, &open_->report);
  done->push_back(std::move(open_->report));
  open_.reset();
}

void ReportParser::Flush(std::vector<Report>* done) { Close(done); }

void ReportParser::Line(double host_t, std::string_view raw, std::vector<Report>* done) {
  std::string_view line = StripKernelPrefix(raw);
  const Table& table = Patterns();
  std::vector<int> hits;
  if (MayMatch(line)) table.set->Match(line, &hits);
  if (!hits.empty()) {
    const Pattern& p = table.patterns[static_cast<size_t>(*std::min_element(hits.begin(), hits.end()))];
    bool joins = p.joins_open_crash && open_ && open_->pattern->kind != ReportKind::kWarning &&
                 open_->pattern->kind != ReportKind::kNote;
    if (!joins) {
      Close(done);
      open_ = std::make_unique<Open>();
      open_->pattern = &p;
      open_->report.kind = p.kind;
      open_->report.type = p.type;
      open_->report.host_t = host_t;
      int n = p.re->NumberOfCapturingGroups();
      std::vector<std::string> caps(static_cast<size_t>(n));
      std::vector<RE2::Arg> args(static_cast<size_t>(n));
      std::vector<const RE2::Arg*> argp(static_cast<size_t>(n));
      for (int i = 0; i < n; ++i) {
        args[static_cast<size_t>(i)] = &caps[static_cast<size_t>(i)];
        argp[static_cast<size_t>(i)] = &args[static_cast<size_t>(i)];
      }
      RE2::PartialMatchN(line, *p.re, argp.data(), n);
      open_->captures = caps;
      open_->report.lines.emplace_back(raw);
      if (p.kind == ReportKind::kNote) Close(done);
      return;
    }
  }
  if (!open_) return;
  open_->report.lines.emplace_back(raw);
  if (line.find("---[ end") != std::string_view::npos || open_->report.lines.size() > kMaxReportLines) {
    Close(done);
  }
}

}  // namespace blackout
