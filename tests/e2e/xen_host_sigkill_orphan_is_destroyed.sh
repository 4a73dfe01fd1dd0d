#!/usr/bin/env bash
# libxl has no autodestroy: a blackout SIGKILLed mid-run leaves its domU
# running on the Xen host. Its metadata names this machine and the dead
# process, so the next blackout on that host destroys it before it starts
# its own, and nothing is left after.
. "$(dirname "$0")/lib.sh"
on_xen_host
cfg=$(config <<'YAML'
guest: xen-pv-domu
workload:
  name: smoke
  duration: 120s
YAML
)
"$BLACKOUT" run -c "$cfg" --host "$XEN_HOST" --results "$T/killed" > "$T/killed.log" 2>&1 &
BG_PID=$!
for _ in $(seq 1 600); do
  if grep -qs '@BH1' "$T"/killed/*/console.log; then break; fi
  kill -0 "$BG_PID" 2> /dev/null || fail "blackout exited before the first heartbeat: $(tail -5 "$T/killed.log")"
  sleep 0.5
done
kill -9 "$BG_PID"
wait "$BG_PID" 2> /dev/null
BG_PID=""
[ "$(xen_host_domains)" -eq 1 ] || fail "want the killed run's domain on the host: $(cat "$T/domains")"
orphan=$(grep '^blackout-' "$T/domains")
cfg=$(config <<'YAML'
guest: xen-pv-domu
workload:
  name: smoke
  duration: 5s
YAML
)
"$BLACKOUT" run -c "$cfg" --host "$XEN_HOST" --results "$T/results" 2> "$T/next.log"
rc=$?
[ "$rc" -eq 0 ] || fail "the next run: exit $rc, want 0: $(tail -5 "$T/next.log")"
grep -q "destroying $orphan on $XEN_HOST, left by a blackout that is gone (its process ended)" "$T/next.log" ||
  fail "the next run did not say it destroyed $orphan: $(cat "$T/next.log")"
[ "$(xen_host_domains)" -eq 0 ] || fail "a domain is left on the Xen host: $(cat "$T/domains")"
echo "PASS Xen host SIGKILL: $orphan destroyed by the next run"
