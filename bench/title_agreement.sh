#!/usr/bin/env bash
# Exact-title agreement with syzkaller on console logs titled elsewhere: each
# file in DIR starts with syzkaller's header ("TITLE: ..." and optional ALT:,
# TYPE:, CORRUPTED:, FRAME:, EXECUTOR: lines, then a blank line) followed by
# the log, as in syzkaller's pkg/report/testdata/linux/report (a checkout read
# at run time: `fetch` google/syzkaller, or any clone). For each log, blackout
# analyze's first kernel report (the one syzkaller titles: the first in the
# log) is compared with TITLE, per kind of report blackout titles; kinds
# blackout does not title are counted apart. --misses prints each miss.
#   bench/title_agreement.sh DIR [--misses]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
dir=${1:?usage: bench/title_agreement.sh DIR [--misses]}
misses=${2:-}
[ -d "$dir" ] || { echo "title_agreement: $dir is not a directory" >&2; exit 64; }
bench_checking && exit 0
T=$(mktemp -d /tmp/blackout-titles-XXXXXX)
trap 'rm -rf "$T"' EXIT
kind_of() {
  case "$1" in
    "BUG: soft lockup"*) echo soft-lockup ;;
    "INFO: rcu detected stall"*) echo rcu-stall ;;
    "INFO: task hung"*) echo hung-task ;;
    "BUG: workqueue lockup"*) echo workqueue-lockup ;;
    "BUG: spinlock lockup"*) echo spinlock-lockup ;;
    "general protection fault"*) echo gpf ;;
    "BUG: unable to handle kernel paging request"*) echo paging-request ;;
    "BUG: unable to handle kernel NULL pointer"*) echo null-deref ;;
    KASAN:*|KMSAN:*|KCSAN:*|UBSAN:*|KFENCE:*) echo sanitizer ;;
    "kernel BUG"*) echo kernel-bug ;;
    "WARNING in "*) echo warning ;;
    "kernel panic:"*) echo panic ;;
    *) echo other ;;
  esac
}
: > "$T/rows"
for f in "$dir"/*; do
  [ -f "$f" ] || continue
  want=$(sed -n '1s/^TITLE: //p' "$f")
  [ -n "$want" ] || continue
  awk 'body { print } /^$/ && !body { body = 1 }' "$f" > "$T/log"
  build/bin/blackout analyze --json "$T/log" > "$T/json" 2> /dev/null || true  # exits with the verdict's code
  got=$(jq -r '[.events[] | select(.type == "report" and .kind != "note")] | sort_by(.t) | .[0].title // "-"' "$T/json" 2> /dev/null ||
          echo "(analyze failed)")
  printf '%s\t%s\t%s\t%s\n' "$(kind_of "$want")" "$([ "$got" = "$want" ] && echo 1 || echo 0)" \
    "$(basename "$f")" "$want	$got" >> "$T/rows"
done
awk -F'\t' -v misses="$misses" '
  { n[$1]++; ok[$1] += $2; if ($1 != "other") { N++; OK += $2 } }
  misses == "--misses" && $2 == 0 && $1 != "other" { printf "miss %-16s %-6s want %s\n%29s got  %s\n", $1, $3, $4, "", $5 }
  END {
    printf "%-18s %6s %6s %7s\n", "kind", "logs", "exact", "agree";
    for (k in n) if (k != "other") printf "%-18s %6d %6d %6.1f%%\n", k, n[k], ok[k], 100 * ok[k] / n[k];
    printf "%-18s %6d %6d %6.1f%%\n", "all titled kinds", N, OK, N ? 100 * OK / N : 0;
    printf "%-18s %6d   (kinds blackout does not title: not counted)\n", "other", n["other"];
  }' "$T/rows"
