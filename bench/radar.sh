#!/usr/bin/env bash
# Cost of status's conflict radar at N running tasks (issue 14), worst case: every task changes
# the same file (different lines; undeclared, so the scheduler starts them together and the
# radar also reports it as outside their paths), so every pair's paths overlap and is merged.
#
#   bench/radar.sh            N=16, F=20000, on /dev/shm when it exists
#   N=8 F=2000 bench/radar.sh
#
# Compares, in one hyperfine run: `git parallel status` with the radar on, with it off
# (`-c parallel.radar=false`), and the merges themselves done by git (`git merge-tree
# --write-tree` for each of the N*(N-1)/2 pairs, in one shell loop). Not part of `cargo test`.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${N:-16}
F=${F:-20000}
RUNS=${RUNS:-10}
BIN=${BIN:-$ROOT/target/release/git-parallel}
[[ -x $BIN ]] || (cd "$ROOT" && cargo build --release -q)
command -v hyperfine >/dev/null || { echo "bench: needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }
base=/dev/shm; [[ -d $base && -w $base ]] || base=${TMPDIR:-/tmp}
W=$(mktemp -d "$base/radar-bench.XXXXXX"); trap 'rm -rf "$W"' EXIT
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_AUTHOR_NAME=B GIT_AUTHOR_EMAIL=b@e \
  GIT_COMMITTER_NAME=B GIT_COMMITTER_EMAIL=b@e NO_COLOR=1
export PATH="$(dirname "$BIN"):$PATH"
R=$W/repo; mkdir -p "$R" && cd "$R" && git init -q -b main && git config gc.auto 0
python3 - "$F" "$N" <<'PY'
import os, sys
f, n = int(sys.argv[1]), int(sys.argv[2])
for i in range(f):
    d = f"dir{i % 100:02d}"; os.makedirs(d, exist_ok=True)
    open(f"{d}/f{i}.txt", "w").write(f"{i}\n")
os.makedirs("shared", exist_ok=True)
open("shared/common.txt", "w").write("".join(f"line {i}\n\n\n" for i in range(n)))
os.makedirs("products/bench/.claude", exist_ok=True)
with open("products/bench/.claude/task-graph.yml", "w") as t:
    t.write("metadata:\n  product: bench\ntasks:\n")
    for i in range(n):
        t.write(f"  - id: T{i:02d}\n    name: task {i}\n    agent: backend-engineer\n"
                f"    parallel_ok: true\n    status: pending\n"
                f"    produces: [{{ name: out, type: directory, path: dir{i:02d}/ }}]\n")
PY
git add -A && git commit -qm base && git gc -q
git parallel start -q
tips=()
for i in $(seq 0 $((N - 1))); do
  t=$(printf 'T%02d' "$i"); wt=$W/worktrees/bench/backend-$t
  echo "task $i" > "$wt/dir$(printf %02d "$i")/new.txt"
  sed -i "$((i * 3 + 1))s/.*/line $i changed by $t/" "$wt/shared/common.txt"
  git -C "$wt" add -A && git -C "$wt" commit -qm "work $t"
  tips+=("$(git -C "$wt" rev-parse HEAD)")
done
pairs=$W/pairs.sh; : > "$pairs"
for ((a = 0; a < N; a++)); do for ((b = a + 1; b < N; b++)); do
  echo "git merge-tree --write-tree ${tips[a]} ${tips[b]} >/dev/null" >> "$pairs"
done; done
echo "N=$N tasks, F=$F files, $((N * (N - 1) / 2)) overlapping pairs, in $W"
git parallel status | tail -4
hyperfine -N --warmup 2 --runs "$RUNS" --export-markdown "$W/radar.md" \
  -n "status (radar on)" "git parallel status" \
  -n "status (radar off)" "git -c parallel.radar=false parallel status" \
  -n "git merge-tree x pairs" "sh $pairs" >/dev/null 2>&1 || true
cat "$W/radar.md"
