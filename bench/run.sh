#!/usr/bin/env bash
# Benchmark of `git parallel` against the hand-run git protocol (issue 6).
#
#   bench/run.sh                 full run (N in {1,4,16}, F in {2000,20000}); ~20 min on 2 cores
#   QUICK=1 bench/run.sh         fast run (N in {1,4}, F=2000, 3 runs each); ~2 min
#
# Not part of `cargo test`. Needs hyperfine, GNU time (/usr/bin/time) and python3; hyperfine and
# time are installed with apt-get when missing and running as root.
#
# Environment:
#   QUICK=1          the small matrix above, fewer runs
#   RUNS=N           runs per start/finish measurement (default 10 at F=2000, 5 at F=20000; QUICK: 3)
#   STATUS_RUNS=N    runs per status measurement (default 20; QUICK: 10)
#   STARTUP_RUNS=N   runs per startup measurement (default 100; QUICK: 30)
#   NS="1 4 16"      override the task counts;  FS="2000 20000"  override the file counts
#   NO_BUILD=1       skip `cargo build --release` (use the existing target/release/git-parallel)
#   OUT=path         where to write the report (default bench/RESULTS.md; QUICK: bench/RESULTS-quick.md)
#   WORKDIR=dir      scratch directory (default: a fresh mktemp -d, removed at exit unless KEEP=1)
#   KEEP=1           keep the scratch directory (repositories, hyperfine JSON, logs)
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
    NS=${NS:-"1 4 16"}
    FS=${FS:-"2000 20000"}
    OUT=${OUT:-$ROOT/bench/RESULTS.md}
    STATUS_RUNS=${STATUS_RUNS:-20}
    STARTUP_RUNS=${STARTUP_RUNS:-100}
fi
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
BIN=$ROOT/target/release/git-parallel
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

