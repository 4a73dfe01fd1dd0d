#!/usr/bin/env bash
# Careless and hostile inputs, one row each: every one ends with a clear
# message and the exit code the README gives, within 20 s, never a crash, a
# hang or a silent default; nothing already written is lost. Also: /dev/null
# survives `report -o /dev/null` (in a private mount namespace with its own
# /dev, so this machine's is never at risk), reading commands create no store
# and read a read-only one, and import skips bad run directories.
. "$(dirname "$0")/../e2e/lib.sh"
cd "$T"
R="$T/results"
mkdir -p "$R"
mkrun() {  # id [run_id json]
  mkdir -p "$R/$1"
  jq -n --arg id "$1" --argjson rid "${2:-\"$1\"}" '{schema: 1, run_id: $rid, started_at: "2026-11-01T00:00:00Z",
    verdict: "pass", title: "ok", kernel: {release: "6.1.0-x"}, config: {workload: {name: "smoke"}, guest: {type: "hvm", vcpus: 2}},
    freezes: [], console_tail: []}' > "$R/$1/result.json"
}
mkrun good1
mkrun good2
mkrun numeric 42
mkrun empty '""'
mkdir -p "$R/dir-as-result/result.json"        # result.json that is a directory
ln -s "$R/loop" "$R/loop"                       # a symlink loop
printf '{not json' > "$R/garbage.json"; mkdir -p "$R/garbage"; mv "$R/garbage.json" "$R/garbage/result.json"

printf 'workload: /etc/shadow\n' > shadow.yaml
head -c 2000000 /dev/zero | tr '\0' 'a' > big.yaml
mkfifo fifo.yaml
printf 'workload: {name: smoke, duration: 1e400s}\n' > inf.yaml
printf 'thresholds: {stall: 0x10}\n' > hex.yaml
printf 'guest: {vcpus: 99999999999999999999}\n' > overflow.yaml
printf 'workload:\n  name: "x\\nfault panic at=1"\n' > inject.yaml

fails=0
row() {  # want_exit want_text command...
  local want=$1 text=$2
  shift 2
  local rc
  timeout 20 "$@" > out.txt 2> err.txt
  rc=$?
  if [ "$rc" -ne "$want" ] || ! grep -qF -- "$text" out.txt err.txt; then
    echo "FAIL row: $* -> exit $rc (want $want), want text '$text'; stderr: $(head -c 400 err.txt)" >&2
    fails=$((fails + 1))
  elif grep -qE 'terminate called|Segmentation|Aborted|core dumped' err.txt; then
    echo "FAIL row: $* crashed: $(head -c 400 err.txt)" >&2
    fails=$((fails + 1))
  else
    echo "ok   $want $*"
  fi
}
B=$BLACKOUT
row 64 "a directory, not a regular file" "$B" run -c /tmp --results "$R"
row 64 "a character device, not a regular file" "$B" run -c /dev/zero --results "$R"
row 64 "a FIFO, not a regular file" "$B" run -c fifo.yaml --results "$R"
row 64 "more than the 1048576 a config may have" "$B" run -c big.yaml --results "$R"
row 64 "is this the right file?" "$B" run -c shadow.yaml --results "$R"
row 64 "must be a duration" "$B" run -c inf.yaml --results "$R"
row 64 "must be a duration" "$B" run -c hex.yaml --results "$R"
row 64 "'vcpus' must be a whole number from 1 to 64" "$B" run -c overflow.yaml --results "$R"
row 64 "one word without spaces or control characters" "$B" run -c inject.yaml --results "$R"
row 64 "is not a duration of at least 1s" "$B" run --duration inf --results "$R"
row 64 "is not a duration of at least 1s" "$B" run --duration 0x10 --results "$R"
row 64 "is not a duration of at least 1s" "$B" run --duration 99999999999h --results "$R"
row 64 "not in range" "$B" report --results "$R" --detail -1
row 64 "not a regular file" "$B" analyze /dev/zero
row 64 "not a regular file" "$B" analyze "$T"
row 128 "apt knows no such package" "$B" test --kernel linux-image-typo-amd64 --results "$R"
row 128 "a FIFO, not a regular file" "$B" test -c fifo.yaml --results "$R"
row 64 "a directory, not a regular file" "$B" bisect --results "$R" start -c /tmp
# A candidate's kernel image missing at run time stops the bisection with its
# name, once: not an infra-error retried run after run.
printf 'series:\n' > gone.yaml
for c in a b c; do printf '  - {name: %s, kernel: {image: %s/gone-%s}}\n' "$c" "$T" "$c" >> gone.yaml; done
row 64 "no such file (nothing recorded: mend the plan and resume)" "$B" bisect --results "$R/gone" start -c gone.yaml
[ "$(grep -c '^blackout: run [0-9]*:' err.txt)" = 1 ] || { echo "FAIL: the missing image ran more than once: $(cat err.txt)" >&2; fails=$((fails + 1)); }

