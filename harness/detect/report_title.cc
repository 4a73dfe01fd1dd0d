#include "harness/detect/report_title.h"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <unordered_map>
#include <memory>
#include <mutex>
#include <set>

namespace blackout {
namespace {

// Pieces of the rules' regexes (as in the kernel's own print formats).
#define PC R"(\[<?(?:0x)?[0-9a-f]+>?\])"
#define FUNC R"(([a-zA-Z0-9_]+)(?:\.|\+))"
#define SRC R"(([a-zA-Z0-9\-_/.]+\.[a-z]+:[0-9]+))"

// The instruction pointer line of every era: "RIP: 0010:func+0x1/0x2" (4.14
// and later), "RIP: 0010:[<addr>]  [<addr>] func+0x1/0x2" (3.x, 4.x), "IP:
// [<addr>] func+0x" (4.x page faults), "EIP:", "pc : func+0x" (arm64), "PC is
// at func+0x" (arm). The segment is hex: a Xen PV guest's kernel runs in e030.
// A user-space RIP ("RIP: 0033:0x7f...") matches without naming a function.
const char kRip[] = R"((?:IP|NIP|pc |PC is at):? (?:(?:[0-9a-f]+:)?(?:)" PC R"( +){0,2})" FUNC
                    R"(|(?:[0-9a-f]+:)?0x[0-9a-f]+|(?:[0-9]+:)?)" PC R"( +\[< *\(null\)>\] +\(null\)|[0-9]+: +\(null\)))";
const char kCallTrace[] = R"((?:Call (?:T|t)race:)|(?:Backtrace:))";
// A frame line: "  func+0x1/0x2", " [<addr>] func+0x1/0x2" (3.x).
const char kFrame[] = R"(^ *(?:)" PC R"( ){0,2})" FUNC;
// An arm frame line names the frame and its caller: "[<pc>] (f) from [<pc>] (g+0x".
const char kArmFrame[] = R"(^ *)" PC R"( \(([a-zA-Z0-9_.]+)\) from )" PC R"( \()" FUNC;
// Where a stack trace begins (and so where the one before it ends).
const char kStackStart[] =
    R"(Call (?:T|t)race|Allocated:|Allocated by task [0-9]+:|Freed:|Freed by task [0-9]+:|)"
    R"([^k] backtrace(?: \(crc [[:xdigit:]]*\))?:|Backtrace:|Uninit was stored to memory at)";

// Frames that never name the bug: how it was reported (dump_stack, panic,
// warn, report_bug), sanitizer and coverage hooks, allocation, printk,
// locking and waiting, refcounts and atomics, string and copy helpers, list
// and tree helpers, device and workqueue teardown plumbing. Matched anywhere
// in the function's name unless anchored.
const char* const kSkipFrames[] = {
    // Reporting and sanitizers.
    "__sanitizer", "__asan", "kasan", "hwasan", "__msan", "kmsan", "kcsan_setup_watchpoint",
    "check_memory_region", "check_heap_object", "check_object", "read_word_at_a_time",
    "(read|write)_once_.*nocheck", "print_address_description", "panic", "invalid_op", "report_bug",
    "fixup_bug", "print_report", "print_usage_bug", "do_error", "_trap$|do_trap", "show_stack",
    "dump_stack", "walk_stack", "dump_backtrace", "warn_slowpath", "warn_alloc", "warn_bogus", "__warn",
    "print_tainted", "program_check_exception", "program_check_common", "__fortify_report",
    "stack_trace_consume_entry", "arch_stack_walk", "stack_trace_save", "^get_taint$",
    // Allocation.
    "alloc_page", "k?v?(?:m|z|c)alloc", "krealloc", "kmem_cache", "allocate_slab",
    "__alloc_frozen_pages_noprof", "folio_(?:alloc|unlock)", "filemap_alloc_folio", "__filemap_get_folio",
    "find_or_create_page", "do_read_cache_folio", "read_cache_page", "pagecache_get_page",
    "grab_cache_page_write_begin", "slab_", "^kv?free$", "kfree_skb", "memdup",
    // Debug objects, lockdep and tracing.
    "debug_object", "timer_is_static_object", "work_is_static_object", "print_unlock", "imbalance_bug",
    "lockdep", "perf_trace", "lock_acquire", "lock_release", "lock_class", "mark_lock",
    "(reacquire|mark)_held_locks", "(trace|lockdep)_(hard|soft)irq", "bh_enable", "bh_disable",
    // Locks, waits, refcounts, atomics.
    "raw_spin_rq", "spin_lock", "spin_trylock", "spin_unlock", "read_lock", "read_trylock", "write_lock",
    "write_trylock", "read_unlock", "write_unlock", "^down$", "down_read", "down_write", "down_read_trylock",
    "down_write_trylock", "down_trylock", "up_read", "up_write", "^mutex_", "^__mutex_", "^rt_mutex_",
    "owner_on_cpu", "osq_lock", "osq_unlock", "^(un)?lock_page", "lock_timer_base",
    "atomic(64)?_(dec|inc|read|set|or|xor|and|add|sub|fetch|xchg|cmpxchg|try)", "(set|clear|change|test)_bit",
    "__wake_up", "^refcount_", "^kref_", "ref_tracker", "seqprop_assert", "^complete$",
    "wait_for_completion", "finish_wait", "__might_fault", "might_fault", "might_sleep", "__might_resched",
    // String, copy and user-access helpers.
    "memcpy", "memcmp", "memset", "memchr", "memmove", "strcmp", "strncmp", "strcpy", "strlcpy", "strncpy",
    "strscpy", "strlen", "strstr", "strnstr", "strnlen", "strchr", "strdup", "strndup", "copy_to_user",
    "copy_from_user", "copy_to_iter", "copy_from_iter", "copy_page_to_iter", "copy_page_from_iter",
    "copy_folio_to_iter", "^copyin$", "^copyout$", "put_user", "get_user", "string", "pointer", "snprintf",
    "scnprintf", "kasprintf", "kvasprintf", "printk", "va_format", "dev_info", "dev_notice", "dev_warn",
    "dev_err", "dev_alert", "dev_crit", "dev_emerg", "hex_dump_to_buffer", "print_hex_dump",
    "extract_(user|iter)_to_sg", "__phys_addr", "^crc\\d+", "crc_itu_t", "assertfail",
    "readb$", "readw$", "readl$", "readq$", "writeb$", "writew$", "writel$", "writeq$", "logic_in", "logic_out",
    // Lists, trees, arrays.
    "list_add", "list_del", "list_replace", "list_move", "list_splice", "^rb_", "^__rb_", "^klist_",
    "xas_(?:start|load|find)", "rhashtable_lookup", "ida_free", "_indirect_thunk_",
    // Timers, work and teardown plumbing.
    "del_timer", "__timer_delete_sync", "sk_stop_timer_sync", "__mod_timer", "flush_work",
    "__cancel_work_timer", "cancel_work_sync", "try_to_grab_pending", "flush_workqueue", "drain_workqueue",
    "destroy_workqueue", "queue_work", "insert_work", "__queue_delayed_work", "queue_delayed_work_on",
    "kthread_stop", "kobject_", "add_uevent_var", "get_device_parent", "device_add", "device_del",
    "device_unregister", "device_destroy", "device_release", "devres_release_all", "hwrng_unregister",
    "i2c_del_adapter", "__unregister_client", "device_for_each_child", "rollback_registered",
    "unregister_netdev", "sysfs_remove", "device_remove_file", "tty_unregister_device", "^put_device$",
    "dummy_urb_enqueue", "usb_kill_urb", "usb_kill_anchored_urbs", "usb_control_msg", "usb_hcd_submit_urb",
    "usb_submit_urb", "cleanup_srcu_struct", "drop_nlink", "fast_dput", "dput", "mark_buffer_dirty",
    "^iput$", "^iput_final$", "^ihold$", "find_lock_entries", "truncate_inode_pages_range",
    // Fault entry on arm64.
    "do_(kernel|translation)_fault", "do_mem_abort", "el1_abort", "el1h_64_sync(?:_handler)?",
};

// Syscall and entry prefixes: "__x64_sys_rmdir" is named "sys_rmdir", as
// every architecture's copy of it is (the shortest strip wins).
const char* const kStripPrefixes[] = {"SYSC_", "SyS_", "sys_", "__x64_", "__ia32_", "__arm64_", "____sys_",
                                      "___sys_", "__sys_", "__se_", "__se_sys_", "__do_sys_", "compat_SYSC_",
                                      "compat_SyS_", "ksys_"};

// Stalls: the kernel loops somewhere inside the work it was given, so the
// top frame is random; the frame just above the one that dispatched the work
// (a syscall's entry, a work item, a timer, a file operation) names it.
const char* const kStallAnchors[] = {
    "process_one_work", "do_syscall_", "do_fast_syscall_", "sysenter_dispatch", "tracesys_phase2",
    "el0_svc_handler", "invoke_syscall", "ret_fast_syscall", "netif_receive_skb", "do_softirq",
    "call_timer_fn", "_run_timers", "run_timer_softirq", "hrtimer_run", "run_ksoftirqd", "smpboot_thread_fn",
    "^kthread$", "start_secondary", "cpu_startup_entry", "ret_from_fork", "vfs_write", "vfs_read",
    "vfs_iter_read", "vfs_iter_write", "do_iter_read", "do_iter_write", "call_read_iter", "call_write_iter",
    "new_sync_read", "new_sync_write", "vfs_ioctl", "ksys_ioctl", "compat_ioctl", "compat_sys_ioctl",
    "blkdev_driver_ioctl", "blkdev_ioctl", "do_iter_readv_writev", "^call_mmap", "mmap_region", "do_mmap",
    "do_dentry_open", "vfs_open", "^sock_sendmsg", "^sock_recvmsg", "^sock_release", "^__sock_release",
    "^setsockopt$", "kernel_setsockopt", "sock_common_setsockopt", "^listen$", "kernel_listen",
    "sk_common_release", "^sock_mmap", "^accept$", "kernel_accept", "^sock_do_ioctl", "^sock_ioctl",
    "^compat_sock_ioctl", "^nfnetlink_rcv_msg", "^rtnetlink_rcv_msg", "^netlink_dump",
    "^(sys_)?(socketpair|connect|ioctl)", "__do_fault", "do_page_fault", "^page_fault$", "__fput",
    "task_work_run", "exit_to_usermode", "smp_call_function", "tasklet_action", "tasklet_hi_action",
};

enum class Pick { kFirst, kStall, kHungTask };

// One step of reading a report: a line to find (its capture, if it has one, is
// a frame) or a stack trace to read frame by frame.
struct Part {
  const char* re;  // nullptr: a stack trace
};
constexpr Part kStack{nullptr};
constexpr Part kRipPart{kRip};
constexpr Part kCallTracePart{kCallTrace};

struct Format {
  const char* title;   // matched against the report's first line
  const char* report;  // if set, matched against the whole report: its captures are the arguments
  const char* fmt;     // $1.. are the captures, then the key frame of each stack walk
  std::vector<Part> parts, parts2;  // parts2 is tried when parts finds no frame
  const char* skip = "";            // frames skipped beyond kSkipFrames
  Pick pick = Pick::kFirst;
  bool no_stack_trace = false;  // the report has no stack to check for corruption
  bool corrupted = false;       // matching this format means the report was cut
  // blackout's own, tried where syzkaller's parts find no frame: the RIP and
  // stack of the NMI backtrace of a CPU the report lists as stalled.
  bool stalled_cpu_backtrace = false;
};

struct TypeRules {
  const char* type;
  const char* header;  // the title when no format matches: the line from here on
  std::vector<Format> formats;
};

const std::vector<Part> kRipTrace = {kRipPart, kCallTracePart, kStack};
const std::vector<Part> kTrace = {kCallTracePart, kStack};

std::vector<Format> WarningFormats() {
  // Newer kernels trap on WARN and print the RIP; older ones print the stack.
  static const std::string rip_or_interrupt = std::string("(?:") + kRip + "|--- interrupt: [0-9]+ at " FUNC ")";
  std::vector<Part> parts = {Part{rip_or_interrupt.c_str()}, kStack};
  std::vector<Part> parts2 = {kCallTracePart, kStack};
  auto w = [&](const char* title, const char* fmt, const char* skip = "") {
    return Format{title, nullptr, fmt, parts, parts2, skip};
  };
  return {
      w(R"(WARNING: .*lib/debugobjects\.c.* (?:debug_print|debug_check|at))", "WARNING: ODEBUG bug in $1",
        "debug_|rcu|hrtimer_|timer_|work_|percpu_|vunmap|vfree|__free_|debug_check|kobject_"),
      w(R"(WARNING: .*mm/usercopy\.c.* (?:usercopy_warn|at))", "WARNING: bad usercopy in $1", "usercopy|__check"),
      w(R"(WARNING: .*lib/kobject\.c.* (?:kobject_|at))", "WARNING: kobject bug in $1", "kobject_"),
      w(R"(WARNING: .*fs/proc/generic\.c.* (?:proc_register|at))", "WARNING: proc registration bug in $1",
        "proc_"),
      w(R"(WARNING: .*lib/refcount\.c.* (?:refcount_|at))", "WARNING: refcount bug in $1", "refcount|kobject_"),
      w(R"(WARNING: .*kernel/locking/lockdep\.c.*lock_)", "WARNING: locking bug in $1", "lock_sock|release_sock"),
      w(R"(WARNING: .*mm/.*\.c.* k?.?malloc)", "WARNING: kmalloc bug in $1", "kmalloc|krealloc|slab|kmem"),
      w(R"(WARNING: .*mm/vmalloc.c.*__vmalloc_node)", "WARNING: zero-size vmalloc in $1"),
      w(R"(WARNING: .* usb_submit_urb)", "WARNING in $1/usb_submit_urb",
        "usb_submit_urb|usb_start_wait_urb|usb_bulk_msg|usb_interrupt_msg|usb_control_msg"),
      w(R"(WARNING: )" SRC R"( at 0x\d+, CPU#\d+)", "WARNING in $2"),
      w(R"(WARNING: .* at )" SRC " " FUNC, "WARNING in $3"),
      w(R"(WARNING: )" SRC " at " FUNC, "WARNING in $3"),
      w(R"(WARNING: \[.*\] )" SRC " at " FUNC ".*", "WARNING in $3"),
      Format{R"(WARNING:[[:space:]]*$)", nullptr, "WARNING: corrupted", {}, {}, "", Pick::kFirst, true, true},
  };
}

const std::vector<TypeRules>& Rules() {
  static const std::vector<TypeRules>* rules = [] {
    // The stalled context is the one the timer interrupt interrupted: under
    // Xen PV the interrupt is Xen's upcall, and "</IRQ>" ends its stack.
    const std::vector<Part> rcu = {Part{"apic_timer_interrupt|xen_evtchn_do_upcall|</IRQ>"}, kRipPart, kStack};
    const std::vector<Part> rcu2 = {Part{"(?:apic_timer_interrupt|Exception stack|el1h_64_irq)"}, kStack};
    const std::vector<Part> kasan = {Part{R"(BUG: KASAN: (?:[a-z\-]+) in )" FUNC}, kCallTracePart, kStack};
    const std::vector<Part> kasan_free = {
        Part{R"(BUG: KASAN: (?:double-free or invalid-free|double-free|invalid-free) in )" FUNC}, kCallTracePart,
        kStack};
    const std::vector<Part> kfence = {Part{R"(BUG: KFENCE: (?:[a-z\- ]+) in )" FUNC}, kStack};
    const std::vector<Part> kmsan = {kStack, Part{"(Local variable .* created at:|Uninit was created at:)"}, kStack};
    auto* r = new std::vector<TypeRules>{
        {"soft-lockup", "BUG:", {{"BUG: soft lockup", nullptr, "BUG: soft lockup in $1", kRipTrace, {}, "",
                                  Pick::kStall}}},
        // syzkaller has no hard-lockup title; blackout's reads it as a stall.
        {"hard-lockup", "Watchdog", {{"hard LOCKUP", nullptr, "watchdog: hard LOCKUP in $1", kRipTrace, {}, "",
                                      Pick::kStall}}},
        {"rcu-stall", "INFO:", {{R"(INFO: rcu_(?:preempt|sched|bh|tasks) (?:self-)?detected(?: expedited)? stall)",
                                 nullptr, "INFO: rcu detected stall in $1", rcu, rcu2, "apic_timer_interrupt|rcu",
                                 Pick::kStall, false, false, true}}},
        {"hung-task", "INFO:", {{R"(INFO: task [\s\S]{0,100}? blocked (?:in I/O wait )?for more than [0-9]+ seconds)",
                                 nullptr, "INFO: task hung in $1", kTrace, {}, "", Pick::kHungTask}}},
        {"workqueue-lockup", "BUG:", {{"BUG: workqueue lockup", nullptr, "BUG: workqueue lockup", {}, {}, "",
                                       Pick::kFirst, true}}},
        {"spinlock-lockup", "BUG:", {{R"(BUG: (spinlock|rwlock) (lockup suspected|already unlocked|recursion)"
                                      R"(|cpu recursion|bad magic|wrong owner|wrong CPU|trylock failure on UP))",
                                      nullptr, "BUG: $1 $2 in $3", kTrace, {}, "spin_|_lock|_unlock"}}},
        {"kasan", "BUG:", {
             {"BUG: KASAN:", R"(BUG: KASAN: ([a-z\-]+) in )" FUNC R"((?:.*\n)+?.*(Read|Write) (?:of size|at addr) (?:[0-9a-f]+))",
              "KASAN: $1 $3 in $4", kasan, {}, "kernel_fault|tag_check|mem_abort|^el1_|^el1h_"},
             {"BUG: KASAN:", R"(BUG: KASAN: (?:double-free or invalid-free|double-free|invalid-free) in )" FUNC,
              "KASAN: invalid-free in $2", kasan_free, {}, "slab_|kfree|vunmap|vfree"},
             {R"(BUG: KASAN: ([a-z\-]+) on address)", R"(BUG: KASAN: ([a-z\-]+) on address(?:.*\n)+?.*(Read|Write) of size ([0-9]+))",
              "KASAN: $1 $2"},
             {"BUG: KASAN: (.*)", nullptr, "KASAN: $1", {}, {}, "", Pick::kFirst, false, true}}},
        {"kmsan", "BUG:", {
             {"BUG: KMSAN: kernel-usb-infoleak", R"(BUG: KMSAN: kernel-usb-infoleak in )" FUNC,
              "KMSAN: kernel-usb-infoleak in $2", kmsan, {},
              "alloc_skb|usb_submit_urb|usb_start_wait_urb|usb_bulk_msg|usb_interrupt_msg|usb_control_msg",
              Pick::kFirst, true},
             {"BUG: KMSAN:", R"(BUG: KMSAN: ([a-z\-]+) in )" FUNC, "KMSAN: $1 in $3", kmsan, {},
              "alloc_skb|netlink_ack|netlink_rcv_skb|_encrypt$|^(?:crypto|cipher|drbg|rng)_", Pick::kFirst, true}}},
        {"kfence", "BUG:", {
             {"BUG: KFENCE: (use-after-free|out-of-bounds) (read|write) in " FUNC, nullptr, "KFENCE: $1 $2 in $4",
              kfence},
             {"BUG: KFENCE: invalid free in " FUNC, nullptr, "KFENCE: invalid free in $2", kfence, {}, "",
              Pick::kFirst, true},
             {"BUG: KFENCE: invalid (read|write) in " FUNC, nullptr, "KFENCE: invalid $1 in $3", kfence},
             {"BUG: KFENCE: memory corruption in " FUNC, nullptr, "KFENCE: memory corruption in $2", kfence, {}, "",
              Pick::kFirst, true}}},
        {"kcsan", "BUG:", {{"BUG: KCSAN:", "BUG: KCSAN: (.*)", "KCSAN: $1", {}, {}, "", Pick::kFirst, true}}},
        {"ubsan", "UBSAN:", {
             {"UBSAN:", "UBSAN: Undefined behaviour in", "UBSAN: undefined-behaviour in $1", kTrace, {}, "ubsan|overflow"},
             {"UBSAN: array-index-out-of-bounds in", nullptr, "UBSAN: array-index-out-of-bounds in $1", kTrace, {},
              "ubsan|overflow"},
             {"UBSAN:", "UBSAN: (.*?) in", "UBSAN: $1 in $2", kTrace, {}, "ubsan|overflow"}}},
        {"bad-access", "BUG:", {
             {"BUG: (?:unable to handle kernel paging request|unable to handle page fault for address|"
              "Unable to handle kernel data access)",
              nullptr, "BUG: unable to handle kernel paging request in $1", kRipTrace},
             {"BUG: (?:unable to handle kernel NULL pointer dereference|kernel NULL pointer dereference|"
              "Kernel NULL pointer dereference)",
              nullptr, "BUG: unable to handle kernel NULL pointer dereference in $1", kRipTrace},
             {"BUG: (?:unable to handle kernel|Unable to handle kernel)", nullptr, "BUG: unable to handle kernel", {},
              {}, "", Pick::kFirst, false, true}}},
        // arm and arm64 say it without "BUG:".
        {"bad-access-arm", "Unable to handle kernel", {
             {"Unable to handle kernel (paging request|NULL pointer dereference|access to user memory)", nullptr,
              "BUG: unable to handle kernel $1 in $2", kRipTrace}}},
        {"gpf", "general protection fault", {{"general protection fault.*:", nullptr,
                                              "general protection fault in $1", kRipTrace}}},
        {"stack-segment", "stack segment", {{"stack segment: ", nullptr, "stack segment fault in $1", kRipTrace}}},
        {"divide-error", "divide error", {{"divide error: ", nullptr, "divide error in $1", kRipTrace}}},
        {"double-fault", "PANIC: double fault", {{"PANIC: double fault", nullptr, "PANIC: double fault in $1",
                                                  {kRipPart}}}},
        {"kernel-bug", "kernel BUG", {
             {"kernel BUG at mm/usercopy.c", nullptr, "BUG: bad usercopy in $1", kTrace, {}, "usercopy|__check"},
             {"kernel BUG at lib/list_debug.c", nullptr, "BUG: corrupted list in $1", kRipTrace},
             {"kernel BUG at (.*)", nullptr, "kernel BUG in $2", kRipTrace, {}, "^skb_"}}},
        {"bug", "BUG:", {
             {"BUG: scheduling while atomic", nullptr, "BUG: scheduling while atomic in $1", kTrace, {},
              "schedule"},
             {"BUG: sleeping function called from invalid context at (.*)", nullptr,
              "BUG: sleeping function called from invalid context in $2", kTrace, {}, "might_sleep|might_resched"},
             {"BUG: using ([a-z_]+)\\(\\) in preemptible", nullptr, "BUG: using $1() in preemptible code in $2", kTrace,
              {}, "dump_stack|preemption|preempt|debug_smp|^this_cpu|^__this_cpu|_raw_cpu"},
             {R"(BUG:[[:space:]]*$)", nullptr, "BUG: corrupted", {}, {}, "", Pick::kFirst, false, true}}},
        {"warning", "WARNING:", WarningFormats()},
        {"oops", "Oops", {{"Oops", nullptr, "Oops in $1", kRipTrace}}},
        {"panic", "Kernel panic", {
             {"Kernel panic - not syncing: stack-protector:",
              "Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: " FUNC,
              "kernel panic: stack is corrupted in $1", {}, {}, "", Pick::kFirst, true},
             {"Kernel panic - not syncing: stack-protector:",
              "Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: [a-f0-9]+",
              "kernel panic: stack is corrupted in $1", kTrace, {}, "stack_chk"},
             {"Kernel panic - not syncing: corrupted stack end", nullptr, "kernel panic: corrupted stack end in $1",
              kTrace, {}, "schedule|retint_kernel", Pick::kStall},
             {"Kernel panic - not syncing: kernel stack overflow", nullptr, "kernel stack overflow in $1", kTrace, {},
              "bad_stack", Pick::kStall},
             {"Kernel panic - not syncing: Attempted to kill init!", nullptr, "kernel panic: Attempted to kill init!"},
             {"Kernel panic - not syncing: Couldn't open N_TTY ldisc for [^ ]+ --- error -[0-9]+", nullptr,
              "kernel panic: Couldn't open N_TTY ldisc"},
             {"Kernel panic - not syncing: Fatal exception", nullptr, "kernel panic: Fatal exception", {}, {}, "",
              Pick::kFirst, false, true},
             {"Kernel panic - not syncing: panic_on_warn set", nullptr, "kernel panic: panic_on_warn set", {}, {}, "",
              Pick::kFirst, false, true},
             {"Kernel panic - not syncing: hung_task: blocked tasks", nullptr, "kernel panic: hung_task: blocked tasks",
              {}, {}, "", Pick::kFirst, false, true},
             {"Kernel panic - not syncing: (.*)", nullptr, "kernel panic: $1"}}},
        // Xen's own reports and notes: blackout's titles (syzkaller has none).
        {"xen-domain-crash", "", {{R"(\(XEN\) Domain (\d+) (?:\(vcpu#\d+\) )?crashed)", nullptr, "xen: domain $1 crashed",
                                   {}, {}, "", Pick::kFirst, true}}},
        {"xen-panic", "", {{R"(\(XEN\) Panic on CPU (\d+))", nullptr, "xen: panic on CPU $1", {}, {}, "",
                            Pick::kFirst, true}}},
        {"xen-fatal", "", {{R"(\(XEN\) (?:\*+ )?(FATAL [^\n]*?|Fatal [^\n]*?)\s*$)", nullptr, "xen: $1", {}, {}, "",
                            Pick::kFirst, true}}},
        {"clocksource-unstable", "", {{R"(clocksource: .*Marking clocksource '([^']+)' as unstable)", nullptr,
                                       "clocksource $1 unstable", {}, {}, "", Pick::kFirst, true}}},
    };
    return r;
  }();
  return *rules;
}

// A compiled regex per pattern, built on first use and kept. The patterns
// are the rules table's literals (and strings that live as long), so their
// address is the key: no string is built or hashed per lookup.
// (Runs of several guests judge their consoles on threads of one process:
// the caches are locked; a compiled RE2 itself is safe to share.)
std::mutex& CacheMutex() {
  static std::mutex mu;
  return mu;
}

const RE2& Re(const char* pattern) {
  static auto* cache = new std::unordered_map<const char*, std::unique_ptr<RE2>>;
  std::lock_guard<std::mutex> lock(CacheMutex());
  auto it = cache->find(pattern);
  if (it == cache->end()) {
    RE2::Options options;
    options.set_log_errors(false);
    it = cache->emplace(pattern, std::make_unique<RE2>(pattern, options)).first;
  }
  return *it->second;
}

// Matches re anywhere in text; its captures (unset ones as "") go to *caps.
bool Find(const RE2& re, std::string_view text, std::vector<std::string>* caps = nullptr) {
  int n = re.NumberOfCapturingGroups();
  std::vector<re2::StringPiece> groups(static_cast<size_t>(n) + 1);
  if (!re.Match(text, 0, text.size(), RE2::UNANCHORED, groups.data(), n + 1)) return false;
  if (caps) {
    caps->clear();
    for (int i = 1; i <= n; ++i) caps->emplace_back(groups[static_cast<size_t>(i)].data() ? std::string(groups[static_cast<size_t>(i)]) : "");
  }
  return true;
}

const RE2& SkipRe(const Format& f) {
  // One alternation per format: kSkipFrames and the format's own.
  static auto* cache = new std::unordered_map<const Format*, std::unique_ptr<RE2>>;
  std::lock_guard<std::mutex> lock(CacheMutex());
  auto it = cache->find(&f);
  if (it == cache->end()) {
    std::string all;
    for (const char* s : kSkipFrames) all += std::string(all.empty() ? "" : "|") + s;
    if (*f.skip) all += std::string("|") + f.skip;
    RE2::Options options;
    options.set_log_errors(false);
    it = cache->emplace(&f, std::make_unique<RE2>(all, options)).first;
  }
  return *it->second;
}

std::string Strip(const std::string& frame) {
  std::string best = frame;
  for (const char* p : kStripPrefixes) {
    size_t n = std::strlen(p);
    if (frame.compare(0, n, p) == 0 && frame.size() - n < best.size()) best = frame.substr(n);
  }
  return best;
}

std::string KeyFrame(const std::vector<std::string>& raw, Pick pick) {
  if (raw.empty()) return "";
  std::vector<std::string> frames;
  for (const std::string& f : raw) frames.push_back(Strip(f));
  if (pick == Pick::kFirst) return frames[0];
  if (pick == Pick::kStall) {
    static const RE2 anchors = [] {
      std::string all;
      for (const char* s : kStallAnchors) all += std::string(all.empty() ? "" : "|") + s;
      return all;
    }();
    std::string prev = frames[0];
    for (const std::string& f : frames) {
      if (Find(anchors, f)) return f.find("smp_call_function") != std::string::npos ? "smp_call_function" : prev;
      prev = f;
    }
    return "";
  }
  // Hung tasks show at the victim's wait: hangs on an RCU grace period or on
  // rtnl group together; otherwise the first frame that is not waiting.
  for (const std::string& f : frames) {
    if (f.find("rtnl_lock") != std::string::npos) return f;
    for (const char* s : {"synchronize_rcu", "synchronize_srcu", "synchronize_net", "synchronize_sched"}) {
      if (f.find(s) != std::string::npos) return "synchronize_rcu";
    }
  }
  for (const std::string& f : frames) {
    bool waits = false;
    for (const char* s : {"sched", "_lock", "_slowlock", "down", "rwsem", "completion", "kthread", "wait",
                          "synchronize", "context_switch", "__switch_to", "cancel_delayed_work", "rcu_barrier"}) {
      if (f.find(s) != std::string::npos) waits = true;
    }
    if (!waits) return f;
  }
  return "";
}

// A frame of fault injection's own stack (its "FAULT_INJECTION: forcing a
// failure" dump is often printed into the middle of a report): a report
// whose walk meets one cannot be trusted whole.
const char kFaultInjectionFrame[] = R"(^( \[<?(?:0x)?[0-9a-f]+>?\])? should_fail(slab)?(\.[a-z0-9.]+)?\+0x)";

// Walks the report's text by the format's parts; each stack trace read gives
// one key frame ("corrupted" where it had none, and *ok is false). A line of
// fault injection's stack ends the part it is met in, with *ok false and
// *fault_injection true.
std::vector<std::string> WalkParts(const std::vector<std::string>& text, const std::vector<Part>& parts,
                                   const Format& f, bool* ok, bool* fault_injection) {
  const RE2& skip = SkipRe(f);
  const RE2& frame_re = Re(kFrame);
  const RE2& stack_start = Re(kStackStart);
  const RE2& injected = Re(kFaultInjectionFrame);
  auto mixed_in = [&](const std::string& line) {
    if (line.find("should_fail") == std::string::npos || !Find(injected, line)) return false;
    *ok = false;
    *fault_injection = true;
    return true;
  };
  std::vector<std::string> keys, raw;
  auto take = [&](const RE2& re, const std::string& line) {
    std::vector<std::string> caps;
    if (!Find(re, line, &caps)) return false;
    for (const std::string& c : caps) {
      if (!c.empty() && !Find(skip, c)) raw.push_back(c);
    }
    return true;
  };
  *ok = true;
  size_t li = 0;
  int stacks = 0;
  for (size_t pi = 0;; ++pi) {
    if (pi == parts.size() || (!parts[pi].re && stacks > 0)) {
      std::string key = KeyFrame(raw, f.pick);
      if (key.empty()) {
        key = "corrupted";
        *ok = false;
      }
      keys.push_back(key);
      raw.clear();
    }
    if (pi == parts.size()) break;
    if (parts[pi].re) {
      const RE2& re = Re(parts[pi].re);
      while (li < text.size() && !mixed_in(text[li]) && !take(re, text[li])) ++li;
      ++li;
      continue;
    }
    ++stacks;
    while (li < text.size()) {
      const std::string& line = text[li++];
      if (mixed_in(line) || Find(stack_start, line)) break;
      if (pi + 1 < parts.size() && parts[pi + 1].re && take(Re(parts[pi + 1].re), line)) {
        ++pi;
        break;
      }
      if (!take(frame_re, line)) take(Re(kArmFrame), line);
    }
  }
  return keys;
}

// The lines from the NMI backtrace of the first CPU an RCU stall report lists
// as stalled ("  1-...!: (" lines), or none.
std::vector<std::string> StalledCpuBacktrace(const std::vector<std::string>& text) {
  static const char kStalledCpu[] = R"(^\s*(?:rcu:\s*)?([0-9]+)-\S*: \()";
  static const char kNmiBacktrace[] = R"(NMI backtrace for cpu ([0-9]+))";
  const RE2& stalled_cpu = Re(kStalledCpu);
  const RE2& nmi_backtrace = Re(kNmiBacktrace);
  std::set<std::string> cpus;
  std::vector<std::string> cpu;
  for (size_t i = 0; i < text.size(); ++i) {
    if (Find(stalled_cpu, text[i], &cpu)) cpus.insert(cpu[0]);
    if (!cpus.empty() && Find(nmi_backtrace, text[i], &cpu) && cpus.count(cpu[0])) {
      return std::vector<std::string>(text.begin() + static_cast<std::ptrdiff_t>(i), text.end());
    }
  }
  return {};
}

// Why a report that matched a format with a stack cannot be read whole: a
// "Call Trace" with too few lines after it or no frame in the 15 after it,
// or no stack trace at all.
std::string Corruption(const std::string& title, const std::vector<std::string>& text, const Format& f) {
  static const char kStampInTitle[] = R"(\[ *[0-9]+\.[0-9]+\])";
  if (Find(Re(kStampInTitle), title)) return "title matches corrupted regexp";
  if (f.no_stack_trace) return "";
  const RE2& frame_re = Re(kFrame);
  const RE2& stack_start = Re(kStackStart);
  bool has_stack = false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (!Find(stack_start, text[i])) continue;
    if (text.size() - i < 4) return "call trace is missed";
    bool frames = false;
    for (size_t j = i + 1; j < text.size() && j <= i + 15; ++j) {
      if (Find(stack_start, text[j])) break;
      if (text[j].find("(stack is not available)") != std::string::npos || Find(frame_re, text[j]) ||
          Find(Re(kArmFrame), text[j])) {
        frames = true;
        break;
      }
    }
    if (!frames) return "no frames in a stack trace";
    has_stack = true;
  }
  return has_stack ? "" : "no stack trace in report";
}

const TypeRules* RulesFor(std::string_view type) {
  // Openers that share a header's formats.
  if (type == "null-deref") type = "bad-access";
  if (type == "spinlock-bug") type = "spinlock-lockup";
  for (const TypeRules& r : Rules()) {
    if (type == r.type) return &r;
  }
  return nullptr;
}

std::string Expand(const char* fmt, const std::vector<std::string>& args) {
  std::string out;
  for (const char* p = fmt; *p; ++p) {
    if (*p == '$' && p[1] >= '1' && p[1] <= '9') {
      size_t k = static_cast<size_t>(p[1] - '1');
      out += k < args.size() ? args[k] : "";
      ++p;
    } else {
      out += *p;
    }
  }
  return out;
}

}  // namespace

