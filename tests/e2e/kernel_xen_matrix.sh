#!/usr/bin/env bash
# Any catalogue kernel with any catalogue Xen, by name: Debian 12's kernel
# under Xen 4.14 (bullseye) and Xen 4.20 (trixie), Debian 11's and 13's under
# Xen 4.17 (Debian 11's in every guest type: slow_debian11_kernel_every_guest_type).
# Each boots as the Xen PV guest and passes smoke (Debian 13's the default
# workload, 15 s: its disk through the package's .ko.xz modules); the result
# names both. A domU under Xen 4.20 is refused: its toolstack needs a newer
# glibc than this host's.
. "$(dirname "$0")/lib.sh"
for pair in "debian-12 xen-4.14 4.14. smoke" "debian-12 xen-4.20 4.20. smoke" \
            "debian-11 xen-4.17 4.17. smoke" "debian-13 xen-4.17 4.17. pv-spinlock-race"; do
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

# xen-pv-domu runs that Xen's toolstack in dom0 on this host's glibc: Xen
# 4.20's (trixie: libc6 >= 2.38) is refused by name before anything boots.
rm -rf "$T/results"
cfg=$(config <<'YAML'
guest: {type: xen-pv-domu}
xen: xen-4.20
workload: smoke
YAML
)
"$BLACKOUT" run -c "$cfg" --results "$T/results" > "$T/out" 2>&1
rc=$?
[ "$rc" -eq 64 ] || fail "xen-4.20 domU: exit $rc, want 64: $(tail -2 "$T/out")"
grep -q '^config error: xen-utils-4.20=.* needs libc6 >= 2.38, and this host has ' "$T/out" ||
  fail "xen-4.20 domU refusal not named: $(tail -2 "$T/out")"
check '.config_error == true'
echo "PASS xen-4.20's toolstack refused for xen-pv-domu on this host's glibc"
