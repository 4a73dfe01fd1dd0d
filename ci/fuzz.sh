#!/usr/bin/env bash
# Builds the console parser's libFuzzer target with clang (ASan + UBSan) in
# build-fuzz/ and runs it for a bounded time (default 60 s), seeded with the
# golden console logs. Exits non-zero on any crash, leak or sanitizer report.
#   ci/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DBLACKOUT_FUZZ=ON >/dev/null
cmake --build build-fuzz --target console_fuzz -j "$(nproc)" >/dev/null
corpus=build-fuzz/console-corpus
mkdir -p "$corpus"
cp harness/testdata/console/*.log "$corpus/"
build-fuzz/harness/console_fuzz -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
  -print_final_stats=1 "$corpus" 2>&1 | tail -15