KernelLine ParseKernelLine(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  KernelLine out;
  out.text = line;
  auto digits = [&](size_t i) {
    while (i < line.size() && isdigit(static_cast<unsigned char>(line[i]))) ++i;
    return i;
  };
  size_t i = 0;
  if (i < line.size() && line[i] == '<') {  // the log level, "<6>"
    size_t j = digits(i + 1);
    if (j > i + 1 && j < line.size() && line[j] == '>') i = j + 1;
  }
  if (i >= line.size() || line[i] != '[') return out;
  size_t start = line.find_first_not_of(' ', i + 1);
  if (start == std::string_view::npos) return out;
  size_t j = digits(start);
  if (j == start || j - start > 10) return out;
  if (j < line.size() && line[j] == '.') {
    size_t frac = j + 1;
    j = digits(frac);
    if (j == frac || j - frac > 9) return out;
  }
  if (j >= line.size() || line[j] != ']') return out;
  double t = 0;
  auto parsed = std::from_chars(line.data() + start, line.data() + j, t, std::chars_format::fixed);
  if (parsed.ec != std::errc() || parsed.ptr != line.data() + j) return out;
  ++j;
  std::string_view caller;
  if (j < line.size() && line[j] == '[') {  // "[  T123]" or "[    C1]"
    size_t k = line.find_first_not_of(' ', j + 1);
    if (k != std::string_view::npos && (line[k] == 'T' || line[k] == 'C')) {
      size_t e = digits(k + 1);
      if (e > k + 1 && e < line.size() && line[e] == ']') {
        caller = line.substr(k, e - k);
        j = e + 1;
      }
    }
  }
  if (j < line.size() && line[j] != ' ') return out;
  out.time = t;
  out.caller = caller;
  out.text = line.substr(std::min(j + 1, line.size()));
  return out;
}

