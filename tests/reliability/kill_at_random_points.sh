#!/usr/bin/env bash
# SIGKILL and SIGINT at random points of `results import` and `report` over
# a few thousand made-up runs: after each, the store is consistent (the next
# import completes it, every run there once), a report file is either the
# old one or a whole new one, SIGINT exits 130 within two seconds, and
# nothing is left running. (Runs and bisections are killed at random points
# by the e2e tests of SIGKILL and Ctrl-C and the store's own unit tests.)
. "$(dirname "$0")/../e2e/lib.sh"
R="$T/results"
N=10000
python3 - "$R" "$N" <<'PY'
import json, os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "r%05d" % i)
    os.makedirs(d)
    v = "stall" if i % 7 == 0 else "pass"
    r = {"schema": 1, "run_id": "r%05d" % i, "started_at": "2026-11-%02dT01:00:00Z" % (1 + i % 28),
         "verdict": v, "title": v, "kernel": {"release": "6.1.0-%d" % (i % 5)},
         "config": {"workload": {"name": "smoke"}, "guest": {"type": "hvm", "vcpus": 2}},
         "freezes": [{"host_start_s": 1, "length_s": 2.5, "vcpus": [1], "cause": "guest-internal"}] if v == "stall" else [],
         "console_tail": ["x"] * 20}
    json.dump(r, open(os.path.join(d, "result.json"), "w"))
PY
count() { "$BLACKOUT" results --results "$R" --json --limit 0 2>/dev/null | jq length; }
for i in 1 2 3 4 5; do
  "$BLACKOUT" results --results "$R" import > /dev/null 2>&1 &
  pid=$!
  sleep "0.$((RANDOM % 3))$((RANDOM % 10))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  # What was committed is whole: every row once, no half batch.
  c=$(count)
  [ -z "$c" ] || [ "$c" -le "$N" ] || fail "after SIGKILL $i: $c runs listed, more than $N"
done
# SIGINT: 130 within two seconds, what was indexed stays.
"$BLACKOUT" results --results "$R" import > /dev/null 2> "$T/int.err" &
pid=$!
sleep 0.1
kill -INT "$pid"
t0=$(date +%s%N)
wait "$pid"
rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "import after SIGINT: exit $rc after ${ms} ms"
if [ "$rc" -ne 0 ]; then  # it may have finished first
  [ "$rc" -eq 130 ] || fail "import after SIGINT exited $rc, want 130: $(cat "$T/int.err")"
  [ "$ms" -le 2000 ] || fail "import took ${ms} ms to stop after SIGINT"
fi
"$BLACKOUT" results --results "$R" import > /dev/null || fail "import after the kills"
[ "$(count)" = "$N" ] || fail "after the kills and a full import: $(count) runs, want $N"

# Reports: killed at random points, the file is the old one or a whole new one.
"$BLACKOUT" report --results "$R" --format junit -o "$T/r.xml" || fail "first report"
for i in 1 2 3 4 5; do
  "$BLACKOUT" report --results "$R" --format html -o "$T/r.xml" > /dev/null 2>&1 &
  pid=$!
  sleep "0.$((RANDOM % 5))$((RANDOM % 10))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  head -c 200 "$T/r.xml" | grep -q -e '<?xml' -e '<!DOCTYPE html>' || fail "report $i: neither old nor new"
  tail -c 20 "$T/r.xml" | grep -q -e '</testsuites>' -e '</html>' || fail "report $i: cut short"
done
# SIGINT while a report is made: 130, the old file untouched.
cp "$T/r.xml" "$T/before.xml"
"$BLACKOUT" report --results "$R" --format kcidb -o "$T/r.xml" > /dev/null 2> "$T/rint.err" &
pid=$!
sleep 0.1
kill -INT "$pid" 2>/dev/null
wait "$pid"
rc=$?
echo "report after SIGINT: exit $rc"
if [ "$rc" -ne 0 ]; then
  [ "$rc" -eq 130 ] || fail "report after SIGINT exited $rc, want 130: $(cat "$T/rint.err")"
  cmp -s "$T/r.xml" "$T/before.xml" || fail "an interrupted report changed the file"
fi
# The next write of the file removes what killed writers left.
"$BLACKOUT" report --results "$R" --format junit -o "$T/r.xml" || fail "report after the kills"
ls "$T"/r.xml.tmp.* > /dev/null 2>&1 && fail "killed writers' temporaries are still there: $(ls "$T")"
pgrep -f "$T" > /dev/null && fail "a process is left running"
echo "PASS kill at random points: import and report stayed whole"
