#!/usr/bin/env bash
# A vCPU frozen inside the guest (the agent's SCHED_FIFO spinner with RT
# throttling off) longer than the lockup timeout is a lockup naming that vCPU,
# with Xen's debug-key dumps, QEMU's registers and (--dump-memory) the guest's
# memory as an ELF core saved while Xen still runs.
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
"$BLACKOUT" run -c "$cfg" --dump-memory --results "$T/results"
rc=$?
[ "$rc" -eq 2 ] || fail "exit $rc, want 2 (lockup)"
check '.verdict == "lockup"'
check '.title == "lockup: no heartbeat from vCPU 1 for 12.00s"'
grep -q '(XEN) ' "$(run_dir)evidence/xen-debug-keys.txt" || fail "no Xen debug-key output"
grep -q 'RIP=' "$(run_dir)evidence/qemu-registers.txt" || fail "no QEMU registers"
[ "$(head -c 4 "$(run_dir)evidence/memory.elf" | od -An -c | tr -d ' ')" = '177ELF' ] || fail "no ELF memory dump"
rm -f "$(run_dir)evidence/memory.elf"
echo "PASS lockup: $(jq -r .title "$(result)")"