std::vector<std::string> ReportText(const std::vector<std::string>& lines) {
  std::vector<std::string> out;
  if (lines.empty()) return out;
  // Who printed a line: its caller id, "console" for a timestamp alone, ""
  // for a line without either (a report mixed with other output loses those).
  auto context = [](const KernelLine& k) {
    return !k.caller.empty() ? k.caller : k.time ? std::string_view("console") : std::string_view();
  };
  KernelLine first = ParseKernelLine(lines[0]);
  out.emplace_back(first.text);
  bool cpu_traceback = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    KernelLine k = ParseKernelLine(lines[i]);
    std::string_view text = k.text;
    bool questionable = k.time && text.find("<EOI>") == std::string_view::npos &&
                        (text.find(" ? ") != std::string_view::npos || text.rfind("? ", 0) == 0);
    bool other_cpu = !k.caller.empty() && k.caller[0] == 'C';
    if (questionable || (context(k) != context(first) && !(cpu_traceback && other_cpu))) continue;
    if (text.find("Disabling lock debugging due to kernel taint") != std::string_view::npos) continue;
    if (text.find("Sending NMI from CPU") != std::string_view::npos) cpu_traceback = true;
    out.emplace_back(text);
  }
  return out;
}

std::string SanitizeTitle(std::string title) {
  struct Replacement {
    const char* re;
    const char* with;
  };
  static const Replacement kReplacements[] = {
      {R"(syz-executor\.?[0-9]+((/|:)[0-9]+)?)", "syz-executor"},
      {R"(([^a-zA-Z0-9])(?:0x)?[0-9a-f]{6,})", "\\1ADDR"},
      {R"(([0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}))", "IP"},
      {R"((\.\w+)(:[0-9]+)+)", "\\1:LINE"},
      {R"(([a-zA-Z][a-zA-Z0-9_.]+)\+0x[0-9a-z]+/0x[0-9a-z]+)", "\\1"},
      {R"(CPU#[0-9]+)", "CPU"},
      {R"((\W)(\d+)(\W|$))", "\\1NUM\\3"},
      {R"(\d{7,})", "NUM"},
  };
  for (const Replacement& r : kReplacements) {
    // Overlapping matches ("0,1,2") take more than one pass.
    for (int pass = 0; pass < 16 && RE2::GlobalReplace(&title, Re(r.re), r.with) > 0; ++pass) {
    }
  }
  std::string out;
  char prev = ' ';
  for (size_t i = 0; i < title.size() && i < 120; ++i) {
    char c = title[i];
    if (c == '\t') c = ' ';
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) continue;
    if (c == ' ' && prev == ' ') continue;
    out += c;
    prev = c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

ReportTitle TitleOf(std::string_view type, const std::vector<std::string>& lines) {
  ReportTitle result;
  std::vector<std::string> text = ReportText(lines);
  const TypeRules* rules = RulesFor(type);
  if (!rules || text.empty()) {
    result.title = SanitizeTitle(text.empty() ? std::string(type) : text[0]);
    return result;
  }
  std::string joined;
  for (const std::string& l : text) joined += l + "\n";
  bool title_matched = false;
  for (const Format& f : rules->formats) {
    std::vector<std::string> args;
    if (!Find(Re(f.title), text[0], &args)) continue;
    title_matched = true;
    if (f.report && !Find(Re(f.report), joined, &args)) continue;
    bool ok = true;
    bool fault_injection = false;
    if (!f.parts.empty()) {
      std::vector<std::string> keys = WalkParts(text, f.parts, f, &ok, &fault_injection);
      // Then parts2; then, for a stall another CPU detected, the stalled
      // CPU's own NMI backtrace (syzkaller finds no timer interrupt in it and
      // says "corrupted").
      std::vector<std::string> stalled;
      if (!ok && f.stalled_cpu_backtrace) stalled = StalledCpuBacktrace(text);
      for (const auto& [lines, walk] : {std::pair{&text, &f.parts2}, std::pair{&stalled, &kRipTrace}}) {
        if (ok || lines->empty() || walk->empty()) continue;
        bool ok2 = true;
        bool fault_injection2 = false;
        std::vector<std::string> keys2 = WalkParts(*lines, *walk, f, &ok2, &fault_injection2);
        if (ok2) {
          keys = keys2;
          ok = true;
          fault_injection = false;
        }
      }
      args.insert(args.end(), keys.begin(), keys.end());
    }
    result.title = SanitizeTitle(Expand(f.fmt, args));
    if (fault_injection) {
      result.corrupted = "fault injection's stack is mixed into the report";
    } else if (!ok) {
      result.corrupted = "no frames in the stack it is titled by";
    } else if (f.corrupted) {
      result.corrupted = "the report's header is cut";
    } else {
      result.corrupted = Corruption(result.title, text, f);
    }
    return result;
  }
  // No format fits: the header line is the title, as it was printed.
  size_t at = *rules->header ? text[0].find(rules->header) : std::string::npos;
  result.title = SanitizeTitle(at == std::string::npos ? text[0] : text[0].substr(at));
  if (title_matched) result.corrupted = "the report's body does not match its header";
  return result;
}

}  // namespace blackout
