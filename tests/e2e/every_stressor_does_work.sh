#!/usr/bin/env bash
# Every built-in stressor runs in a real guest and reports work: ops > 0 and no
# errors, placed where the workload says (cpus), through phases that change
# the intensity, with per-interval counters and the guest's own interrupt and
# context-switch counts in the result.
. "$(dirname "$0")/lib.sh"
cfg=$(config <<'YAML'
workload:
  name: all-stressors
  report: 4s
  phases:
    - {name: ramp, duration: 6s, intensity: 0.5}
    - {name: steady, duration: 8s}
    - {name: burst, duration: 6s, only: [migrate, forkexit, io]}
  stressors:
    - {kind: pingpong, threads: 1, cpus: [0, 1]}
    - {kind: migrate, threads: 2}
    - {kind: forkexit, threads: 1, burst: 4}
    - {kind: yield, threads: 1, cpus: [1]}
    - {kind: spinsleep, threads: 2, spin_ms: 2, sleep_ms: 2, cpus: [0]}
    - {kind: futex, threads: 3}
    - {kind: io, threads: 2, block_size: 4096, sync_every: 2}
YAML
)
"$BLACKOUT" run -c "$cfg" --results "$T/results"
rc=$?
[ "$rc" -eq 0 ] || fail "exit $rc, want 0 (pass)"
check '(.stats.stressors | length) == 7'
check '.stats.stressors | all(.ops > 0 and .errors == 0)'
check '.stats.stressors | map(.name) == ["pingpong","migrate","forkexit","yield","spinsleep","futex","io"]'
check '(.stats.intervals | length) >= 4'
check '.stats.intervals | map(.phase) | index("ramp") != null and index("burst") != null'
# In the burst phase only migrate, forkexit and io run: pingpong did nothing.
check '[.stats.intervals[] | select(.phase == "burst") | .ops[0]] | all(. < 50)'
check '.stats.guest_counters | .intr > 0 and .ctxt > 0 and .migrations > 0 and .ttwu > 0'
grep -q 'phase name=steady intensity=1.00' "$(run_dir)console.log" || fail "no steady phase in the console"
echo "PASS every stressor: $(jq -c '[.stats.stressors[] | {(.name): .ops}] | add' "$(result)")"
echo "guest counters: $(jq -c '.stats.guest_counters' "$(result)")"
