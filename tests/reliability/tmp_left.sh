#!/usr/bin/env bash
# The unit tier leaves no temporary directories behind: `save FILE` lists
# /tmp/blackout-* before the unit tests run (a ctest fixture's setup), `check
# FILE` fails naming every one that appeared since (its cleanup).
set -euo pipefail
mode=$1 file=$2
list() { find /tmp -maxdepth 1 -name "blackout-*" 2>/dev/null | LC_ALL=C sort; }
if [ "$mode" = save ]; then
  list > "$file"
  exit 0
fi
left=$(LC_ALL=C comm -13 "$file" <(list) || true)
if [ -n "$left" ]; then
  echo "unit tests left temporary directories behind:" >&2
  echo "$left" >&2
  exit 1
fi
echo "no temporary directories left behind"
