#!/usr/bin/env bash
# The hvm guest type (the kernel under test straight under QEMU, no Xen, its
# vmlinux booted through the PVH entry) boots, beats on every vCPU and passes:
# the baseline that tells a Xen-specific hang from a generic one.
. "$(dirname "$0")/lib.sh"
cfg=$(config <<'YAML'
guest:
  type: hvm
  vcpus: 2
workload: smoke
YAML
)
"$BLACKOUT" run -c "$cfg" --results "$T/results"
rc=$?
[ "$rc" -eq 0 ] || fail "exit $rc, want 0 (pass)"
check '.verdict == "pass" and .config.guest.type == "hvm"'
check '.xen == null'
check '.stats.heartbeats > 50'
grep -q 'xen.elf' <(jq -r '.command[]' "$(result)") && fail "hvm run booted Xen"
# Not a byte of the boot lost: QEMU drops console characters blackout does
# not read in time, which tears the kernel's lines apart. Until the agent's
# first record every line is a whole, timestamped kernel line.
torn=$(sed '/@BA1 /,$d' "$(run_dir)console.log" | grep -cvE '^\[\+[0-9.]+\] (\[ *[0-9]+\.[0-9]{6}\] |$)')
[ "$torn" -eq 0 ] || fail "$torn torn boot lines, e.g.: $(sed '/@BA1 /,$d' "$(run_dir)console.log" | grep -vE '^\[\+[0-9.]+\] (\[ *[0-9]+\.[0-9]{6}\] |$)' | head -3)"
echo "PASS hvm: first heartbeat after $(jq -r .timings.first_heartbeat_s "$(result)")s"
