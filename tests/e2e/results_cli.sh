#!/usr/bin/env bash
# The history commands on a store of made-up runs (no guest boots: label
# unit): import, list with each filter, show, compare's numbers and sentence,
# every report format, bisections, and bad input named with exit 64.
# With BLACKOUT_TEST_STORE (a postgresql:// URL, tests/pg_store_check.sh) the
# same checks run on that store, and its answers must equal an SQLite
# store's of the same runs.
. "$(dirname "$0")/lib.sh"
R="$T/results"
mkrun() {  # id date kernel workload verdict [freeze length]
  mkdir -p "$R/$1"
  jq -n --arg id "$1" --arg at "$2" --arg k "$3" --arg w "$4" --arg v "$5" --arg f "${6:-}" '{
    schema: 1, run_id: $id, started_at: $at, verdict: $v, title: ($v + " of " + $id),
    kernel: {release: $k, version: ($k + "-v")}, accel: {mode: "tcg"}, host: {hostname: "h"},
    config: {kernel: "apt x", workload: {name: $w}, guest: {type: "xen-pv-dom0", vcpus: 2}},
    timings: {total_s: 30},
    freezes: (if $f == "" then [] else [{host_start_s: 10, length_s: ($f | tonumber), vcpus: [1], cause: "guest-internal"}] end),
    console_tail: ["[+1.0] boot"]}' > "$R/$1/result.json"
}
# A: 8 of 20 hang; B: 1 of 20 (the 2013 pair's shape).
for i in $(seq 1 20); do
  if [ "$i" -le 8 ]; then mkrun "a$i" "2026-11-0${i:0:1}T01:00:00Z" 3.2.0-38 pv-spinlock-race stall "$((i + 2)).5"
  else mkrun "a$i" "2026-11-10T01:00:00Z" 3.2.0-38 pv-spinlock-race pass; fi
  if [ "$i" -eq 1 ]; then mkrun "b$i" "2026-11-20T01:00:00Z" 3.2.0-39.62 pv-spinlock-race stall 2.5
  else mkrun "b$i" "2026-11-20T02:00:00Z" 3.2.0-39.62 pv-spinlock-race pass; fi
done
mkrun c1 2026-11-21T00:00:00Z 3.2.0-39.62 fio-randrw infra-error
mkdir -p "$R/killed"  # a run killed before its result: not imported

out=$("$BLACKOUT" results --results "$R" import) || fail "import"
[ "$out" = "imported 41 run(s)" ] || fail "import said: $out"
[ "$("$BLACKOUT" results --results "$R" import)" = "imported 0 run(s)" ] || fail "import twice"
n() { "$BLACKOUT" results --results "$R" --json "$@" | jq length; }
[ "$(n)" = 41 ] || fail "list all: $(n)"
[ "$(n --kernel '3.2.0-38')" = 20 ] || fail "--kernel"
[ "$(n --kernel '3.2.0-3*')" = 41 ] || fail "--kernel glob"
[ "$(n --verdict stall)" = 9 ] || fail "--verdict"
[ "$(n --workload fio-randrw)" = 1 ] || fail "--workload"
[ "$(n --since 2026-11-20)" = 21 ] || fail "--since"
[ "$(n --until 2026-11-10)" = 20 ] || fail "--until (a whole day)"
[ "$(n --title 'STALL OF A')" = 8 ] || fail "--title"
[ "$(n --limit 3)" = 3 ] || fail "--limit"
[ "$("$BLACKOUT" results --results "$R" --json --limit 1 --oldest-first | jq -r '.[0].id')" = a1 ] || fail "--oldest-first"
"$BLACKOUT" results --results "$R" show a3 | grep -q "at    10.00s     5.50s  vCPU 1" || fail "show: freezes"
"$BLACKOUT" results --results "$R" list --kernel 3.2.0-38 --verdict stall | grep -c '^a' | grep -qx 8 || fail "list table"

# compare: numbers and the sentence.
"$BLACKOUT" compare --results "$R" --json 3.2.0-38 3.2.0-39.62 > "$T/cmp.json" || fail "compare"
jq -e '.a.hangs == 8 and .a.runs == 20 and .b.hangs == 1 and .b.runs == 20' "$T/cmp.json" >/dev/null || fail "compare counts"
jq -e '(.fisher_p - 0.019656019656019652 | fabs) < 1e-12' "$T/cmp.json" >/dev/null || fail "compare Fisher"
jq -e '.a.rate_ci[0] > 0.2188 and .a.rate_ci[0] < 0.2189' "$T/cmp.json" >/dev/null || fail "compare Wilson"
"$BLACKOUT" compare --results "$R" 3.2.0-38 3.2.0-39.62 | tail -1 |
  grep -q '^3.2.0-39.62 hangs less than 3.2.0-38 (5% vs 40%, Fisher p=0.020)' || fail "compare sentence"
