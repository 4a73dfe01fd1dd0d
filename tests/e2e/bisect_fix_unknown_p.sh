#!/usr/bin/env bash
# The 2013 case's shape over real boots, with nothing told about the hang rate:
# a fix search. c0..c4 freeze vCPU 1 for 3 s (a real guest-internal freeze, a
# stall) in half of their runs; c5 and later carry the fix and never freeze.
# No p in the plan, so the engine calibrates on the old end and integrates p
# out. blackout must name c5 as the fix with at least 99% confidence, and its
# estimate of p must be near 0.5. Slow: a p-unknown bisection takes about 20
# boots.
. "$(dirname "$0")/lib.sh"
flaky='workload: {faults: [{kind: freeze, vcpu: 1, at: 1s, length: 3s, probability: 0.5}]}'
plan=$(config <<YAML
run:
  workload:
    name: smoke
    duration: 6s
bisect:
  terms: fix
  bad_verdicts: [stall, lockup, crash]
  alpha: 0.01
series:
  - {name: c0, $flaky}
  - {name: c1, $flaky}
  - {name: c2, $flaky}
  - {name: c3, $flaky}
  - {name: c4, $flaky}
  - {name: c5}
  - {name: c6}
  - {name: c7}
YAML
)
start=$(date +%s)
bisect_must_find "$plan" ' 5 c5$'
grep -q 'first quiet build (fix)' "$T/report.txt" || fail "not reported as a fix search"
grep -q '(given)' "$T/report.txt" && fail "p was not meant to be given"
p=$(sed -n 's/.*p (hang rate on the hanging side) ~ \([0-9.]*\).*/\1/p' "$T/report.txt")
awk -v p="$p" 'BEGIN { exit !(p >= 0.2 && p <= 0.8) }' || fail "estimated p $p is far from 0.5"
runs=$("$BLACKOUT" bisect --results "$T/results" log | grep -c '"step"')
echo "PASS fix search: c5 at $TOP_PCT% after $runs runs, p ~ $p, $(( $(date +%s) - start )) s"
