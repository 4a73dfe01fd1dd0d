// Titles for kernel reports in the terms the rest of the world searches by:
// the title syzkaller's pkg/report gives the same report (syzbot, KernelCI and
// the mailing lists use those), built by blackout's own rules table.
//
// A report's title comes from the first of its type's formats whose header
// (and, where given, multi-line body) matches; a format that names a function
// finds it by walking the report in parts (the RIP line, "Call Trace:", the
// frames after it, ...), skipping frames that say how the report was raised
// rather than where (scheduler, locking and wait primitives, sanitizer and
// coverage hooks, memcpy-style helpers, entry glue, allocation and printk
// plumbing), stripping syscall prefixes ("__x64_sys_", "__do_sys_", "ksys_")
// and, for stalls and hung tasks, walking down to the frame that dispatches the
// work (a syscall, a work item, a timer) and naming the one above it. Addresses,
// numbers and line numbers in a title become ADDR, NUM and LINE, so one bug
// keeps one title across runs.
//
// A report that cannot be read whole says so instead of guessing: its stack is
// cut, has no frames, or the report was interleaved (its title then ends in
// "corrupted", and `corrupted` says why). Pure: no I/O, no clock.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace blackout {

struct ReportTitle {
  std::string title;
  std::string corrupted;  // why the report cannot be trusted whole; empty if it can
};

// The report's title. type is the opener's type ("soft-lockup", "kasan",
// ...); lines are the report's console lines from its first, as printed
// (kernel timestamps, caller ids and unreliable "? " frames are handled here).
ReportTitle TitleOf(std::string_view type, const std::vector<std::string>& lines);

// The lines syzkaller reads for a report: the kernel timestamp and caller id
// ("[ T123]") stripped; lines of another caller than the first line's dropped
// (interleaved output), except CPUs' NMI backtraces after "Sending NMI";
// unreliable "? " frames and lines without a timestamp dropped when the report
// has timestamps.
std::vector<std::string> ReportText(const std::vector<std::string>& lines);

// A console line as the kernel prints it, "<6>[   12.345678][  T123] text":
// the log level, the timestamp and the caller id (CONFIG_PRINTK_CALLER: "T123"
// for a task, "C1" for a CPU in interrupt context) are each optional, and
// trailing CR/LF are not part of the text. The one reader of that prefix.
struct KernelLine {
  std::optional<double> time;  // seconds since boot, from "[  12.345678]" or "[  12]"
  std::string_view caller;     // "T123", "C1" or empty; a view into the line
  std::string_view text;       // the message; a view into the line
};
KernelLine ParseKernelLine(std::string_view line);

// A title made stable across runs: hex addresses become ADDR, file:line
// becomes file:LINE, func+0x1/0x2 becomes func, other numbers NUM, at most 120
// printable characters.
std::string SanitizeTitle(std::string title);

}  // namespace blackout
