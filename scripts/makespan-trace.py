#!/usr/bin/env python3
"""Where `git parallel run`'s makespan goes, on a real task graph with scaled agent times.

The same set-up as ../shared/tools/makespan.py (every task pending, checkpoints off, each agent
sleeps estimated_time_minutes * SCALE_MS ms, writes one file in its first `produces` path and
commits), but run with --json: every event is stamped when it arrives, and every agent logs when
its `sh -c` began, when its sleep began and ended and when its commit ended. Prints the
makespan against makespan.py's lower bound LB = max(critical path, work / J); the same bound
with the agents' measured times (python start-up and git included); what run's own rules
(`parallel_ok: false` runs alone, overlapping paths never together, -j) allow with no overhead
at all, with the estimated and with the measured agent times; and the chain of tasks that made
the makespan, each step's time: a dependency landed → started (start) → the agent's sh
(spawn) → its sleep began (py) → sleep → commit → run saw it end (seen) → merged (land).
usage: [CONFIG="key=value …"] makespan-trace.py GRAPH.yml WORKDIR [J] [SCALE_MS]   (git-parallel on PATH)
"""
import json, os, re, subprocess, sys, time, yaml

graph, work = sys.argv[1], sys.argv[2]
J = int(sys.argv[3]) if len(sys.argv) > 3 else 4
SCALE = float(sys.argv[4]) if len(sys.argv) > 4 else 10.0
doc = yaml.safe_load(open(graph))
product = (doc.get("metadata") or {}).get("product") or "p"
tasks = doc["tasks"]
est = {t["id"]: float(t.get("estimated_time_minutes") or 30) for t in tasks}
deps = {t["id"]: [d for d in (t.get("depends_on") or []) if d in est] for t in tasks}


def first_path(t):
    for p in t.get("produces") or []:
        path = p if isinstance(p, str) else (p or {}).get("path")
        if path:
            return path
    return None


text = open(graph).read()
text = re.sub(r'(\n\s*status:\s*)["\']?[a-z_]+["\']?', r'\1"pending"', text)
text = re.sub(r'(\n\s*checkpoint:\s*)true', r'\1false', text)
repo = os.path.join(work, "repo")
subprocess.run(["rm", "-rf", work], check=True)
os.makedirs(os.path.join(repo, "products", product, ".claude"))
open(os.path.join(repo, "products", product, ".claude", "task-graph.yml"), "w").write(text)
plan = {t["id"]: (first_path(t), est[t["id"]] * SCALE / 1000) for t in tasks}
json.dump(plan, open(os.path.join(work, "plan.json"), "w"))
agent = os.path.join(work, "agent.py")
open(agent, "w").write(f'''import time; T0 = time.time()
import json, os, subprocess
def began(pid):  # when a process began, in epoch seconds (10 ms steps), from /proc
    st = open(f"/proc/{{pid}}/stat").read().rsplit(")", 1)[1].split()
    ago = time.clock_gettime(time.CLOCK_BOOTTIME) - int(st[19]) / os.sysconf("SC_CLK_TCK")
    return T0 - ago
SH = began(os.getppid())  # the `sh -c` run spawned
tid = os.environ["GIT_PARALLEL_TASK_ID"]
p, s = json.load(open("{work}/plan.json"))[tid]
T1 = time.time(); time.sleep(s); T2 = time.time()
if p is None:
    if os.environ.get("EMPTY_OK") != "1":
        subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "sim " + tid], check=True)
else:
    f = (p.rstrip("/") + "/" + tid + ".txt") if (p.endswith("/") or "." not in os.path.basename(p)) else p
    os.makedirs(os.path.dirname(f) or ".", exist_ok=True); open(f, "a").write(tid + "\\n")
    subprocess.run(["git", "add", "-A"], check=True); subprocess.run(["git", "commit", "-qm", "sim " + tid], check=True)
print("STAMPS " + json.dumps([T0, T1, T2, time.time(), SH]), flush=True)  # into the log: the sandbox keeps agents out of WORKDIR
''')
g = lambda *a: subprocess.run(["git", "-C", repo, *a], check=True, capture_output=True)
g("init", "-q", "-b", "main")
open(os.path.join(repo, "README.md"), "w").write("sim\n")
g("add", "-A")
g("commit", "-qm", "init")
for kv in os.environ.get("CONFIG", "").split():  # e.g. CONFIG=parallel.reuseWorktrees=true
    g("config", *kv.split("=", 1))
extra = ["--test", os.environ["TEST"]] if os.environ.get("TEST") else []
t0 = time.time()
errf = open(os.path.join(work, "stderr.txt"), "w+")  # a file, not a pipe: nothing blocks on it
p = subprocess.Popen(["git", "parallel", "run", "--json", "-j", str(J), "--agent", f"python3 {agent}", *extra],
                     cwd=repo, stdout=subprocess.PIPE, stderr=errf, text=True)
logs = {}
ev = {}  # (event, id) -> time of arrival, relative to t0
for line in p.stdout:
    now = time.time() - t0
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if "id" in e:
        ev.setdefault((e["event"], e["id"]), now)
    if e.get("event") == "started":
        logs[e["id"]] = e["log"]
p.wait()
errf.seek(0)
err = errf.read()
json.dump(sorted([t, e, i] for (e, i), t in ev.items()), open(os.path.join(work, "events.json"), "w"), indent=0)
open(os.path.join(work, "t0"), "w").write(repr(t0))
wall = time.time() - t0
st = {}
for tid in est:
    try:
        lines = [l for l in open(logs[tid]) if l.startswith("STAMPS ")]
        st[tid] = [x - t0 for x in json.loads(lines[-1][7:])]
    except (KeyError, OSError, IndexError):
        pass

