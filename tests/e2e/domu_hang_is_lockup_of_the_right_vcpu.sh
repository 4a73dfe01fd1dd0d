#!/usr/bin/env bash
# A hang inside the PV domU (the agent's SCHED_FIFO spinner holds vCPU 1 past
# the lockup threshold) is a lockup that names vCPU 1, and while the domU still
# exists dom0 gathers its evidence: the domU's blocked tasks and backtraces
# (xl sysrq w, l), Xen's registers, domains and scheduler (debug keys d q r).
. "$(dirname "$0")/lib.sh"
cfg=$(config <<'YAML'
guest: xen-pv-domu
workload:
  name: smoke
  duration: 60s
  faults: [{kind: freeze, vcpu: 1, at: 3s, length: 50s}]
thresholds:
  lockup: 10s
YAML
)
"$BLACKOUT" run -c "$cfg" --results "$T/results"
rc=$?
[ "$rc" -eq 2 ] || fail "exit $rc, want 2 (lockup)"
check '.verdict == "lockup"'
check '.title | test("vCPU 1")'
check '.title | test("vCPU 0") | not'
ev="$(run_dir)evidence/dom0-xl.txt"
grep -q 'blackout-dom0: evidence-end' "$ev" || fail "dom0's evidence did not finish"
grep -q "(XEN) 'd' pressed" "$ev" || fail "no Xen debug keys in dom0's evidence"
grep -q 'domU| .*sysrq' "$ev" || fail "the domU's sysrq output is not in dom0's evidence"
echo "PASS domU hang: $(jq -r .title "$(result)")"
