#!/bin/sh
# Before/after makespan of `git parallel run`, binaries alternated so that both see the same
# machine load: for each graph, N rounds of ../shared/tools/makespan.py with each binary, then
# the median ratio to the lower bound per binary.
# usage: scripts/makespan-compare.sh N BIN_DIR_A BIN_DIR_B GRAPH.yml…
#   (each BIN_DIR holds a git-parallel; results also in /dev/shm/ms-compare.txt)
set -eu
n=$1; a=$2; b=$3; shift 3
tool=${MAKESPAN_PY:-$(cd "$(dirname "$0")/.." && pwd)/../../shared/tools/makespan.py}
out=/dev/shm/ms-compare.txt
: > "$out"
for g in "$@"; do
  name=$(basename "$g" .task-graph.yml)
  i=0
  while [ "$i" -lt "$n" ]; do
    for bin in "$a" "$b"; do
      r=$(PATH="$bin:$PATH" python3 "$tool" "$g" "/dev/shm/ms-cmp-$name" 4 10 | sed -n 's/.*ratio\/LB \([0-9.]*\).*/\1/p')
      echo "$name $bin $r" | tee -a "$out"
    done
    i=$((i + 1))
  done
done
python3 - "$out" <<'PY'
import sys, collections
rs = collections.defaultdict(list)
for l in open(sys.argv[1]):
    g, b, r = l.split()
    rs[(g, b)].append(float(r))
for (g, b), v in sorted(rs.items()):
    v.sort()
    print(f"{g:20} {b:30} median {v[len(v) // 2]:.3f}  all {' '.join(f'{x:.3f}' for x in v)}")
PY
