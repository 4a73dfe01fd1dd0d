#!/usr/bin/env bash
# pvgrub: GRUB's Xen PV build (Debian's grub-xen-host) is the domU's kernel;
# it reads the image's own /boot/grub/grub.cfg from the domU's disks and
# boots its entry, initrd and all. Debian's kernels are lz4-packed, which
# GRUB's Xen loader cannot unpack (blackout refuses that, see
# image_pygrub_domu_passes), so this test repacks the built image's kernel
# as a gzip'd vmlinux in a raw copy of the image, the way older
# distributions shipped kernels pvgrub boots. The smoke workload passes and
# the copy is never written by the run.
. "$(dirname "$0")/lib.sh"
"$BLACKOUT" images build debian-12 --json > "$T/image.json" || fail "images build debian-12 failed"
img=$(jq -r .path "$T/image.json")
release=$(jq -r .kernel_release "$T/image.json")
raw="$T/gzip-kernel.raw"
fsarg="$raw?offset=1048576"
qemu-img convert -f qcow2 -O raw "$img" "$raw" || fail "qemu-img convert"
debugfs -R "dump /boot/vmlinuz-$release $T/vmlinuz" "$fsarg" 2>/dev/null
python3 - "$T/vmlinuz" "$T/payload.lz4" <<'PY' || fail "no bzImage payload in /boot/vmlinuz-$release"
import struct, sys
d = open(sys.argv[1], 'rb').read()
setup = d[0x1f1] or 4
off, length = struct.unpack('<II', d[0x248:0x250])
start = (setup + 1) * 512 + off
open(sys.argv[2], 'wb').write(d[start:start + length])
PY
lz4 -dc "$T/payload.lz4" 2>/dev/null | gzip -1 > "$T/vmlinux.gz"
[ "$(gzip -dc "$T/vmlinux.gz" | head -c 4 | od -An -c | tr -d ' ')" = '177ELF' ] || fail "the payload is not an lz4'd ELF"
debugfs -w -R "rm /boot/vmlinuz-$release" "$fsarg" 2>/dev/null
debugfs -w -R "write $T/vmlinux.gz /boot/vmlinuz-$release" "$fsarg" > /dev/null 2>&1
sha=$(sha256sum "$raw" | cut -d' ' -f1)
cfg=$(config <<EOF2
guest: {type: xen-pv-domu, image: $raw, bootloader: pvgrub, memory: 1G}
workload: {name: smoke, duration: 5s}
EOF2
)
"$BLACKOUT" run -c "$cfg" --results "$T/results"
rc=$?
[ "$rc" -eq 0 ] || fail "exit $rc, want 0 (pass)"
check '.verdict == "pass"'
check '.boot.bootloader == "pvgrub" and (.boot.pvgrub | startswith("grub-xen-host=")) and .image.kernel_compression == "gzip"'
check '.stats.heartbeats > 30 and (.freezes | length) == 0'
console="$(run_dir)console.log"
grep -q "domU| .*Booting .Debian GNU/Linux, $release" "$console" || fail "pvgrub did not boot the image's grub.cfg entry"
grep -q "hello vcpus=2 kernel=$release" "$console" || fail "no hello from the agent on the image's kernel"
[ "$(sha256sum "$raw" | cut -d' ' -f1)" = "$sha" ] || fail "the run wrote the image"
echo "PASS image pvgrub domU: $(jq -c '{first_heartbeat_s: .timings.first_heartbeat_s, heartbeats: .stats.heartbeats, kernel: .kernel.release}' "$(result)")"