# No shadow line is ever quoted.
"$B" run -c shadow.yaml --results "$R" 2> err.txt
grep -q 'root:' err.txt && { echo "FAIL: /etc/shadow quoted: $(cat err.txt)" >&2; fails=$((fails + 1)); }

# Import: the good runs index, each bad directory is named and skipped.
timeout 20 "$B" results --results "$R" import > out.txt 2> err.txt || { echo "FAIL: import exit $?: $(cat err.txt)" >&2; fails=$((fails + 1)); }
grep -qx 'imported 2 run(s)' out.txt || { echo "FAIL: import said $(cat out.txt)" >&2; fails=$((fails + 1)); }
for bad in numeric empty garbage dir-as-result; do
  grep -q "skipping $R/$bad" err.txt || { echo "FAIL: import did not name $bad: $(cat err.txt)" >&2; fails=$((fails + 1)); }
done

# Reading commands create no store.
mkdir -p "$T/fresh"
"$B" results --results "$T/fresh" --json > out.txt 2> err.txt
[ -e "$T/fresh/blackout.db" ] && { echo "FAIL: results created a store" >&2; fails=$((fails + 1)); }
[ "$(jq length out.txt)" = 0 ] || { echo "FAIL: empty root listed $(cat out.txt)" >&2; fails=$((fails + 1)); }

# A read-only copy of the store: list, report and compare still read it.
if unshare --mount --propagation private true 2>/dev/null; then
  unshare --mount --propagation private bash -c "
    mount --bind '$R' '$R' && mount -o remount,bind,ro '$R' &&
    '$B' results --results '$R' --json | jq -e 'length == 2' >/dev/null &&
    '$B' report --results '$R' --format junit -o - | grep -q '<testsuite' &&
    '$B' compare --results '$R' '6.1.0-x' 'runs:good1' > /dev/null" \
    || { echo "FAIL: a read-only store could not be read" >&2; fails=$((fails + 1)); }
  # report -o /dev/null with a private /dev: /dev/null stays a character device.
  unshare --mount --propagation private bash -c "
    mount -t tmpfs tmpfs /dev && mknod -m 666 /dev/null c 1 3 &&
    '$B' report --results '$R' -o /dev/null && test -c /dev/null && ! test -f /dev/null" \
    || { echo "FAIL: report -o /dev/null replaced /dev/null" >&2; fails=$((fails + 1)); }
  # A directory as the output is refused, and left as it was.
  mkdir -p "$T/outdir"
  "$B" report --results "$R" -o "$T/outdir" 2> err.txt && { echo "FAIL: report wrote over a directory" >&2; fails=$((fails + 1)); }
  grep -q 'not a regular file; refusing to replace it' err.txt || { echo "FAIL: $(cat err.txt)" >&2; fails=$((fails + 1)); }
  [ -d "$T/outdir" ] || { echo "FAIL: the directory is gone" >&2; fails=$((fails + 1)); }
else
  echo "FAIL: unshare --mount is not available" >&2
  fails=$((fails + 1))
fi

# analyze: a single 64 MB line (no newline) in bounded memory, whole result.
head -c $((64 << 20)) /dev/zero | tr '\0' 'x' > long.log
/usr/bin/time -f '%M' -o rss.txt "$B" analyze long.log > out.txt 2> err.txt
rc=$?
rss_kb=$(tail -1 rss.txt)
[ "$rc" -le 5 ] || { echo "FAIL: analyze of one long line exit $rc: $(head -c 300 err.txt)" >&2; fails=$((fails + 1)); }
[ "$rss_kb" -lt $((128 * 1024)) ] || { echo "FAIL: analyze of a 64 MB line peaked at ${rss_kb} KB" >&2; fails=$((fails + 1)); }
echo "analyze of a 64 MB line: peak RSS ${rss_kb} KB"

# Ctrl-C two seconds into a run: exit 130, the partial result written.
"$B" run --workload smoke --results "$T/int" > out.txt 2> err.txt &
pid=$!
sleep 2
kill -INT "$pid"
start=$(date +%s)
wait "$pid"
rc=$?
took=$(( $(date +%s) - start ))
[ "$rc" -eq 130 ] || { echo "FAIL: interrupted run exit $rc, want 130: $(tail -5 err.txt)" >&2; fails=$((fails + 1)); }
[ "$took" -le 5 ] || { echo "FAIL: interrupted run took ${took}s to exit" >&2; fails=$((fails + 1)); }
jq -e '.interrupted == true' "$T"/int/*/result.json > /dev/null || { echo "FAIL: no partial result" >&2; fails=$((fails + 1)); }
pgrep -f "qemu-system-x86_64.*$T" > /dev/null && { echo "FAIL: QEMU left behind" >&2; fails=$((fails + 1)); }

[ "$fails" -eq 0 ] || { echo "$fails failed" >&2; exit 1; }
echo "PASS hostile inputs"
