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
clean, and no agent process left running.

usage: run-kill-loop.py WORKDIR [KILLS] [SEED]   (git-parallel on PATH)
Prints one line per kill and a summary with the counts.
"""
import json, os, random, re, signal, subprocess, sys, time

work = sys.argv[1]
KILLS = int(sys.argv[2]) if len(sys.argv) > 2 else 40
rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 7)
FAN = 6

subprocess.run(["rm", "-rf", work], check=True)
repo = os.path.join(work, "repo")
os.makedirs(os.path.join(repo, ".claude"))
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
open(os.path.join(repo, ".claude", "task-graph.yml"), "w").write("\n".join(lines) + "\n")
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


git("init", "-q", "-b", "main")
open(os.path.join(repo, "README.md"), "w").write("kill loop\n")
git("add", "-A")
git("commit", "-qm", "init")

RUN = ["git", "parallel", "run", "-j", "3", "--agent", agent]
seen = set()  # every agent commit seen on a task branch


def snapshot():
    out = git("for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/", check=False).stdout
    for line in out.splitlines():
        oid, ref = line.split(" ", 1)
        if ref != "refs/heads/main":
            log = git("log", "--format=%H %s", "main.." + oid, check=False).stdout
            for l in log.splitlines():
                h, s = l.split(" ", 1)
                if s.startswith("work "):
                    seen.add(h)


counts = {"group": 0, "lone": 0, "status_ok": 0, "ended_before_kill": 0}
for k in range(KILLS):
    how = "group" if k % 2 == 0 else "lone"
    p = subprocess.Popen(RUN, cwd=repo, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    delay = rng.uniform(0.05, 2.5)
    t0 = time.time()
    while time.time() - t0 < delay and p.poll() is None:
        time.sleep(0.01)
        snapshot()
    if p.poll() is not None:
        counts["ended_before_kill"] += 1
    else:
        if how == "group":
            os.killpg(p.pid, signal.SIGKILL)
        else:
            os.kill(p.pid, signal.SIGKILL)
        counts[how] += 1
    p.wait()
    time.sleep(0.05)
    snapshot()
    st = subprocess.run(["git", "parallel", "status"], cwd=repo, env=env, capture_output=True, text=True)
    counts["status_ok"] += st.returncode == 0
    print(f"kill {k + 1:2}: {how:5} after {delay:.2f}s rc(status)={st.returncode}", flush=True)
    if st.returncode != 0:
        print(st.stderr.strip()[:500])

reruns = 0
while reruns < 10:
    reruns += 1
    r = subprocess.run(RUN, cwd=repo, env=env, capture_output=True, text=True)
    snapshot()
    if r.returncode == 0:
        break
    print(f"rerun {reruns}: rc {r.returncode}: {r.stderr.strip()[-300:]}")

st = json.loads(subprocess.run(["git", "parallel", "status", "--json", "--all"], cwd=repo, env=env,
                               capture_output=True, text=True).stdout or "{}")
status = {t["id"]: t.get("status") for t in st.get("tasks", [])}
merges = git("log", "--merges", "--format=%s", "main").stdout.splitlines()
merged = {tid: sum(1 for m in merges if f"({tid})" in m) for tid, _, _ in tasks}
lost = [h for h in seen if git("merge-base", "--is-ancestor", h, "main", check=False).returncode != 0]
fsck = git("fsck", "--no-progress", "--no-dangling", check=False)
leftover = subprocess.run(["pgrep", "-f", agent], capture_output=True, text=True).stdout.split()
completed = sum(1 for v in status.values() if v == "completed")
print(f"summary: kills {counts['group'] + counts['lone']} (group {counts['group']}, lone {counts['lone']}), "
      f"runs that ended before their kill {counts['ended_before_kill']}, status exit 0 after "
      f"{counts['status_ok']}/{KILLS}, reruns to finish {reruns}, tasks completed {completed}/{len(tasks)}, "
      f"merged once {sum(1 for v in merged.values() if v == 1)}/{len(tasks)}, merged twice "
      f"{sum(1 for v in merged.values() if v > 1)}, agent commits seen {len(seen)} lost {len(lost)}, "
      f"fsck {'clean' if fsck.returncode == 0 and not fsck.stdout.strip() else 'NOT clean'}, "
      f"agents left running {len(leftover)}")
ok = (completed == len(tasks) and all(v == 1 for v in merged.values()) and not lost
      and fsck.returncode == 0 and not leftover)
sys.exit(0 if ok else 1)
