#!/usr/bin/env bash
# `blackout qualify` of an image without cloud-init, on a libvirt host: the
# agent and its systemd unit go into each run's overlay (inject: overlay),
# the run goes to the pool's host (a libvirtd in a network namespace, see
# hosts_lib.sh), which is sent the image once by content and the run's
# overlay rebased on its copy; the image's own firmware, GRUB, kernel and
# systemd boot it there (hvm) and the injected unit starts the agent. A
# one-second --for budget makes exactly one run: inconclusive, exit 2. The
# image file is never written, and the host keeps no domain.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hosts_lib.sh"
BACKEND=libvirt  # every check also wants the run to say so
"$BLACKOUT" images build debian-12 --json > "$T/image.json" || fail "images build debian-12 failed"
img=$(jq -r .path "$T/image.json")
# The image without cloud-init: /usr/bin/cloud-init removed in a copy.
qemu-img convert -O raw -S 4k "$img" "$T/bare.raw" || fail "qemu-img convert"
offset=$(( $(sfdisk -J "$T/bare.raw" | jq '.partitiontable.partitions[0].start') * 512 ))
debugfs -w -R "rm /usr/bin/cloud-init" "$T/bare.raw?offset=$offset" || fail "debugfs rm"
qemu-img convert -f raw -O qcow2 "$T/bare.raw" "$T/bare.qcow2" || fail "qemu-img convert to qcow2"
rm -f "$T/bare.raw"
sha=$(sha256sum "$T/bare.qcow2" | cut -d' ' -f1)
host_up 1

"$BLACKOUT" qualify --image "$T/bare.qcow2" --guest hvm --inject overlay --host "$(host_uri 1)" --for 1s \
  --workload smoke --duration 5s --results "$T/results" > "$T/qualify.out" 2> "$T/qualify.err"
rc=$?
cat "$T/qualify.out"
[ "$rc" -eq 2 ] || fail "qualify exit $rc, want 2 (inconclusive): $(tail -5 "$T/qualify.err")"
grep -q "^bare.qcow2 run 1: pass" "$T/qualify.out" || fail "no run line (without a count: --for)"
grep -q "^1 run in " "$T/qualify.out" || fail "--for 1s made more than one run"
grep -q "^inconclusive: bare.qcow2 never hung in 1 run" "$T/qualify.out" || fail "not inconclusive"
check '.verdict == "pass" and .backend == "libvirt" and .host.hostname == "blackout-h1"'
check '.image.inject == "overlay" and .image.cloud_init == false and .image.systemd == true'
check '.config.guest.inject == "overlay"'
# The image went to the host (once, by content), with the run's overlay.
size=$(stat -c %s "$T/bare.qcow2")
jq -e --argjson size "$size" '.host.uploaded_bytes >= $size' "$(result)" >/dev/null ||
  fail "the image did not reach the host: $(jq -c .host "$(result)") (image $size bytes)"
check '.stats.heartbeats > 30 and (.freezes | length) == 0'
console="$(run_dir)console.log"
grep -q 'Started .*blackout-agent' "$console" || fail "the image's systemd did not start the injected unit"
grep -q 'hello vcpus=2 kernel=.*-cloud-amd64' "$console" || fail "no hello from the agent on the image's kernel"
[ "$(sha256sum "$T/bare.qcow2" | cut -d' ' -f1)" = "$sha" ] || fail "the run wrote the image"
[ -z "$(host_domains 1)" ] || fail "the host kept a domain: $(host_domains 1)"
echo "PASS image on a libvirt host: $(jq -c '{first_heartbeat_s: .timings.first_heartbeat_s, uploaded: .host.uploaded_bytes}' "$(result)")"
