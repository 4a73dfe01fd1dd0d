#!/usr/bin/env bash
# Kernel fetch and build times, each next to its baseline measured in the same
# run:
#   - a package kernel: cold fetch (apt-get download + unpack + vmlinux, into
#     an empty cache) and warm (cached) through `blackout kernels fetch`;
#   - a git kernel (Debian's linux-source-6.1 in a git repository, tinyconfig +
#     kernels/configs/xen-pv-guest.config): blackout's cold build, incremental
#     rebuild after one .c file is touched, and a ccache-warm rebuild in a fresh
#     build directory, against the same `make` steps run by hand (no ccache).
#   bench/kernel_build.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
BLACKOUT=$PWD/build/bin/blackout
T=$(mktemp -d /tmp/blackout-bench-XXXXXX)
trap 'rm -rf "$T"' EXIT
now() { date +%s.%N; }
since() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.1f", a - b }'; }
frag=kernels/configs/xen-pv-guest.config
build() {  # blackout builds HEAD (kernels fetch with a git spec, via a config)
  printf 'kernel: {git: %s, rev: HEAD}\nworkload: {name: idle, duration: 1s}\n' "$T/linux" > "$T/c.yaml"
  bench_run "$BLACKOUT" -c "$T/c.yaml" --results "$T/r" >/dev/null || true
}
if bench_checking; then
  "$BLACKOUT" kernels fetch --help > /dev/null
  [ -f "$frag" ] || { echo "bench: $frag is missing" >&2; exit 64; }
  git init -q "$T/linux"
  build
  exit 0
fi

# Package kernel.
export XDG_CACHE_HOME="$T/cache"
t=$(now); "$BLACKOUT" -q kernels fetch linux-image-amd64 >/dev/null; fetch_cold=$(since "$t")
t=$(now); "$BLACKOUT" -q kernels fetch linux-image-amd64 >/dev/null; fetch_warm=$(since "$t")

# The tree.
( cd "$T" && apt-get download -q linux-source-6.1 >/dev/null )
mkdir "$T/pkg" && dpkg-deb -x "$T"/linux-source-6.1_*.deb "$T/pkg"
mkdir "$T/linux" && tar -xJf "$T"/pkg/usr/src/linux-source-6.1.tar.xz -C "$T/linux" --strip-components=1
rm -rf "$T/pkg" "$T"/linux-source-6.1_*.deb
git -C "$T/linux" init -q && git -C "$T/linux" add -f -A  # Debian's .gitignore ignores the top level
git -C "$T/linux" -c user.name=b -c user.email=b@b commit -q -m base
commit() { git -C "$T/linux" -c user.name=b -c user.email=b@b commit -q -am "$1"; }

t=$(now); build; cold=$(since "$t")
echo '/* bench */' >> "$T/linux/kernel/sys.c"; commit touch1
t=$(now); build; incr=$(since "$t")
rm -rf "$XDG_CACHE_HOME"/blackout/git-build "$XDG_CACHE_HOME"/blackout/git
t=$(now); build; warm=$(since "$t")

# By hand: the same steps, no ccache, a fresh O= directory.
out="$T/hand"
t=$(now)
make -s -C "$T/linux" O="$out" tinyconfig >/dev/null
"$T/linux/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "$frag" >/dev/null
make -s -C "$T/linux" O="$out" olddefconfig >/dev/null
make -s -C "$T/linux" O="$out" -j"$(nproc)" bzImage >/dev/null 2>&1
hand_cold=$(since "$t")
echo '/* bench */' >> "$T/linux/kernel/sys.c"
t=$(now); make -s -C "$T/linux" O="$out" -j"$(nproc)" bzImage >/dev/null 2>&1; hand_incr=$(since "$t")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
printf '%-44s %9s %9s %7s\n' step blackout baseline ratio
printf '%-44s %9s %9s %7s\n' "package kernel fetch, cold (empty cache)" "$fetch_cold" - -
printf '%-44s %9s %9s %7s\n' "package kernel fetch, warm (cached)" "$fetch_warm" "$fetch_cold" "$(ratio "$fetch_warm" "$fetch_cold")"
printf '%-44s %9s %9s %7s\n' "git build, cold (+1s idle boot)" "$cold" "$hand_cold" "$(ratio "$cold" "$hand_cold")"
printf '%-44s %9s %9s %7s\n' "git build, one .c touched (+1s idle boot)" "$incr" "$hand_incr" "$(ratio "$incr" "$hand_incr")"
printf '%-44s %9s %9s %7s\n' "git build, fresh dir, ccache warm (+boot)" "$warm" "$hand_cold" "$(ratio "$warm" "$hand_cold")"
echo "baseline: the same make steps by hand without ccache (cold: tinyconfig, merge_config.sh, olddefconfig, bzImage)"
