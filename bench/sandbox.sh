#!/bin/sh
# The cost of the sandbox per command (issue 25): `git parallel exec -j 1 -- true` over N started
# tasks, R times each with --sandbox on and --sandbox off, alternating; prints the mean wall time
# per exec and per command, and the difference per command (the sandbox's cost per attempt: the
# ruleset built in the parent, a fresh TMPDIR, the restriction in the child).
#
#   bench/sandbox.sh                 # N=16 tasks, R=20 rounds, the debug binary
#   BIN=target/release/git-parallel N=32 R=30 bench/sandbox.sh
set -eu
N=${N:-16}
R=${R:-20}
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
