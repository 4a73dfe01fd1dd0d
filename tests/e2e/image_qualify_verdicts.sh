#!/usr/bin/env bash
# `blackout qualify` on the debian-12 image: against itself (one run each,
# both passing) it is inconclusive, never not qualified; with a vCPU frozen
# from the config drive's workload it is not qualified, with the freeze's
# title, the hang rate and its interval; exit codes 2 and 1. As hvm, the
# quickest boot of the image (image_pygrub_domu_passes qualifies it as a
# pygrub domU; the verdicts do not depend on the guest type), which also
# shows the image booting as hvm under its own systemd and cloud-init.
. "$(dirname "$0")/lib.sh"
"$BLACKOUT" images build debian-12 --json > "$T/image.json" || fail "images build debian-12 failed"
img=$(jq -r .path "$T/image.json")
"$BLACKOUT" qualify --image "$img" --against "$img" --guest hvm --runs 1 --workload smoke --duration 5s \
  --results "$T/results" > "$T/self.out"
rc=$?
cat "$T/self.out"
[ "$rc" -eq 2 ] || fail "against itself: exit $rc, want 2 (inconclusive)"
grep -q "^inconclusive: image.qcow2 against image.qcow2 (baseline): 0/1 run hung" "$T/self.out" ||
  fail "against itself: not the comparison's sentence"
# Each run booted the image through its own GRUB, kernel and systemd, and
# cloud-init started the agent from the config drive; the image is unchanged.
sha=$(jq -r .sha256 "$T/image.json")
for d in "$T"/results/*/; do
  jq -e --arg sha "$sha" '.verdict == "pass" and .image.sha256 == $sha and .kernel.source == "image"
    and .boot.bootloader == "bios" and .stats.heartbeats > 30' "$d/result.json" >/dev/null ||
    fail "run $d: $(jq -c '{verdict, image, boot}' "$d/result.json")"
  grep -q 'hello vcpus=2 kernel=.*-cloud-amd64' "$d/console.log" || fail "no hello from the agent on the image's kernel"
  grep -q 'Reached target.*Basic System' "$d/console.log" || fail "the image's systemd did not log on the console"
  grep -q 'cloud-init' "$d/console.log" || fail "no cloud-init on the console"
done
[ "$(sha256sum "$img" | cut -d' ' -f1)" = "$sha" ] || fail "the runs wrote the image"
cat > "$T/freeze.yaml" <<'EOF2'
name: smoke-freeze
duration: 20s
stressors:
  - {kind: pingpong, threads: 1}
faults:
  - {kind: freeze, vcpu: 1, at: 3s, length: 12s}
EOF2
"$BLACKOUT" qualify --image "$img" --guest hvm --runs 1 --workload "$T/freeze.yaml" --results "$T/freeze" > "$T/freeze.out"
rc=$?
cat "$T/freeze.out"
[ "$rc" -eq 1 ] || fail "a frozen vCPU: exit $rc, want 1 (not qualified)"
grep -Eq "^not qualified: image.qcow2 hangs: 1/1 run hung \(100.0%, interval [0-9.]+%-100.0%\): (stall|lockup): .*vCPU 1" \
  "$T/freeze.out" || fail "a frozen vCPU: not the sentence with the freeze's title"
echo "PASS qualify verdicts"
