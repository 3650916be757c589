#!/usr/bin/env bash
# Benchmark of `git parallel` against the hand-run git protocol and worktrunk (issues 6, 11).
#
#   bench/run.sh                 full run (N in {1,8,16}, F in {2000,20000,100000}); ~40 min on 2 cores
#   QUICK=1 bench/run.sh         fast run (N in {1,4}, F=2000, 3 runs each); a few minutes
#
# Not part of `cargo test`. Needs hyperfine, GNU time (/usr/bin/time) and python3; hyperfine and
# time are installed with apt-get when missing and running as root.
#
# Environment:
#   QUICK=1          the small matrix above, fewer runs
#   RUNS=N           runs per start/finish measurement (default 10 at F=2000, 5 at F=20000; QUICK: 3)
#   STATUS_RUNS=N    runs per status measurement (default 20; QUICK: 10)
#   STARTUP_RUNS=N   runs per startup measurement (default 100; QUICK: 30)
#   NS="1 8 16"      override the task counts;  FS="2000 20000 100000"  override the file counts
#   STATUS_ONLY_NS="1"  task counts measured by status only (no start/finish/waves)
#   MAX_NF=800000    skip the (N, F) pairs with N*F above this (tmpfs room and time)
#   SCENARIOS="start finish status waves worktrunk startup"  what to measure
#   WT=path          worktrunk's `wt` (default: `wt` on PATH, else /work/tools/worktrunk/bin/wt);
#                    its columns are left out when it is missing
#   NO_BUILD=1       skip `cargo build --release` (use the existing target/release/git-parallel,
#                    or $CARGO_TARGET_DIR/release/git-parallel, or BIN=path)
#   OUT=path         where to write the report (default bench/RESULTS.md; QUICK: bench/RESULTS-quick.md)
#   WORKDIR=dir      scratch directory (default: a fresh mktemp -d, removed at exit unless KEEP=1)
#   KEEP=1           keep the scratch directory (repositories, hyperfine JSON, logs)
#   REPORT_ONLY=1    with WORKDIR: only rewrite the report from WORKDIR/res (e.g. after running
#                    SCENARIOS=waves into the same WORKDIR and KEEP=1 as an earlier run)
#
# What is measured (hyperfine --export-json, medians; ours and theirs in the same hyperfine run):
#   (a) start:   `git parallel start` vs: sed the task file to in_progress, commit it, then
#                `git worktree add -b feature/bench/backend-Tnn ../worktrees/bench/backend-Tnn` x N
#   (b) finish:  `git parallel finish` vs: `git merge --no-ff` x N, `git worktree remove` +
#                `git branch -d` x N, sed the task file to completed, commit it
#                (prepare: reset the repository, `git parallel start`, one commit per worktree
#                inside the task's own directory)
#   (c) status:  `git parallel status` with N active worktrees vs `git worktree list` plus
#                `git -C <wt> status --porcelain` for each task worktree
#   worktrunk (same hyperfine runs as (a)-(c), when `wt` is there): `wt switch -c <branch>` per
#                task vs start, `wt list` vs status, `wt merge` in each task worktree vs finish
#   (e) waves:   with `parallel.reuseWorktrees true` (and parallel.poolSize N): wave 1 finish
#                parks the N worktrees; wave 2 (N more tasks, each depending on one of wave 1)
#                start takes them and its finish parks them again. Theirs: the same hand-run
#                protocol as (a)/(b) (it has no reuse), from the same repository state.
#   (d) startup: `git parallel --version`, `git-parallel --version`, and `git parallel status`
#                on the 36-task fixture (tests/fixtures/connectgrc.task-graph.yml) in a small repo
#   peak RSS of each of our commands at the largest size: /usr/bin/time -f %M (largest process
#   of the tree, git children included) and the git-parallel process's own VmHWM.
#
# The repository: F small files in dir00..dir99 (F/100 each), packed, plus
# products/bench/.claude/task-graph.yml with N ready parallel_ok tasks T00.. (pending, no deps,
# agent backend-engineer), task Tnn owning directory dirnn/. Every timed run starts from a copy
# of a pristine repository (hyperfine --prepare). Git is isolated from the user's configuration
# (GIT_CONFIG_GLOBAL points at a generated file, GIT_CONFIG_NOSYSTEM=1, gc.auto=0).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
    NS=${NS:-"1 4"}
    FS=${FS:-"2000"}
    OUT=${OUT:-$ROOT/bench/RESULTS-quick.md}
    STATUS_RUNS=${STATUS_RUNS:-10}
    STARTUP_RUNS=${STARTUP_RUNS:-30}
