#!/usr/bin/env bash
# stress-ng and fio, from their Debian packages, run in a real guest with their
# shared-library closure copied in: stress-ng's bogo ops and fio's IOs, bytes
# and fsyncs on a raw virtio disk come back in the result.
. "$(dirname "$0")/lib.sh"
cfg=$(config <<'YAML'
workload:
  name: tools
  duration: 15s
  disks:
    - {size: 64M, format: raw, cache: none, fs: none}
  stressors:
    - {kind: stress-ng, args: --switch 1 --iomix 1 --temp-path /tmp}
    - kind: fio
      job: |
        [randrw]
        filename=/dev/vda
        direct=1
        bs=4k
        size=32m
        rw=randrw
        fsync=4
        time_based
        runtime=1h
YAML
)
"$BLACKOUT" run -c "$cfg" --results "$T/results"
rc=$?
[ "$rc" -eq 0 ] || fail "exit $rc, want 0 (pass)"
check '.stats.stressors[0] | .name == "stress-ng" and .ops > 0 and .errors == 0'
check '.stats.stressors[1] | .name == "fio" and .ops > 0 and .bytes > 0 and .fsyncs > 0 and .errors == 0'
grep -q 'tool-failed' "$(run_dir)console.log" && fail "a tool failed"
echo "PASS tools: $(jq -c '[.stats.stressors[] | {name, ops, bytes, fsyncs}]' "$(result)")"
