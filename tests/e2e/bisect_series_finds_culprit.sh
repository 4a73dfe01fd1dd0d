#!/usr/bin/env bash
# A bisection over real boots whose ground truth is known: eight candidates
# boot the same Debian kernel; from c5 on, the agent freezes vCPU 1 for 3 s
# (a real guest-internal freeze, a stall) in half of the runs. blackout must
# name c5 with at least 99% confidence.
. "$(dirname "$0")/lib.sh"
flaky='workload: {faults: [{kind: freeze, vcpu: 1, at: 1s, length: 3s, probability: 0.5}]}'
plan=$(config <<YAML
run:
  workload:
    name: smoke
    duration: 6s
bisect:
  terms: regression
  bad_verdicts: [stall, lockup, crash]
  p: 0.5
  alpha: 0.01
series:
  - {name: c0}
  - {name: c1}
  - {name: c2}
  - {name: c3}
  - {name: c4}
  - {name: c5, $flaky}
  - {name: c6, $flaky}
  - {name: c7, $flaky}
YAML
)
bisect_must_find "$plan" ' 5 c5$'
"$BLACKOUT" bisect --results "$T/results" status | grep -q 'found the first hanging build' || fail "status"
runs=$("$BLACKOUT" bisect --results "$T/results" log | grep -c '"step"')
# The results store has the bisection and every run of it.
bisect_store_holds c5
echo "PASS bisect: c5 at $TOP_PCT% after $runs runs"
