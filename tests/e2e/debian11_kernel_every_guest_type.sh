#!/usr/bin/env bash
# Debian 11's 5.10 kernel (the catalogue's debian-5.10.0-32, from bullseye
# through blackout's own apt state for that suite, the Debian mirror taken
# from the host's apt sources at run time) boots in all three guest types with
# the default workload (pv-spinlock-race: its disk, its modules from the
# kernel's package, its IO and scheduler stress), shortened to 15 s, and passes.
# The result names the kernel, its archive and what booted.
. "$(dirname "$0")/lib.sh"
for type in xen-pv-dom0 xen-pv-domu hvm; do
  rm -rf "$T/results"
  cfg=$(config <<YAML
kernel: debian-5.10.0-32
guest: {type: $type, vcpus: 2}
workload: {name: pv-spinlock-race, duration: 15s}
YAML
)
  "$BLACKOUT" run -c "$cfg" --results "$T/results"
  rc=$?
  [ "$rc" -eq 0 ] || fail "$type: exit $rc, want 0 (pass)"
  check '.verdict == "pass" and .workload_done == true'
  check '.kernel.package == "linux-image-5.10.0-32-amd64" and .kernel.version == "5.10.223-1"'
  check '.kernel.release == "5.10.0-32-amd64" and .kernel.xen_pv == true'
  check '.kernel.archive | startswith("bullseye main")'
  check '.stats.heartbeats > 20'
  # The workload's disk was written through the kernel's own virtio/xen-blkfront modules.
  check '.boot.initramfs_bytes > 0'
  echo "PASS $type: debian-5.10.0-32, first heartbeat after $(jq -r .timings.first_heartbeat_s "$(result)")s," \
       "initramfs $(jq -r .boot.initramfs_bytes "$(result)") bytes"
done
