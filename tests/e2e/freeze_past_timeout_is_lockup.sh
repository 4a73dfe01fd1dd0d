#!/usr/bin/env bash
# A vCPU frozen inside the guest (the agent's SCHED_FIFO spinner with RT
# throttling off) longer than the lockup timeout is a lockup naming that vCPU,
# with Xen's debug-key dumps and QEMU's registers saved while Xen still runs.
. "$(dirname "$0")/lib.sh"
cfg=$(config <<'YAML'
workload:
  name: smoke
  duration: 40s
  faults:
    - kind: freeze
      vcpu: 1
      at: 3s
      length: 30s
thresholds:
  lockup: 12s
YAML
)
"$BLACKOUT" run -c "$cfg" --results "$T/results"
rc=$?
[ "$rc" -eq 2 ] || fail "exit $rc, want 2 (lockup)"
check '.verdict == "lockup"'
check '.title == "lockup: no heartbeat from vCPU 1 for 12.00s"'
grep -q '(XEN) ' "$(run_dir)evidence/xen-debug-keys.txt" || fail "no Xen debug-key output"
grep -q 'RIP=' "$(run_dir)evidence/qemu-registers.txt" || fail "no QEMU registers"
echo "PASS lockup: $(jq -r .title "$(result)")"
