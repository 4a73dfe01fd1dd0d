#include "harness/detect/kernel_report.h"

#include "harness/detect/report_title.h"

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
  bool joins_open_report;
  std::shared_ptr<RE2> re;
  std::shared_ptr<RE2> unless;  // null: none
};

struct ReportParser::Table {
  std::vector<Pattern> patterns;
  std::unique_ptr<RE2::Set> set;
};

struct ReportParser::Open {
  const Pattern* pattern;
  std::string caller;  // the first line's caller id, "" without one
  Report report;
  std::vector<std::string> captures;
};

namespace {

// How many lines after the first a report collects at most.
// (An RCU stall's stalled CPU, or a soft lockup's NMI backtraces, can come
// well after the first line.)
constexpr size_t kMaxReportLines = 300;

struct Spec {
  ReportKind kind;
  const char* type;
  const char* regex;
  // A line that also matches this is not a report (a user program's fault).
  const char* unless;
  // A line that continues an open report (the panic after an Oops or a
  // WARNING) joins it instead of opening a report of its own.
  bool joins;
};

// First match in this order wins, so specific patterns stand before the
// generic "BUG: ..." and panic ones. Titles come from report_title.cc.
const Spec kSpecs[] = {
    {ReportKind::kLockup, "soft-lockup", R"(BUG: soft lockup - CPU#(\d+) stuck for (\d+)s)", nullptr, false},
    {ReportKind::kLockup, "hard-lockup", R"(Watchdog detected hard LOCKUP on cpu (\d+))", nullptr, false},
    {ReportKind::kLockup, "rcu-stall", R"(INFO: rcu_\w+ (?:self-)?detected(?: expedited)? stalls?)", nullptr, false},
    {ReportKind::kLockup, "hung-task", R"(INFO: task (.{1,100}?):(\d+) blocked (?:in I/O wait )?for more than (\d+) seconds)",
     nullptr, false},
    {ReportKind::kLockup, "workqueue-lockup", R"(BUG: workqueue lockup)", nullptr, false},
    {ReportKind::kLockup, "spinlock-lockup", R"(BUG: (?:spinlock|rwlock) lockup suspected)", nullptr, false},
    {ReportKind::kCrash, "spinlock-bug",
     R"(BUG: (?:spinlock|rwlock) (?:already unlocked|recursion|cpu recursion|bad magic|wrong owner|wrong CPU))", nullptr,
     false},
    {ReportKind::kCrash, "kasan", R"(BUG: KASAN: )", nullptr, false},
    {ReportKind::kCrash, "kmsan", R"(BUG: KMSAN: )", nullptr, false},
    {ReportKind::kCrash, "kfence", R"(BUG: KFENCE: )", nullptr, false},
    {ReportKind::kCrash, "kcsan", R"(BUG: KCSAN: )", nullptr, false},
    {ReportKind::kCrash, "ubsan", R"(UBSAN: )", nullptr, false},
    {ReportKind::kCrash, "null-deref", R"(BUG: kernel NULL pointer dereference)", nullptr, false},
    {ReportKind::kCrash, "bad-access", R"(BUG: unable to handle )", nullptr, false},
    {ReportKind::kCrash, "bad-access-arm", R"(Unable to handle kernel (?:paging request|NULL pointer dereference|access to user memory))",
     nullptr, false},
    {ReportKind::kCrash, "kernel-bug", R"(kernel BUG at ([^\s!]+))", nullptr, false},
    {ReportKind::kCrash, "gpf", R"(general protection fault)", R"(general protection fault.* error:\d+ in )", false},
    {ReportKind::kCrash, "stack-segment", R"(stack segment: )", nullptr, false},
    {ReportKind::kCrash, "divide-error", R"(divide error: )", nullptr, false},
    {ReportKind::kCrash, "double-fault", R"(PANIC: double fault)", nullptr, false},
    {ReportKind::kCrash, "bug", R"(BUG: ([^\n]*?)\s*$)", R"([A-Z]BUG:)", false},
    {ReportKind::kCrash, "oops", R"(Oops(?::| -) )", nullptr, true},
    {ReportKind::kCrash, "panic", R"(Kernel panic - not syncing: ([^\n]*?)\s*$)", nullptr, true},
    {ReportKind::kCrash, "xen-domain-crash", R"(\(XEN\) Domain (\d+) (?:\(vcpu#\d+\) )?crashed)", nullptr, false},
    {ReportKind::kCrash, "xen-panic", R"(\(XEN\) Panic on CPU (\d+))", nullptr, false},
    {ReportKind::kCrash, "xen-fatal", R"(\(XEN\) (?:\*+ )?(FATAL [^\n]*?|Fatal [^\n]*?)\s*$)", nullptr, false},
    {ReportKind::kWarning, "warning",
     R"(WARNING: (?:CPU: \d+ PID: \d+ at |at |\[.*\] )?[a-zA-Z0-9\-_/.]+\.[a-z]+:[0-9]+)", nullptr, false},
    {ReportKind::kNote, "clocksource-unstable", R"(clocksource: .*Marking clocksource '([^']+)' as unstable)",
     nullptr, false},
};

}  // namespace

