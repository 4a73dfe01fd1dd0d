#!/usr/bin/env bash
# A cloud image built by `blackout images build` boots as a Xen PV domU the
# way a Xen host boots its customers' images: pygrub (from Xen's own
# toolstack package) takes the kernel and initrd out of the image's
# /boot/grub/grub.cfg, dom0 starts the domU with the image (an overlay of
# it) as xvdX, the image's systemd and cloud-init come up, and the agent
# beats on hvc0 from the image's userspace; the smoke workload passes and
# the image file is never written.
. "$(dirname "$0")/lib.sh"
"$BLACKOUT" images build debian-12 --json > "$T/image.json" || fail "images build debian-12 failed"
img=$(jq -r .path "$T/image.json")
sha=$(jq -r .sha256 "$T/image.json")
cfg=$(config <<EOF2
guest: {type: xen-pv-domu, image: $img, bootloader: pygrub, memory: 1G}
workload: smoke
EOF2
)
"$BLACKOUT" run -c "$cfg" --results "$T/results"
rc=$?
[ "$rc" -eq 0 ] || fail "exit $rc, want 0 (pass)"
check '.verdict == "pass"'
check '.boot.bootloader == "pygrub" and .kernel.source == "image" and .kernel.xen_pv == true'
check ".image.sha256 == \"$sha\""
check '.stats.heartbeats > 50 and (.freezes | length) == 0'
console="$(run_dir)console.log"
# The domU's own kernel, command line and init, relayed by dom0.
grep -q 'domU| .*Kernel command line: root=LABEL=blackout-root' "$console" || fail "the domU did not boot the image's grub.cfg entry"
grep -q 'domU| .*systemd\[1\]: Reached target' "$console" || fail "no systemd in the domU"
grep -q 'hello vcpus=2 kernel=.*-cloud-amd64' "$console" || fail "no hello from the agent on the image's kernel"
[ "$(sha256sum "$img" | cut -d' ' -f1)" = "$sha" ] || fail "the run wrote the image"
echo "PASS image pygrub domU: $(jq -c '{first_heartbeat_s: .timings.first_heartbeat_s, heartbeats: .stats.heartbeats, kernel: .kernel.release}' "$(result)")"
