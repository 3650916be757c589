#!/usr/bin/env python3
"""Kill loop over `git parallel run`: random SIGKILLs of the whole process group or of `run`
alone, then `run` again until every task is done; checks nothing was lost.

A graph of TASKS independent-then-joined tasks (a fan-out of N, a join, a tail), an agent that
sleeps a random 0.1-0.8 s, writes one file in its task's path and commits. KILLS times: start
`run -j 3` in its own process group, wait a random 0.05-2.5 s, SIGKILL the group (even kills)
or `run` alone (odd kills). After each kill: `status` exits 0; the journal is settled by the
next `run` (it settles a pending journal first); no lock file is left once `run` ended. At
the end (`run` repeated until it exits 0, at most 10 times): every task completed, merged into
main exactly once, every agent commit seen during the loop reachable from main, `git fsck`
clean, no agent process left running, and the task file committed (start records that killed
runs left uncommitted are carried by a later commit); the commits besides the merges are counted.

usage: run-kill-loop.py WORKDIR [KILLS] [SEED]   (git-parallel on PATH)
When a run finishes the graph before its kill, that round is judged and a fresh repository
starts the next one, until KILLS kills have landed.
Prints one line per kill and a summary with the counts.
"""
import json, os, random, re, shutil, signal, subprocess, sys, time

work = sys.argv[1]
KILLS = int(sys.argv[2]) if len(sys.argv) > 2 else 40
rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 7)
FAN = 6

subprocess.run(["rm", "-rf", work], check=True)
os.makedirs(work)
tasks = []
for i in range(1, FAN + 1):
    tasks.append((f"T-{i:02}", [], f"src/t{i}/"))
tasks.append(("JOIN-01", [t[0] for t in tasks], "src/join/"))
tasks.append(("TAIL-01", ["JOIN-01"], "src/tail/"))
lines = ["metadata:", "  product: kill", "tasks:"]
for tid, deps, path in tasks:
    lines += [f"  - id: {tid}", f"    name: Task {tid}", "    agent: backend-engineer",
              f"    depends_on: [{', '.join(deps)}]",
              f"    produces:", f"      - {{ name: out, type: code, path: \"{path}\" }}",
              "    parallel_ok: true", "    status: pending"]
graph_text = "\n".join(lines) + "\n"
agent = os.path.join(work, "agent.sh")
open(agent, "w").write("""#!/bin/sh
set -e
sleep "$(python3 -c 'import random; print(random.uniform(0.1, 0.8))')"
case "$GIT_PARALLEL_TASK_ID" in
  T-*) d="src/t${GIT_PARALLEL_TASK_ID#T-0}" ;;
  JOIN-01) d=src/join ;;
  TAIL-01) d=src/tail ;;
esac
mkdir -p "$d"
echo "$GIT_PARALLEL_TASK_ID $$" >> "$d/out.txt"
git add -A
git commit -qm "work $GIT_PARALLEL_TASK_ID"
""")
os.chmod(agent, 0o755)

env = dict(os.environ, GIT_AUTHOR_NAME="k", GIT_AUTHOR_EMAIL="k@example.com",
           GIT_COMMITTER_NAME="k", GIT_COMMITTER_EMAIL="k@example.com",
           GIT_PARALLEL_KILL_GRACE="1")


def git(*a, check=True):
    return subprocess.run(["git", "-C", repo, *a], check=check, capture_output=True, text=True, env=env)




def new_round(n):
    """A fresh repository for round `n` (the graph, the agent, one initial commit)."""
    global repo
    repo = os.path.join(work, f"round{n}", "repo")
    os.makedirs(os.path.join(repo, ".claude"))
    open(os.path.join(repo, ".claude", "task-graph.yml"), "w").write(graph_text)
    git("init", "-q", "-b", "main")
    open(os.path.join(repo, "README.md"), "w").write("kill loop\n")
    git("add", "-A")
    git("commit", "-qm", "init")

# The binary itself (not `git parallel`, whose `git` process would be the one a lone kill hits,
# leaving git-parallel running on as an orphan).
RUN = [shutil.which("git-parallel") or "git-parallel", "run", "-j", "3", "--agent", agent]


def snapshot(seen):
    """Adds every agent commit now on a task branch to `seen`."""
    out = git("for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/", check=False).stdout
    for line in out.splitlines():
        oid, ref = line.split(" ", 1)
        if ref != "refs/heads/main":
            log = git("log", "--format=%H %s", "main.." + oid, check=False).stdout
            for l in log.splitlines():
                h, s = l.split(" ", 1)
                if s.startswith("work "):
                    seen.add(h)


