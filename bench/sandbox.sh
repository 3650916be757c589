#!/bin/sh
# The cost of the sandbox (issue 25), two ways, --sandbox on against off, alternating:
#  1. per command: `git parallel exec -j 1 -- true` over N started tasks, R times each. An upper
#     bound: besides the ruleset built in the parent, a fresh TMPDIR and the restriction in the
#     child, the sandbox makes exec fork instead of posix_spawn (a pre_exec hook), which run's
#     agents pay anyway (they die with run through one).
#  2. per attempt: `git parallel run -j 1` of RUNS fresh copies of a repository of N tasks whose
#     agent commits one file; the mean wall time per attempt, start and finish included.
#
#   bench/sandbox.sh                 # N=16 tasks, R=20 rounds, RUNS=3, the debug binary
#   BIN=target/release/git-parallel N=32 R=30 RUNS=5 bench/sandbox.sh
set -eu
N=${N:-16}
R=${R:-20}
RUNS=${RUNS:-3}
BIN=$(realpath "${BIN:-target/debug/git-parallel}")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export HOME="$dir" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@x GIT_COMMITTER_NAME=b GIT_COMMITTER_EMAIL=b@x
cd "$dir" && git init -q -b main repo && cd repo
mkdir -p .claude
{
  printf 'metadata:\n  product: bench\ntasks:\n'
  i=0
  while [ $i -lt "$N" ]; do
    printf -- '- id: T%02d\n  name: t\n  agent: backend-engineer\n  depends_on: []\n  produces:\n  - {name: t, path: dir%02d/}\n  parallel_ok: true\n  status: pending\n' $i $i
    i=$((i+1))
  done
} > .claude/task-graph.yml
git add -A && git commit -q -m init
cp -r "$dir/repo" "$dir/template"
"$BIN" start -q --max "$N"
now() { date +%s%N; }
on=0 off=0
r=0
while [ $r -lt "$R" ]; do
  t=$(now); "$BIN" exec -q -j 1 --sandbox on -- true >/dev/null; on=$((on + $(now) - t))
  t=$(now); "$BIN" exec -q -j 1 --sandbox off -- true >/dev/null; off=$((off + $(now) - t))
  r=$((r+1))
done
echo "$N commands per exec, $R execs each:" \
  "on $((on / R / 1000)) µs per exec, off $((off / R / 1000)) µs per exec;" \
  "per command: on $((on / R / N / 1000)) µs, off $((off / R / N / 1000)) µs," \
  "sandbox cost $(((on - off) / R / N / 1000)) µs per command" \
  "(ratio $(echo "scale=2; $on / $off" | bc 2>/dev/null || echo "?"))"

# 2. per attempt, through run.
agent='mkdir -p "dir${GIT_PARALLEL_TASK_ID#T}" && echo x > "dir${GIT_PARALLEL_TASK_ID#T}/f" && git add -A && git commit -q -m work'
on=0 off=0
r=0
while [ $r -lt "$RUNS" ]; do
  for mode in on off; do
    rm -rf "$dir/repo" "$dir/worktrees" && cp -r "$dir/template" "$dir/repo" && cd "$dir/repo"
    t=$(now); "$BIN" run -q -j 1 --sandbox $mode --agent "$agent" >/dev/null 2>&1; d=$(($(now) - t))
    [ "$(grep -c 'status: completed' .claude/task-graph.yml)" -eq "$N" ] || { echo "run --sandbox $mode did not complete every task" >&2; exit 1; }
    if [ $mode = on ]; then on=$((on + d)); else off=$((off + d)); fi
  done
  r=$((r+1))
done
echo "run -j 1 of $N tasks, $RUNS runs each: per attempt (start, agent, finish):" \
  "on $((on / RUNS / N / 1000)) µs, off $((off / RUNS / N / 1000)) µs," \
  "difference $(((on - off) / RUNS / N / 1000)) µs per attempt"
