#!/usr/bin/env bash
# The CI templates in ci/templates/, each checked by a real tool from Debian
# where one exists: yamllint for every YAML file, `blackout matrix` for the
# matrix they run, systemd-analyze verify for the service and timer, and
# python3-kubernetes' models for the CronJobs (every field must survive a
# round trip through them: a misspelled or misplaced key does not). GitLab's
# and GitHub's own linters need their servers, Jenkins is not in Debian: those
# files get yamllint, the Jenkinsfile none.
set -uo pipefail
BLACKOUT=$(realpath "${1:?usage: $0 path/to/blackout}")
DIR=$(cd "$(dirname "$0")/../ci/templates" && pwd)
T=$(mktemp -d /tmp/blackout-templates-XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# yamllint: syntax, duplicate keys, truthy values ("on" is quoted for GitHub).
cat > "$T/yamllint.yaml" <<'YAML'
extends: default
rules:
  line-length: {max: 130}
  document-start: disable
  comments: {min-spaces-from-content: 1}
YAML
/usr/bin/yamllint -c "$T/yamllint.yaml" "$DIR"/*.yml "$DIR"/*.yaml || fail "yamllint"
# yamllint does fail: a duplicate key.
printf 'a: 1\na: 2\n' > "$T/dup.yaml"
/usr/bin/yamllint -c "$T/yamllint.yaml" "$T/dup.yaml" > /dev/null 2>&1 && fail "yamllint passed a duplicate key"

# The matrix parses (every problem would be a file:line error, exit 64).
"$BLACKOUT" matrix -c "$DIR/nightly.yaml" --results "$T/results" --compare-only > "$T/matrix.out" 2>&1 ||
  fail "blackout matrix on nightly.yaml: $(cat "$T/matrix.out")"

# systemd units: the service's ExecStart must name an executable, so it is
# checked with this build's blackout in /usr/local/bin's place.
sed "s|/usr/local/bin/blackout|$BLACKOUT|" "$DIR/blackout-nightly.service" > "$T/blackout-nightly.service"
cp "$DIR/blackout-nightly.timer" "$T/"
out=$(cd "$T" && systemd-analyze verify --man=no ./blackout-nightly.service ./blackout-nightly.timer 2>&1)
[ -z "$out" ] || fail "systemd-analyze verify: $out"
printf '[Service]\nExecStart=/nonexistent/blackout\n' > "$T/broken.service"
(cd "$T" && systemd-analyze verify --man=no ./broken.service > /dev/null 2>&1) && fail "systemd-analyze passed a missing ExecStart"

# Kubernetes: each document into its model and back, unchanged.
/usr/bin/python3 - "$DIR/kubernetes-cronjob.yaml" <<'PY' || fail "kubernetes models"
import sys, yaml
from kubernetes import client

api = client.ApiClient()
def check(doc, where):
    kind = "V1" + doc["kind"]
    obj = api._ApiClient__deserialize(doc, kind)  # the client's own deserializer
    back = api.sanitize_for_serialization(obj)
    if back != doc:
        lost = {k for k in doc} ^ {k for k in back}
        raise SystemExit(f"{where}: {kind} does not round-trip (top-level difference: {sorted(lost) or 'nested'})")
    return obj

docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
assert len(docs) == 2, f"want 2 CronJobs, found {len(docs)}"
for i, d in enumerate(docs):
    job = check(d, f"document {i + 1}")
    assert job.spec.job_template.spec.template.spec.containers, "no container"
assert docs[0]["spec"]["jobTemplate"]["spec"]["completionMode"] == "Indexed"
# The check does catch a misplaced key.
bad = dict(docs[0]); bad["spec"] = dict(bad["spec"]); bad["spec"]["completionMode"] = "Indexed"
try:
    check(bad, "broken")
except SystemExit:
    pass
else:
    raise SystemExit("a misplaced key passed the round trip")
print("kubernetes: 2 CronJobs round-trip through client.V1CronJob")
PY
echo "PASS templates: yamllint, blackout matrix, systemd-analyze verify, kubernetes models"