def finish_round(seen):
    """Runs `run` until it exits 0 (at most 10 times); the round's verdict as counts."""
    reruns = 0
    waited = 0
    while reruns < 10:
        r = subprocess.run(RUN, cwd=repo, env=env, capture_output=True, text=True)
        snapshot(seen)
        if r.returncode == 0:
            reruns += 1
            break
        if "is running in this repository" in r.stderr and waited < 120:
            waited += 1  # an earlier run's agents still end (the run lock): wait, not a rerun
            time.sleep(0.5)
            continue
        reruns += 1
        print(f"  rerun {reruns}: rc {r.returncode}: {r.stderr.strip()[-300:]}")
    st = json.loads(subprocess.run(["git", "parallel", "status", "--json", "--all"], cwd=repo, env=env,
                                   capture_output=True, text=True).stdout or "{}")
    status = {t["id"]: t.get("status") for t in st.get("tasks", [])}
    merges = git("log", "--merges", "--format=%s", "main").stdout.splitlines()
    merged = {tid: sum(1 for m in merges if f"({tid})" in m) for tid, _, _ in tasks}
    lost = [h for h in seen if git("merge-base", "--is-ancestor", h, "main", check=False).returncode != 0]
    fsck = git("fsck", "--no-progress", "--no-dangling", check=False)
    # Without a remote, start records ride in the merge commits (issue 20 item 6): once a run
    # ended, the task file is committed, and main's first-parent history has the merges and
    # only the other commits a finished run may add (a pending start committed at its end).
    committed = git("status", "--porcelain", "--", ".claude/task-graph.yml").stdout.strip() == ""
    others = int(git("rev-list", "--count", "--first-parent", "--no-merges", "main").stdout) - 1
    return {
        "reruns": reruns,
        "completed": sum(1 for v in status.values() if v == "completed"),
        "once": sum(1 for v in merged.values() if v == 1),
        "twice": sum(1 for v in merged.values() if v > 1),
        "seen": len(seen),
        "lost": len(lost),
        "fsck_clean": fsck.returncode == 0 and not fsck.stdout.strip(),
        "task_file_committed": committed,
        "others": others,
    }


counts = {"group": 0, "lone": 0, "status_ok": 0, "status_runs": 0, "ended_before_kill": 0}
rounds = []
n_round = 0
new_round(n_round)
seen = set()
kills = 0
while kills < KILLS:
    how = "group" if kills % 2 == 0 else "lone"
    p = subprocess.Popen(RUN, cwd=repo, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    delay = rng.uniform(0.05, 2.0)
    t0 = time.time()
    while time.time() - t0 < delay and p.poll() is None:
        time.sleep(0.01)
        snapshot(seen)
    ended = p.poll() is not None
    if ended:
        counts["ended_before_kill"] += 1
    else:
        if how == "group":
            os.killpg(p.pid, signal.SIGKILL)
        else:
            os.kill(p.pid, signal.SIGKILL)
        counts[how] += 1
        kills += 1
    p.wait()
    time.sleep(0.05)
    snapshot(seen)
    st = subprocess.run(["git", "parallel", "status"], cwd=repo, env=env, capture_output=True, text=True)
    counts["status_runs"] += 1
    counts["status_ok"] += st.returncode == 0
    print(f"round {n_round} {'run ended' if ended else 'kill ' + str(kills) + ': ' + how} "
          f"after {delay:.2f}s rc(status)={st.returncode}", flush=True)
    if st.returncode != 0:
        print(st.stderr.strip()[:500])
    if ended and p.returncode == 0:
        # The graph is done: judge this round, then a fresh one.
        rounds.append(finish_round(seen))
        n_round += 1
        new_round(n_round)
        seen = set()
rounds.append(finish_round(seen))

time.sleep(1.5)  # the watchdog of a run killed last gets a moment to end its agents
leftover = subprocess.run(["pgrep", "-f", agent], capture_output=True, text=True).stdout.split()
tot = lambda k: sum(r[k] for r in rounds)
n = len(tasks) * len(rounds)
print(f"summary: rounds {len(rounds)}, kills {counts['group'] + counts['lone']} (group {counts['group']}, "
      f"lone {counts['lone']}), runs that ended before their kill {counts['ended_before_kill']}, status exit 0 "
      f"{counts['status_ok']}/{counts['status_runs']}, reruns to finish {tot('reruns')}, tasks completed "
      f"{tot('completed')}/{n}, merged once {tot('once')}/{n}, merged twice {tot('twice')}, agent commits seen "
      f"{tot('seen')} lost {tot('lost')}, fsck clean in {sum(r['fsck_clean'] for r in rounds)}/{len(rounds)} "
      f"rounds, agents left running {len(leftover)}, task file committed in "
      f"{sum(r['task_file_committed'] for r in rounds)}/{len(rounds)} rounds, commits besides the "
      f"merges on main {tot('others')}")
ok = (tot("completed") == n and tot("once") == n and tot("lost") == 0
      and all(r["fsck_clean"] for r in rounds) and not leftover
      and all(r["task_file_committed"] for r in rounds))
sys.exit(0 if ok else 1)
