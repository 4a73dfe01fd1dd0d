#!/usr/bin/env bash
# A workload with disks does real IO on them: qemu-img makes a qcow2 image
# (ext4, files) and a raw one (the bare device, O_DIRECT); both attach as
# virtio-blk with their modules from the kernel package; the io stressors'
# counters show bytes written and fsyncs on each.
. "$(dirname "$0")/lib.sh"
cfg=$(config <<'YAML'
workload:
  name: disks
  duration: 10s
  disks:
    - {size: 128M, format: qcow2, cache: none, fs: ext4}
    - {size: 64M, format: raw, cache: writeback, fs: none}
  stressors:
    - {kind: io, threads: 2, disk: 0}
    - {kind: io, threads: 1, disk: 1}
YAML
)
"$BLACKOUT" run -c "$cfg" --results "$T/results"
rc=$?
[ "$rc" -eq 0 ] || fail "exit $rc, want 0 (pass)"
check '(.stats.stressors | length) == 2'
check '.stats.stressors | all(.bytes > 0 and .fsyncs > 0 and .errors == 0)'
grep -q 'disk index=0 dev=/dev/vda fs=ext4 at=/mnt/disk0' "$(run_dir)console.log" || fail "disk 0 not mounted"
grep -q 'disk index=1 dev=/dev/vdb fs=none' "$(run_dir)console.log" || fail "disk 1 not found"
echo "PASS disks: $(jq -c '[.stats.stressors[] | {bytes, fsyncs}]' "$(result)")"
