#!/usr/bin/env bash
# A kernel matrix with real boots: two Debian 6.1 kernels x two workloads on
# hvm guests (the debian-6.1.0-56 / idle cell with four repeats, the others
# two). Night 1 is SIGKILLed after two runs and started again: it runs only
# what is missing and finishes. Night 2 runs as two shards into two results
# roots, merged with `results import`, with the 56 / idle cell made to hang
# (a vCPU frozen past the lockup threshold): compared with night 1 as its
# baseline, exactly that cell is a regression (exit 1) with its new title,
# and (on_regression: bisect) its bisection over a small series, whose two
# oldest candidates clear the fault, names c2; the regression and then the
# culprit are mailed to a real SMTP server and posted to a webhook.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../notify_servers.sh"
A="$T/a"
B="$T/b"
night() {  # night N [workload override for the 56 / idle cell] [more top-level YAML]
  cat > "$T/m$1.yaml" <<YAML
name: nightly
config: {guest: hvm, thresholds: {lockup: 6s}}
kernels: [debian-6.1.0-47, debian-6.1.0-56]
workloads: [smoke, idle]
repeats: 2
duration: 4s
overrides:
  - {match: {kernel: debian-6.1.0-56, workload: idle}, repeats: 4$2}
${3:-}
YAML
  echo "$T/m$1.yaml"
}
finished() { ls "$A"/*/result.json 2> /dev/null | wc -l; }
judged() {  # judged runs of a matrix in root $1
  "$BLACKOUT" results --results "$1" --matrix "$2" --json | jq '[.[] | select(.verdict != "infra-error" and .verdict != "running")] | length'
}

# Night 1, killed after two runs, then resumed.
m1=$(night 1 "")
"$BLACKOUT" matrix -c "$m1" --id nightly-1 --results "$A" > "$T/killed.out" 2>&1 &
BG_PID=$!
for _ in $(seq 1 600); do
  [ "$(finished)" -ge 2 ] && break
  kill -0 "$BG_PID" 2> /dev/null || fail "the matrix ended before it was killed: $(tail -5 "$T/killed.out")"
  sleep 0.5
done
kill -9 "$BG_PID"
wait "$BG_PID" 2> /dev/null
BG_PID=""
before=$(judged "$A" nightly-1)
[ "$before" -ge 2 ] && [ "$before" -lt 10 ] || fail "$before runs of night 1 before the kill, want 2..9"
"$BLACKOUT" matrix -c "$m1" --id nightly-1 --results "$A" > "$T/n1.out" 2> "$T/n1.err"
rc=$?
cat "$T/n1.out"
[ "$rc" -eq 0 ] || fail "night 1: exit $rc, want 0: $(tail -5 "$T/n1.err")"
grep -q "still to do" "$T/n1.err" || fail "night 1 did not say what was left"
left=$(sed -n "s/.* holds 10 runs, \([0-9]*\) still to do.*/\1/p" "$T/n1.err")
[ "$left" = "$((10 - before))" ] || fail "the resumed night ran $left, want $((10 - before)): $(grep 'still to do' "$T/n1.err")"
[ "$(judged "$A" nightly-1)" -eq 10 ] || fail "night 1 has $(judged "$A" nightly-1) judged runs, want 10"
grep -q "against no baseline" "$T/n1.out" || fail "night 1 had a baseline"

# Night 2, one cell hanging, as two shards into two roots, merged.
m2=$(night 2 ", workload: {name: idle, faults: [{kind: freeze, vcpu: 1, at: 1s, length: 60s}]}" "notify:
  smtp: 127.0.0.1:$SMTP_PORT
  to: [kernel-team@example.org]
  webhook: http://127.0.0.1:$HTTP_PORT/hook
on_regression:
  bisect:
    series:
      - {name: c0, workload: {faults: []}}
      - {name: c1, workload: {faults: []}}
      - {name: c2}
      - {name: c3}
    bisect: {p: 1, max_runs: 12}")
"$BLACKOUT" matrix -c "$m2" --id nightly-2 --shard 1/2 --results "$A" > "$T/s1.out" 2> "$T/s1.err"
rc1=$?
"$BLACKOUT" matrix -c "$m2" --id nightly-2 --shard 2/2 --results "$B" > "$T/s2.out" 2> "$T/s2.err"
rc2=$?
[ "$rc1" -le 1 ] && [ "$rc2" -le 1 ] || fail "shards exit $rc1 and $rc2: $(tail -3 "$T/s1.err" "$T/s2.err")"
[ "$(judged "$A" nightly-2)" -eq 4 ] || fail "shard 1 ran $(judged "$A" nightly-2) runs, want 4 (cells 1 and 3)"
[ "$(judged "$B" nightly-2)" -eq 6 ] || fail "shard 2 ran $(judged "$B" nightly-2) runs, want 6 (cells 2 and 4)"
"$BLACKOUT" results import --results "$A" "$B" > /dev/null || fail "results import"
"$BLACKOUT" matrix -c "$m2" --id nightly-2 --results "$A" --compare-only --json > "$T/cmp.json" 2> "$T/cmp.err"
rc=$?
cat "$T/cmp.err"
jq . "$T/cmp.json"
[ "$rc" -eq 1 ] || fail "night 2 against night 1: exit $rc, want 1 (regression)"
jq -e '.baseline == "nightly-1" and .complete and .regressions == 1' "$T/cmp.json" > /dev/null || fail "the comparison's summary"
jq -e '[.cells[] | select(.status == "regression") | .cell] == ["debian-6.1.0-56 / hvm / idle"]' "$T/cmp.json" > /dev/null ||
  fail "the regressed cells are not exactly 56 / idle"
jq -e '.cells[] | select(.cell == "debian-6.1.0-56 / hvm / idle") | .hangs == 4 and .baseline_hangs == 0 and (.new_titles | length) == 1' \
  "$T/cmp.json" > /dev/null || fail "the regressed cell's counts or titles"
# The shards did not bisect (each saw half the matrix); the merged night did.
! cat "$T/s1.out" "$T/s2.out" "$T/s1.err" "$T/s2.err" | grep -q "bisecting" || fail "a shard bisected"
grep -q "bisection of debian-6.1.0-56 / hvm / idle: found, culprit c2" "$T/cmp.err" ||
  fail "the regression's bisection did not name c2"
"$BLACKOUT" results bisections --results "$A" --json | jq -e 'length == 1 and .[0].culprit == "c2" and .[0].status == "found"' \
  > /dev/null || fail "the store's bisection"
[ ! -e "$A/bisect/current" ] || fail "the finished bisection still holds the results root"
grep -q "^Subject: blackout: nightly-2: 1 regression (debian-6.1.0-56 / hvm / idle)" "$T/mail.txt" || fail "no regression mail"
grep -q "^Subject: blackout: nightly-2: debian-6.1.0-56 / hvm / idle: culprit c2 (" "$T/mail.txt" || fail "no culprit mail"
grep -q "^culprit: c2 with probability" "$T/mail.txt" || fail "the culprit mail's body"
[ "$(jq -s 'length' "$T/hook.json")" = 2 ] || fail "want two webhook posts: $(cat "$T/hook.json")"
jq -s -e '.[1].culprit == "c2" and .[1].status == "found" and .[1].cell == "debian-6.1.0-56 / hvm / idle"' "$T/hook.json" \
  > /dev/null || fail "the culprit post: $(tail -1 "$T/hook.json")"
# The comparison again (a CI job re-run): the regression is told again, its
# bisection is not run again nor its culprit sent twice.
"$BLACKOUT" matrix -c "$m2" --id nightly-2 --results "$A" --compare-only > "$T/again.out" 2> "$T/again.err"
[ "$?" -eq 1 ] || fail "the second comparison: want exit 1"
grep -Eq "culprit c2 \(.*\) after [0-9]+ runs \(bisected before: " "$T/again.out" || fail "bisected again: $(cat "$T/again.out")"
[ "$("$BLACKOUT" results bisections --results "$A" --json | jq length)" = 1 ] || fail "a second bisection"
jq -s -e 'length == 3 and (.[2] | has("regressions"))' "$T/hook.json" > /dev/null || fail "posts after the re-run"
echo "PASS matrix: night 1 resumed $left of 10 after the kill; night 2 in two shards, regression in $(jq -r '[.cells[] | select(.status == "regression") | .cell + " (p " + (.fisher_p | tostring) + ")"] | join(", ")' "$T/cmp.json")"
