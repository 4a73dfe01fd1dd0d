#!/usr/bin/env bash
# A bisection over real boots where the bad side shows two different hangs:
# from c1 on, a hung-task report (written into the kernel log: a passive hang)
# in half of the runs; from c3 on, a real 3 s freeze of vCPU 1 (a stall: an
# active stall) in 90%. The bisection chases the active stall; the hung tasks
# are recorded and shown ("also seen") but move nothing, so it names c3 with
# at least 99%. Counting every bad run would blame c1. The results store holds
# the bisection and every run of it.
. "$(dirname "$0")/lib.sh"
other='{kind: kmsg, at: 2s, probability: 0.5, text: "INFO: task kworker/u4:2:61 blocked for more than 120 seconds."}'
chased='{kind: freeze, vcpu: 1, at: 1s, length: 3s, probability: 0.9}'
plan=$(config <<YAML
run:
  workload:
    name: smoke
    duration: 6s
bisect:
  terms: regression
  bad: same-cluster
  chase: active-stall
  p: 0.9
  alpha: 0.01
series:
  - {name: c0}
  - {name: c1, workload: {faults: [$other]}}
  - {name: c2, workload: {faults: [$other]}}
  - {name: c3, workload: {faults: [$other, $chased]}}
  - {name: c4, workload: {faults: [$other, $chased]}}
  - {name: c5, workload: {faults: [$other, $chased]}}
YAML
)
bisect_must_find "$plan" ' 3 c3$'
grep -q '^chasing: the cluster active-stall, from the plan; counted: same-cluster' "$T/report.txt" ||
  fail "the report does not say what it chased"
log=$("$BLACKOUT" bisect --results "$T/results" log)
others=$(echo "$log" | jq -s '[.[] | select(.outcome == "other")] | length')
hangs=$(echo "$log" | jq -s '[.[] | select(.outcome == "hang")] | length')
# Every counted hang is the chased stall; every hung task is "other".
echo "$log" | jq -se '[.[] | select(.outcome == "hang") | .verdict] | all(. == "stall")' > /dev/null ||
  fail "a run outside the chased cluster counted as a hang"
echo "$log" | jq -se '[.[] | select(.verdict == "lockup") | .outcome] | all(. == "other")' > /dev/null ||
  fail "a hung task was not kept apart"
if [ "$others" -gt 0 ]; then
  grep -q '^also seen (not the chased bug, counted neither way): INFO: task hung' "$T/report.txt" ||
    fail "the report does not show the other bug"
fi
grep -q '^titles seen per candidate:' "$T/report.txt" || fail "no titles per candidate"
"$BLACKOUT" bisect --results "$T/results" status | grep -q 'found the first hanging build' || fail "status"
bisect_store_holds c3
echo "PASS bisect chases its own bug: c3 at $TOP_PCT% after $(echo "$log" | grep -c '"step"') runs ($hangs chased hangs, $others other failures)"
