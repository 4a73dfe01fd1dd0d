#!/usr/bin/env bash
# Any catalogue kernel with any catalogue Xen, by name: Debian 12's kernel
# under Xen 4.14 (bullseye) and Xen 4.20 (trixie), Debian 13's under Xen 4.17
# (Debian 11's under 4.17 is debian11_kernel_every_guest_type's dom0 run).
# Each boots as the Xen PV guest and passes smoke (Debian 13's the default
# workload, 15 s: its disk through the package's .ko.xz modules); the result
# names both.
. "$(dirname "$0")/lib.sh"
for pair in "debian-12 xen-4.14 4.14. smoke" "debian-12 xen-4.20 4.20. smoke" \
            "debian-13 xen-4.17 4.17. pv-spinlock-race"; do
  set -- $pair
  rm -rf "$T/results"
  "$BLACKOUT" run --kernel "$1" --xen "$2" --workload "$4" --duration 15s --results "$T/results"
  rc=$?
  [ "$rc" -eq 0 ] || fail "$1 under $2: exit $rc, want 0 (pass)"
  check '.verdict == "pass"'
  jq -e --arg p "$3" '.xen.version | startswith($p)' "$(result)" >/dev/null || fail "$1 under $2: $(jq -c .xen "$(result)")"
  echo "PASS $1 ($(jq -r .kernel.version "$(result)")) under $2 ($(jq -r .xen.version "$(result)")):" \
       "first heartbeat after $(jq -r .timings.first_heartbeat_s "$(result)")s"
done