else
    NS=${NS:-"1 8 16"}
    FS=${FS:-"2000 20000 100000"}
    OUT=${OUT:-$ROOT/bench/RESULTS.md}
    STATUS_RUNS=${STATUS_RUNS:-20}
    STARTUP_RUNS=${STARTUP_RUNS:-100}
fi
STATUS_ONLY_NS=${STATUS_ONLY_NS:-1}
MAX_NF=${MAX_NF:-800000}
SCENARIOS=${SCENARIOS:-"start finish status waves worktrunk startup"}
want() { [[ " $SCENARIOS " == *" $1 "* ]]; }
T0=$(date +%s)

log() { printf '[%s] %s\n' "$(date -u -d @$(($(date +%s) - T0)) +%M:%S)" "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- tools
need_apt() { # $1 = command, $2 = package
    command -v "$1" >/dev/null 2>&1 && return 0
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        log "installing $2 (apt-get)"
        apt-get install -y "$2" >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y "$2" >/dev/null 2>&1; } \
            || die "apt-get install $2 failed"
    else
        die "$1 is missing: install it (e.g. sudo apt-get install $2, or cargo install hyperfine) and run again"
    fi
}
need_apt hyperfine hyperfine
[[ -x /usr/bin/time ]] || need_apt /usr/bin/time time
command -v python3 >/dev/null || die "python3 is required"
command -v git >/dev/null || die "git is required"

# ---------------------------------------------------------------- build
if [[ ${NO_BUILD:-0} != 1 ]]; then
    log "cargo build --release"
    (cd "$ROOT" && cargo build --release --quiet) || die "cargo build --release failed"
fi
BIN=${BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/git-parallel}
[[ -x $BIN ]] || die "$BIN not found (run cargo build --release)"

# ---------------------------------------------------------------- scratch
# Default scratch: /dev/shm when it is a tmpfs with room (F=20000, N=16 needs ~2 GiB). On ext4,
# creating files soon after deleting many (every --prepare deletes worktrees) was measured at
# 10-50x the normal cost (openat ~1 ms each: the inode allocator skipping recently deleted
# inodes), which swamps what the benchmark compares. WORKDIR=/some/dir measures elsewhere.
if [[ -n ${WORKDIR:-} ]]; then
    W=$WORKDIR
    mkdir -p "$W"
else
    base=${TMPDIR:-/tmp}
    if [[ $(df --output=fstype /dev/shm 2>/dev/null | tail -1) == tmpfs ]] &&
        (($(df --output=avail -k /dev/shm | tail -1) > 6 * 1024 * 1024)); then
        base=/dev/shm
    fi
    W=$(mktemp -d "$base/git-parallel-bench.XXXXXX")
fi
W=$(cd "$W" && pwd)
if [[ ${KEEP:-0} != 1 ]]; then
    trap 'rm -rf "$W"' EXIT
fi
mkdir -p "$W/bin" "$W/res" "$W/log"
# A private copy: others may rebuild target/ while the benchmark runs.
cp "$BIN" "$W/bin/git-parallel"
export PATH="$W/bin:$PATH"
cat >"$W/gitconfig" <<'EOF'
[user]
	name = Bench
	email = bench@example.invalid
[init]
	defaultBranch = main
[gc]
	auto = 0
[maintenance]
	auto = false
[advice]
	detachedHead = false
[commit]
	gpgSign = false
[core]
	fsmonitor = false
EOF
export GIT_CONFIG_GLOBAL="$W/gitconfig" GIT_CONFIG_NOSYSTEM=1 GIT_MERGE_AUTOEDIT=no
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_PARALLEL_TASKS
TF=products/bench/.claude/task-graph.yml

# worktrunk: `wt` from WT, PATH or the private install root; isolated from the user's config.
WT=${WT:-$(command -v wt 2>/dev/null || true)}
[[ -z $WT && -x /work/tools/worktrunk/bin/wt ]] && WT=/work/tools/worktrunk/bin/wt
if [[ -n $WT ]] && ! "$WT" --version 2>/dev/null | grep -qi 'wt\|worktrunk'; then WT=; fi
if [[ -n $WT ]]; then
    mkdir -p "$W/wtconf"
    : >"$W/wtconf/config.toml"
    export WORKTRUNK_CONFIG_PATH="$W/wtconf/config.toml" WORKTRUNK_APPROVALS_PATH="$W/wtconf/approvals.toml"
    export WT
    log "worktrunk: $WT ($("$WT" --version 2>/dev/null | head -1))"
