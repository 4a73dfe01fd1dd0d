#!/usr/bin/env bash
# The shared results store on a real PostgreSQL cluster started here (initdb
# and pg_ctl in a temporary directory, a Unix socket, stopped at the end):
# the store's tests on PostgreSQL (schema, migrations, settling, writers at
# once, import), every results command against it with SQLite's answers as
# the reference (tests/e2e/results_cli.sh), shards imported with --from by
# processes at once, and what a wrong URL or an unreachable server says.
#   tests/pg_store_check.sh path/to/blackout path/to/results_test
set -uo pipefail
BLACKOUT=${1:?usage: $0 blackout results_test}
RESULTS_TEST=${2:?usage: $0 blackout results_test}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/pg_cluster.sh"
T=$(mktemp -d /tmp/blackout-pgcheck-XXXXXX)
trap 'pg_cluster_stop; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
pg_cluster_start || fail "could not start a PostgreSQL cluster"

BLACKOUT_TEST_PG=$PG_URL BLACKOUT_TEST_PG_REQUIRED=1 "$RESULTS_TEST" --gtest_brief=1 --gtest_filter='*postgresql*' ||
  fail "store tests on PostgreSQL"

pg_cluster_createdb cli
BLACKOUT_TEST_STORE=$(pg_cluster_url cli) "$here/e2e/results_cli.sh" "$BLACKOUT" || fail "results commands on PostgreSQL"

# Eight shards' SQLite stores (50 runs each) imported at once into one new
# PostgreSQL store: every run there once, the store made once.
pg_cluster_createdb shards
SHARDS=$(pg_cluster_url shards)
for s in $(seq 1 8); do
  for i in $(seq 1 50); do
    d="$T/shard$s/s$s-$i"
    mkdir -p "$d"
    printf '{"schema":1,"run_id":"s%s-%s","started_at":"2026-12-01T0%s:00:00Z","verdict":"%s","title":"t",%s}\n' \
      "$s" "$i" "$((s % 10))" "$([ $((i % 7)) = 0 ] && echo stall || echo pass)" \
      '"kernel":{"release":"6.1.0-57-amd64"},"config":{"workload":{"name":"smoke"},"guest":{"type":"hvm"}},"freezes":[]' > "$d/result.json"
  done
  "$BLACKOUT" results --results "$T/shard$s" import >/dev/null || fail "shard $s into SQLite"
done
pids=()
for s in $(seq 1 8); do
  "$BLACKOUT" results --results "$T/shard$s" --store "$SHARDS" import --from "sqlite:$T/shard$s/blackout.db" \
    > "$T/import$s.out" 2>&1 &
  pids+=($!)
done
for s in $(seq 1 8); do
  wait "${pids[$((s - 1))]}" || { cat "$T/import$s.out"; fail "import of shard $s"; }
  grep -qx "imported 50 run(s)" "$T/import$s.out" || fail "shard $s: $(cat "$T/import$s.out")"
done
n=$("$BLACKOUT" results --store "$SHARDS" --json | jq length)
[ "$n" = 400 ] || fail "merged shards: $n runs, want 400"
n=$("$BLACKOUT" results --store "$SHARDS" --verdict stall --json | jq length)
[ "$n" = 56 ] || fail "merged shards: $n stalls, want 56"
[ "$(psql -X -A -t "$SHARDS" -c 'SELECT version FROM blackout_schema')" = 4 ] || fail "schema version row"

# A matrix compared on PostgreSQL: two nights of one cell (night 2 hangs
# 7 of 10), the same verdict and comparison as on SQLite.
pg_cluster_createdb matrix
MX=$(pg_cluster_url matrix)
mk() {  # night i verdict
  local d="$T/mx/$1-$2"
  mkdir -p "$d"
  printf '{"schema":1,"run_id":"%s-%s","started_at":"2026-12-0%sT01:00:00Z","verdict":"%s","title":"%s",%s,"matrix":{"id":"%s","cell":"k1 / hvm / smoke","repeat":%s},"freezes":[]}\n' \
    "$1" "$2" "${1#n}" "$3" "$([ "$3" = pass ] && echo pass || echo 'lockup: vCPU 1 stopped beating')" \
    '"kernel":{"release":"6.1.0-57-amd64"},"config":{"workload":{"name":"smoke"},"guest":{"type":"hvm"}}' \
    "$1" "$(($2 - 1))" > "$d/result.json"
}
for i in $(seq 1 10); do mk n1 "$i" pass; mk n2 "$i" "$([ "$i" -le 7 ] && echo lockup || echo pass)"; done
printf 'name: nightly\nconfig: {guest: hvm}\nkernels: [k1]\nworkloads: [smoke]\nrepeats: 10\n' > "$T/m.yaml"
for store in "$MX" "sqlite:$T/mx.db"; do
  "$BLACKOUT" results --results "$T/mx" --store "$store" import >/dev/null || fail "matrix runs into $store"
  "$BLACKOUT" matrix -c "$T/m.yaml" --id n1 --baseline none --compare-only --results "$T/mx" --store "$store" \
    >/dev/null || fail "night 1 on $store"
  "$BLACKOUT" matrix -c "$T/m.yaml" --id n2 --compare-only --json --results "$T/mx" --store "$store" \
    > "$T/n2-${store%%:*}.json"
  rc=$?
  [ "$rc" = 1 ] || fail "night 2 on $store exited $rc, want 1 (a regression)"
done
jq -e '.baseline == "n1" and .regressions == 1' "$T/n2-postgresql.json" >/dev/null ||
  fail "matrix on PostgreSQL: $(cat "$T/n2-postgresql.json")"
cmp -s "$T/n2-postgresql.json" "$T/n2-sqlite.json" || fail "matrix comparison differs between PostgreSQL and SQLite"

# Bad URLs: a clear message, the password never printed, nothing created.
out=$("$BLACKOUT" results --store "postgresql://blackout:sekrit@/nosuchdb?host=$PG_DIR" 2>&1); rc=$?
[ "$rc" != 0 ] || fail "a missing database was opened"
echo "$out" | grep -q 'database "nosuchdb" does not exist' || fail "missing database: $out"
echo "$out" | grep -q sekrit && fail "the password was printed: $out"
pg_cluster_createdb empty
out=$("$BLACKOUT" results --store "$(pg_cluster_url empty)" 2>&1); rc=$?
[ "$rc" != 0 ] || fail "an empty database read as a store"
echo "$out" | grep -q "no blackout store there yet" || fail "empty database: $out"
[ "$(psql -X -A -t "$(pg_cluster_url empty)" -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" = 0 ] ||
  fail "a reading command created tables"
out=$("$BLACKOUT" results --store "mysql://x/y" 2>&1); rc=$?
[ "$rc" = 64 ] || fail "--store mysql:// exited $rc, want 64"
echo "$out" | grep -q "is neither postgresql://" || fail "bad scheme: $out"
out=$(timeout 60 "$BLACKOUT" results --store "postgresql://blackout@127.0.0.1:1/x" 2>&1); rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "an unreachable server: exit $rc"
echo "$out" | grep -qi "connect" || fail "unreachable server: $out"
echo "PASS pg store"
