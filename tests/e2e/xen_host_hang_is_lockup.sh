#!/usr/bin/env bash
# A hang inside the domU on a Xen host (the agent's spinner holds vCPU 1 past
# the lockup threshold) is a lockup naming vCPU 1; the evidence is the guest's
# own sysrq answer and the host's view through libvirt (vCPU states and CPU
# time: vCPU 1 spins), and the domain is destroyed after.
. "$(dirname "$0")/lib.sh"
on_xen_host
cfg=$(config <<'YAML'
guest: xen-pv-domu
workload:
  name: smoke
  duration: 60s
  faults: [{kind: freeze, vcpu: 1, at: 3s, length: 50s}]
thresholds:
  lockup: 10s
YAML
)
"$BLACKOUT" run -c "$cfg" --host "$XEN_HOST" --results "$T/results"
rc=$?
[ "$rc" -eq 2 ] || fail "exit $rc, want 2 (lockup)"
check '.verdict == "lockup"'
check '.title | test("vCPU 1")'
check '.title | test("vCPU 0") | not'
ev="$(run_dir)evidence"
grep -q 'sysrq: Show backtrace of all active CPUs' "$ev/guest-sysrq.txt" || fail "the domU did not answer sysrq"
grep -q '^vCPUs of blackout-.* (libvirt virDomainGetVcpus' "$ev/qemu-registers.txt" || fail "no vCPU view from the host"
grep -q '^vcpu 1: .* ran [0-9]* ms of the last 1000' "$ev/qemu-registers.txt" || fail "vCPU 1 missing from the host's view"
grep -q "<domain type='xen'" "$ev/qemu-registers.txt" || fail "no live domain XML in the evidence"
[ "$(xen_host_domains)" -eq 0 ] || fail "a domain is left on the Xen host: $(cat "$T/domains")"
echo "PASS Xen host hang: $(jq -r .title "$(result)"); $(grep '^vcpu 1:' "$ev/qemu-registers.txt")"
