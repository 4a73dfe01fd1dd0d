#!/usr/bin/env bash
# A kernel built from git boots and passes: Debian's linux-source-6.1 package,
# unpacked into a git repository in the test's scratch, built by blackout with
# tinyconfig + kernels/configs/xen-pv-guest.config (out of tree, ccache, its
# =m options built and installed with depmod), boots as the Xen PV guest and
# passes the default workload (its disk through the kernel's own virtio
# modules, ext4), its result naming the kernel by release and commit; the
# same kernel boots as hvm through its bzImage (no PVH entry in this config).
# A fragment option olddefconfig drops is a config error (exit 64, recorded
# as such). Then a one-file change, committed, rebuilds incrementally in the
# same build directory: only that file and the link steps are compiled again.
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
workload: {name: pv-spinlock-race, duration: 20s}
YAML
)
t0=$(date +%s)
"$BLACKOUT" run -c "$cfg" --results "$T/results"
rc=$?
cold=$(( $(date +%s) - t0 ))
[ "$rc" -eq 0 ] || fail "exit $rc, want 0 (pass)"
commit=$(git -C "$T/linux" rev-parse HEAD)
check ".kernel.version == \"$commit\" and .kernel.xen_pv == true and .workload_done == true"
check ".kernel.id | startswith(\"$(jq -r .kernel.release "$(result)")@${commit:0:12}:\")"
check '.boot.kernel_image | endswith("/vmlinux")'
log=$(ls "$XDG_CACHE_HOME"/blackout/git-build/*/logs/"$commit".log)
grep -q 'CC ' "$log" || fail "no compile in the build log $log"
grep -q 'virtio_blk.ko' "$log" || fail "virtio_blk was not built as a module: $log"
ls "$XDG_CACHE_HOME"/blackout/git/"$commit"_*/lib/modules/*/modules.dep >/dev/null || fail "no modules installed"

# hvm: the same kernel without Xen, its bzImage through the boot protocol.
rm -rf "$T/results"
hvm="$T/hvm.yaml"  # config() writes run.yaml, which the incremental step below uses
cat > "$hvm" <<YAML
kernel: {git: $T/linux, rev: HEAD}
guest: hvm
workload: {name: pv-spinlock-race, duration: 20s}
YAML
"$BLACKOUT" run -c "$hvm" --results "$T/results" || fail "hvm: exit $?, want 0 (pass)"
check '.verdict == "pass" and (.boot.kernel_image | endswith("/bzImage"))'

# A fragment whose option cannot survive olddefconfig: a config error.
echo 'CONFIG_NFS_FS=y' > "$T/dropped.config"  # needs INET, which this config lacks
rm -rf "$T/results"
bad="$T/bad.yaml"
cat > "$bad" <<YAML
kernel: {git: $T/linux, rev: HEAD, config: {fragments: [xen-pv-guest, $T/dropped.config]}}
workload: smoke
YAML
"$BLACKOUT" run -c "$bad" --results "$T/results" > "$T/bad.out" 2>&1
rc=$?
[ "$rc" -eq 64 ] || fail "dropped option: exit $rc, want 64: $(tail -3 "$T/bad.out")"
grep -q '^config error: kernel config lacks CONFIG_NFS_FS=y (resolved: n) after olddefconfig' "$T/bad.out" ||
  fail "the dropped option is not named: $(tail -3 "$T/bad.out")"
check '.config_error == true'
rm -rf "$T/results"

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
