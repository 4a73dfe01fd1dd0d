#!/usr/bin/env bash
# The exposure model over real boots: six candidates of the default kernel;
# from c3 on, vCPU 1 freezes for good at an exponential time (mean 10 s) after
# the workload starts, a lockup after 6 s of silence. Runs last up to 60 s of
# workload. blackout must name c3 with at least 99%, every step must carry the
# workload seconds it ran until the hang or the end, and once the hangs have
# shown the rate the engine must choose runs shorter than 60 s.
. "$(dirname "$0")/lib.sh"
hang='workload: {faults: [{kind: freeze, vcpu: 1, at: 0s, delay_mean: 10s, length: 3600s}]}'
plan=$(config <<YAML
run:
  workload: {name: smoke, duration: 60s}
  thresholds: {lockup: 6s}
bisect: {terms: regression, model: exposure, alpha: 0.01}
series:
  - {name: c0}
  - {name: c1}
  - {name: c2}
  - {name: c3, $hang}
  - {name: c4, $hang}
  - {name: c5, $hang}
YAML
)
bisect_must_find "$plan" ' 3 c3$'
log=$("$BLACKOUT" bisect --results "$T/results" log)
echo "$log" | jq -se '[.[] | select(.step != null)] | length > 0 and all(.exposure_s > 0)' > /dev/null ||
  fail "a step without its exposure: $(echo "$log" | jq -c '{step, outcome, exposure_s}')"
# The quiet runs the engine chose after calibration are shorter than the most.
quiet=$(echo "$log" | jq -sc '[.[] | select(.outcome == "quiet") | .exposure_s | floor]')
echo "$quiet" | jq -e 'length > 0 and min < 50' > /dev/null || fail "no quiet run shorter than 60 s: $quiet"
grep -q 'hang rate on the hanging side ~ 1 per' <("$BLACKOUT" bisect --results "$T/results" status) ||
  fail "the status does not show the learnt rate"
guest=$(find "$T/results" -name result.json -exec jq -r '.timings.total_s // 0' {} + | awk '{ s += $1 } END { printf "%.0f", s }')
echo "PASS exposure bisection: c3 at $TOP_PCT% after $(echo "$log" | grep -c '"step"') runs, $guest guest-seconds; quiet runs $quiet"
