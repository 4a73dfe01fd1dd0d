#!/usr/bin/env bash
# A kernel built from git boots and passes: Debian's linux-source-6.1 package,
# unpacked into a git repository in the test's scratch, built by blackout with
# tinyconfig + kernels/configs/xen-pv-guest.config (out of tree, ccache), boots
# as the Xen PV guest and passes the smoke workload, its result naming the
# commit. Then a one-file change, committed, rebuilds incrementally in the same
# build directory: only that file and the link steps are compiled again.
. "$(dirname "$0")/lib.sh"
export XDG_CACHE_HOME="$T/cache"   # a fresh cache: the first build is cold
( cd "$T" && apt-get download -q linux-source-6.1 >/dev/null ) || fail "apt-get download linux-source-6.1"
mkdir "$T/pkg" && dpkg-deb -x "$T"/linux-source-6.1_*.deb "$T/pkg"
mkdir "$T/linux" && tar -xJf "$T"/pkg/usr/src/linux-source-6.1.tar.xz -C "$T/linux" --strip-components=1
rm -rf "$T/pkg" "$T"/linux-source-6.1_*.deb
git -C "$T/linux" init -q && git -C "$T/linux" add -f -A  # Debian's .gitignore ignores the top level
git -C "$T/linux" -c user.name=t -c user.email=t@t commit -q -m "linux-source-6.1" || fail "git commit"
cfg=$(config <<YAML
kernel: {git: $T/linux, rev: HEAD}
workload: smoke
YAML
)
t0=$(date +%s)
"$BLACKOUT" run -c "$cfg" --results "$T/results"
rc=$?
cold=$(( $(date +%s) - t0 ))
[ "$rc" -eq 0 ] || fail "exit $rc, want 0 (pass)"
commit=$(git -C "$T/linux" rev-parse HEAD)
check ".kernel.version == \"$commit\" and .kernel.xen_pv == true"
log=$(ls "$XDG_CACHE_HOME"/blackout/git-build/*/logs/"$commit".log)
grep -q 'CC ' "$log" || fail "no compile in the build log $log"

# One .c file changes: the same build directory recompiles just that.
echo '/* blackout incremental build test */' >> "$T/linux/kernel/sys.c"
git -C "$T/linux" -c user.name=t -c user.email=t@t commit -q -am "touch kernel/sys.c"
rm -rf "$T/results"
t0=$(date +%s)
"$BLACKOUT" run -c "$cfg" --results "$T/results"
rc=$?
incremental=$(( $(date +%s) - t0 ))
[ "$rc" -eq 0 ] || fail "incremental: exit $rc, want 0 (pass)"
commit2=$(git -C "$T/linux" rev-parse HEAD)
check ".kernel.version == \"$commit2\""
log2=$(ls "$XDG_CACHE_HOME"/blackout/git-build/*/logs/"$commit2".log)
compiled=$(grep -c '^  CC ' "$log2" || true)
grep -q '^  CC      kernel/sys.o' "$log2" || fail "kernel/sys.c was not recompiled"
[ "$compiled" -le 10 ] || fail "incremental build compiled $compiled files, want only the changed one (and version files)"
echo "PASS git kernel: cold build+boot ${cold}s, incremental build+boot ${incremental}s ($compiled files compiled)"
