#!/usr/bin/env bash
# A guest whose init cannot run never beats: boot-failure, titled by the
# kernel's panic, with QEMU's registers saved as evidence (Xen itself halts
# once dom0 has crashed, so its debug keys get no answer; the evidence says so).
. "$(dirname "$0")/lib.sh"
cfg=$(config <<'YAML'
guest:
  kernel_cmdline: rdinit=/bin/false init=/bin/false
workload: smoke
thresholds:
  boot: 120s
YAML
)
"$BLACKOUT" run -c "$cfg" --results "$T/results"
rc=$?
[ "$rc" -eq 4 ] || fail "exit $rc, want 4 (boot-failure)"
check '.verdict == "boot-failure"'
check '.title | test("kernel panic")'
[ -s "$(run_dir)evidence/xen-debug-keys.txt" ] || fail "no Xen debug-key record in evidence"
grep -q "RIP=" "$(run_dir)evidence/qemu-registers.txt" || fail "no QEMU registers in evidence"
echo "PASS boot failure: $(jq -r .title "$(result)")"
