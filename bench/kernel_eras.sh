#!/usr/bin/env bash
# Kernels of every era, each next to its baseline measured in the same run
# (linux-image-amd64 from the host's apt under Xen 4.17, blackout's default):
#   - fetch per release, cold (an empty cache: the archive's index through
#     blackout's own apt state, apt-get download, unpack, depmod, vmlinux) and
#     warm (cached), through `blackout kernels fetch`;
#   - per kernel x Xen pair (xen-pv-dom0, the default workload for 10 s: its
#     disk and module closure): boot to the first heartbeat, and the size of
#     the initramfs (agent, tools, the kernel's module closure).
#   bench/kernel_eras.sh [KERNEL:XEN ...]
# default pairs: debian-11:xen-4.17 debian-12:xen-4.14 debian-12:xen-4.20
# debian-13:xen-4.17 (each a catalogue name or a package)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
BLACKOUT=$PWD/build/bin/blackout
T=$(mktemp -d /tmp/blackout-bench-XXXXXX)
trap 'rm -rf "$T"' EXIT
pairs=("$@")
[ ${#pairs[@]} -gt 0 ] || pairs=(debian-11:xen-4.17 debian-12:xen-4.14 debian-12:xen-4.20 debian-13:xen-4.17)
pairs=(linux-image-amd64:xen-4.17 "${pairs[@]}")
for p in "${pairs[@]}"; do
  case "$p" in
    *:*) ;;
    *) echo "bench: '$p' is not KERNEL:XEN (e.g. debian-11:xen-4.17)" >&2; exit 64 ;;
  esac
  if bench_checking; then
    bench_run "$BLACKOUT" --kernel "${p%%:*}" --xen "${p#*:}" --workload pv-spinlock-race --duration 10s \
      --results "$T/r" >/dev/null
  fi
done
if bench_checking; then exit 0; fi

now() { date +%s.%N; }
since() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.1f", a - b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
export XDG_CACHE_HOME="$T/cache"
printf '%-40s %9s %9s %7s\n' step value baseline ratio
declare -A seen
base_cold=""
for p in "${pairs[@]}"; do
  k=${p%%:*}
  [ -z "${seen[$k]:-}" ] || continue
  seen[$k]=1
  t=$(now); "$BLACKOUT" -q kernels fetch "$k" >/dev/null; cold=$(since "$t")
  t=$(now); "$BLACKOUT" -q kernels fetch "$k" >/dev/null; warm=$(since "$t")
  [ -n "$base_cold" ] || base_cold=$cold
  printf '%-40s %9s %9s %7s\n' "fetch $k, cold (s)" "$cold" "$base_cold" "$(ratio "$cold" "$base_cold")"
  printf '%-40s %9s %9s %7s\n' "fetch $k, warm (s)" "$warm" "$cold" "$(ratio "$warm" "$cold")"
done
base_hb="" base_img=""
for p in "${pairs[@]}"; do
  rm -rf "$T/r"
  # The first run of a Xen fetches it: a second run is the one measured.
  "$BLACKOUT" -q run --kernel "${p%%:*}" --xen "${p#*:}" --workload smoke --duration 1s --results "$T/r" >/dev/null || true
  rm -rf "$T/r"
  rc=0
  "$BLACKOUT" -q run --kernel "${p%%:*}" --xen "${p#*:}" --workload pv-spinlock-race --duration 10s \
    --results "$T/r" >/dev/null || rc=$?
  res=$(ls "$T"/r/*/result.json)
  [ "$rc" -eq 0 ] || { echo "bench: $p did not pass (exit $rc): $(jq -r .title "$res")" >&2; exit 1; }
  hb=$(jq -r '.timings.first_heartbeat_s * 100 | round / 100' "$res")
  img=$(jq -r '.boot.initramfs_bytes' "$res")
  [ -n "$base_hb" ] || { base_hb=$hb; base_img=$img; }
  printf '%-40s %9s %9s %7s\n' "$p first heartbeat (s)" "$hb" "$base_hb" "$(ratio "$hb" "$base_hb")"
  printf '%-40s %9s %9s %7s\n' "$p initramfs (KiB)" "$((img / 1024))" "$((base_img / 1024))" "$(ratio "$img" "$base_img")"
done
echo "baseline: linux-image-amd64 from the host's apt under xen-4.17 (the catalogue's releases come through blackout's own apt state)"
