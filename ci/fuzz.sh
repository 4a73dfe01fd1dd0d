#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in build-fuzz/ and
# runs each for a bounded time (default 60 s): console_fuzz (the console
# parser, seeded with the golden console logs and harness/detect/testdata/fuzz/,
# which holds sealed records and the inputs of past findings, replayed first as
# regressions) and records_fuzz (the agent's records, each sealed with a valid
# CRC and nonce so it reaches the record parsers; seeds in
# harness/detect/testdata/fuzz-records/). Exits non-zero on any crash, leak,
# sanitizer report or memory blow-up, printing the report and leaving the
# input in build-fuzz/findings/.
#   ci/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DBLACKOUT_FUZZ=ON >/dev/null
cmake --build build-fuzz --target console_fuzz records_fuzz -j "$(nproc)" >/dev/null
mkdir -p build-fuzz/findings
# fuzz TARGET CORPUS REGRESSIONS...
fuzz() {
  local target=$1 corpus=$2
  shift 2
  local bin=build-fuzz/harness/$target log=build-fuzz/$target.log status=0
  if [ "$#" -gt 0 ]; then "$bin" -rss_limit_mb=2048 "$@" >"$log" 2>&1 || status=$?; fi
  if [ "$status" -eq 0 ]; then
    "$bin" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix=build-fuzz/findings/ "$corpus" >"$log" 2>&1 || status=$?
  fi
  if [ "$status" -ne 0 ]; then
    grep -v '^#[0-9]*\s*\(NEW\|REDUCE\|pulse\|INITED\|RELOAD\)' "$log" | tail -60
    echo "ci/fuzz.sh: $target failed (exit $status); inputs in build-fuzz/findings/"
    exit "$status"
  fi
  echo "$target:"
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "$log"
  grep -E 'cov: [0-9]+' "$log" | tail -1
}
mkdir -p build-fuzz/console-corpus build-fuzz/records-corpus
cp harness/detect/testdata/console/*.log harness/detect/testdata/fuzz/* build-fuzz/console-corpus/
cp harness/detect/testdata/fuzz-records/* build-fuzz/records-corpus/
fuzz console_fuzz build-fuzz/console-corpus harness/detect/testdata/fuzz/*
fuzz records_fuzz build-fuzz/records-corpus harness/detect/testdata/fuzz-records/*
