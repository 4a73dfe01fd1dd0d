#!/usr/bin/env bash
# A cloud image built by `blackout images build` boots as type hvm through
# its own GRUB, kernel, initrd and systemd; cloud-init finds the config
# drive and starts the agent as a transient unit, which beats on ttyS0 from
# the image's userspace while the image's getty starts on the same console;
# the smoke workload passes. The image file is never written (the run boots
# an overlay). (Slow tier, for the e2e budget: image_qualify_verdicts boots
# the same image as hvm in the default suite, with these checks.)
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

echo "PASS image hvm: $(jq -c '{first_heartbeat_s: .timings.first_heartbeat_s, heartbeats: .stats.heartbeats, kernel: .kernel.release}' "$(result)")"
