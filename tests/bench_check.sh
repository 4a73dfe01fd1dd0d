#!/usr/bin/env bash
# Benches must not rot: every script in bench/ is run here, in the unit tier.
# Scripts that boot guests or build kernels run in check mode (BENCH_CHECK=1,
# bench/lib.sh): their arguments and every run they would make are checked
# with `blackout run --check`, nothing is booted. The others run for real at a
# tiny size. Each script's defaults must pass, and a wrong argument must stop
# it with exit 64. A script not listed here fails the test: add it.
#   tests/bench_check.sh   (from anywhere; the build is build/ in the checkout)
set -uo pipefail
cd "$(dirname "$0")/.."
[ -x build/bin/blackout ] || { echo "FAIL: build/bin/blackout is not built" >&2; exit 1; }
fail() { echo "FAIL: $*" >&2; exit 1; }
out=$(mktemp /tmp/blackout-benchcheck-XXXXXX)
trap 'rm -f "$out"' EXIT

# expect CODE SCRIPT ARGS...: the script exits CODE.
expect() {
  local want=$1 script=$2 got
  shift 2
  "bench/$script" "$@" > "$out" 2>&1
  got=$?
  if [ "$got" != "$want" ]; then
    tail -20 "$out" >&2
    fail "bench/$script $* exited $got, not $want"
  fi
  echo "ok: bench/$script $* (exit $got)"
}

for path in bench/*.sh; do
  script=$(basename "$path")
  case "$script" in
    lib.sh) ;;
    # Check mode: defaults, other sizes, and what must be refused.
    spine_overhead.sh)
      BENCH_CHECK=1 expect 0 "$script"
      BENCH_CHECK=1 expect 0 "$script" build/bin/blackout smoke 10s
      BENCH_CHECK=1 expect 64 "$script" build/bin/blackout no-such-workload
      BENCH_CHECK=1 expect 64 "$script" build/bin/blackout smoke 10parsecs ;;
    guest_boot.sh | xen_host.sh)
      BENCH_CHECK=1 expect 0 "$script"
      BENCH_CHECK=1 expect 0 "$script" 1
      BENCH_CHECK=1 expect 64 "$script" three ;;
    workload_rates.sh)
      BENCH_CHECK=1 expect 0 "$script"
      BENCH_CHECK=1 expect 0 "$script" 5s
      BENCH_CHECK=1 expect 64 "$script" 5x ;;
    matrix_overhead.sh)
      BENCH_CHECK=1 expect 0 "$script"
      BENCH_CHECK=1 expect 0 "$script" 2 10s xen-pv-domu
      BENCH_CHECK=1 expect 0 "$script" 2 60s xen-pv-dom0 pv-spinlock-race
      BENCH_CHECK=1 expect 64 "$script" 2 10s hvm no-such-workload
      BENCH_CHECK=1 expect 64 "$script" 2 10s no-such-guest
      BENCH_CHECK=1 expect 64 "$script" 0 ;;
    libvirt_fleet.sh)
      BENCH_CHECK=1 expect 0 "$script"
      BENCH_CHECK=1 expect 0 "$script" 1 2
      BENCH_CHECK=1 expect 64 "$script" 1 0 ;;
    kernel_build.sh)
      BENCH_CHECK=1 expect 0 "$script" ;;
    kernel_eras.sh)
      BENCH_CHECK=1 expect 0 "$script"
      BENCH_CHECK=1 expect 0 "$script" debian-13:xen-4.20
      BENCH_CHECK=1 expect 64 "$script" debian-13
      BENCH_CHECK=1 expect 64 "$script" debian-13:no-such-xen ;;
    bisect_exposure.sh)
      BENCH_CHECK=1 expect 0 "$script"
      BENCH_CHECK=1 expect 0 "$script" 6 10 60
      BENCH_CHECK=1 expect 0 "$script" 6 10 60 git
      BENCH_CHECK=1 expect 64 "$script" 6 10 60 bzr
      BENCH_CHECK=1 expect 64 "$script" 5 ;;
    # For real, tiny.
    detector_throughput.sh)
      expect 0 "$script" 1
      grep -q "ratio analyze/grep" "$out" || fail "detector_throughput printed no ratio"
      expect 64 "$script" 1MB ;;
    title_agreement.sh)
      # blackout's own golden logs carry the same TITLE: header.
      expect 0 "$script" harness/detect/testdata/console
      grep -q "all titled kinds" "$out" || fail "title_agreement printed no total"
      expect 64 "$script" /nonexistent ;;
    bisect_simulate.sh)
      expect 0 "$script" 2
      grep -q "ratio" "$out" || fail "bisect_simulate printed no ratio"
      grep -q "coin/exposure" "$out" || fail "bisect_simulate printed no time-to-hang table"
      grep -q "assumes an exponential" "$out" || fail "bisect_simulate printed no steady-rate exposure engine" ;;
    results_ingest.sh)
      expect 0 "$script" 20
      expect 64 "$script" -5 ;;
    store_backends.sh)
      expect 0 "$script" 200 16
      expect 64 "$script" 200 4 ;;
    *) fail "bench/$script is not checked here: add it to tests/bench_check.sh" ;;
  esac
done
echo "every bench script checked"
