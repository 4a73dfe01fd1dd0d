#!/usr/bin/env bash
# Detector throughput on a large console log, next to `grep -E -c` with the
# same report patterns on the same file (the baseline, measured in this run).
#   bench/detector_throughput.sh [SIZE_MB]   (default 200)
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-200}
T=$(mktemp -d /tmp/blackout-bench-XXXXXX)
trap 'rm -rf "$T"' EXIT
# A large log from the real runs' console logs (heartbeats, kernel messages,
# reports), repeated.
while [ "$(stat -c %s "$T/big.log" 2>/dev/null || echo 0)" -lt $((size_mb * 1000000)) ]; do
  for f in harness/detect/testdata/console/*.log; do tail -n +5 "$f" >> "$T/big.log"; done
done
build/bench/detector_perftest --patterns > "$T/patterns.ere"
cat "$T/big.log" > /dev/null  # warm the page cache for both
t0=$(date +%s.%N)
out=$(build/bench/detector_perftest "$T/big.log")
t1=$(date +%s.%N)
matches=$(grep -E -c -f "$T/patterns.ere" "$T/big.log")
t2=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" -v c="$t2" -v mb="$(stat -c %s "$T/big.log")" -v out="$out" -v m="$matches" 'BEGIN {
  d = b - a; g = c - b; mb /= 1e6;
  printf "log: %.0f MB\n", mb;
  printf "%-34s %8.2fs %8.1f MB/s   (%s)\n", "blackout detector (RE2 set, live)", d, mb / d, out;
  printf "%-34s %8.2fs %8.1f MB/s   (%d matching lines)\n", "grep -E -c -f patterns", g, mb / g, m;
  printf "ratio detector/grep (time): %.2f\n", d / g;
}'
