#!/usr/bin/env bash
# xen-pv-domu: Xen, a dom0 on Debian's default kernel running Xen's toolstack,
# and the kernel under test as a 2-vCPU PV domU started with xl. The smoke
# workload passes; every heartbeat comes from the domU (prefixed by dom0's
# relay) and none from dom0; the domU's disk is a xen-blkfront device backed by
# dom0's virtio disk, and IO on it really happens.
. "$(dirname "$0")/lib.sh"
cfg=$(config <<'YAML'
guest: xen-pv-domu
workload:
  name: smoke
  duration: 10s
  disks:
    - {size: 64M, format: raw, cache: none, fs: ext4}
  stressors:
    - {kind: pingpong, threads: 1}
    - {kind: migrate, threads: 1}
    - {kind: io, threads: 1, disk: 0}
YAML
)
"$BLACKOUT" run -c "$cfg" --results "$T/results"
rc=$?
[ "$rc" -eq 0 ] || fail "exit $rc, want 0 (pass)"
check '.config.guest.type == "xen-pv-domu" and .config.guest.vcpus == 2 and .config.guest.disks == "xen-blkfront"'
check '.dom0.kernel.package | startswith("linux-image-")'
check '(.dom0.xen_tools | length) > 0'
check '.stats.stressors | all(.ops > 0 and .errors == 0)'
check '.stats.stressors[2].bytes > 0 and .stats.stressors[2].fsyncs > 0'
log="$(run_dir)console.log"
beats=$(grep -c '@BH1' "$log")
domu_beats=$(grep -c '\] domU| @BH1 ' "$log")
[ "$beats" -gt 20 ] && [ "$beats" -eq "$domu_beats" ] || fail "heartbeats: $beats in all, $domu_beats from the domU"
vcpus=$(grep '\] domU| @BH1 ' "$log" | awk '{print $5}' | sort -u | tr '\n' ' ')
[ "$vcpus" = "0 1 " ] || fail "heartbeats from vCPUs '$vcpus', want '0 1 '"
grep -q 'domU| .*disk index=0 dev=/dev/xvda fs=ext4' "$log" || fail "the domU did not mount /dev/xvda"
grep -q 'blackout-dom0: toolstack-up' "$log" || fail "dom0 never said its toolstack was up"
grep -q '(XEN)' "$log" || fail "Xen's own lines are missing from the log"
echo "PASS domU: first heartbeat $(jq -r .timings.first_heartbeat_s "$(result)") s, $domu_beats domU heartbeats from vCPUs $vcpus"
