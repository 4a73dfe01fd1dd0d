#!/usr/bin/env bash
# The 2013 case's shape over real boots, with nothing told about the hang rate:
# a fix search. c0..c4 freeze vCPU 1 for 3 s (a real guest-internal freeze, a
# stall) in half of their runs; c5 and later carry the fix and never freeze.
# No p in the plan, so the engine calibrates on the old end and integrates p
# out. blackout must name c5 as the fix with at least 99% confidence, and its
# estimate of p must agree with the runs it saw, which must agree with 0.5. Slow: a p-unknown bisection takes about 20
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
# A bisection stops as soon as it is sure, often after a handful of runs on
# the hanging side, so p's estimate is checked against what those runs show:
# their 95% (Wilson) interval must hold the true 0.5 (the freezes happened
# as injected and were seen) and the estimate (the engine read them right).
"$BLACKOUT" bisect --results "$T/results" log > "$T/log.jsonl"
read -r hangs side < <(jq -s '[.[] | select(.step != null and .candidate < 5 and .outcome != "skip")]
                               | "\([.[] | select(.outcome == "hang")] | length) \(length)"' -r "$T/log.jsonl")
awk -v h="$hangs" -v n="$side" -v p="$p" 'BEGIN {
  if (n < 1) exit 1
  z = 1.96; f = h / n; d = 1 + z * z / n; c = (f + z * z / (2 * n)) / d
  w = z * sqrt(f * (1 - f) / n + z * z / (4 * n * n)) / d
  lo = c - w - 0.01; hi = c + w + 0.01
  exit !(lo <= 0.5 && 0.5 <= hi && lo <= p && p <= hi)
}' || fail "hanging side hung in $hangs of $side runs: its interval must hold 0.5 and the estimate $p"
runs=$(grep -c '"step"' "$T/log.jsonl")
echo "PASS fix search: c5 at $TOP_PCT% after $runs runs, p ~ $p, $(( $(date +%s) - start )) s"