else
    log "worktrunk (wt) not found: its columns are left out (cargo install --locked worktrunk@0.67.0)"
fi

# ---------------------------------------------------------------- helper scripts
# gen.py DIR F: the files; gen.py --graph DIR N: the task graph.
cat >"$W/gen.py" <<'EOF'
import os, sys
if sys.argv[1] == "--graph":
    root, n = sys.argv[2], int(sys.argv[3])
    waves = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    os.makedirs(f"{root}/products/bench/.claude", exist_ok=True)
    out = ['metadata:', '  product: "bench"', '  version: "1.0.0"', '  workflow_type: "benchmark"',
           '  created_at: "2026-01-01"', '  updated_at: "2026-01-01"', '', 'tasks:']
    for i in range(n * waves):
        dep = f'["T{i - n:02d}"]' if i >= n else "[]"
        out += [f'  - id: "T{i:02d}"', f'    name: "Bench task {i:02d}"', '    agent: "backend-engineer"',
                f'    depends_on: {dep}', '    produces:', f'      - {{name: d, type: directory, path: "dir{i:02d}/"}}',
                '    parallel_ok: true', '    priority: "medium"', '    status: "pending"']
    open(f"{root}/products/bench/.claude/task-graph.yml", "w").write("\n".join(out) + "\n")
else:
    root, f = sys.argv[1], int(sys.argv[2])
    per = f // 100
    for d in range(100):
        dn = f"{root}/dir{d:02d}"
        os.makedirs(dn, exist_ok=True)
        for k in range(per):
            with open(f"{dn}/f{k:05d}.txt", "w") as fh:
                fh.write(f"bench file {k} of dir{d:02d}\nsecond line\n")
EOF

# reset.sh C [STATE]: C/repo := C/pristine, no worktrees; with STATE (e.g. wave2): C/repo and
# C/worktrees := C/STATE/repo and C/STATE/worktrees (the pool of parked worktrees included).
# Worktree admin files hold absolute paths, so states are copied back to the same place.
cat >"$W/reset.sh" <<'EOF'
set -euo pipefail
C=$1 STATE=${2:-}
rm -rf "$C/repo" "$C/worktrees" "$C"/repo.*
if [[ -z $STATE ]]; then
    cp -a "$C/pristine" "$C/repo"
else
    cp -a "$C/$STATE/repo" "$C/repo"
    if [[ -d $C/$STATE/worktrees ]]; then cp -a "$C/$STATE/worktrees" "$C/worktrees"; fi
