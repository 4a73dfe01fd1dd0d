#!/usr/bin/env bash
# A matrix's regression told by email and webhook, to a real SMTP server
# (python3-aiosmtpd) and an HTTP listener this script starts on 127.0.0.1,
# over a store of made-up runs (no guest boots: label unit): night 2's one
# cell hangs in 4 of 4 runs against 0 of 4 the night before. The mail and the
# POST carry the regression's sentence, its new title and the report's path;
# the matrix's reports are written beside its runs; an unreachable webhook is
# said on stderr; a bad notify block is a placed config error (exit 64).
. "$(dirname "$0")/e2e/lib.sh"
R="$T/results"

# The SMTP server and the HTTP listener.
. "$(dirname "$0")/notify_servers.sh"

cat > "$T/m.yaml" <<YAML
name: n
kernels: [linux-image-amd64]
guests: [hvm]
workloads: [smoke]
repeats: 4
notify:
  smtp: 127.0.0.1:$SMTP_PORT
  from: blackout@ci.example
  to: [kernel-team@example.org, oncall@example.org]
  webhook: http://127.0.0.1:$HTTP_PORT/hooks/blackout
YAML
CELL="linux-image-amd64 / hvm / smoke"
mkrun() {  # matrix repeat verdict title
  local id="$1-r$2"
  mkdir -p "$R/$id"
  jq -n --arg id "$id" --arg m "$1" --arg c "$CELL" --argjson k "$2" --arg v "$3" --arg t "$4" '{
    schema: 1, run_id: $id, started_at: "2026-12-01T01:00:00Z", verdict: $v, title: $t,
    kernel: {release: "6.1.0-57-amd64", version: "6.1.192-3"}, accel: {mode: "tcg"}, host: {hostname: "h"},
    config: {kernel: "apt linux-image-amd64", workload: {name: "smoke"}, guest: {type: "hvm", vcpus: 2}},
    matrix: {id: $m, name: "n", cell: $c, repeat: $k}, timings: {total_s: 20}, freezes: []}' > "$R/$id/result.json"
}
for k in 0 1 2 3; do
  mkrun n-1 "$k" pass pass
  mkrun n-2 "$k" lockup "lockup: no heartbeat from vCPU 1 for 10.00s"
done
"$BLACKOUT" results import --results "$R" > /dev/null || fail "import"

# Night 1 has no baseline and no regression: nobody is told.
"$BLACKOUT" matrix -c "$T/m.yaml" --id n-1 --results "$R" --compare-only > "$T/n1.out" 2> "$T/n1.err"
rc=$?
[ "$rc" -eq 0 ] || fail "night 1: exit $rc, want 0: $(cat "$T/n1.err")"
[ -e "$T/mail.txt" ] || [ -e "$T/hook.json" ] && fail "night 1 (no regression) sent a notification"
# Night 2 regressed: both are told.
"$BLACKOUT" matrix -c "$T/m.yaml" --id n-2 --results "$R" --compare-only > "$T/n2.out" 2> "$T/n2.err"
rc=$?
cat "$T/n2.out"
[ "$rc" -eq 1 ] || fail "night 2: exit $rc, want 1 (regression): $(cat "$T/n2.err")"
grep -q "notify" "$T/n2.err" && fail "a notification failed: $(cat "$T/n2.err")"
report="$R/matrices/n-2/report.html"
for f in report.html junit.xml kcidb.json comparison.txt comparison.json; do
  [ -s "$R/matrices/n-2/$f" ] || fail "the matrix's $f is missing"
done
# JUnit: one suite, the cell; KCIDB: the schema, one test per run.
grep -q "<testsuite name=\"$CELL\" tests=\"4\" failures=\"4\"" "$R/matrices/n-2/junit.xml" || fail "junit's suite is not the cell"
/usr/bin/python3 "$(dirname "$0")/../results/testdata/check_reports.py" kcidb "$R/matrices/n-2/kcidb.json" \
  "$(dirname "$0")/../results/testdata/kcidb-v4.3.schema.json" 4 > /dev/null || fail "the matrix's kcidb.json"
# The report: the comparison coloured (worse, with its p-value) and the trend.
grep -q '<table id="comparison">' "$report" || fail "no comparison table in $report"
grep -q "<tr class=\"worse\"><td>$CELL</td><td>4/4</td><td>0/4</td><td>0.0286</td><td>regression</td>" "$report" ||
  fail "the regressed cell is not a worse row with its p-value"
grep -q '<table id="trend"><tr><th>cell</th><th>n-1</th><th>n-2</th></tr>' "$report" || fail "no trend over n-1, n-2"
for want in "X-Envelope-To: kernel-team@example.org,oncall@example.org" "From: blackout@ci.example" \
            "Subject: blackout: n-2: 1 regression ($CELL)" \
            "REGRESSION $CELL: tonight hangs more than baseline (100% vs 0%, Fisher p=0.029)" \
            "  new title: lockup: no heartbeat from vCPU 1 for 10.00s" "report: $report"; do
  grep -qF -- "$want" "$T/mail.txt" || fail "the mail lacks '$want': $(cat "$T/mail.txt")"
done
jq -e --arg c "$CELL" --arg r "$report" '.matrix == "n-2" and .baseline == "n-1" and .report == $r and
  (.regressions | length) == 1 and .regressions[0].cell == $c and .regressions[0].hangs == 4 and
  .regressions[0].new_titles == ["lockup: no heartbeat from vCPU 1 for 10.00s"] and
  (.regressions[0].sentence | startswith("tonight hangs more than baseline"))' "$T/hook.json" > /dev/null ||
  fail "the webhook's JSON: $(cat "$T/hook.json")"

# A webhook nobody listens on: said, and the regression's exit code stays.
sed "s|webhook: .*|webhook: http://127.0.0.1:9/nobody|" "$T/m.yaml" > "$T/m-dead.yaml"
"$BLACKOUT" matrix -c "$T/m-dead.yaml" --id n-2 --results "$R" --compare-only > /dev/null 2> "$T/dead.err"
rc=$?
[ "$rc" -eq 1 ] || fail "dead webhook: exit $rc, want 1"
grep -q "blackout: notify: webhook http://127.0.0.1:9/nobody: " "$T/dead.err" || fail "dead webhook not said: $(cat "$T/dead.err")"
# A bad notify block: every problem placed, exit 64.
printf 'name: n\nkernels: [linux-image-amd64]\nnotify: {smtp: nohost, webhook: ftp://x, on: sometimes}\n' > "$T/bad.yaml"
"$BLACKOUT" matrix -c "$T/bad.yaml" --results "$R" --compare-only > /dev/null 2> "$T/bad.err"
rc=$?
[ "$rc" -eq 64 ] || fail "bad notify: exit $rc, want 64"
for want in "bad.yaml:3:16: 'smtp' must be HOST:PORT" "'webhook' must be an http:// or https:// URL" "'on' must be regression or always"; do
  grep -qF -- "$want" "$T/bad.err" || fail "bad notify lacks '$want': $(cat "$T/bad.err")"
done
echo "PASS notify: mail to 2 recipients and a webhook POST for $CELL; a dead webhook said; bad input placed"
