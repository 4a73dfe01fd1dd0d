#!/usr/bin/env bash
# A task stuck in D state (the agent freezes a ramdisk ext4 and writes to it;
# brd and ext4 come from the kernel package with their dependencies) makes the
# kernel's hung-task detector report: a lockup titled "INFO: task hung in
# FUNC", with the guest's sysrq dumps and Xen's debug keys as evidence.
. "$(dirname "$0")/lib.sh"
cfg=$(config <<'YAML'
workload:
  name: smoke
  duration: 60s
  faults:
    - kind: hang
      at: 3s
      timeout: 10s
YAML
)
"$BLACKOUT" run -c "$cfg" --results "$T/results"
rc=$?
[ "$rc" -eq 2 ] || fail "exit $rc, want 2 (lockup)"
check '.verdict == "lockup"'
check '.title | startswith("INFO: task hung in ")'
check '[.reports[].type] | index("hung-task") != null'
grep -q 'sysrq' "$(run_dir)evidence/guest-sysrq.txt" || fail "guest did not answer sysrq"
grep -q '(XEN) ' "$(run_dir)evidence/xen-debug-keys.txt" || fail "no Xen debug-key output"
echo "PASS hung task: $(jq -r .title "$(result)")"
