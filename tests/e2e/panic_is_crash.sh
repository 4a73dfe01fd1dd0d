#!/usr/bin/env bash
# A kernel panic during the workload (sysrq-c) is a crash titled by the
# panic; QEMU's registers are saved and the console keeps Xen's own report.
. "$(dirname "$0")/lib.sh"
cfg=$(config <<'YAML'
workload:
  name: smoke
  duration: 30s
  faults:
    - kind: panic
      at: 3s
YAML
)
"$BLACKOUT" run -c "$cfg" --results "$T/results"
rc=$?
[ "$rc" -eq 3 ] || fail "exit $rc, want 3 (crash)"
check '.verdict == "crash"'
check '.title == "kernel panic: sysrq triggered crash"'
grep -q 'RIP=' "$(run_dir)evidence/qemu-registers.txt" || fail "no QEMU registers"
grep -q '(XEN) Hardware Dom0 crashed' "$(run_dir)console.log" || fail "no Xen crash line"
echo "PASS panic: $(jq -r .title "$(result)")"
