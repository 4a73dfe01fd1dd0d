// Recognises kernel and Xen reports in console lines and gives each a stable
// title in the style kernel engineers search for ("BUG: soft lockup in
// FUNC", "INFO: task hung in FUNC", "kernel panic: ...").
//
// A report opens at its first line and collects the lines after it (stack,
// registers) until it ends ("---[ end"), another report opens, enough lines have
// passed, or the caller flushes; its title then comes from report_title.h (the
// title syzkaller's pkg/report gives the same report). A panic after a report
// ends that report rather than opening one. All patterns are matched at once by
// an RE2::Set.
// Pure: no I/O, no clock.
#pragma once

#include <re2/re2.h>
#include <re2/set.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>


#include "results/verdict.h"  // ShownTitle

namespace blackout {

enum class ReportKind {
  kCrash,    // panic, Oops, BUG, GPF, KASAN, Xen domain crash / fatal
  kLockup,   // soft/hard lockup, RCU stall, hung task, workqueue/spinlock lockup
  kWarning,  // WARNING: kept and shown, does not change the verdict
  kNote,     // e.g. clocksource marked unstable: context for a freeze
};
const char* ReportKindName(ReportKind kind);

struct Report {
  ReportKind kind;
  std::string type;   // short stable id: "soft-lockup", "panic", "xen-domain-crash"
  std::string title;  // "BUG: soft lockup in foo"
  // Why the report cannot be read whole (its stack cut or missing, its lines
  // interleaved): its title may then name the wrong function or "corrupted".
  // Empty when it reads whole.
  std::string corrupted;
  double host_t = 0;  // when the first line arrived
  std::vector<std::string> lines;
  // What a watchdog report claims: the CPUs it names as stuck and for how
  // long at least, in guest seconds (soft lockup: "CPU#N stuck for Ss";
  // RCU stall: its "N-....: (" lines and t=J jiffies, at least J/1000 s since
  // no kernel ticks faster than 1000 Hz). Empty when the report names no
  // stuck CPU: other kinds, and RCU stalls that blame blocked tasks or a
  // starved grace-period kthread.
  std::vector<int> stuck_cpus;
  double stuck_s = 0;
  // Set by the detector when the heartbeats contradict the report (a soft
  // lockup or RCU stall on vCPUs that kept beating): why it is not believed.
  // Such a report is kept and shown but decides nothing.
  std::string discounted;
};


class ReportParser {
 public:
  ReportParser();
  ~ReportParser();
  ReportParser(const ReportParser&) = delete;
  ReportParser& operator=(const ReportParser&) = delete;

  // One console line (without its newline). Completed reports go to *done.
  void Line(double host_t, std::string_view line, std::vector<Report>* done);
  // Closes the open report, if any.
  void Flush(std::vector<Report>* done);
  // True while a report is collecting lines.
  bool open() const { return open_ != nullptr || !aside_.empty(); }

 private:
  struct Pattern;
  struct Table;
  struct Open;
  void Close(std::vector<Report>* done);
  static void CloseOne(std::unique_ptr<Open>& open, std::vector<Report>* done);
  // The compiled patterns, built once and shared by every parser.
  static const Table& Patterns();

  std::unique_ptr<Open> open_;
  // Reports of other callers still collecting their lines: on a kernel with
  // caller ids (CONFIG_PRINTK_CALLER) a report that another task's report
  // interrupts goes on under its own id, as syzkaller reads it.
  std::vector<std::unique_ptr<Open>> aside_;
};

// The report patterns, in priority order (for benchmarks and docs).
std::vector<std::string> ReportPatterns();
// True if the pattern holds one of the prefilter's keywords literally.
bool PatternHasKeyword(const std::string& regex);


}  // namespace blackout
