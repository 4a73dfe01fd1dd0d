#!/usr/bin/env bash
# Two libvirt hosts (network namespaces made here, see hosts_lib.sh): runs are
# placed on both, each host is sent the boot's files once (the second round
# sends nothing), and a host unplugged mid-run (in that second round) is
# drained: its run goes to the other host, no domain stays on either, and the
# store keeps every run. The guests are small and share this machine's two
# cores, so this judges placement and recovery, not freezes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hosts_lib.sh"
host_up 1
host_up 2
cat > "$T/hosts.yaml" <<YAML
hosts:
  - {uri: $(host_uri 1), slots: 1}
  - {uri: $(host_uri 2), slots: 1}
YAML
# One config for both rounds (the workload is in the boot's files), long
# enough that host 1 can be unplugged in the middle of the second.
cfg=$(config <<'YAML'
guest: {type: hvm, vcpus: 1}
workload: {name: smoke, duration: 15s}
YAML
)
# Judged runs only: a pass, or a stall the shared cores caused.
judged() { jq -s -e 'length == '"$2"' and all(.verdict == "pass" or .verdict == "stall")' "$1"/*/result.json >/dev/null; }

# 1. Two runs at once, one on each host; each host gets the files once.
"$BLACKOUT" run -c "$cfg" --hosts "$T/hosts.yaml" --repeat 2 --results "$T/r1" > "$T/out1.txt"
cat "$T/out1.txt"
judged "$T/r1" 2 || fail "first round: $(jq -c '{verdict, title, host}' "$T"/r1/*/result.json)"
jq -s -e '[.[].host.hostname] | sort == ["blackout-h1", "blackout-h2"]' "$T"/r1/*/result.json >/dev/null ||
  fail "runs were not placed one per host: $(jq -c .host "$T"/r1/*/result.json)"
# (kvm only where a kvm domain starts: this machine's /dev/kvm may be there
# and still fail every kvm guest.)
jq -s -e 'all(.accel.reason | startswith("the host'"'"'s libvirt offers"))' "$T"/r1/*/result.json >/dev/null ||
  fail "the accelerator was not the host's own choice: $(jq -c .accel "$T"/r1/*/result.json)"
jq -s -e 'all(.host.uploaded_bytes > 1000000)' "$T"/r1/*/result.json >/dev/null ||
  fail "a first run on a host sent no files: $(jq -c .host "$T"/r1/*/result.json)"
grep -q "10.231.1.2/system *1 *1 *0" "$T/out1.txt" && grep -q "10.231.2.2/system *1 *1 *0" "$T/out1.txt" ||
  fail "no per-host usage table with one run each"
up1=$(jq -s 'map(.host.uploaded_bytes) | add' "$T"/r1/*/result.json)
# Each host holds the files now, in blackout's pool there.
"$BLACKOUT" hosts check --hosts "$T/hosts.yaml" --json > "$T/check.json" || fail "hosts check: $(cat "$T/check.json")"
jq -e 'length == 2 and all(.ok and .pool_files >= 2 and .slots == 1) and
       ([.[].hostname] | sort == ["blackout-h1", "blackout-h2"])' "$T/check.json" >/dev/null ||
  fail "hosts check: $(cat "$T/check.json")"

# 2. Host 1 is unplugged while both run: its run fails over to host 2. The
# hosts hold every file already: no run sends any.
"$BLACKOUT" run -c "$cfg" --hosts "$T/hosts.yaml" --repeat 2 --results "$T/r2" > "$T/out2.txt" 2> "$T/err2.txt" &
BG_PID=$!
for _ in $(seq 1 240); do
  [ "$(grep -ls '@BH1' "$T"/r2/*/console.log 2>/dev/null | wc -l)" -ge 2 ] && break
  kill -0 "$BG_PID" 2>/dev/null || fail "blackout ended before both guests beat: $(cat "$T/err2.txt")"
  sleep 0.5
done
host_unplug 1
wait "$BG_PID"
rc=$?
BG_PID=""
cat "$T/out2.txt"
grep -q "drained" "$T/err2.txt" || fail "host 1 was not drained: $(tail -5 "$T/err2.txt")"
[ "$(ls -d "$T"/r2/*/ | wc -l)" -eq 3 ] || fail "want 3 runs (one failed over), got $(ls -d "$T"/r2/*/ | wc -l)"
jq -s -e '[.[] | select(.host_failure != null)] | length == 1 and (.[0].verdict == "infra-error")
          and (.[0].host.uri | test("10.231.1.2"))' "$T"/r2/*/result.json >/dev/null ||
  fail "the unplugged host's run is not an infra-error of that host: $(jq -c '{verdict, title, host_failure, host}' "$T"/r2/*/result.json)"
jq -s -e '[.[] | select(.host_failure == null)] | length == 2 and all(.host.hostname == "blackout-h2")
          and all(.verdict == "pass" or .verdict == "stall")' "$T"/r2/*/result.json >/dev/null ||
  fail "the other runs did not finish on host 2: $(jq -c '{verdict, title, host}' "$T"/r2/*/result.json)"
[ "$rc" -eq 0 ] || [ "$rc" -eq 1 ] || fail "exit $rc: the failed-over run's verdict is what counts"
jq -s -e 'all(.host.uploaded_bytes == 0 and .host.reused_bytes > 1000000)' "$T"/r2/*/result.json >/dev/null ||
  fail "a run on a host that holds the files uploaded again: $(jq -c .host "$T"/r2/*/result.json)"
# Nothing lost: the store lists all three.
"$BLACKOUT" results --results "$T/r2" --json > "$T/list.json" || fail "results"
jq -e 'length == 3' "$T/list.json" >/dev/null || fail "store lists $(jq length "$T/list.json") runs, want 3"
# No domain left: host 2 at once, host 1 once its libvirtd sees its client gone.
[ -z "$(host_domains 2)" ] || fail "domains left on host 2: $(host_domains 2)"
for _ in $(seq 1 90); do [ -z "$(host_domains 1)" ] && break; sleep 1; done
[ -z "$(host_domains 1)" ] || fail "domains left on the unplugged host: $(host_domains 1)"
echo "PASS two hosts: uploaded $up1 bytes in round 1, 0 in round 2, where host 1 was unplugged and its run failed over"
