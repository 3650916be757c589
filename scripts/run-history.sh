#!/usr/bin/env bash
# The commits a `git parallel run` adds to the target (issue 20 item 6), on a task graph (by
# default tests/fixtures/studyflow.task-graph.yml; any graph of ../shared/corpus/ works), every
# task reset to pending, with script agents of different durations (0-3.9 s), `-j 4`, no
# remote. An agent commits inside the first path its task may change, and commits nothing when
# its task produces nothing (no `produces` entry with a path: a review, a gate, a checkpoint).
# Checkpoints stop a run; they are approved between runs (each approval is a commit of its own,
# counted apart).
#
#   scripts/run-history.sh [GRAPH]    BIN=path/to/git-parallel (default target/debug/git-parallel)
#   DIRTY=1 scripts/run-history.sh    with an unrelated uncommitted change in the main worktree
#   NOTHING='QA-02 CODE-REVIEW-01' scripts/run-history.sh
#                                     those tasks made to produce nothing (their `produces`
#                                     dropped; the file rewritten by PyYAML), as gates and
#                                     reviews are in many real graphs
#
# Prints: the tasks and those producing nothing, the runs, merge commits and other commits on
# main's first-parent line (approvals apart), the subjects of the others, whether the task file
# is left committed, and `git fsck` problems (none expected).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${BIN:-$ROOT/target/debug/git-parallel}
GRAPH=$(cd "$(dirname "${1:-$ROOT/tests/fixtures/studyflow.task-graph.yml}")" && pwd)/$(basename "${1:-studyflow.task-graph.yml}")
D=$(mktemp -d)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$D"' EXIT
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME=$D
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t
cd "$D" && git init -q -b main repo && cd repo
mkdir -p .claude
sed -E "s/^([[:space:]-]*status:[[:space:]]*)[\"']?(completed|in_progress|failed|blocked|skipped|ready)[\"']?/\\1pending/" "$GRAPH" > .claude/task-graph.yml
if [ -n "${NOTHING:-}" ]; then
  python3 - .claude/task-graph.yml $NOTHING <<'P'
import sys, yaml
path, ids = sys.argv[1], set(sys.argv[2:])
doc = yaml.safe_load(open(path))
for t in doc["tasks"]:
    if t["id"] in ids:
        # Same names (other tasks consume them), no paths.
        t["produces"] = [{"name": a.get("name"), "type": "decision"} for a in t.get("produces") or []]
open(path, "w").write(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=1000))
P
fi
echo x > README && git add -A && git commit -q -m init
cat > "$D/agent.sh" <<'A'
sleep $(( $(printf %s "$GIT_PARALLEL_TASK_ID" | cksum | cut -d' ' -f1) % 4 )).$(( RANDOM % 9 ))
# Produces nothing: no line of the Produces section names a path.
if ! sed -n '/^## Produces/,/^## /p' "$GIT_PARALLEL_TASK_BRIEF" | grep '^- ' | grep -qv ': -$'; then
  exit 0
fi
p=$(sed -n '/^## Paths it may change/,$p' "$GIT_PARALLEL_TASK_BRIEF" | sed -n 's/^- //p' | grep -v '[*?]' | head -1)
[ -n "$p" ] || { git commit -q --allow-empty -m "nothing to write"; exit; }
# A path ending in / or with no dot in its last part (apps/api) is a directory.
case "$p" in
  */) d=$p ;;
  *) case "${p##*/}" in *.*) d= ;; *) d=$p ;; esac ;;
esac
if [ -n "$d" ]; then
  mkdir -p "$d" && echo "$GIT_PARALLEL_TASK_ID" > "$d/agent-$GIT_PARALLEL_TASK_ID.txt"
else
  mkdir -p "$(dirname "$p")" && echo "$GIT_PARALLEL_TASK_ID" >> "$p"
fi
git add -A && git commit -q -m "$GIT_PARALLEL_TASK_ID"
A
if [ "${DIRTY:-0}" = 1 ]; then echo local >> README; fi
echo "graph: $(basename "$GRAPH")"
python3 - .claude/task-graph.yml <<'P' 2>/dev/null || true
import sys, yaml
ts = yaml.safe_load(open(sys.argv[1]))["tasks"]
nothing = [t["id"] for t in ts if not any(isinstance(p, dict) and p.get("path") for p in (t.get("produces") or []))]
print(f"tasks: {len(ts)}, producing nothing: {len(nothing)} ({', '.join(nothing)})")
P
base=$(git rev-parse HEAD)
runs=0
for _ in $(seq 1 12); do
  runs=$((runs + 1))
  out=$("$BIN" run --json -j 4 --agent "sh $D/agent.sh" 2>"$D/err" || true)
  waiting=$(printf '%s\n' "$out" | tail -1 | python3 -c 'import json,sys; s=json.load(sys.stdin); print(" ".join(sorted({a for w in s.get("waiting_for_approval",[]) for a in w["approve"]})))')
  [ -z "$waiting" ] && break
  for c in $waiting; do "$BIN" approve "$c" >/dev/null; done
done
others=$(git log --first-parent --no-merges --format='%s' "$base..main")
approvals=$(printf '%s\n' "$others" | grep -c ': approve ' || true)
echo "runs: $runs"
echo "merge commits: $(git rev-list --first-parent --count --merges "$base..main")"
echo "other commits: $(git rev-list --first-parent --count --no-merges "$base..main") ($approvals approvals)"
git log --first-parent --no-merges --format='  %s' "$base..main"
echo "completed: $(grep -cE '^[[:space:]-]*status:[[:space:]]*"?completed' .claude/task-graph.yml) of $(grep -cE '^[[:space:]-]*status:' .claude/task-graph.yml)"
echo "main worktree: $(git status --porcelain | tr '\n' ' ')"
git fsck --no-progress --no-dangling
