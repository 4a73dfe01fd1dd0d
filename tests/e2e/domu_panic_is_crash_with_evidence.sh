#!/usr/bin/env bash
# A panic inside the PV domU is a crash verdict titled from the domU's own
# report, and the evidence holds dom0's view (xl list, the domU preserved as
# crashed, Xen's debug keys and log through xl) and Xen's dumps from the
# serial console.
. "$(dirname "$0")/lib.sh"
cfg=$(config <<'YAML'
guest: xen-pv-domu
workload:
  name: smoke
  duration: 30s
  faults: [{kind: panic, at: 2s}]
YAML
)
"$BLACKOUT" run -c "$cfg" --results "$T/results"
rc=$?
[ "$rc" -eq 3 ] || fail "exit $rc, want 3 (crash)"
check '.verdict == "crash"'
check '.title == "kernel panic: sysrq triggered crash"'
ev="$(run_dir)evidence"
grep -q 'blackout-dom0: evidence-end' "$ev/dom0-xl.txt" || fail "dom0's evidence did not finish"
grep -q 'blackout-domu .* ---sc-' "$ev/dom0-xl.txt" || fail "xl list does not show the crashed domU"
grep -q "(XEN) 'd' pressed" "$ev/dom0-xl.txt" || fail "no Xen debug keys in dom0's evidence"
grep -q '(XEN)' "$ev/xen-debug-keys.txt" || fail "Xen did not answer its debug keys on the serial console"
echo "PASS domU panic: $(jq -r .title "$(result)"), evidence: $(ls "$ev" | tr '\n' ' ')"
