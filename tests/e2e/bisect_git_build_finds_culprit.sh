#!/usr/bin/env bash
# A git-mode bisection with a build step over a small real repository of 8
# commits: each commit's build.sh leaves a kernel image (Debian's, copied) and,
# from commit 5 on, a workload file that makes the guest freeze vCPU 1 in half
# its runs (a flaky bug that the commit introduced). Every candidate is built in
# the bisection's own clone and booted for real; blackout must name commit 5
# with at least 99% and leave the repository untouched.
. "$(dirname "$0")/lib.sh"
# The directory `kernels fetch` says it unpacked the kernel into.
kdir=$("$BLACKOUT" -q kernels fetch linux-image-amd64 | sed -n 's/^cached: *//p')
[ -d "$kdir" ] || fail "cannot fetch the default kernel"
image=$(ls "$kdir"/boot/vmlinuz-* | head -1)
config=$(ls "$kdir"/boot/config-* | head -1)
repo="$T/repo"
mkdir -p "$repo" && git -C "$repo" init -q
cat > "$repo/build.sh" <<SH
#!/bin/sh
set -e
mkdir -p out
cp "$image" out/bzImage
cp "$config" out/config
if [ -f bug ]; then
  printf 'faults: [{kind: freeze, vcpu: 1, at: 1s, length: 3s, probability: 0.5}]\n' > out/workload.yaml
fi
SH
chmod +x "$repo/build.sh"
for i in 0 1 2 3 4 5 6 7; do
  echo "$i" > "$repo/n"
  [ "$i" = 5 ] && echo "the flaky bug" > "$repo/bug"
  git -C "$repo" add -A
  git -C "$repo" -c user.name=t -c user.email=t@t commit -q -m "commit $i"
  [ "$i" = 0 ] && git -C "$repo" tag first
done
culprit=$(git -C "$repo" rev-list --reverse first..HEAD | sed -n 5p)
plan=$(config <<YAML
run:
  workload: {name: smoke, duration: 6s}
bisect:
  terms: regression
  p: 0.5
git:
  repo: $repo
  good: first
  bad: HEAD
  build: ./build.sh
  image: out/bzImage
  config: out/config
  workload: out/workload.yaml
YAML
)
start=$(date +%s)
bisect_must_find "$plan" "${culprit:0:12}"
[ -z "$(git -C "$repo" status --porcelain)" ] || fail "the bisection changed the user's tree"
runs=$(grep -c '"outcome"' "$T"/results/bisect/*/log.jsonl || true)
echo "PASS git bisection: commit 5 at $TOP_PCT% after $runs runs in $(( $(date +%s) - start )) s"
