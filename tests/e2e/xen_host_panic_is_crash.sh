#!/usr/bin/env bash
# A panic inside the domU on a Xen host is a crash titled from the domU's own
# report; the crashed domain is gone from the host afterwards.
. "$(dirname "$0")/lib.sh"
on_xen_host
cfg=$(config <<'YAML'
guest: xen-pv-domu
workload:
  name: smoke
  duration: 30s
  faults: [{kind: panic, at: 2s}]
YAML
)
"$BLACKOUT" run -c "$cfg" --host "$XEN_HOST" --results "$T/results"
rc=$?
[ "$rc" -eq 3 ] || fail "exit $rc, want 3 (crash)"
check '.verdict == "crash"'
check '.title == "kernel panic: sysrq triggered crash"'
[ "$(xen_host_domains)" -eq 0 ] || fail "a domain is left on the Xen host: $(cat "$T/domains")"
echo "PASS Xen host panic: $(jq -r .title "$(result)")"
