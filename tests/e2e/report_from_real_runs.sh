#!/usr/bin/env bash
# A real run with a guest-internal freeze and a console line that is an XSS
# probe, then everything the results store gives: the listing, JUnit and KCIDB
# read back by their real consumers, and the HTML report opened in headless
# Chromium: the timeline is drawn, the probe stays text, and a screenshot is
# kept as the test's artifact (report_from_real_runs.png beside this test's
# working directory).
. "$(dirname "$0")/lib.sh"
CHECK="$(dirname "$0")/../../results/testdata/check_reports.py"
SCHEMA="$(dirname "$0")/../../results/testdata/kcidb-v4.3.schema.json"
ARTIFACT="$PWD/report_from_real_runs.png"
PROBE="<script>document.body.setAttribute('data-pwned','1')</script><img src=x onerror=\"document.title='pwned'\">"
cfg=$(config <<YAML
workload:
  name: smoke
  duration: 20s
  faults:
    - {kind: freeze, vcpu: 1, at: 5s, length: 4s}
    - {kind: kmsg, at: 14s, text: "$(printf '%s' "$PROBE" | sed 's/"/\\"/g')"}
YAML
)
"$BLACKOUT" run -c "$cfg" --results "$T/results"
rc=$?
[ "$rc" -eq 1 ] || fail "exit $rc, want 1 (stall)"
grep -qF "blackout-agent: $PROBE" "$(run_dir)console.log" || fail "the probe is not on the console"
id=$(jq -r .run_id "$(result)")

# The store has the run; list, filter and show agree with result.json.
"$BLACKOUT" results --results "$T/results" --json > "$T/list.json" || fail "results --json"
jq -e --arg id "$id" 'length == 1 and .[0].id == $id and .[0].verdict == "stall" and .[0].freeze_count >= 1' \
  "$T/list.json" >/dev/null || fail "results --json: $(cat "$T/list.json")"
[ "$("$BLACKOUT" results --results "$T/results" --verdict pass --json | jq length)" = 0 ] || fail "--verdict pass matched"
"$BLACKOUT" results --results "$T/results" show --json "${id:0:20}" | jq -e --arg id "$id" '.run_id == $id' >/dev/null ||
  fail "results show by prefix"

# JUnit and KCIDB through their consumers.
"$BLACKOUT" report --results "$T/results" --format junit -o "$T/junit.xml" || fail "report junit"
/usr/bin/python3 "$CHECK" junit "$T/junit.xml" 1 1 0 || fail "junitparser"
"$BLACKOUT" report --results "$T/results" --format kcidb -o "$T/kcidb.json" || fail "report kcidb"
/usr/bin/python3 "$CHECK" kcidb "$T/kcidb.json" "$SCHEMA" 1 || fail "kcidb schema"

# The HTML report in a real browser.
"$BLACKOUT" report --results "$T/results" -o "$T/report.html" || fail "report html"
chrome() {
  timeout 120 chromium --headless=new --no-sandbox --disable-gpu --no-first-run --user-data-dir="$T/chrome" \
    --window-size=1100,1200 "$@" "file://$T/report.html" 2>>"$T/chrome.log"
}
chrome --dump-dom > "$T/dom.html" || fail "chromium --dump-dom: $(tail -5 "$T/chrome.log")"
grep -q '<svg class="timeline"' "$T/dom.html" || fail "no timeline in the page"
grep -q 'class="freeze"' "$T/dom.html" || fail "no freeze span on the timeline"
grep -q 'data-count="[1-9]' "$T/dom.html" || fail "no heartbeats on the timeline"
grep -q 'id="matrix"' "$T/dom.html" || fail "no matrix"
grep -q 'class="flaky"' "$T/dom.html" || fail "no hang-rate chart"
grep -qF 'blackout-agent: &lt;script&gt;' "$T/dom.html" || fail "the probe is not shown as text"
grep -q 'data-pwned' "$T/dom.html" && grep -q '<body[^>]*data-pwned' "$T/dom.html" && fail "the probe's script ran"
grep -q '<img' "$T/dom.html" && fail "the probe's <img> became an element"
grep -q '<title>pwned' "$T/dom.html" && fail "the probe changed the title"
chrome --screenshot="$ARTIFACT" >/dev/null || fail "chromium --screenshot: $(tail -5 "$T/chrome.log")"
[ "$(head -c 8 "$ARTIFACT" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "the screenshot is not a PNG"
[ "$(stat -c %s "$ARTIFACT")" -gt 20000 ] || fail "the screenshot is nearly empty"
echo "PASS report: $(jq -r '.[0] | "\(.verdict) \(.worst_gap_s)s"' "$T/list.json"), screenshot $ARTIFACT"