PRIORITY = {"critical": 0, "high": 1, "normal": 2, "medium": 2, "low": 3}
alone = {t["id"]: t.get("parallel_ok") is False for t in tasks}
paths = {t["id"]: [(p if isinstance(p, str) else (p or {}).get("path") or "").rstrip("/")
                   for p in (t.get("produces") or [])] for t in tasks}
paths = {k: [p for p in v if p] for k, v in paths.items()}
prio = {t["id"]: PRIORITY.get(str(t.get("priority", "normal")), 2) for t in tasks}
order = [t["id"] for t in tasks]


def critical(w):
    memo = {}

    def cp(i):
        if i not in memo:
            memo[i] = w[i] + max([cp(d) for d in deps[i]] or [0])
        return memo[i]
    return max(cp(i) for i in w)


def simulate(w):
    """run's rules with no overhead at all: J slots, a `parallel_ok: false` task alone, no two
    tasks with overlapping paths together, ready tasks by longest remaining path."""
    dependents = {i: [j for j in w if i in deps[j]] for i in w}
    memo = {}

    def rp(i):
        if i not in memo:
            memo[i] = w[i] + max([rp(k) for k in dependents[i]] or [0])
        return memo[i]

    def overlap(a, b):
        return any(x == y or x.startswith(y + "/") or y.startswith(x + "/") for x in a for y in b)
    done, running, now = set(), {}, 0.0
    while len(done) < len(w):
        ready = sorted((i for i in order if i not in done and i not in running
                        and all(d in done for d in deps[i])), key=lambda i: (-rp(i), prio[i], order.index(i)))
        for i in ready:
            busy = list(running)
            if len(busy) >= J or any(alone[o] for o in busy) or (alone[i] and busy):
                continue
            if any(overlap(paths[i], paths[o]) for o in busy):
                continue
            running[i] = now + w[i]
        if not running:
            break
        i = min(running, key=running.get)
        now = running.pop(i)
        done.add(i)
    return now


unit = SCALE / 1000
lb = max(critical(est), sum(est.values()) / J) * unit
# What each agent really took: from its `sh -c` to the end of its commit (python start-up and
# git included), where it could be measured.
real = {i: (st[i][3] - st[i][4]) / unit if i in st and len(st[i]) > 4 else est[i] for i in est}
lb_real = max(critical(real), sum(real.values()) / J) * unit
sim, sim_real = simulate(est) * unit, simulate(real) * unit
print(f"{os.path.basename(graph)}: rc {p.returncode} makespan {wall:.2f}s LB {lb:.2f}s ratio {wall / lb:.3f}")
print(f"  LB with the agents' measured times {lb_real:.2f}s ({lb_real / lb:.3f} LB); "
      f"run's rules (parallel_ok, paths, -j) with no overhead: {sim:.2f}s ({sim / lb:.3f} LB), "
      f"with the measured agents {sim_real:.2f}s ({sim_real / lb:.3f} LB); makespan / that {wall / sim_real:.3f}")
if p.returncode != 0:
    sys.stderr.write(err[-2000:])

# The chain that made the makespan: from the last landing back, each task waited for the
# latest landing of its dependencies (or for a slot, when none landed just before it started).
merged = {i: ev.get(("merged", i)) for i in est}
last = max((i for i in est if merged[i] is not None), key=lambda i: merged[i], default=None)
chain = []
while last is not None:
    chain.append(last)
    ds = [d for d in deps[last] if merged.get(d) is not None]
    last = max(ds, key=lambda d: merged[d]) if ds else None
tot = {}
print(f"{'task':<28}{'start':>7}{'spawn':>7}{'py':>7}{'sleep':>7}{'commit':>7}{'seen':>7}{'land':>7}")
prev = 0.0
for i in reversed(chain):
    s = ev.get(("started", i))
    a = st.get(i)
    f = ev.get(("finished", i))
    m = merged[i]
    if s is None or a is None or f is None or m is None:
        print(f"{i}: incomplete")
        break
    dep_m = max([merged[d] for d in deps[i] if merged.get(d) is not None] or [0.0])
    # `start` is from the dependency's landing (or run's start) to the started event.
    row = {"start": s - dep_m, "spawn": a[4] - s, "py": a[1] - a[4],
           "sleep": a[2] - a[1], "commit": a[3] - a[2], "seen": f - a[3], "land": m - f}
    for k, v in row.items():
        tot[k] = tot.get(k, 0.0) + v
    print(f"{i:<28}" + "".join(f"{row[k]:7.3f}" for k in row))
    prev = m
print(f"{'total':<28}" + "".join(f"{tot.get(k, 0):7.3f}" for k in
                                  ["start", "spawn", "py", "sleep", "commit", "seen", "land"]))
print(f"after the last landing: {wall - prev:.3f}s")
# Every landing, every start: how long each took (all tasks, not only the chain).
lands = sorted(merged[i] - ev[("finished", i)] for i in est if merged[i] and ("finished", i) in ev)
if lands:
    print(f"finished→merged over all tasks: median {lands[len(lands) // 2]:.3f}s max {lands[-1]:.3f}s")
spawns = sorted(st[i][4] - ev[("started", i)] for i in est if i in st and ("started", i) in ev)
if spawns:
    print(f"started→sh over all tasks: median {spawns[len(spawns) // 2]:.3f}s max {spawns[-1]:.3f}s")
