#!/usr/bin/env bash
# Archives other than the host's apt: blackout keeps their apt state under its
# own cache and never touches the host's; a signature that does not verify
# with the archive's keyring is a config error naming both; an archive that
# cannot be reached is said, and `kernels list` says it per entry instead of
# failing. No guest boots here.
. "$(dirname "$0")/lib.sh"
export XDG_CACHE_HOME="$T/cache"
host_lists_before=$(ls /var/lib/apt/lists | sort | md5sum)
host_conf_before=$(find /etc/apt -type f -exec md5sum {} + | sort | md5sum)

# A Debian suite through the host's mirror: resolved, listed, its state in our cache.
"$BLACKOUT" kernels list > "$T/list.txt" 2> "$T/list.err" || fail "kernels list: $(tail -5 "$T/list.err")"
cat "$T/list.txt"
grep -A1 '^debian-5.10.0-32 ' "$T/list.txt" | tail -1 | grep -q 'reachable (linux-image-5.10.0-32-amd64=5.10.223-1)' ||
  fail "debian-5.10.0-32 is not reachable: $(grep -A1 '^debian-5.10.0-32 ' "$T/list.txt")"
grep -A1 '^xen-4.20 ' "$T/list.txt" | tail -1 | grep -q 'reachable (xen-hypervisor-4.20-amd64=' || fail "xen-4.20 not reachable"
# The 2013 pair: listed with a status either way (this machine has no route to
# Ubuntu's old-releases; a machine with one says reachable).
for k in ubuntu-3.2.0-38-virtual ubuntu-3.2.0-39-virtual; do
  grep -A1 "^$k " "$T/list.txt" | tail -1 | grep -qE 'NOT REACHABLE|reachable' || fail "$k has no status"
done
ls -d "$XDG_CACHE_HOME"/blackout/apt-archives/debian_bullseye_main >/dev/null || fail "no apt state for bullseye in the cache"

# A keyring that does not sign the archive: refused by name, exit 64.
cfg=$(config <<'YAML'
kernel: {package: linux-image-amd64, suite: bookworm, keyring: /usr/share/keyrings/debian-archive-removed-keys.gpg}
YAML
)
"$BLACKOUT" run -c "$cfg" --check > "$T/out" 2>&1
rc=$?
[ "$rc" -eq 64 ] || fail "bad signature: exit $rc, want 64: $(tail -3 "$T/out")"
grep -q "archive bookworm main (the host's Debian mirror): its signature does not verify with keyring /usr/share/keyrings/debian-archive-removed-keys.gpg" "$T/out" ||
  fail "bad signature not named: $(head -3 "$T/out")"

# An archive nobody answers at: an infra-error with apt's reason.
cfg=$(config <<'YAML'
kernel: {package: linux-image-amd64, archive: "http://127.0.0.1:9/debian", suite: bookworm,
         keyring: /usr/share/keyrings/debian-archive-keyring.gpg}
YAML
)
"$BLACKOUT" run -c "$cfg" --check > "$T/out" 2>&1
rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 64 ] || fail "unreachable archive: exit $rc: $(tail -3 "$T/out")"
grep -q "not reachable from this machine (Could not connect to 127.0.0.1:9" "$T/out" || fail "no reason: $(head -3 "$T/out")"

[ "$(ls /var/lib/apt/lists | sort | md5sum)" = "$host_lists_before" ] || fail "the host's apt lists changed"
[ "$(find /etc/apt -type f -exec md5sum {} + | sort | md5sum)" = "$host_conf_before" ] || fail "the host's apt configuration changed"
echo "PASS archives: bullseye and trixie through blackout's own apt state; bad keyring and unreachable archive named"
