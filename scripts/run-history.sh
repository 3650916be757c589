#!/usr/bin/env bash
# The commits a `git parallel run` adds to the target (issue 20 item 6), on the studyflow graph
# (tests/fixtures/studyflow.task-graph.yml, every task reset to pending) with script agents of
# different durations (0-3.9 s), `-j 4`, no remote. Checkpoints stop a run; they are approved
# between runs (each approval is a commit of its own, counted apart).
#
#   scripts/run-history.sh            BIN=path/to/git-parallel (default target/debug/git-parallel)
#   DIRTY=1 scripts/run-history.sh    with an unrelated uncommitted change in the main worktree
#
# Prints: merge commits and other commits on main's first-parent line, the subjects of the
# others, whether the task file is left committed, and `git fsck` problems (none expected).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${BIN:-$ROOT/target/debug/git-parallel}
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME=$D
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t
cd "$D" && git init -q -b main repo && cd repo
mkdir -p .claude
sed -e 's/status: "completed"/status: "pending"/' "$ROOT/tests/fixtures/studyflow.task-graph.yml" > .claude/task-graph.yml
echo x > README && git add -A && git commit -q -m init
cat > "$D/agent.sh" <<'A'
p=$(sed -n '/^## Paths it may change/,$p' "$GIT_PARALLEL_TASK_BRIEF" | sed -n 's/^- //p' | grep -v '[*?]' | head -1)
sleep $(( $(printf %s "$GIT_PARALLEL_TASK_ID" | cksum | cut -d' ' -f1) % 4 )).$(( RANDOM % 9 ))
case "$p" in
  "") git commit -q --allow-empty -m "nothing to write" ;;
  */) mkdir -p "$p" && echo "$GIT_PARALLEL_TASK_ID" > "$p/agent.txt" && git add -A && git commit -q -m "$GIT_PARALLEL_TASK_ID" ;;
  *) mkdir -p "$(dirname "$p")" && echo "$GIT_PARALLEL_TASK_ID" >> "$p" && git add -A && git commit -q -m "$GIT_PARALLEL_TASK_ID" ;;
esac
A
if [ "${DIRTY:-0}" = 1 ]; then echo local >> README; fi
base=$(git rev-parse HEAD)
runs=0
for _ in 1 2 3 4 5 6; do
  runs=$((runs + 1))
  out=$("$BIN" run --json -j 4 --agent "sh $D/agent.sh" 2>"$D/err" || true)
  waiting=$(printf '%s\n' "$out" | tail -1 | python3 -c 'import json,sys; s=json.load(sys.stdin); print(" ".join(sorted({a for w in s.get("waiting_for_approval",[]) for a in w["approve"]})))')
  [ -z "$waiting" ] && break
  for c in $waiting; do "$BIN" approve "$c" >/dev/null; done
done
echo "runs: $runs"
echo "merge commits: $(git rev-list --first-parent --count --merges "$base..main")"
echo "other commits: $(git rev-list --first-parent --count --no-merges "$base..main")"
git log --first-parent --no-merges --format='  %s' "$base..main"
echo "main worktree: $(git status --porcelain | tr '\n' ' ')"
git fsck --no-progress --no-dangling
