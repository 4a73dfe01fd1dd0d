#!/usr/bin/env bash
# xen-pv-domu boots Xen and dom0 once: the first run saves the VM where dom0
# parks with its toolstack up, later runs restore that state and only start
# their domU. A restored run passes like a booted one: dom0's clock is the
# host's again, and the pause between save and restore is no gap, freeze or
# clock jump. A state that does not restore is booted again and replaced;
# `dom0: {saved_state: false}` boots dom0 every time.
. "$(dirname "$0")/lib.sh"
STATES="${XDG_CACHE_HOME:-$HOME/.cache}/blackout/dom0-state"
rm -rf "$STATES"
write_config() {
  config <<YAML
guest:
  type: xen-pv-domu
  dom0: {saved_state: $1}
workload: {name: idle, duration: 3s}
YAML
}
cfg=$(write_config true)
# run N: one run into $T/rN, which must pass.
run() {
  "$BLACKOUT" run -c "$cfg" --results "$T/r$1" > "$T/out$1" 2>&1
  local rc=$?
  R=$(ls "$T/r$1"/*/result.json)
  [ "$rc" -eq 0 ] || { cat "$T/out$1"; jq '{verdict, title, error, dom0}' "$R"; fail "run $1: exit $rc, want 0 (pass)"; }
  C="$(dirname "$R")/console.log"
}
want() { jq -e "$1" "$R" > /dev/null || { jq '{verdict, dom0, gaps, timings}' "$R"; fail "run $2: expected $1"; }; }

run 1
want '.dom0.boot.dom0_state == "saved" and .dom0.saved_state == true' 1
key=$(jq -r .dom0.boot.key "$R")
[ -f "$STATES/$key.state" ] || fail "no saved state $STATES/$key.state"
grep -q '(XEN) Xen version' "$C" || fail "run 1 did not boot Xen"
cold=$(jq .timings.first_heartbeat_s "$R")

# Longer than the stall threshold between save and restore.
sleep 8
run 2
want '.dom0.boot.dom0_state == "restored" and .dom0.boot.key == "'"$key"'"' 2
want '(.gaps | length) == 0 and (.freezes | length) == 0 and .stats.clock_jumps == 0' 2
grep -q '(XEN) Xen version' "$C" && fail "run 2 booted Xen again instead of restoring it"
# dom0 took the host's clock when it resumed.
resumed=$(grep -o 'blackout-dom0: resumed [0-9]*' "$C" | awk '{print $3}')
started=$(date -d "$(jq -r .started_at "$R")" +%s)
[ -n "$resumed" ] && [ $((resumed - started)) -ge 0 ] && [ $((resumed - started)) -le 120 ] ||
  fail "dom0 resumed with clock '$resumed', the run started at $started"
beats=$(grep -c '@BH1' "$C"); domu_beats=$(grep -c '\] domU| @BH1 ' "$C")
[ "$beats" -gt 5 ] && [ "$beats" -eq "$domu_beats" ] || fail "heartbeats: $beats in all, $domu_beats from the domU"
warm=$(jq .timings.first_heartbeat_s "$R")

# A state that does not load is booted again and saved anew.
truncate -s 1M "$STATES/$key.state"
run 3
want '.dom0.boot.dom0_state == "saved" and (.dom0.boot.restore_error | length) > 0' 3
[ "$(stat -c %s "$STATES/$key.state")" -gt 1048576 ] || fail "the broken state was not replaced"

# Without saved states dom0 boots every time.
cfg=$(write_config false)
run 4
want '.dom0.saved_state == false and .dom0.boot == null' 4
grep -q '(XEN) Xen version' "$C" || fail "run 4 did not boot Xen"
echo "PASS domU saved state: first heartbeat ${cold}s booted, ${warm}s restored"
