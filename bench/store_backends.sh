#!/usr/bin/env bash
# The results store on SQLite (the embedded default) and on PostgreSQL (a
# cluster this script starts in a temporary directory, as the tests do), each
# against the same operation done by hand with sqlite3 and psql (the floor):
#   - writes: runs recorded one transaction each, as runs end (W runs), and by
#     eight writers at once (W/8 each);
#   - reads over N runs: results --json (all), a filtered list, report
#     --format junit, compare of two kernels, against SELECTing the same
#     columns by hand.
#   bench/store_backends.sh [N=100000] [W=2000]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
N=${1:-100000}
W=${2:-2000}
bench_count N "$N"
bench_count W "$W"
[ "$W" -ge 8 ] || { echo "bench: W must be at least 8 (eight writers)" >&2; exit 64; }
B=build/bin/blackout
P=build/bench/store_perftest
. tests/pg_cluster.sh
T=$(mktemp -d /tmp/blackout-bench-XXXXXX)
trap 'pg_cluster_stop; rm -rf "$T"' EXIT
pg_cluster_start
for db in w wf c r; do pg_cluster_createdb "$db"; done

# run NAME COMMAND...: wall seconds of the command (stdout discarded).
declare -A secs
run() {
  local name=$1; shift
  /usr/bin/time -f "%e" -o "$T/time" "$@" > /dev/null
  secs[$name]=$(cat "$T/time")
}
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%8.0f runs/s", n / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%6.2f", a / b }'; }

# Writes, one transaction per run.
$P sql "$W" 1 > "$T/w.sql"
$P write "$T/floor.db" 0 > /dev/null  # an empty store with blackout's schema, for sqlite3
$P write "$(pg_cluster_url wf)" 0 > /dev/null
run sqlite_write $P write "$T/w.db" "$W"
run pg_write $P write "$(pg_cluster_url w)" "$W"
run sqlite3_write sqlite3 "$T/floor.db" ".read $T/w.sql"
run psql_write psql -q -X -v ON_ERROR_STOP=1 -f "$T/w.sql" "$(pg_cluster_url wf)"
# Eight writers at once, W/8 runs each.
$P write "$T/c.db" 0 > /dev/null
$P write "$(pg_cluster_url c)" 0 > /dev/null
run sqlite_8 bash -c 'for k in 1 2 3 4 5 6 7 8; do "$0" write "$1" "$2" 1 "w$k-" > /dev/null & done; wait' "$P" "$T/c.db" $((W / 8))
run pg_8 bash -c 'for k in 1 2 3 4 5 6 7 8; do "$0" write "$1" "$2" 1 "w$k-" > /dev/null & done; wait' "$P" "$(pg_cluster_url c)" $((W / 8))

# N runs in each store (batches of 1000), then the reads.
run sqlite_load $P write "$T/r.db" "$N" 1000
run pg_load $P write "$(pg_cluster_url r)" "$N" 1000
cols="id, path, started_at, verdict, title, kernel, kernel_version, workload, guest, accelerator, host, bisection, total_s, first_heartbeat_s, worst_gap_s, freeze_count, matrix, cell, matrix_repeat"
for side in sqlite pg; do
  if [ "$side" = sqlite ]; then S="sqlite:$T/r.db"; else S=$(pg_cluster_url r); fi
  run ${side}_list $B results --store "$S" --json
  run ${side}_filter $B results --store "$S" --kernel '6.1.0-53*' --verdict stall --json
  run ${side}_junit $B report --store "$S" --format junit
  run ${side}_compare $B compare --store "$S" 6.1.0-50-amd64 6.1.0-57-amd64
done
run sqlite3_list sqlite3 -json "$T/r.db" "SELECT $cols FROM runs ORDER BY started_at DESC, id DESC"
run psql_list psql -X -A -t -c "SELECT json_agg(r) FROM (SELECT $cols FROM runs ORDER BY started_at DESC, id DESC) r" "$(pg_cluster_url r)"
run sqlite3_result sqlite3 "$T/r.db" "SELECT result FROM runs ORDER BY started_at DESC, id DESC"
run psql_result psql -X -A -t -c "SELECT result FROM runs ORDER BY started_at DESC, id DESC" "$(pg_cluster_url r)"
n=$($B results --store "$(pg_cluster_url r)" --json | jq length)
[ "$n" = "$N" ] || { echo "PostgreSQL holds $n runs, want $N"; exit 1; }

printf 'writes, one transaction per run (%d runs)\n' "$W"
printf '  %-22s %s   ratio to sqlite3 by hand %s\n' "SQLite (blackout)" "$(rate "$W" "${secs[sqlite_write]}")" "$(ratio "${secs[sqlite_write]}" "${secs[sqlite3_write]}")"
printf '  %-22s %s\n' "sqlite3 by hand" "$(rate "$W" "${secs[sqlite3_write]}")"
printf '  %-22s %s   ratio to psql by hand %s\n' "PostgreSQL (blackout)" "$(rate "$W" "${secs[pg_write]}")" "$(ratio "${secs[pg_write]}" "${secs[psql_write]}")"
printf '  %-22s %s\n' "psql by hand" "$(rate "$W" "${secs[psql_write]}")"
printf '  %-22s %s   (8 processes)\n' "SQLite, 8 writers" "$(rate "$W" "${secs[sqlite_8]}")"
printf '  %-22s %s   (8 processes)\n' "PostgreSQL, 8 writers" "$(rate "$W" "${secs[pg_8]}")"
printf 'loading %d runs, 1000 per transaction: SQLite %ss, PostgreSQL %ss\n' "$N" "${secs[sqlite_load]}" "${secs[pg_load]}"
printf 'reads over %d runs          SQLite  PostgreSQL  (PostgreSQL / SQLite)\n' "$N"
for k in list filter junit compare; do
  printf '  %-22s %7.2fs %9.2fs   %s\n' "$k" "${secs[sqlite_$k]}" "${secs[pg_$k]}" "$(ratio "${secs[pg_$k]}" "${secs[sqlite_$k]}")"
done
printf '  %-22s %7.2fs %9.2fs   (floor of list: the same columns as JSON)\n' "by hand: columns" "${secs[sqlite3_list]}" "${secs[psql_list]}"
printf '  %-22s %7.2fs %9.2fs   (floor of junit: every stored result)\n' "by hand: results" "${secs[sqlite3_result]}" "${secs[psql_result]}"
printf 'list / floor: SQLite %s, PostgreSQL %s\n' "$(ratio "${secs[sqlite_list]}" "${secs[sqlite3_list]}")" "$(ratio "${secs[pg_list]}" "${secs[psql_list]}")"
