#!/usr/bin/env bash
# Time and peak memory to index N run directories into the results store
# (blackout results import) and to render reports over all of them, next to
# the floor measured in the same run: jq reading and parsing the same N
# result.json files once.
#   bench/results_ingest.sh [N]   (default 10000)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
n=${1:-10000}
bench_count N "$n"
B=build/bin/blackout
T=$(mktemp -d /tmp/blackout-bench-XXXXXX)
trap 'rm -rf "$T"' EXIT
build/bench/store_perftest gen "$T/results" "$n"
find "$T/results" -name result.json -exec cat {} + > /dev/null  # warm the page cache

# measure NAME COMMAND...: wall seconds and peak RSS (KiB) of the command.
declare -A secs kib
measure() {
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$T/time" "$@" > /dev/null
  read -r secs[$name] kib[$name] < "$T/time"
}
measure floor sh -c "find '$T/results' -name result.json -print0 | xargs -0 jq -c '.verdict' > /dev/null"
measure ingest "$B" results --results "$T/results" import
measure list "$B" results --results "$T/results" --json
measure html "$B" report --results "$T/results" -o "$T/report.html"
measure junit "$B" report --results "$T/results" --format junit -o "$T/junit.xml"
measure kcidb "$B" report --results "$T/results" --format kcidb -o "$T/kcidb.json"
[ "$("$B" results --results "$T/results" --json | jq length)" = "$n" ] || { echo "store does not hold $n runs"; exit 1; }
printf "runs: %d, store %s, html %s\n" "$n" "$(du -h "$T/results/blackout.db" | cut -f1)" "$(du -h "$T/report.html" | cut -f1)"
for k in floor ingest list html junit kcidb; do
  awk -v k="$k" -v s="${secs[$k]}" -v m="${kib[$k]}" -v f="${secs[floor]}" \
    'BEGIN { printf "%-8s %7.2fs %8.1f MiB peak   ratio to floor %.2f\n", k, s, m / 1024, s / f }'
done