const ReportParser::Table& ReportParser::Patterns() {
  static const Table* table = [] {
    auto* t = new Table;
    RE2::Options options;
    options.set_log_errors(false);
    t->set = std::make_unique<RE2::Set>(options, RE2::UNANCHORED);
    for (const Spec& spec : kSpecs) {
      std::string error;
      t->set->Add(spec.regex, &error);
      t->patterns.push_back(Pattern{spec.kind, spec.type, spec.regex, spec.joins,
                                    std::make_shared<RE2>(spec.regex, options),
                                    spec.unless ? std::make_shared<RE2>(spec.unless, options) : nullptr});
    }
    t->set->Compile();
    return t;
  }();
  return *table;
}

// Every pattern contains one of these literally, so a line without any of them
// cannot match: most console lines skip the pattern set entirely.
// KernelReport.EveryPatternHasAKeyword keeps this list honest.
const char* const kKeywords[] = {"BUG",   "LOCKUP",        "INFO:",        "panic",        "PANIC",
                                 "Oops",  "XEN",           "WARNING",      "UBSAN",        "protection fault",
                                 "clocksource", "stack segment", "divide error", "Unable to handle"};

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

void ReportParser::CloseOne(std::unique_ptr<Open>& open, std::vector<Report>* done) {
  if (!open) return;
  ReportTitle title = TitleOf(open->report.type, open->report.lines);
  open->report.title = title.title;
  open->report.corrupted = title.corrupted;
  ReadClaim(open->captures, &open->report);
  done->push_back(std::move(open->report));
  open.reset();
}

void ReportParser::Close(std::vector<Report>* done) { CloseOne(open_, done); }

void ReportParser::Flush(std::vector<Report>* done) {
  for (auto& a : aside_) CloseOne(a, done);
  aside_.clear();
  Close(done);
}

void ReportParser::Line(double host_t, std::string_view raw, std::vector<Report>* done) {
  const KernelLine kernel_line = ParseKernelLine(raw);
  std::string_view line = kernel_line.text;
  const Table& table = Patterns();
  std::vector<int> hits;
  if (MayMatch(line)) table.set->Match(line, &hits);
  std::sort(hits.begin(), hits.end());
  // The caller id (CONFIG_PRINTK_CALLER).
  const std::string_view caller = kernel_line.caller;
  const Pattern* match = nullptr;
  for (int h : hits) {
    const Pattern& p = table.patterns[static_cast<size_t>(h)];
    if (p.unless && RE2::PartialMatch(line, *p.unless)) continue;
    match = &p;
    break;
  }
  if (match) {
    const Pattern& p = *match;
    // A panic (or Oops) after a report is that report's end, not a new one: a
    // WARNING that panics (panic_on_warn) becomes a crash under its own title.
    // (With caller ids, the report of the panic's own caller.)
    Open* target = open_ && (caller.empty() || open_->caller.empty() || open_->caller == caller) ? open_.get() : nullptr;
    for (auto& a : aside_) {
      if (!target && !caller.empty() && a->caller == caller) target = a.get();
    }
    bool joins = p.joins_open_report && target && target->pattern->kind != ReportKind::kNote;
    if (joins && target->report.kind == ReportKind::kWarning) target->report.kind = ReportKind::kCrash;
    if (!joins) {
      // Another caller's report: the open one goes on aside (at most three).
      if (open_ && !caller.empty() && !open_->caller.empty() && caller != open_->caller && aside_.size() < 3) {
        aside_.push_back(std::move(open_));
      }
      for (auto& a : aside_) {
        if (a && a->caller == caller) CloseOne(a, done);
      }
      aside_.erase(std::remove(aside_.begin(), aside_.end(), nullptr), aside_.end());
      Close(done);
      open_ = std::make_unique<Open>();
      open_->caller = std::string(caller);
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
  bool end = line.find("---[ end") != std::string_view::npos;
  if (!aside_.empty()) {
    for (auto& a : aside_) {
      if (caller != a->caller) continue;
      a->report.lines.emplace_back(raw);
      if (end || a->report.lines.size() > kMaxReportLines) CloseOne(a, done);
    }
    aside_.erase(std::remove(aside_.begin(), aside_.end(), nullptr), aside_.end());
  }
  if (!open_) return;
  open_->report.lines.emplace_back(raw);
  if ((end && (open_->caller.empty() || caller == open_->caller)) ||
      open_->report.lines.size() > kMaxReportLines) {
    Close(done);
  }
}

}  // namespace blackout
