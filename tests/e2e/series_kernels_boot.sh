#!/usr/bin/env bash
# Two kernels from the catalogue's Debian 6.1 series are fetched by name with
# apt-get download, boot in real guests, and each run records its exact
# package version and the release the guest itself reports.
. "$(dirname "$0")/lib.sh"
for k in debian-6.1.0-47:6.1.170-3:6.1.0-47-amd64 debian-6.1.0-56:6.1.192-2:6.1.0-56-amd64; do
  IFS=: read -r name version release <<< "$k"
  "$BLACKOUT" kernels show "$name" > "$T/show.txt" || fail "kernels show $name"
  grep -q "xen pv:   yes" "$T/show.txt" || fail "kernels show $name: $(cat "$T/show.txt")"
  rm -rf "$T/results"
  "$BLACKOUT" run --kernel "$name" --workload smoke --results "$T/results"
  rc=$?
  [ "$rc" -eq 0 ] || fail "$name: exit $rc, want 0"
  check ".kernel.version == \"$version\""
  check ".stats.guest_kernel == \"$release\""
  echo "PASS $name boots: $(jq -r '.kernel.package + " " + .kernel.version' "$(result)")"
done
