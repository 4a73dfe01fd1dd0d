#!/usr/bin/env bash
# A cloud image built by `blackout images build` boots as type hvm through
# its own GRUB, kernel, initrd and systemd; cloud-init finds the config
# drive and starts the agent as a transient unit, which beats on ttyS0 from
# the image's userspace while the image's getty starts on the same console;
# the smoke workload passes. The image file is never written (the run boots
# an overlay). An image without cloud-init is refused, saying why.
. "$(dirname "$0")/lib.sh"
"$BLACKOUT" images build debian-12 --json > "$T/image.json" || fail "images build debian-12 failed"
img=$(jq -r .path "$T/image.json")
sha=$(jq -r .sha256 "$T/image.json")
[ "$(sha256sum "$img" | cut -d' ' -f1)" = "$sha" ] || fail "the built image does not match its record's sha256"
jq -e '(.packages | map(select(startswith("cloud-init="))) | length) == 1 and (.commands | length) > 3' \
  "$T/image.json" >/dev/null || fail "the record lacks cloud-init or the commands run"

cfg=$(config <<EOF2
guest: {type: hvm, image: $img, memory: 1G}
workload: smoke
EOF2
)
"$BLACKOUT" run -c "$cfg" --results "$T/results"
rc=$?
[ "$rc" -eq 0 ] || fail "exit $rc, want 0 (pass)"
check '.verdict == "pass"'
check ".image.sha256 == \"$sha\""
check '.kernel.source == "image" and (.kernel.release | endswith("-cloud-amd64"))'
check '.stats.heartbeats > 50 and (.freezes | length) == 0'
console="$(run_dir)console.log"
grep -q 'hello vcpus=2 kernel=.*-cloud-amd64' "$console" || fail "no hello from the agent on the image's kernel"
grep -q 'Reached target.*Basic System' "$console" || fail "the image's systemd did not log on the console"
grep -q 'cloud-init' "$console" || fail "no cloud-init on the console"
[ "$(sha256sum "$img" | cut -d' ' -f1)" = "$sha" ] || fail "the run wrote the image"

# An image without cloud-init: refused before anything boots.
mkdir -p "$T/root/boot/grub"
printf "menuentry 'x' {\n linux /boot/vmlinuz\n}\n" > "$T/root/boot/grub/grub.cfg"
truncate -s 64M "$T/bare.raw"
printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk --quiet "$T/bare.raw"
mke2fs -q -t ext4 -d "$T/root" -E offset=1048576 "$T/bare.raw" 63M
cfg=$(config <<EOF2
guest: {type: hvm, image: $T/bare.raw}
workload: smoke
EOF2
)
"$BLACKOUT" run -c "$cfg" --results "$T/refused" > "$T/refused.err" 2>&1
rc=$?
[ "$rc" -eq 64 ] || fail "an image without cloud-init: exit $rc, want 64 (a config the run cannot use); $(cat "$T/refused.err")"
grep -q "has no cloud-init (/usr/bin/cloud-init)" "$T/refused.err" || fail "refusal does not say why: $(cat "$T/refused.err")"
echo "PASS image hvm: $(jq -c '{first_heartbeat_s: .timings.first_heartbeat_s, heartbeats: .stats.heartbeats, kernel: .kernel.release}' "$(result)")"
