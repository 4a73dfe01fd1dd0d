#!/usr/bin/env bash
# A Xen host through libvirt's libxl driver (the nested one xen_host_fixture.sh
# serves): the kernel under test is the host's own PV domU, created from
# libvirt domain XML with its kernel and initramfs uploaded into the host's
# storage pool. The smoke workload passes, heartbeats come unprefixed from
# the domU's own console (vCPUs 0 and 1), the record names the host's Xen,
# a second run uploads nothing, and no domain is left behind.
. "$(dirname "$0")/lib.sh"
on_xen_host
cfg=$(config <<'YAML'
guest: xen-pv-domu
workload:
  name: smoke
  duration: 10s
  stressors:
    - {kind: pingpong, threads: 1}
    - {kind: migrate, threads: 1}
YAML
)
"$BLACKOUT" run -c "$cfg" --host "$XEN_HOST" --results "$T/results"
rc=$?
[ "$rc" -eq 0 ] || fail "exit $rc, want 0 (pass)"
check '.verdict == "pass"'
check '.host.uri == "'"$XEN_HOST"'" and .host.hostname == "blackout-xenhost"'
check '.host.hypervisor | startswith("Xen ")'
check '.xen.host == .host.hypervisor and .accel.mode == "xen"'
check '.host.uploaded_bytes > 1000000'
check '.dom0 == null'
dir=$(run_dir)
grep -q "<domain type='xen'>" "$dir/domain.xml" || fail "domain.xml is not a Xen domain"
grep -q "<type arch='x86_64' machine='xenpv'>linux</type>" "$dir/domain.xml" || fail "domain.xml is not a PV domU"
beats=$(grep -c ' @BH1 ' "$dir/console.log")
[ "$beats" -gt 20 ] || fail "only $beats heartbeats"
grep -q 'domU| ' "$dir/console.log" && fail "the domU's own console carries dom0's relay prefix"
vcpus=$(grep ' @BH1 ' "$dir/console.log" | awk '{print $4}' | sort -u | tr '\n' ' ')
[ "$vcpus" = "0 1 " ] || fail "heartbeats from vCPUs '$vcpus', want '0 1 '"
first=$(jq -r .timings.first_heartbeat_s "$(result)")
[ "$(xen_host_domains)" -eq 0 ] || fail "a domain is left on the Xen host: $(cat "$T/domains")"
# The same boot again: the host already holds every file.
mv "$dir" "$T/first"
"$BLACKOUT" run -c "$cfg" --host "$XEN_HOST" --results "$T/results" > /dev/null
rc=$?
[ "$rc" -eq 0 ] || fail "second run: exit $rc, want 0 (pass)"
check '.host.uploaded_bytes == 0 and .host.reused_bytes > 1000000'
echo "PASS Xen host: first heartbeat ${first}s, $beats heartbeats from vCPUs $vcpus, second run uploaded nothing"
