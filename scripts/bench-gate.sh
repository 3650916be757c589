#!/bin/sh
# The test gate on a real crate (issue 20 item 7): `git parallel run --test CMD` with a binary
# before the kept gate worktree and one after, against the protocol by hand (each branch
# merged into main in the main worktree, the test run there, warm), all on tmpfs.
#
# The crate: dashmap 6.2.1 from ~/.cargo/registry/src (its optional rayon/arbitrary/typesize
# dependencies dropped so that it builds offline; serde kept, so a cold build compiles
# serde_derive, syn, …). The gate: `cargo test --offline -q --features serde --lib` (its 20 unit
# tests plus the agents' new ones). 8 script agents, each adding a unit test module to its own
# file of the crate after "thinking" for a few seconds, -j 2, the worktree pool on
# (parallel.reuseWorktrees), sandbox off (cargo writes ~/.cargo). Every repository starts with
# the main worktree's target/ warm (built once before the clock starts), as a user's would be.
#
# Measured (2026-12-07, 2 CPUs shared with other builds, release binaries, 8 tasks, -j 2; the
# agents' own work is 56 s, so 28 s is the floor at -j 2):
#   before (main c9b246c: a cold gate per landing, in its transaction)  92.0 89.6 s
#   after  (h/gate 57482a1: kept gate worktree, gate in the background)  31.2 31.4 31.0 s
#   hand   (waves of 2, merge + test in the warm main worktree)          40.0 39.9 40.4 s
# Under heavier load (load average ~8; before = main 91b8eac): before 158.8 172.1 s, after
# 31.9 31.8 32.7 s, hand 42.1 43.3 41.1 s.
#
# Usage: scripts/bench-gate.sh BEFORE_BIN AFTER_BIN [what…]   (what: before after hand; all
# by default). Prints one line per measurement: what, wall seconds, tasks completed.
set -eu

BEFORE=${1:?usage: bench-gate.sh BEFORE_BIN AFTER_BIN [before after hand]}
AFTER=${2:?usage: bench-gate.sh BEFORE_BIN AFTER_BIN [before after hand]}
shift 2
WHAT=${*:-before after hand}
BASE=${BENCH_DIR:-/dev/shm/gp-bench-gate}
CRATE=${CRATE:-$(ls -d "$HOME"/.cargo/registry/src/*/dashmap-6.2.1 | head -n 1)}
TEST='cargo test --offline -q --features serde --lib'
mkdir -p "$BASE/tmp"
export TMPDIR="$BASE/tmp"
unset CARGO_TARGET_DIR

# task id, file it adds its test to, seconds the agent "thinks"
TASKS='T1 src/set.rs 6
T2 src/read_only.rs 10
T3 src/iter.rs 4
T4 src/mapref/entry.rs 8
T5 src/util.rs 6
T6 src/try_result.rs 10
T7 src/mapref/one.rs 4
T8 src/iter_set.rs 8'

cat > "$BASE/agent.sh" <<'EOF'
# A script agent: thinks, then adds a unit test module to its task's file and commits.
id=$GIT_PARALLEL_TASK_ID
line=$(printf '%s\n' "$BENCH_TASKS" | grep "^$id ")
file=$(echo "$line" | cut -d' ' -f2)
secs=$(echo "$line" | cut -d' ' -f3)
n=${id#T}
sleep "$secs"
cat >> "$file" <<RS

#[cfg(test)]
mod bench_$id {
    #[test]
    fn a_value_inserted_is_read_back_$n() {
        let map = crate::DashMap::new();
        map.insert($n, $n * 2);
        assert_eq!(*map.get(&$n).unwrap(), $n * 2);
        assert_eq!(map.len(), 1);
    }
}
RS
git add -A && git commit -q -m "test: $file reads back what it stores ($id)"
EOF
export BENCH_TASKS="$TASKS"

# A git repository of the crate at $1 with the task graph, its target/ warm.
make_repo() {
  rm -rf "$1" "$1-worktrees" "$(dirname "$1")/worktrees"
  mkdir -p "$1"
  cp -r "$CRATE/." "$1/"
  cd "$1"
  rm -f Cargo.lock rust-toolchain.toml Cargo.toml.orig .cargo_vcs_info.json
  python3 - <<'PY'
import re
s = open('Cargo.toml').read()
for dep in ['arbitrary', 'rayon', 'typesize']:
    s = re.sub(r'\[dependencies\.%s\]\n(?:[^\[\n][^\n]*\n)*' % dep, '', s)
s = s.replace('typesize = ["dep:typesize"]\n', '')
open('Cargo.toml', 'w').write(s)
PY
  printf '/target\n' > .gitignore
  mkdir -p .claude
  {
    printf 'metadata:\n  product: bench\ntasks:\n'
    printf '%s\n' "$TASKS" | while read -r id file secs; do
      printf -- '- id: %s\n  name: Test %s\n  agent: backend-engineer\n  depends_on: []\n  produces:\n  - name: %s\n    path: %s\n  parallel_ok: true\n  estimated_time_minutes: 1\n  status: pending\n' \
        "$id" "$file" "$id" "$file"
    done
  } > .claude/task-graph.yml
  git init -q -b main
  git -c user.name=bench -c user.email=bench@example.com add -A
  git -c user.name=bench -c user.email=bench@example.com commit -q -m "dashmap 6.2.1"
  git config user.name bench
  git config user.email bench@example.com
  git config parallel.reuseWorktrees true
  $TEST > /dev/null 2>&1
}

now() { date +%s.%N; }

# `run` with binary $2 in a fresh repository $1.
bench_run() {
  make_repo "$BASE/$1/repo"
  t0=$(now)
  "$2" run --agent "sh $BASE/agent.sh" -j 2 --test "$TEST" --sandbox off --json \
    > "$BASE/$1/events.jsonl" 2> "$BASE/$1/stderr.txt" || true
  t1=$(now)
  done=$(grep -c '"event":"merged"' "$BASE/$1/events.jsonl" || true)
  echo "$1 $(echo "$t1 - $t0" | bc) s, $done tasks merged"
}

# The protocol by hand: waves of 2 agents in worktrees, then each branch merged into main in
# the main worktree and the test run there (warm).
bench_hand() {
  make_repo "$BASE/hand/repo"
  wts="$BASE/hand/wts"
  mkdir -p "$wts"
  t0=$(now)
  printf '%s\n' "$TASKS" | awk '{print $1}' | paste -d' ' - - | while read -r a b; do
    for id in $a $b; do
      git worktree add -q -b "hand/$id" "$wts/$id" main
      (cd "$wts/$id" && GIT_PARALLEL_TASK_ID=$id sh "$BASE/agent.sh") &
    done
    wait
    for id in $a $b; do
      git merge -q --no-ff -m "merge $id" "hand/$id"
      $TEST > /dev/null 2>&1 || { echo "hand: the test failed after $id" >&2; exit 1; }
      git worktree remove "$wts/$id"
      git branch -q -D "hand/$id"
    done
  done
  t1=$(now)
  echo "hand $(echo "$t1 - $t0" | bc) s, $(git rev-list --count --merges main) branches merged"
}

for w in $WHAT; do
  case $w in
    before) bench_run before "$BEFORE" ;;
    after) bench_run after "$AFTER" ;;
    hand) bench_hand ;;
    *) echo "unknown: $w" >&2; exit 2 ;;
  esac
done