# ---------------------------------------------------------------- helper scripts
# gen.py DIR F: the files; gen.py --graph DIR N: the task graph.
cat >"$W/gen.py" <<'EOF'
import os, sys
if sys.argv[1] == "--graph":
    root, n = sys.argv[2], int(sys.argv[3])
    os.makedirs(f"{root}/products/bench/.claude", exist_ok=True)
    out = ['metadata:', '  product: "bench"', '  version: "1.0.0"', '  workflow_type: "benchmark"',
           '  created_at: "2026-01-01"', '  updated_at: "2026-01-01"', '', 'tasks:']
    for i in range(n):
        out += [f'  - id: "T{i:02d}"', f'    name: "Bench task {i:02d}"', '    agent: "backend-engineer"',
                '    depends_on: []', '    produces:', f'      - {{name: d, type: directory, path: "dir{i:02d}/"}}',
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

# reset.sh C: C/repo := C/pristine, no worktrees.
cat >"$W/reset.sh" <<'EOF'
set -euo pipefail
C=$1
rm -rf "$C/repo" "$C/worktrees"
cp -a "$C/pristine" "$C/repo"
git -C "$C/repo" update-index -q --refresh >/dev/null || true
EOF

# prep-finish.sh C N: reset, git parallel start, one commit per worktree in its own directory.
cat >"$W/prep-finish.sh" <<'EOF'
set -euo pipefail
C=$1 N=$2
bash "$(dirname "$0")/reset.sh" "$C"
git -C "$C/repo" parallel start -q >/dev/null
for ((i = 0; i < N; i++)); do
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
C=$1 N=$2
TF=products/bench/.claude/task-graph.yml
cd "$C/repo"
sed -i 's/status: "pending"/status: "in_progress"/' "$TF"
git add "$TF"
git commit -q -m "chore(bench): start tasks"
for ((i = 0; i < N; i++)); do
    t=$(printf T%02d "$i")
    git worktree add -q -b "feature/bench/backend-$t" "../worktrees/bench/backend-$t"
done
EOF
cat >"$W/theirs-finish.sh" <<'EOF'
set -euo pipefail
C=$1 N=$2
TF=products/bench/.claude/task-graph.yml
cd "$C/repo"
for ((i = 0; i < N; i++)); do
    t=$(printf T%02d "$i")
    git merge -q --no-ff -m "feat(bench): bench task $i ($t)" "feature/bench/backend-$t"
done
for ((i = 0; i < N; i++)); do
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
# check_started C N WHO
check_started() {
    local C=$1 N=$2 who=$3 i t
    [[ $(count_worktrees "$C") == $((N + 1)) ]] || { fail "$who" "expected $((N + 1)) worktrees, found $(count_worktrees "$C")"; return 1; }
    for ((i = 0; i < N; i++)); do
        t=$(printf T%02d "$i")
        git -C "$C/repo" rev-parse -q --verify "refs/heads/feature/bench/backend-$t" >/dev/null \
            || { fail "$who" "branch feature/bench/backend-$t missing"; return 1; }
    done
    [[ $(grep -c 'status: "in_progress"' "$C/repo/$TF") == "$N" ]] || { fail "$who" "task file not marked in_progress"; return 1; }
    [[ -z $(git -C "$C/repo" status --porcelain) ]] || { fail "$who" "main worktree not clean after start"; return 1; }
}
check_finished() {
    local C=$1 N=$2 who=$3
    [[ $(count_worktrees "$C") == 1 ]] || { fail "$who" "worktrees left: $(count_worktrees "$C")"; return 1; }
    [[ -z $(git -C "$C/repo" for-each-ref refs/heads/feature) ]] || { fail "$who" "task branches left"; return 1; }
    [[ $(git -C "$C/repo" rev-list --merges --count HEAD) == "$N" ]] || { fail "$who" "expected $N merge commits"; return 1; }
    [[ $(grep -c 'status: "completed"' "$C/repo/$TF") == "$N" ]] || { fail "$who" "task file not marked completed"; return 1; }
    [[ -z $(git -C "$C/repo" status --porcelain) ]] || { fail "$who" "main worktree not clean after finish"; return 1; }
    local i d
    for ((i = 0; i < N; i++)); do
        d=$(printf dir%02d "$i")
        [[ -f $C/repo/$d/new-T$(printf %02d "$i").txt ]] || { fail "$who" "$d/new-T.. not merged into the main worktree"; return 1; }
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
    echo "ours=$(git-parallel --version) ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(if [[ -n $(git -C "$ROOT" status --porcelain -- src Cargo.toml 2>/dev/null) ]]; then echo ' + uncommitted changes in src/'; fi))"
    echo "fs=$(df -T "$W" | awk 'NR==2 {print $2}') at $W"
    echo "quick=$QUICK"
    echo "ns=$NS"
    echo "fs_list=$FS"
} >"$W/res/machine.txt"

# ---------------------------------------------------------------- matrix
max_n=0; for n in $NS; do ((n > max_n)) && max_n=$n; done
max_f=0; for f in $FS; do ((f > max_f)) && max_f=$f; done
for f in $FS; do ((f % 100 == 0)) || die "F=$f is not a multiple of 100"; done
((max_n <= 100)) || die "N must be at most 100 (one directory per task)"

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
    if [[ -n ${RUNS:-} ]]; then R=$RUNS; elif [[ $QUICK == 1 ]]; then R=3; elif ((F >= 10000)); then R=5; else R=10; fi
    if ((F >= 10000)) || [[ $QUICK == 1 ]]; then WU=0; else WU=1; fi
    for N in $NS; do
        C=$B/N$N
        key="N${N}-F${F}"
        log "== N=$N F=$F: pristine repository"
        mkdir -p "$C"
        cp -a "$B/base" "$C/pristine"
        python3 "$W/gen.py" --graph "$C/pristine" "$N"
        git -C "$C/pristine" add -A
        git -C "$C/pristine" commit -q -m "bench: task graph with $N tasks"

        # (a) start
        log "start  N=$N F=$F: checking both sides once"
        ok=1
        bash "$W/reset.sh" "$C"
        run_checked "start-ours-$key" git -C "$C/repo" parallel start && check_started "$C" "$N" "start-ours-$key" || ok=0
        bash "$W/reset.sh" "$C"
        run_checked "start-theirs-$key" bash "$W/theirs-start.sh" "$C" "$N" && check_started "$C" "$N" "start-theirs-$key" || ok=0
        if ((ok)); then
            log "start  N=$N F=$F: hyperfine --runs $R"
            hf "start-$key" --runs "$R" --warmup "$WU" --prepare "bash $W/reset.sh $C" \
                -n ours "git -C $C/repo parallel start" \
                -n theirs "bash $W/theirs-start.sh $C $N" || true
        fi

        # (b) finish
        log "finish N=$N F=$F: checking both sides once"
        ok=1
        if run_checked "finish-prepare-$key" bash "$W/prep-finish.sh" "$C" "$N"; then
            run_checked "finish-ours-$key" git -C "$C/repo" parallel finish && check_finished "$C" "$N" "finish-ours-$key" || ok=0
            bash "$W/prep-finish.sh" "$C" "$N"
            run_checked "finish-theirs-$key" bash "$W/theirs-finish.sh" "$C" "$N" && check_finished "$C" "$N" "finish-theirs-$key" || ok=0
        else
            ok=0
        fi
        if ((ok)); then
            log "finish N=$N F=$F: hyperfine --runs $R"
            hf "finish-$key" --runs "$R" --warmup "$WU" --prepare "bash $W/prep-finish.sh $C $N" \
                -n ours "git -C $C/repo parallel finish" \
                -n theirs "bash $W/theirs-finish.sh $C $N" || true
        fi

        # (c) status, N active worktrees (each with one commit)
        log "status N=$N F=$F: hyperfine --runs $STATUS_RUNS"
        if run_checked "status-prepare-$key" bash "$W/prep-finish.sh" "$C" "$N" &&
            run_checked "status-ours-$key" git -C "$C/repo" parallel status; then
            hf "status-$key" --runs "$STATUS_RUNS" --warmup 2 \
                -n ours "git -C $C/repo parallel status" \
                -n theirs "bash $W/theirs-status.sh $C" || true
        fi

        # peak RSS at the largest size
        if ((N == max_n && F == max_f)); then
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

# ---------------------------------------------------------------- report
log "writing $OUT"
python3 - "$W/res" "$OUT" <<'EOF'
import json, os, sys
res, out = sys.argv[1], sys.argv[2]
machine = dict(l.rstrip("\n").split("=", 1) for l in open(f"{res}/machine.txt"))
quick = machine["quick"] == "1"
failures = []
if os.path.exists(f"{res}/failures.tsv"):
    failures = [l.rstrip("\n").split("\t", 1) for l in open(f"{res}/failures.tsv")]

def load(name):
    p = f"{res}/{name}.json"
    if not os.path.exists(p):
        return None
    return {r["command"]: r for r in json.load(open(p))["results"]}

def ms(x):
    return f"{x * 1000:.1f}" if x < 10 else f"{x * 1000:.0f}"

missed, met = [], []
TARGETS = {"start": 0.6, "finish": 0.25, "status": 0.5}
L = []
L.append("# git-parallel benchmark results (issue 6)\n")
L.append("Generated by `bench/run.sh`" + (" with QUICK=1 (reduced matrix; N=16 targets not evaluated)" if quick else "") + ".")
L.append("Times are hyperfine medians of wall-clock time in milliseconds; ratio = ours / theirs (lower is")
L.append("better for us). The CPU columns are hyperfine's mean user+system time of the whole process tree")
L.append("(git children included), less sensitive to other load on the machine than wall-clock time.")
L.append("\"theirs\" is the hand-run git protocol described in bench/run.sh. Each start/finish run")
L.append("begins from a fresh copy of the repository (hyperfine --prepare); status runs are read-only.\n")
L.append("## Machine\n")
L.append(f"- date: {machine['date']}")
L.append(f"- CPU: {machine['cpu']} ({machine['nproc']} CPUs, nproc)")
L.append(f"- memory: {machine['mem']}")
L.append(f"- kernel: {machine['kernel']}; filesystem of the scratch dir: {machine['fs'].split(' at ')[0]}")
L.append(f"- {machine['git']}; {machine['hyperfine']}")
L.append(f"- {machine['ours']} (release build)")
loads = [l.rstrip("\n").split("\t") for l in open(f"{res}/load.tsv")] if os.path.exists(f"{res}/load.tsv") else []
if loads:
    one = [float(x[2].split()[0]) for x in loads]
    L.append(f"- load average (1 min) around the measurements: min {min(one):.2f}, max {max(one):.2f} "
             f"(the benchmark itself accounts for about 1; more means other work shared the CPUs)")
L.append("")

descr = {
    "start": "`git parallel start` vs sed+commit of the task file and `git worktree add -b` per task",
    "finish": "`git parallel finish` vs `git merge --no-ff` per branch, `git worktree remove` + `git branch -d` per task, sed+commit of the task file (one commit per task worktree)",
    "status": "`git parallel status` with N active worktrees vs `git worktree list` + `git -C <wt> status --porcelain` per task worktree",
}
ns = [int(x) for x in machine["ns"].split()]
fs = [int(x) for x in machine["fs_list"].split()]
for kind, letter in (("start", "a"), ("finish", "b"), ("status", "c")):
    L.append(f"## ({letter}) {kind}\n")
    L.append(descr[kind] + "\n")
    L.append("| N | F | runs | ours median ms | theirs median ms | ratio | target | met | ours CPU ms | theirs CPU ms | CPU ratio |")
    L.append("|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|")
    for F in fs:
        for N in ns:
            r = load(f"{kind}-N{N}-F{F}")
            if kind == "status":
                tgt = TARGETS[kind] if N == 16 else None
            else:
                tgt = TARGETS[kind] if (N == 16 and F == 20000) else None
            ts = f"≤ {tgt}×" if tgt else ""
            if r is None:
                L.append(f"| {N} | {F} | | FAILED | | | {ts} | {'no' if tgt else ''} | | | |")
                if tgt:
                    missed.append(f"{kind} N={N} F={F}: no measurement (failed; see Failures)")
                continue
            o, t = r["ours"]["median"], r["theirs"]["median"]
            ratio = o / t
            ok = ""
            if tgt:
                ok = "yes" if ratio <= tgt else "**no**"
                (met if ratio <= tgt else missed).append(
                    f"{kind} N={N} F={F}: ratio {ratio:.2f} (ours {ms(o)} ms / theirs {ms(t)} ms), target ≤ {tgt}")
            oc = r["ours"]["user"] + r["ours"]["system"]
            tc = r["theirs"]["user"] + r["theirs"]["system"]
            L.append(f"| {N} | {F} | {len(r['ours']['times'])} | {ms(o)} | {ms(t)} | {ratio:.2f} | {ts} | {ok} | {ms(oc)} | {ms(tc)} | {oc / tc:.2f} |")
    L.append("")

L.append("## (d) startup\n")
L.append("In a small repository holding tests/fixtures/connectgrc.task-graph.yml (36 tasks, one in_progress, no worktrees).\n")
L.append("| command | runs | median ms | mean ± σ ms | target | met |")
L.append("|---|---:|---:|---:|---|---|")
r = load("startup")
targets = {"git parallel --version": 0.005, "git parallel status (36 tasks)": 0.020}
if r is None:
    L.append("| (failed) | | | | | |")
    missed.append("startup: no measurement (failed; see Failures)")
else:
    for name, v in r.items():
        tgt = targets.get(name)
        ts = f"< {tgt * 1000:.0f} ms" if tgt else ""
        ok = ""
        if tgt:
            good = v["median"] < tgt
            ok = "yes" if good else "**no**"
            (met if good else missed).append(f"{name}: median {v['median'] * 1000:.2f} ms, target < {tgt * 1000:.0f} ms")
        L.append(f"| `{name}` | {len(v['times'])} | {v['median'] * 1000:.2f} | {v['mean'] * 1000:.2f} ± {v['stddev'] * 1000:.2f} | {ts} | {ok} |")
L.append("")

L.append("## Peak RSS\n")
size = open(f"{res}/rss-size").read().strip() if os.path.exists(f"{res}/rss-size") else "?"
L.append(f"Our commands at the largest size ({size}; --version and status on the 36-task graph in the small repository).")
L.append("`/usr/bin/time -f %M` reports the largest process of the tree (the git wrapper, git-parallel or a git")
L.append("child it spawns); \"own\" is git-parallel's VmHWM sampled from /proc every 0.5 ms (n/a: it exited")
L.append("before a sample; `git-parallel --version` run directly spawns nothing, so its %M is its own). Target: < 100 MiB.\n")
L.append("| command | /usr/bin/time %M MiB | own VmHWM MiB | met |")
L.append("|---|---:|---:|---|")
def rd(p):
    try:
        return open(p).read().split()
    except OSError:
        return None
for key, label in (("start", "git parallel start"), ("finish", "git parallel finish"), ("status", "git parallel status"),
                   ("version", "git parallel --version"), ("version-direct", "git-parallel --version"),
                   ("status36", "git parallel status (36 tasks)")):
    t = rd(f"{res}/time.{key}")
    o = rd(f"{res}/own.{key}")
    if not t:
        L.append(f"| `{label}` | n/a | n/a | |")
        continue
    tm = int(t[-1]) / 1024
    # own: the sampled VmHWM, unless the process ended before a meaningful sample.
    om = int(o[0]) / 1024 if o and int(o[0]) >= 1024 else None
    good = tm < 100
    (met if good else missed).append(f"peak RSS {label}: {tm:.1f} MiB (tree max), target < 100 MiB")
    L.append(f"| `{label}` | {tm:.1f} | {om:.1f} | {'yes' if good else '**no**'} |" if om is not None else
             f"| `{label}` | {tm:.1f} | n/a | {'yes' if good else '**no**'} |")
L.append("")

L.append("## Targets\n")
if quick:
    L.append("QUICK run: the N=16 and F=20000 targets are not evaluated.\n")
if missed:
    L.append("Missed:\n")
    L += [f"- {m}" for m in missed]
else:
    L.append("Every evaluated target was met.")
L.append("\nMet:\n")
L += [f"- {m}" for m in met] or ["- (none)"]
L.append("")
if failures:
    L.append("## Failures\n")
    L += [f"- `{n}`: {m}" for n, m in failures]
    L.append("")
open(out, "w").write("\n".join(L))
print("\n".join(L))
EOF
log "done in $(( $(date +%s) - T0 )) s; report: $OUT"
