#!/usr/bin/env bash
# `blackout qualify` on the debian-12 image as a pygrub domU: against itself
# (one run each, both passing) it is inconclusive, never not qualified; with
# a vCPU frozen from the config drive's workload it is not qualified, with
# the freeze's title, the hang rate and its interval; exit codes 2 and 1.
. "$(dirname "$0")/lib.sh"
"$BLACKOUT" images build debian-12 --json > "$T/image.json" || fail "images build debian-12 failed"
img=$(jq -r .path "$T/image.json")
"$BLACKOUT" qualify --image "$img" --against "$img" --runs 1 --workload smoke --duration 5s \
  --results "$T/results" > "$T/self.out"
rc=$?
cat "$T/self.out"
[ "$rc" -eq 2 ] || fail "against itself: exit $rc, want 2 (inconclusive)"
grep -q "^inconclusive: image.qcow2 against image.qcow2 (baseline): 0/1 run hung" "$T/self.out" ||
  fail "against itself: not the comparison's sentence"
cat > "$T/freeze.yaml" <<'EOF2'
name: smoke-freeze
duration: 20s
stressors:
  - {kind: pingpong, threads: 1}
faults:
  - {kind: freeze, vcpu: 1, at: 3s, length: 12s}
EOF2
"$BLACKOUT" qualify --image "$img" --runs 1 --workload "$T/freeze.yaml" --results "$T/freeze" > "$T/freeze.out"
rc=$?
cat "$T/freeze.out"
[ "$rc" -eq 1 ] || fail "a frozen vCPU: exit $rc, want 1 (not qualified)"
grep -Eq "^not qualified: image.qcow2 hangs: 1/1 run hung \(100.0%, interval [0-9.]+%-100.0%\): (stall|lockup): .*vCPU 1" \
  "$T/freeze.out" || fail "a frozen vCPU: not the sentence with the freeze's title"
echo "PASS qualify verdicts"
