#!/bin/sh
# Wall time of a 6-task graph (a chain C1 -> C2 -> C3 and a wave W1, W2, W3 after C1; no
# checkpoints) run by `git parallel run` with each executor, and the remote round trips (git
# ls-remote / fetch / push / clone calls, the orchestrator's and the workers') per landed task.
# The agent sleeps 1 s and commits one file. Everything lives under /dev/shm; the ssh "hosts"
# build1 and build2 are one sshd on 127.0.0.1 started here (two clone directories).
#
#   scripts/executor-bench.sh [path/to/git-parallel]   (default: target/release/git-parallel)
#   POLL=2s (parallel.pollInterval)   ROUNDS=1
# The remote is a bare repository on a file path (a round trip is a git process talking to it).
set -eu
BIN=$(realpath "${1:-target/release/git-parallel}")
POLL=${POLL:-2s}
ROUNDS=${ROUNDS:-1}
REAL_GIT=$(command -v git)
W=$(mktemp -d /dev/shm/gp-bench.XXXXXX)
trap 'kill $(cat "$W/sshd.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$W"' EXIT

# The remote round trips: every git ls-remote / fetch / push / clone, counted from GIT_TRACE
# (the orchestrator's in trace.orch, the workers' in trace.work).
mkdir -p "$W/bin"
cp "$BIN" "$W/bin/git-parallel"
export PATH="$W/bin:$PATH" HOME="$W/home" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
mkdir -p "$HOME/.ssh"

# sshd on 127.0.0.1; build1 and build2 are aliases of it.
ssh-keygen -q -t ed25519 -N '' -f "$W/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$HOME/.ssh/id_ed25519"
cp "$HOME/.ssh/id_ed25519.pub" "$W/authorized_keys"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p /run/sshd 2>/dev/null || true
cat >"$W/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $PORT
HostKey $W/host_key
AuthorizedKeysFile $W/authorized_keys
PidFile $W/sshd.pid
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
MaxStartups 100
MaxSessions 100
SetEnv "GIT_TRACE=$W/trace.work" "PATH=$PATH" "HOME=$HOME" "GIT_CONFIG_NOSYSTEM=1" "GIT_CONFIG_GLOBAL=/dev/null" "GIT_AUTHOR_NAME=bench" "GIT_AUTHOR_EMAIL=bench@example.com" "GIT_COMMITTER_NAME=bench" "GIT_COMMITTER_EMAIL=bench@example.com"
EOF
/usr/sbin/sshd -f "$W/sshd_config" -E "$W/sshd.log"
for h in build1 build2; do
  printf 'Host %s\n  HostName 127.0.0.1\n  Port %s\n  IdentityFile %s\n  IdentitiesOnly yes\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n  BatchMode yes\n' \
    "$h" "$PORT" "$HOME/.ssh/id_ed25519" >>"$W/ssh_config"
done
# OpenSSH reads ~ from the password database: a wrapper names the config.
cat >"$W/bin/ssh" <<EOF
#!/bin/sh
exec /usr/bin/ssh -F "$W/ssh_config" "\$@"
EOF
chmod +x "$W/bin/ssh"

cat >"$W/agent.sh" <<'EOF'
sleep 1
mkdir -p "out/$GIT_PARALLEL_TASK_ID"
echo "$GIT_PARALLEL_TASK_ID" >"out/$GIT_PARALLEL_TASK_ID/done.txt"
git add -A && git commit -q -m "work on $GIT_PARALLEL_TASK_ID"
EOF

# A fresh repository with the graph and a bare remote: $1.
fresh() {
  rm -rf "$1" && mkdir -p "$1" && cd "$1"
  "$REAL_GIT" init -q -b main repo && cd repo
  mkdir -p .claude
  {
    echo "metadata:"; echo "  product: demo"; echo "tasks:"
    for t in C1: C2:C1 C3:C2 W1:C1 W2:C1 W3:C1; do
      id=${t%%:*}; dep=${t#*:}
      printf -- '- id: %s\n  name: Task %s\n  description: Build %s\n  agent: backend-engineer\n  depends_on: [%s]\n  produces:\n  - name: %s\n    path: out/%s/\n  parallel_ok: true\n  checkpoint: false\n  estimated_time_minutes: 10\n  acceptance_criteria:\n  - %s works\n  status: pending\n' \
        "$id" "$id" "$id" "$dep" "$id" "$id" "$id"
    done
  } >.claude/task-graph.yml
  echo "# bench" >README.md
  "$REAL_GIT" add -A && "$REAL_GIT" commit -q -m init
  "$REAL_GIT" clone -q --bare . ../bare.git
  "$REAL_GIT" remote add origin "$1/bare.git"
  "$REAL_GIT" config parallel.pollInterval "$POLL"
  "$REAL_GIT" config parallel.remoteDir "$1/hosts/{host}/repo"
  "$REAL_GIT" config parallel.sandbox off
}

# The remote calls in a GIT_TRACE file: "N ls-remote, M push, ...".
calls() {
  grep -oE 'built-in: git (ls-remote|fetch|push|clone)' "$1" | awk '{print $3}' | sort | uniq -c |
    awk '{printf "%s%s %s", sep, $1, $2; sep=", "}'
}
total() { grep -oE '[0-9]+ ' | awk '{s+=$1} END {print s+0}'; }

# One measured run: label, then run's arguments.
measure() {
  label=$1; shift
  r=0
  while [ $r -lt "$ROUNDS" ]; do
    fresh "$W/$label"
    : >"$W/trace.orch"; : >"$W/trace.work"
    start=$(date +%s.%N)
    GIT_TRACE="$W/trace.orch" "$BIN" run --agent "sh $W/agent.sh" "$@" >"$W/$label.out" 2>&1 || { cat "$W/$label.out" "$W/$label"/repo/.git/parallel/run/logs/*; exit 1; }
    end=$(date +%s.%N)
    # Workers started in the background may still be tidying up: give them a moment.
    sleep 1
    merges=$("$REAL_GIT" -C "$W/$label/bare.git" log --merges --oneline main | wc -l)
    case "$*" in *--remote*) ;; *) merges=$("$REAL_GIT" log --merges --oneline main | wc -l) ;; esac
    orch=$(calls "$W/trace.orch"); work=$(calls "$W/trace.work")
    printf '%-16s wall %5.1fs  landed %d  remote calls per landed task: %4.1f by the orchestrator (%s), %4.1f by the workers (%s)\n' \
      "$label" "$(echo "$end - $start" | bc)" "$merges" \
      "$(echo "$(echo "$orch" | total) / $merges" | bc -l)" "$orch" \
      "$(echo "$(echo "$work" | total) / $merges" | bc -l)" "$work"
    r=$((r + 1))
  done
}

measure local-j4 -j 4
measure local-j4-remote -j 4 --remote origin
measure ssh-1host-x4 -j 4 --remote origin --executor ssh --hosts build1:4
measure ssh-2hosts-x2 -j 4 --remote origin --executor ssh --hosts build1:2,build2:2
measure command-x4 -j 4 --remote origin --executor command \
  --dispatch "d=$W/runners/{id}-{attempt}-\$\$; mkdir -p \$d && (export GIT_TRACE=$W/trace.work; git clone -q {remote} \$d/repo && cd \$d/repo && git -c parallel.sandbox=off parallel work {id} --attempt {attempt} --agent 'sh $W/agent.sh') >\$d.log 2>&1 </dev/null &"