fi
git -C "$C/repo" update-index -q --refresh >/dev/null || true
# A copy gives every file a new inode and ctime, which the index's stat data records: refresh
# the parked worktrees' indexes too, as a worktree parked for real has them (otherwise git
# re-reads every file of each parked worktree on the take, a cost no real wave pays).
for wt in "$C"/worktrees/.parallel-pool/*/; do
    if [[ -d $wt ]]; then git -C "$wt" update-index -q --refresh >/dev/null || true; fi
done
EOF

# prep-finish.sh C N [FIRST [STATE]]: reset (to STATE), git parallel start, one commit per
# worktree (tasks FIRST..FIRST+N-1) in its own directory.
cat >"$W/prep-finish.sh" <<'EOF'
set -euo pipefail
C=$1 N=$2 FIRST=${3:-0} STATE=${4:-}
bash "$(dirname "$0")/reset.sh" "$C" $STATE
git -C "$C/repo" parallel start -q >/dev/null
for ((i = FIRST; i < FIRST + N; i++)); do
    t=$(printf T%02d "$i"); d=$(printf dir%02d "$i")
    wt=$C/worktrees/bench/backend-$t
    echo "work of $t" >>"$wt/$d/f00000.txt"
    echo "new file of $t" >"$wt/$d/new-$t.txt"
    git -C "$wt" add -A "$d"
    git -C "$wt" commit -q -m "feat: work of $t"
done
EOF

# The hand-run protocol.
cat >"$W/theirs-start.sh" <<'EOF'
set -euo pipefail
C=$1 N=$2 FIRST=${3:-0}
TF=products/bench/.claude/task-graph.yml
cd "$C/repo"
sed -i 's/status: "pending"/status: "in_progress"/' "$TF"
git add "$TF"
git commit -q -m "chore(bench): start tasks"
for ((i = FIRST; i < FIRST + N; i++)); do
    t=$(printf T%02d "$i")
    git worktree add -q -b "feature/bench/backend-$t" "../worktrees/bench/backend-$t"
done
EOF
cat >"$W/theirs-finish.sh" <<'EOF'
set -euo pipefail
C=$1 N=$2 FIRST=${3:-0}
TF=products/bench/.claude/task-graph.yml
cd "$C/repo"
for ((i = FIRST; i < FIRST + N; i++)); do
    t=$(printf T%02d "$i")
    git merge -q --no-ff -m "feat(bench): bench task $i ($t)" "feature/bench/backend-$t"
done
for ((i = FIRST; i < FIRST + N; i++)); do
    t=$(printf T%02d "$i")
    git worktree remove "../worktrees/bench/backend-$t"
    git branch -q -d "feature/bench/backend-$t"
done
sed -i 's/status: "in_progress"/status: "completed"/' "$TF"
git add "$TF"
git commit -q -m "chore(bench): complete tasks"
EOF
cat >"$W/theirs-status.sh" <<'EOF'
set -euo pipefail
cd "$1/repo"
git worktree list --porcelain | sed -n 's/^worktree //p' | tail -n +2 | while IFS= read -r wt; do
    git -C "$wt" status --porcelain
done
EOF

# worktrunk's side: `wt switch --create` per task (its own worktree paths, next to the repo),
# `wt merge` run in each task worktree (squash/rebase onto main, fast-forward, remove the
# worktree and the branch), `wt list`. It does not know the task file: no task states written.
cat >"$W/wt-start.sh" <<'EOF'
set -euo pipefail
C=$1 N=$2 FIRST=${3:-0}
cd "$C/repo"
for ((i = FIRST; i < FIRST + N; i++)); do
    t=$(printf T%02d "$i")
    "$WT" switch --create "feature/bench/backend-$t" --no-cd --yes >/dev/null 2>&1 </dev/null
done
EOF
cat >"$W/wt-finish.sh" <<'EOF'
set -euo pipefail
C=$1 N=$2 FIRST=${3:-0}
for ((i = FIRST; i < FIRST + N; i++)); do
    t=$(printf T%02d "$i")
    (cd "$C/worktrees/bench/backend-$t" && "$WT" merge --yes main >/dev/null 2>&1 </dev/null)
done
EOF
cat >"$W/wt-status.sh" <<'EOF'
set -euo pipefail
cd "$1/repo"
"$WT" list >/dev/null </dev/null
EOF

# rss.py CWD CMD...: runs CMD, prints "<own VmHWM KiB> <exit code>": VmHWM sampled from /proc
# every 0.5 ms after exec (0 or tiny when the process ended before a sample). wait4's ru_maxrss
# is useless here: a forked python child carries python's high-water mark across exec.
cat >"$W/rss.py" <<'EOF'
import os, sys, time
cwd, argv = sys.argv[1], sys.argv[2:]
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    os.chdir(cwd)
    fd = os.open(os.devnull, os.O_WRONLY); os.dup2(fd, 1)
    os.execvp(argv[0], argv)
os.close(w)
os.read(r, 1)  # EOF once the child has exec'd (the pipe is close-on-exec)
hwm = 0
while True:
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                hwm = max(hwm, int(line.split()[1]))
    except OSError:
        pass
    p, status, ru = os.wait4(pid, os.WNOHANG)
    if p:
        break
    time.sleep(0.0005)
code = os.waitstatus_to_exitcode(status)
print(hwm, code)
EOF

# ---------------------------------------------------------------- helpers
HF_STYLE=basic
# hf NAME EXTRA-ARGS... -- : hyperfine with JSON export into $W/res/NAME.json.
hf() {
    local name=$1; shift
    printf '%s\tbefore\t%s\n' "$name" "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$W/res/load.tsv"
    if hyperfine -N --style "$HF_STYLE" --export-json "$W/res/$name.json" "$@" >"$W/log/$name.hf.txt" 2>&1; then
        grep -E '^(Benchmark|  Time)' "$W/log/$name.hf.txt" | sed 's/^/    /' >&2 || true
        printf '%s\tafter\t%s\n' "$name" "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$W/res/load.tsv"
    else
        log "hyperfine FAILED for $name (log: $W/log/$name.hf.txt)"
        tail -20 "$W/log/$name.hf.txt" >&2
        printf '%s\thyperfine failed; see the log\n' "$name" >>"$W/res/failures.tsv"
        rm -f "$W/res/$name.json"
        return 1
    fi
}
fail() { # NAME MESSAGE
    log "FAILED $1: $2"
    printf '%s\t%s\n' "$1" "$2" >>"$W/res/failures.tsv"
}
# run_checked NAME CMD...: runs it once, records a failure with its output if it fails.
run_checked() {
    local name=$1; shift
    local out
    if ! out=$("$@" 2>&1); then
        fail "$name" "exit status non-zero: $* :: $(printf '%s' "$out" | tail -15 | tr '\n' '|')"
        return 1
    fi
}
count_worktrees() { git -C "$1/repo" worktree list --porcelain | grep -c '^worktree '; }
# check_started C N WHO [FIRST]: tasks FIRST..FIRST+N-1 started, each in its worktree on its branch
# (with FIRST, parked or other worktrees may be registered too).
check_started() {
    local C=$1 N=$2 who=$3 first=${4:-} i t wt
    if [[ -z $first ]]; then
        [[ $(count_worktrees "$C") == $((N + 1)) ]] || { fail "$who" "expected $((N + 1)) worktrees, found $(count_worktrees "$C")"; return 1; }
    fi
    for ((i = ${first:-0}; i < ${first:-0} + N; i++)); do
        t=$(printf T%02d "$i")
        git -C "$C/repo" rev-parse -q --verify "refs/heads/feature/bench/backend-$t" >/dev/null \
            || { fail "$who" "branch feature/bench/backend-$t missing"; return 1; }
        wt=$C/worktrees/bench/backend-$t
        [[ $(git -C "$wt" symbolic-ref -q HEAD 2>/dev/null) == "refs/heads/feature/bench/backend-$t" ]] \
            || { fail "$who" "$wt is not a worktree on feature/bench/backend-$t"; return 1; }
    done
    [[ $(grep -c 'status: "in_progress"' "$C/repo/$TF") == "$N" ]] || { fail "$who" "task file not marked in_progress"; return 1; }
    [[ -z $(git -C "$C/repo" status --porcelain) ]] || { fail "$who" "main worktree not clean after start"; return 1; }
}
# check_finished C N WHO [MERGES [parked]]: MERGES (default N) tasks merged and completed, no
# task branch left; the N task worktrees removed (with "parked": N parked worktrees remain).
check_finished() {
    local C=$1 N=$2 who=$3 merges=${4:-$2} parked=${5:-}
    local left=1
    [[ -n $parked ]] && left=$((N + 1))
    [[ $(count_worktrees "$C") == "$left" ]] || { fail "$who" "expected $left worktrees, found $(count_worktrees "$C")"; return 1; }
    [[ -z $(git -C "$C/repo" for-each-ref refs/heads/feature) ]] || { fail "$who" "task branches left"; return 1; }
    [[ $(git -C "$C/repo" rev-list --merges --count HEAD) == "$merges" ]] || { fail "$who" "expected $merges merge commits"; return 1; }
    [[ $(grep -c 'status: "completed"' "$C/repo/$TF") == "$merges" ]] || { fail "$who" "task file not marked completed"; return 1; }
    [[ -z $(git -C "$C/repo" status --porcelain) ]] || { fail "$who" "main worktree not clean after finish"; return 1; }
    local i d
    for ((i = 0; i < merges; i++)); do
        d=$(printf dir%02d "$i")
        [[ -f $C/repo/$d/new-T$(printf %02d "$i").txt ]] || { fail "$who" "$d/new-T.. not merged into the main worktree"; return 1; }
        [[ ! -e $C/worktrees/bench/backend-T$(printf %02d "$i") ]] || { fail "$who" "worktree of T$(printf %02d "$i") left"; return 1; }
    done
}

# ---------------------------------------------------------------- machine
{
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nproc=$(nproc)"
    echo "mem=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "kernel=$(uname -sr)"
    echo "git=$(git --version)"
    echo "hyperfine=$(hyperfine --version)"
    echo "worktrunk=$(if [[ -n $WT ]]; then "$WT" --version 2>/dev/null | head -1; else echo 'not installed'; fi)"
    echo "ours=$(git-parallel --version) ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(if [[ -n $(git -C "$ROOT" status --porcelain -- src Cargo.toml 2>/dev/null) ]]; then echo ' + uncommitted changes in src/'; fi))"
    echo "fs=$(df -T "$W" | awk 'NR==2 {print $2}') at $W"
    echo "quick=$QUICK"
    echo "ns=$NS"
    echo "fs_list=$FS"
} >"$W/res/machine.txt"

# ---------------------------------------------------------------- (e) two waves
# waves B C N F KEY: the repository with 2N tasks (wave 2 task T(N+i) depends on T(i)) and
# parallel.reuseWorktrees on; measures wave-1 finish (parks), wave-2 start (takes) and wave-2
# finish (parks again) against the hand-run protocol from the same states.
waves() {
    local B=$1 N=$3 F=$4 key=$5
    local C=$B/W$N
    mkdir -p "$C"
    cp -a "$B/base" "$C/pristine"
    python3 "$W/gen.py" --graph "$C/pristine" "$N" 2
    git -C "$C/pristine" add -A
    git -C "$C/pristine" commit -q -m "bench: task graph with two waves of $N tasks"
    git -C "$C/pristine" config parallel.reuseWorktrees true
    git -C "$C/pristine" config parallel.poolSize "$N"
    log "waves  N=$N F=$F: checking wave 1 (finish parks) and wave 2 (start takes)"
    local ok=1
    if run_checked "wave1-prepare-$key" bash "$W/prep-finish.sh" "$C" "$N" &&
        run_checked "wave1-finish-ours-$key" git -C "$C/repo" parallel finish &&
        check_finished "$C" "$N" "wave1-finish-ours-$key" "$N" parked; then
        mkdir -p "$C/wave2"
        cp -a "$C/repo" "$C/wave2/repo"
        cp -a "$C/worktrees" "$C/wave2/worktrees"
        bash "$W/reset.sh" "$C" wave2
        run_checked "wave2-start-ours-$key" git -C "$C/repo" parallel start &&
            check_started "$C" "$N" "wave2-start-ours-$key" "$N" || ok=0
        ((ok)) && bash "$W/reset.sh" "$C" wave2 &&
            run_checked "wave2-start-theirs-$key" bash "$W/theirs-start.sh" "$C" "$N" "$N" &&
            check_started "$C" "$N" "wave2-start-theirs-$key" "$N" || ok=0
        ((ok)) && run_checked "wave2-finish-prepare-$key" bash "$W/prep-finish.sh" "$C" "$N" "$N" wave2 &&
            run_checked "wave2-finish-ours-$key" git -C "$C/repo" parallel finish &&
            check_finished "$C" "$N" "wave2-finish-ours-$key" "$((2 * N))" parked || ok=0
        ((ok)) && bash "$W/prep-finish.sh" "$C" "$N" "$N" wave2 &&
            run_checked "wave2-finish-theirs-$key" bash "$W/theirs-finish.sh" "$C" "$N" "$N" || ok=0
    else
        ok=0
    fi
    if ((ok)); then
        log "waves  N=$N F=$F: hyperfine --runs $R (wave-1 finish, wave-2 start, wave-2 finish)"
        hf "wave1finish-$key" --runs "$R" --warmup "$WU" --prepare "bash $W/prep-finish.sh $C $N" \
            -n ours "git -C $C/repo parallel finish" \
            -n theirs "bash $W/theirs-finish.sh $C $N" || true
        hf "wave2start-$key" --runs "$R" --warmup "$WU" --prepare "bash $W/reset.sh $C wave2" \
            -n ours "git -C $C/repo parallel start" \
            -n theirs "bash $W/theirs-start.sh $C $N $N" || true
        hf "wave2finish-$key" --runs "$R" --warmup "$WU" --prepare "bash $W/prep-finish.sh $C $N $N wave2" \
            -n ours "git -C $C/repo parallel finish" \
            -n theirs "bash $W/theirs-finish.sh $C $N $N" || true
    fi
    rm -rf "$C"
}

# ---------------------------------------------------------------- matrix
max_n=0; for n in $NS; do ((n > max_n)) && max_n=$n; done
max_f=0; for f in $FS; do ((f > max_f)) && max_f=$f; done
for f in $FS; do ((f % 100 == 0)) || die "F=$f is not a multiple of 100"; done
((max_n <= 50)) || die "N must be at most 50 (one directory per task, two waves)"
status_only() { [[ " $STATUS_ONLY_NS " == *" $1 "* ]]; }
# The largest (N, F) measured by start/finish, for the peak RSS figures.
rss_n=0; rss_f=0
for F in $FS; do for N in $NS; do
    status_only "$N" && continue; ((N * F > MAX_NF)) && continue
    ((F > rss_f || (F == rss_f && N > rss_n))) && { rss_n=$N; rss_f=$F; }
done; done

# worktrunk side (when WT is set): its scripts, in the same hyperfine runs as ours and theirs.
wt_args() { # KIND C N: hyperfine arguments adding worktrunk's command (nothing without it)
    [[ -n $WT ]] && want worktrunk || return 0
    case $1 in
    start) printf '%s\n' --prepare "bash $W/reset.sh $2" -n worktrunk "bash $W/wt-start.sh $2 $3" ;;
    finish) printf '%s\n' --prepare "bash $W/prep-finish.sh $2 $3" -n worktrunk "bash $W/wt-finish.sh $2 $3" ;;
    status) printf '%s\n' -n worktrunk "bash $W/wt-status.sh $2" ;;
    esac
}

for F in $FS; do
    B=$W/F$F
    log "generating a repository of $F files"
    mkdir -p "$B/base"
    git init -q "$B/base"
    python3 "$W/gen.py" "$B/base" "$F"
    git -C "$B/base" add -A
    git -C "$B/base" commit -q -m "bench: $F files"
    git -C "$B/base" repack -a -d -q
    git -C "$B/base" prune-packed
    if [[ -n ${RUNS:-} ]]; then R=$RUNS; elif [[ $QUICK == 1 ]]; then R=3; elif ((F >= 50000)); then R=3; elif ((F >= 10000)); then R=5; else R=10; fi
    if ((F >= 10000)) || [[ $QUICK == 1 ]]; then WU=0; else WU=1; fi
    SR=$STATUS_RUNS; ((F >= 50000 && SR > 5)) && SR=5
    for N in $NS; do
        if ((N * F > MAX_NF)); then
            log "== N=$N F=$F: skipped (N*F > MAX_NF=$MAX_NF)"
            continue
        fi
        C=$B/N$N
        key="N${N}-F${F}"
        log "== N=$N F=$F: pristine repository"
        mkdir -p "$C"
        cp -a "$B/base" "$C/pristine"
        python3 "$W/gen.py" --graph "$C/pristine" "$N"
        git -C "$C/pristine" add -A
        git -C "$C/pristine" commit -q -m "bench: task graph with $N tasks"
        mapfile -t WTS < <(wt_args start "$C" "$N")
        mapfile -t WTF < <(wt_args finish "$C" "$N")
        mapfile -t WTST < <(wt_args status "$C" "$N")

        # (a) start
        if want start && ! status_only "$N"; then
            log "start  N=$N F=$F: checking both sides once"
            ok=1
            bash "$W/reset.sh" "$C"
            run_checked "start-ours-$key" git -C "$C/repo" parallel start && check_started "$C" "$N" "start-ours-$key" || ok=0
            bash "$W/reset.sh" "$C"
            run_checked "start-theirs-$key" bash "$W/theirs-start.sh" "$C" "$N" && check_started "$C" "$N" "start-theirs-$key" || ok=0
            if ((${#WTS[@]})); then
                bash "$W/reset.sh" "$C"
                run_checked "start-worktrunk-$key" bash "$W/wt-start.sh" "$C" "$N" || WTS=()
            fi
            if ((ok)); then
                log "start  N=$N F=$F: hyperfine --runs $R"
                hf "start-$key" --runs "$R" --warmup "$WU" --prepare "bash $W/reset.sh $C" \
                    -n ours "git -C $C/repo parallel start" \
                    --prepare "bash $W/reset.sh $C" -n theirs "bash $W/theirs-start.sh $C $N" \
                    "${WTS[@]}" || true
            fi
        fi

        # (b) finish
        if want finish && ! status_only "$N"; then
            log "finish N=$N F=$F: checking both sides once"
            ok=1
            if run_checked "finish-prepare-$key" bash "$W/prep-finish.sh" "$C" "$N"; then
                run_checked "finish-ours-$key" git -C "$C/repo" parallel finish && check_finished "$C" "$N" "finish-ours-$key" || ok=0
                bash "$W/prep-finish.sh" "$C" "$N"
                run_checked "finish-theirs-$key" bash "$W/theirs-finish.sh" "$C" "$N" && check_finished "$C" "$N" "finish-theirs-$key" || ok=0
                if ((${#WTF[@]})); then
                    bash "$W/prep-finish.sh" "$C" "$N"
                    run_checked "finish-worktrunk-$key" bash "$W/wt-finish.sh" "$C" "$N" || WTF=()
                fi
            else
                ok=0
            fi
            if ((ok)); then
                log "finish N=$N F=$F: hyperfine --runs $R"
                hf "finish-$key" --runs "$R" --warmup "$WU" \
                    --prepare "bash $W/prep-finish.sh $C $N" -n ours "git -C $C/repo parallel finish" \
                    --prepare "bash $W/prep-finish.sh $C $N" -n theirs "bash $W/theirs-finish.sh $C $N" \
                    "${WTF[@]}" || true
            fi
        fi

        # (c) status, N active worktrees (each with one commit)
        if want status; then
            log "status N=$N F=$F: hyperfine --runs $SR"
            # An agent's git commands rewrite its worktree's index long after the checkout; here
            # the commit follows it within a second, leaving every entry "racily clean" (git
            # hashes each file again until the index is rewritten a second later). The hand-run
            # `git status` rewrites it on its first run; ours never writes (no lock an agent's
            # `git add` could trip on) and would hash on every run. Both are measured on the
            # agent's steady state: the index refreshed a second after the commit.
            if run_checked "status-prepare-$key" bash "$W/prep-finish.sh" "$C" "$N" &&
                sleep 1.1 &&
                for wt in "$C"/worktrees/bench/*/; do git -C "$wt" update-index -q --refresh >/dev/null || true; done &&
                run_checked "status-ours-$key" git -C "$C/repo" parallel status; then
                if ((${#WTST[@]})); then run_checked "status-worktrunk-$key" bash "$W/wt-status.sh" "$C" || WTST=(); fi
                hf "status-$key" --runs "$SR" --warmup 2 \
                    -n ours "git -C $C/repo parallel status" \
                    -n theirs "bash $W/theirs-status.sh $C" \
                    "${WTST[@]}" || true
            fi
        fi

        # (e) two waves with reuse
        if want waves && ! status_only "$N" && ((2 * N <= 100)); then
            waves "$B" "$C" "$N" "$F" "$key"
        fi

        # peak RSS at the largest size
        if ((N == rss_n && F == rss_f)) && want start && want finish && want status; then
            log "peak RSS N=$N F=$F"
            rss() { # NAME PREPARE-CMD... -- runs /usr/bin/time and rss.py on the same state
                local name=$1 sub=$2; shift 2
                "$@"
                /usr/bin/time -o "$W/res/time.$name" -f %M git -C "$C/repo" parallel "$sub" >/dev/null 2>"$W/log/rss.$name.err" \
                    || fail "rss-$name" "git parallel $sub failed: $(tr '\n' '|' <"$W/log/rss.$name.err")"
                "$@"
                python3 "$W/rss.py" "$C/repo" git-parallel "$sub" >"$W/res/own.$name" 2>>"$W/log/rss.$name.err" || true
            }
            rss start start bash "$W/reset.sh" "$C"
            rss status status bash "$W/prep-finish.sh" "$C" "$N"
            rss finish finish bash "$W/prep-finish.sh" "$C" "$N"
            echo "N=$N F=$F" >"$W/res/rss-size"
        fi
        rm -rf "$C"
    done
    rm -rf "$B"
done

# ---------------------------------------------------------------- (d) startup
if want startup; then
    log "startup: --version and status on the 36-task graph"
    S=$W/small
    mkdir -p "$S/products/connectgrc/.claude"
    git init -q "$S"
    cp "$ROOT/tests/fixtures/connectgrc.task-graph.yml" "$S/products/connectgrc/.claude/task-graph.yml"
    printf '# small repository\n' >"$S/README.md"
    git -C "$S" add -A
    git -C "$S" commit -q -m "connectgrc task graph"
    if run_checked "startup-status36" git -C "$S" parallel status && run_checked "startup-version" git parallel --version; then
        hf startup --runs "$STARTUP_RUNS" --warmup 5 \
            -n "git parallel --version" "git parallel --version" \
            -n "git-parallel --version" "git-parallel --version" \
            -n "git parallel status (36 tasks)" "git -C $S parallel status" \
            -n "git --version (reference)" "git --version" || true
    fi
    /usr/bin/time -o "$W/res/time.version" -f %M git parallel --version >/dev/null 2>&1 || true
    /usr/bin/time -o "$W/res/time.status36" -f %M git -C "$S" parallel status >/dev/null 2>&1 || true
    # git-parallel alone (it spawns no child for --version): its own peak.
    /usr/bin/time -o "$W/res/time.version-direct" -f %M git-parallel --version >/dev/null 2>&1 || true
    python3 "$W/rss.py" "$S" git-parallel --version >"$W/res/own.version" 2>/dev/null || true
    python3 "$W/rss.py" "$S" git-parallel status >"$W/res/own.status36" 2>/dev/null || true
fi

# ---------------------------------------------------------------- report
log "writing $OUT"
python3 "$ROOT/bench/report.py" "$W/res" "$OUT"
log "done in $(( $(date +%s) - T0 )) s; report: $OUT"
