#!/usr/bin/env bash
# `git bisect run blackout test` inside a git tree, as an engineer would use it.
# A repository of four commits keeps its run config in run.yaml and the
# workload it names in workload.yaml (a workload definition, as `blackout
# workloads show` prints one, read relative to run.yaml); from the
# third commit on it holds a real guest-internal freeze (vCPU 1 for 5 s), so
# those commits stall. git bisect must name the third commit after real boots,
# with `--runs 2`: two runs of a good commit, one of a bad one.
# Then the exit codes git bisect run relies on: 125 (skip) for a commit whose
# kernel cannot be used, and 128 for a broken workload file or a results store
# that cannot be opened, which makes git bisect run stop instead of calling
# every commit bad or skipping them all.
. "$(dirname "$0")/lib.sh"
BLACKOUT=$(realpath "$BLACKOUT")  # git bisect run runs it from the tree
repo="$T/tree"
git init -q "$repo" || fail "git init"
cd "$repo" || fail "cd $repo"
commit() { git add -A && git -c user.name=blackout -c user.email=blackout@localhost commit -qm "$1" || fail "commit $1"; }
echo "workload: workload.yaml" > run.yaml
cat > workload.yaml <<'YAML'
name: smoke
duration: 12s
YAML
commit "one: smoke"
echo "two" > notes.txt
commit "two: notes only"
cat > workload.yaml <<'YAML'
name: smoke
duration: 12s
faults:
  - {kind: freeze, vcpu: 1, at: 3s, length: 5s}
YAML
commit "three: the freeze comes in"
echo "four" >> notes.txt
commit "four: notes only"
third=$(git rev-parse HEAD~1)

git bisect start HEAD HEAD~3 >/dev/null || fail "git bisect start"
git bisect run "$BLACKOUT" test -c run.yaml --runs 2 --results "$T/results" > "$T/bisect.txt" 2>&1
rc=$?
cat "$T/bisect.txt"
[ "$rc" -eq 0 ] || fail "git bisect run exit $rc"
[ "$(git rev-parse refs/bisect/bad)" = "$third" ] || fail "git bisect named $(git rev-parse refs/bisect/bad), want $third"
grep -q "^$third is the first bad commit" "$T/bisect.txt" || fail "no 'first bad commit' line for $third"
# git bisect tests the second and third commits: the good one runs twice, the
# bad one stops at its first (stalled) run.
runs=$(ls -d "$T"/results/*/ | wc -l)
[ "$runs" -eq 3 ] || fail "$runs runs, want 3 (two of the good commit, one of the bad)"
grep -q "test: good (2 runs passed)" "$T/bisect.txt" || fail "no 'test: good (2 runs passed)' line"
grep -q "test: bad (run 1 of 2)" "$T/bisect.txt" || fail "no 'test: bad (run 1 of 2)' line"
# Each run's verdict must match its commit: a stall for the third, a pass before it.
for f in "$T"/results/*/result.json; do
  jq -e '.verdict == "pass" or (.verdict == "stall" and (.freezes[0].vcpus == [1]))' "$f" >/dev/null ||
    fail "unexpected verdict in $f: $(jq -c '{verdict, title}' "$f")"
done
git bisect reset -q >/dev/null 2>&1

# Skip: this commit's kernel cannot be used (its image is missing).
printf 'kernel: {image: %s/arch/x86/boot/bzImage}\n' "$repo" > "$T/image.yaml"
"$BLACKOUT" test -c "$T/image.yaml" --results "$T/skip-results"
rc=$?
[ "$rc" -eq 125 ] || fail "a missing kernel image: exit $rc, want 125 (skip)"

# Stop: a workload file that is wrong for every commit. git bisect run must
# stop at the first commit it tests, with no culprit.
printf 'name: smoke\nduration: 12q\n' > "$T/broken.yaml"
"$BLACKOUT" test --workload "$T/broken.yaml" --results "$T/stop-results" 2> "$T/stop.txt"
rc=$?
cat "$T/stop.txt"
[ "$rc" -eq 128 ] || fail "a broken workload file: exit $rc, want 128"
grep -q "broken.yaml:2:11: 'duration'" "$T/stop.txt" || fail "the error does not name broken.yaml:2:11"
# The same file named by a run config elsewhere: found beside the config, not
# in the tree blackout runs in, and placed in its own file.
mkdir -p "$T/cfg" && cp "$T/broken.yaml" "$T/cfg/" && echo "workload: broken.yaml" > "$T/cfg/run.yaml"
"$BLACKOUT" test -c "$T/cfg/run.yaml" --results "$T/stop-results" 2> "$T/stop-cfg.txt"
rc=$?
[ "$rc" -eq 128 ] || fail "a run config naming a broken workload file: exit $rc, want 128"
grep -q "cfg/broken.yaml:2:11: 'duration'" "$T/stop-cfg.txt" || fail "the error does not name cfg/broken.yaml:2:11: $(cat "$T/stop-cfg.txt")"
"$BLACKOUT" test --results /proc/blackout-results 2> "$T/proc.txt"
rc=$?
[ "$rc" -eq 128 ] || fail "a results store that cannot be opened: exit $rc, want 128: $(cat "$T/proc.txt")"
git bisect start HEAD HEAD~3 >/dev/null || fail "git bisect start (again)"
git bisect run "$BLACKOUT" test --workload "$T/broken.yaml" --results "$T/stop-results" > "$T/stopped.txt" 2>&1
rc=$?
[ "$rc" -ne 0 ] || fail "git bisect run went on after exit 128: $(cat "$T/stopped.txt")"
grep -q "first bad commit" "$T/stopped.txt" && fail "git bisect run named a culprit from a broken workload file"
[ ! -d "$T/stop-results" ] || [ -z "$(ls -A "$T/stop-results")" ] || fail "a broken workload file still booted a guest"
git bisect reset -q >/dev/null 2>&1
echo "PASS git bisect run named the third commit after $runs real runs; 125 for a missing image, 128 stops git bisect"
