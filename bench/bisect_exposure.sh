#!/usr/bin/env bash
# A real bisection, twice: the coin engine (p unknown) and the exposure engine
# (`model: exposure`) over the same CANDIDATES boots of the default kernel,
# where from the 5th on a vCPU freezes for good at an exponential time with
# mean MEAN_S after the workload starts (a lockup after 6 s of silence). Runs
# last up to MAX_S of workload. MODE `series` (the default) lists the
# candidates in the plan; `git` makes a git repository of CANDIDATES commits
# whose build step leaves the default kernel and, from the 5th commit on, the
# workload file with the fault, and bisects its history. Prints each
# bisection's runs, guest time (the runs' total_s from result.json, boot and
# evidence included) and answer, and the ratio coin / exposure in guest time.
#   bench/bisect_exposure.sh [CANDIDATES] [MEAN_S] [MAX_S] [MODE]   (default 8 15 120 series)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
n=${1:-8}; mean=${2:-15}; max=${3:-120}; mode=${4:-series}
bench_count CANDIDATES "$n"; bench_count MEAN_S "$mean"; bench_count MAX_S "$max"
[ "$n" -ge 6 ] || { echo "bench: CANDIDATES must be at least 6" >&2; exit 64; }
case "$mode" in series|git) ;; *) echo "bench: MODE must be series or git, not '$mode'" >&2; exit 64 ;; esac
B=build/bin/blackout
T=$(mktemp -d /tmp/blackout-bench-XXXXXX)
trap 'rm -rf "$T"' EXIT
fault="{kind: freeze, vcpu: 1, at: 0s, delay_mean: ${mean}s, length: 3600s}"
plan() {  # plan MODEL
  echo "run:"
  echo "  workload: {name: smoke, duration: ${max}s}"
  echo "  thresholds: {lockup: 6s}"
  echo "bisect: {terms: regression, model: $1, alpha: 0.01}"
  if [ "$mode" = git ]; then
    echo "git: {repo: $T/repo, good: first, bad: HEAD, build: ./build.sh, image: out/bzImage, config: out/config,"
    echo "      workload: out/workload.yaml}"
    return
  fi
  echo "series:"
  for ((i = 0; i < n; i++)); do
    if [ "$i" -ge 5 ]; then
      echo "  - {name: c$i, workload: {faults: [$fault]}}"
    else
      echo "  - {name: c$i}"
    fi
  done
}
# git mode: commit i of CANDIDATES; the build copies the default kernel.
make_repo() {
  local image=/nonexistent/vmlinuz config=/nonexistent/config kdir i
  if ! bench_checking; then
    # The directory `kernels fetch` says it unpacked the kernel into.
    kdir=$("$B" -q kernels fetch linux-image-amd64 | sed -n 's/^cached: *//p')
    [ -d "$kdir" ] || { echo "bench: cannot fetch the default kernel" >&2; exit 1; }
    image=$(ls "$kdir"/boot/vmlinuz-* | head -1)
    config=$(ls "$kdir"/boot/config-* | head -1)
  fi
  mkdir -p "$T/repo" && git -C "$T/repo" init -q
  cat > "$T/repo/build.sh" <<SH
#!/bin/sh
set -e
mkdir -p out
cp "$image" out/bzImage
cp "$config" out/config
if [ -f bug ]; then printf 'faults: [$fault]\n' > out/workload.yaml; fi
SH
  chmod +x "$T/repo/build.sh"
  for ((i = 0; i < n; i++)); do
    echo "$i" > "$T/repo/n"
    [ "$i" = 5 ] && echo "the bug" > "$T/repo/bug"
    git -C "$T/repo" add -A
    git -C "$T/repo" -c user.name=bench -c user.email=bench@localhost commit -q -m "commit $i"
    [ "$i" = 0 ] && git -C "$T/repo" tag first
  done
  culprit=$(git -C "$T/repo" rev-list --reverse first..HEAD | sed -n 5p)
  echo "the culprit is commit 5, ${culprit:0:12}"
}
if [ "$mode" = git ]; then make_repo; fi
if bench_checking; then
  for m in coin exposure; do
    plan "$m" > "$T/$m.yaml"
    "$B" bisect start --check -c "$T/$m.yaml" >&2 || { echo "bench: this plan does not check" >&2; exit 64; }
  done
  exit 0
fi
for m in coin exposure; do
  plan "$m" > "$T/$m.yaml"
  t0=$(date +%s)
  "$B" -q bisect --results "$T/$m" start -c "$T/$m.yaml" > "$T/$m.out" || true
  t1=$(date +%s)
  runs=$(find "$T/$m" -name result.json | wc -l)
  guest=$(find "$T/$m" -name result.json -exec jq -r '.timings.total_s // 0' {} + | awk '{ s += $1 } END { printf "%.0f", s }')
  top=$(grep -A1 '^top candidates:' "$T/$m.out" | tail -1 | sed 's/^ *//')
  printf '%-9s runs %3d  guest %6.1f min  wall %5.1f min  top: %s\n' "$m" "$runs" "$(echo "$guest / 60" | bc -l)" \
    "$(echo "($t1 - $t0) / 60" | bc -l)" "$top"
  echo "$guest" > "$T/$m.guest"
done
awk -v c="$(cat "$T/coin.guest")" -v e="$(cat "$T/exposure.guest")" \
  'BEGIN { printf "ratio coin/exposure (guest time): %.2f\n", (e > 0 ? c / e : 0) }'