"$BLACKOUT" compare --results "$R" runs:a9,a10,a11 runs:b2,b3 | tail -1 | grep -q '^no difference detected' ||
  fail "compare run sets"

# Reports.
"$BLACKOUT" report --results "$R" --format junit -o "$T/j.xml" 2>/dev/null || fail "junit"
/usr/bin/python3 "$(dirname "$0")/../../results/testdata/check_reports.py" junit "$T/j.xml" 41 9 1 || fail "junitparser"
"$BLACKOUT" report --results "$R" --format kcidb --origin ci_lab -o "$T/k.json" 2>/dev/null || fail "kcidb"
/usr/bin/python3 "$(dirname "$0")/../../results/testdata/check_reports.py" kcidb "$T/k.json" \
  "$(dirname "$0")/../../results/testdata/kcidb-v4.3.schema.json" 41 || fail "kcidb schema"
"$BLACKOUT" report --results "$R" --format json | jq -e 'length == 41' >/dev/null || fail "json"
"$BLACKOUT" report --results "$R" --kernel 3.2.0-38 -o "$T/r.html" 2>/dev/null || fail "html"
grep -q '<rect class="day"' "$T/r.html" || fail "html: no hang-rate bars"
[ "$(grep -o '<rect class="day"' "$T/r.html" | wc -l)" = 9 ] || fail "html: want 9 days of 3.2.0-38"
"$BLACKOUT" results --results "$R" bisections --json | jq -e 'length == 0' >/dev/null || fail "bisections"

# Bad input: a clear message and exit 64, nothing written.
bad() {  # expected-message args...
  local want=$1; shift
  out=$("$BLACKOUT" "$@" 2>&1); rc=$?
  [ "$rc" = 64 ] || fail "$* exited $rc, want 64 ($out)"
  echo "$out" | grep -qF -e "$want" || fail "$*: '$out' does not say '$want'"
}
bad "--verdict: unknown verdict 'hung'" results --results "$R" --verdict hung
bad "--since: '11/20' is not a date" results --results "$R" --since 11/20
[ -n "${BLACKOUT_STORE:-}" ] || bad "no results under $T/nowhere" results --results "$T/nowhere"
bad "--store: no store at $T/none.db" results --results "$R" --store "sqlite:$T/none.db"
bad "--store: 'mysql://x/y' is neither" results --store mysql://x/y
bad "no run 'zz' in" results --results "$R" show zz
bad "is ambiguous" results --results "$R" show a
bad "--origin: 'CI Lab' must be lowercase" report --results "$R" --format kcidb --origin "CI Lab"
[ ! -e "$T/nowhere" ] || fail "a bad command created the results root"
if [ -n "${BLACKOUT_STORE:-}" ]; then
  # The same runs in SQLite: every answer byte for byte the same.
  L="sqlite:$T/local.db"
  "$BLACKOUT" results --results "$R" --store "$L" import >/dev/null || fail "import into SQLite"
  same() {  # args...
    "$BLACKOUT" "$@" > "$T/pg.out" 2>&1 || fail "$* on $BLACKOUT_STORE"
    "$BLACKOUT" "$@" --store "$L" > "$T/sqlite.out" 2>&1 || fail "$* on SQLite"
    cmp -s "$T/pg.out" "$T/sqlite.out" || { diff "$T/sqlite.out" "$T/pg.out" | head -20; fail "$*: PostgreSQL and SQLite differ"; }
  }
  same results --results "$R" --json
  same results --results "$R" --kernel '3.2.0-3[8]' --title 'stall OF' --json
  same results --results "$R" list --since 2026-11-05 --until 2026-11-20 --oldest-first
  same results --results "$R" show a3
  same compare --results "$R" --json 3.2.0-38 3.2.0-39.62
  same report --results "$R" --format json
  same report --results "$R" --format junit
  same report --results "$R" --format kcidb
  # A shard's SQLite store moved into PostgreSQL with --from, twice: once.
  out=$("$BLACKOUT" results --results "$R" import --from "$L") || fail "import --from"
  [ "$out" = "imported 0 run(s)" ] || fail "import --from of runs it has: $out"
fi
echo "PASS results cli"
