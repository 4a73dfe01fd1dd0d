#!/usr/bin/env bash
# Builds the console parser's libFuzzer target with clang (ASan + UBSan) in
# build-fuzz/ and runs it for a bounded time (default 60 s), seeded with the
# golden console logs and the inputs of past findings (harness/detect/testdata/fuzz/,
# which are also replayed first as regressions). Exits non-zero on any crash,
# leak, sanitizer report or memory blow-up, printing the report and leaving the
# input in build-fuzz/findings/.
#   ci/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DBLACKOUT_FUZZ=ON >/dev/null
cmake --build build-fuzz --target console_fuzz -j "$(nproc)" >/dev/null
fuzz=build-fuzz/harness/console_fuzz
mkdir -p build-fuzz/console-corpus build-fuzz/findings
cp harness/detect/testdata/console/*.log harness/detect/testdata/fuzz/* build-fuzz/console-corpus/
log=build-fuzz/fuzz.log
status=0
"$fuzz" -rss_limit_mb=2048 harness/detect/testdata/fuzz/* >"$log" 2>&1 || status=$?
if [ "$status" -eq 0 ]; then
  "$fuzz" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix=build-fuzz/findings/ build-fuzz/console-corpus >"$log" 2>&1 || status=$?
fi
if [ "$status" -ne 0 ]; then
  grep -v '^#[0-9]*\s*\(NEW\|REDUCE\|pulse\|INITED\|RELOAD\)' "$log" | tail -60
  echo "ci/fuzz.sh: the fuzzer failed (exit $status); inputs in build-fuzz/findings/"
  exit "$status"
fi
tail -8 "$log"
