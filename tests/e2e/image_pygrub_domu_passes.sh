#!/usr/bin/env bash
# A cloud image built by `blackout images build` boots as a Xen PV domU the
# way a Xen host boots its customers' images: pygrub (from Xen's own
# toolstack package) takes the kernel and initrd out of the image's
# /boot/grub/grub.cfg, dom0 starts the domU with the image (an overlay of
# it) as xvdX, the image's systemd and cloud-init come up, and the agent
# beats on hvc0 from the image's userspace; the smoke workload passes and
# the image file is never written (the run is `blackout qualify`'s: one run
# is inconclusive). An image without cloud-init is refused (unless the
# guest says inject: overlay), and so is pvgrub for a kernel GRUB's Xen
# loader cannot unpack, each saying why, before anything boots.
. "$(dirname "$0")/lib.sh"
"$BLACKOUT" images build debian-12 --json > "$T/image.json" || fail "images build debian-12 failed"
img=$(jq -r .path "$T/image.json")
sha=$(jq -r .sha256 "$T/image.json")
# One run through `blackout qualify` (the pygrub domU, its verdict and reports):
# a pass, too few runs to qualify on: inconclusive, exit 2. Its workload
# writes to a disk of its own, the domU's /dev/xvda.
cat > "$T/image-io.yaml" <<'EOF2'
name: image-io
duration: 5s
disks:
  - {size: 64M, format: raw, cache: none, fs: ext4}
stressors:
  - {kind: pingpong, threads: 1}
  - {kind: io, threads: 1, disk: 0}
EOF2
"$BLACKOUT" qualify --image "$img" --runs 1 --workload "$T/image-io.yaml" --results "$T/results" \
  --html "$T/qualify.html" --junit "$T/qualify.xml" > "$T/qualify.out"
rc=$?
cat "$T/qualify.out"
[ "$rc" -eq 2 ] || fail "qualify exit $rc, want 2 (inconclusive)"
grep -q "^inconclusive: image.qcow2 never hung in 1 run, too few to put its hang rate below 20.0%: 15 more hang-free runs" \
  "$T/qualify.out" || fail "qualify did not say inconclusive with the runs needed"
grep -q 'id="qualification"' "$T/qualify.html" || fail "no qualification table in the HTML report"
/usr/bin/python3 -c "import junitparser, sys; x = junitparser.JUnitXml.fromfile(sys.argv[1]); assert sum(1 for s in x for c in s) == 1" \
  "$T/qualify.xml" || fail "the JUnit report does not hold the run"
check '.verdict == "pass"'
check '.boot.bootloader == "pygrub" and .kernel.source == "image" and .kernel.xen_pv == true'
check ".image.sha256 == \"$sha\""
check '.stats.heartbeats > 30 and (.freezes | length) == 0'
check '[.stats.stressors[] | select(.name == "io") | .bytes] | .[0] > 0'
console="$(run_dir)console.log"
grep -q 'disk index=0 dev=/dev/xvda fs=ext4' "$console" || fail "the workload's disk is not the domU's xvda"
# The domU's own kernel, command line and init, relayed by dom0.
grep -q 'domU| .*Kernel command line: root=LABEL=blackout-root' "$console" || fail "the domU did not boot the image's grub.cfg entry"
grep -q 'domU| .*systemd\[1\]: Reached target' "$console" || fail "no systemd in the domU"
grep -q 'hello vcpus=2 kernel=.*-cloud-amd64' "$console" || fail "no hello from the agent on the image's kernel"
[ "$(sha256sum "$img" | cut -d' ' -f1)" = "$sha" ] || fail "the run wrote the image"
# An image without cloud-init: refused before anything boots, saying why
# and what to ask for instead.
mkdir -p "$T/root/boot/grub"
printf "menuentry 'x' {\n linux /boot/vmlinuz\n}\n" > "$T/root/boot/grub/grub.cfg"
truncate -s 64M "$T/bare.raw"
printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk --quiet "$T/bare.raw"
mke2fs -q -t ext4 -d "$T/root" -E offset=1048576 "$T/bare.raw" 63M
cfg=$(config <<EOF2
guest: {type: xen-pv-domu, image: $T/bare.raw}
workload: smoke
EOF2
)
"$BLACKOUT" run -c "$cfg" --results "$T/refused" > "$T/refused.err" 2>&1
rc=$?
[ "$rc" -eq 64 ] || fail "an image without cloud-init: exit $rc, want 64 (a config the run cannot use); $(cat "$T/refused.err")"
grep -q "has no cloud-init (/usr/bin/cloud-init).*put 'inject: overlay' in the guest" "$T/refused.err" ||
  fail "refusal does not say why: $(cat "$T/refused.err")"
# (With inject: overlay it boots: image_qualify_on_a_libvirt_host.)
# Debian's kernels are lz4-packed: pygrub (libxc) reads them, pvgrub cannot.
cfg=$(config <<EOF2
guest: {type: xen-pv-domu, image: $img, bootloader: pvgrub}
workload: smoke
EOF2
)
"$BLACKOUT" run -c "$cfg" --results "$T/refused" > "$T/pvgrub.err" 2>&1
rc=$?
[ "$rc" -eq 64 ] || fail "pvgrub on an lz4 kernel: exit $rc, want 64; $(cat "$T/pvgrub.err")"
grep -q "pvgrub cannot boot its kernel /boot/vmlinuz-.*, which is lz4-compressed" "$T/pvgrub.err" ||
  fail "pvgrub refusal does not say why: $(cat "$T/pvgrub.err")"
echo "PASS image pygrub domU: $(jq -c '{first_heartbeat_s: .timings.first_heartbeat_s, heartbeats: .stats.heartbeats, kernel: .kernel.release}' "$(result)")"
