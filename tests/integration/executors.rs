//! `run --executor ssh|command`: the orchestrator dispatches each attempt to another machine
//! and learns everything from the remote (issue 22). Real git, real processes, the real binary;
//! workers are `git parallel work` in clones of their own (a "CI runner" clone per attempt for
//! `command`; per-host clones over a real sshd on 127.0.0.1 for `ssh`). Every test checks the
//! remote: each task merged exactly once into its `main`, the task file's statuses, `git fsck`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::support::sshd::Sshd;
use super::support::*;

/// The 6-task graph: a chain C1 → C2 → C3 and a wave W1, W2, W3 after C1; no checkpoints.
const GRAPH: &[(&str, &[&str])] = &[
    ("C1", &[]),
    ("C2", &["C1"]),
    ("C3", &["C2"]),
    ("W1", &["C1"]),
    ("W2", &["C1"]),
    ("W3", &["C1"]),
];

/// The agent: commits `out/<ID>/done.txt` after `$AGENT_SLEEP` seconds (default 0). With
/// `$STOP_ID` / `$KILL_ID` set, attempt 1 of that task stops (SIGSTOP) / kills (SIGKILL) the
/// `git parallel work` running it first, writing its pid to `$MARKS/<ID>.worker`; a stopped
/// worker's agent then waits for `$MARKS/go` and commits `out/<ID>/lost.txt`.
const AGENT: &str = r#"
id=$GIT_PARALLEL_TASK_ID
n=$GIT_PARALLEL_ATTEMPT
echo "agent for $id, attempt $n in $PWD"
worker() {
  p=$$
  while [ "$p" -gt 1 ]; do
    case "$(ps -o args= -p "$p" 2>/dev/null)" in
      *"parallel work"*) echo "$p"; return ;;
    esac
    p=$(ps -o ppid= -p "$p" | tr -d ' ')
  done
}
if [ "$n" = 1 ] && [ "$id" = "${STOP_ID:-}" ]; then
  w=$(worker); echo "$w" > "$MARKS/$id.worker"; kill -STOP "$w"
  i=0; while [ ! -e "$MARKS/go" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
  mkdir -p "out/$id"; echo lost > "out/$id/lost.txt"
  git add -A && git commit -q -m "lost work on $id"
  exit 0
fi
if [ "$n" = 1 ] && [ "$id" = "${KILL_ID:-}" ]; then
  w=$(worker); echo "$w" > "$MARKS/$id.worker"; kill -KILL "$w"
  exit 0
fi
sleep "${AGENT_SLEEP:-0}"
mkdir -p "out/$id"
printf '%s\n' "$id" > "out/$id/done.txt"
git add -A && git commit -q -m "work on $id (attempt $n)"
"#;

/// The orchestrator's clone with the graph, its bare remote `origin` at `<home>/srv/bare.git`
/// (or `url` when given), the agent at `<home>/agent.sh` and a marks directory.
struct Setup {
    r: TestRepo,
    bare: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let mut r = TestRepo::new();
        let mut y = String::from("metadata:\n  product: demo\ntasks:\n");
        for (id, deps) in GRAPH {
            y.push_str(&format!(
                "- id: {id}\n  name: Task {id}\n  description: Build {id}\n  agent: backend-engineer\n  depends_on: [{}]\n  produces:\n  - name: {id}\n    path: out/{id}/\n  parallel_ok: true\n  checkpoint: false\n  estimated_time_minutes: 10\n  acceptance_criteria:\n  - {id} works\n  status: pending\n",
                deps.join(", ")
            ));
        }
        r.write(".claude/task-graph.yml", &y);
        r.git(&["add", "-A"]);
        r.git(&["commit", "-q", "-m", "add task graph"]);
        r.tasks = ".claude/task-graph.yml".into();
        let bare = serve_bare(&r);
        std::fs::write(r.home().join("agent.sh"), AGENT).unwrap();
        std::fs::create_dir_all(r.home().join("marks")).unwrap();
        r.git(&["config", "parallel.pollInterval", "0.2s"]);
        Setup { r, bare }
    }

    fn agent(&self) -> String {
        format!("sh {}", self.r.home().join("agent.sh").display())
    }

    fn marks(&self) -> PathBuf {
        self.r.home().join("marks")
    }

    /// `run --executor …` in `dir` (a clone of the remote), with the real clock (leases age)
    /// and git-parallel on PATH for the workers.
    fn run_in(&self, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut c = self.r.cmd_in(dir);
        c.env_remove("GIT_PARALLEL_NOW")
            .env("PATH", path_with_bin())
            .env("MARKS", self.marks())
            .env("GIT_PARALLEL_KILL_GRACE", "1")
            .args(["run", "--remote", "origin", "--agent", &self.agent()])
            .args(args);
        for (k, v) in env {
            c.env(k, v);
        }
        c
    }

    /// The merge commits on the remote's main per task id (subjects end with `(ID)`).
    fn merges(&self) -> BTreeMap<String, usize> {
        let log = self
            .r
            .git_in(&self.bare, &["log", "--merges", "--format=%s", "main"]);
        let mut n = BTreeMap::new();
        for (id, _) in GRAPH {
            let c = log
                .lines()
                .filter(|l| l.ends_with(&format!("({id})")))
                .count();
            n.insert(id.to_string(), c);
        }
        n
    }

    /// The status of every task in the remote's task file.
    fn statuses(&self) -> BTreeMap<String, String> {
        let text = self
            .r
            .git_in(&self.bare, &["show", "main:.claude/task-graph.yml"]);
        GRAPH
            .iter()
            .map(|(id, _)| {
                (
                    id.to_string(),
                    field(&text, id, "status").unwrap_or_default(),
                )
            })
            .collect()
    }

    /// The remote's refs under `prefix`.
    fn refs_under(&self, prefix: &str) -> Vec<String> {
        self.r
            .git_in(&self.bare, &["for-each-ref", "--format=%(refname)", prefix])
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Every task landed exactly once, completed on the remote, nothing of the protocol or
    /// the task branches left there, and the remote's object store whole.
    fn assert_landed_once(&self, text: &str) {
        let once: BTreeMap<String, usize> =
            GRAPH.iter().map(|(id, _)| (id.to_string(), 1)).collect();
        assert_eq!(self.merges(), once, "{text}");
        for (id, s) in self.statuses() {
            assert_eq!(s, "completed", "{id}: {text}");
        }
        let main = self.r.git_in(&self.bare, &["rev-parse", "main"]);
        for (id, _) in GRAPH {
            let f = self
                .r
                .git_in(&self.bare, &["show", &format!("main:out/{id}/done.txt")]);
            assert_eq!(f.trim(), *id, "{main}");
        }
        assert_eq!(
            self.refs_under("refs/heads/feature/"),
            Vec::<String>::new(),
            "{text}"
        );
        assert_eq!(
            self.refs_under("refs/parallel/lease/"),
            Vec::<String>::new(),
            "{text}"
        );
        self.r
            .git_in(&self.bare, &["fsck", "--no-progress", "--strict"]);
    }
}

/// PATH with the directory of the test's git-parallel first (so `git parallel` finds it).
fn path_with_bin() -> String {
    let dir = Path::new(BIN).parent().unwrap().display().to_string();
    format!("{dir}:{}", std::env::var("PATH").unwrap_or_default())
}

/// The dispatch template of a "CI runner": a fresh clone of the remote per attempt in a
/// directory of its own under `$RUNNERS` (its worktrees beside it), `git parallel work` started there in the background; the command returns at once.
fn runner_template(agent: &str) -> String {
    format!(
        "d=\"$RUNNERS\"/{{id}}-{{attempt}}-$$; mkdir -p \"$d\" && ( git clone -q {{remote}} \"$d/repo\" && cd \"$d/repo\" && git parallel work {{id}} --attempt {{attempt}} --agent '{agent}' ) >\"$d.log\" 2>&1 </dev/null &"
    )
}

fn text_of(out: &Output) -> String {
    all_output(out)
}

#[test]
fn command_executor_lands_a_chain_and_a_wave_through_ci_runner_clones() {
    let s = Setup::new();
    let runners = s.r.home().join("runners");
    std::fs::create_dir_all(&runners).unwrap();
    let root = s.r.root.clone();
    let out = s
        .run_in(
            &root,
            &[
                "--executor",
                "command",
                "--dispatch",
                &runner_template(&s.agent()),
                "-j",
                "4",
            ],
            &[("RUNNERS", runners.to_str().unwrap())],
        )
        .output()
        .unwrap();
    let text = text_of(&out);
    assert!(out.status.success(), "{text}\n{}", runner_logs(&runners));
    s.assert_landed_once(&text);
    // The orchestrator made no worktree of its own: the runners did the work.
    assert!(!s.r.base().join("worktrees").exists(), "{text}");
    assert!(text.contains("Completed:"), "{text}");
}

/// The runners' logs, for failure messages.
fn runner_logs(dir: &Path) -> String {
    let mut t = String::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.path().extension().is_some_and(|x| x == "log") {
            t.push_str(&format!(
                "--- {}\n{}",
                e.path().display(),
                std::fs::read_to_string(e.path()).unwrap_or_default()
            ));
        }
    }
    t
}

#[test]
fn executor_settings_are_checked_before_anything_runs() {
    let s = Setup::new();
    let root = s.r.root.clone();
    let before = s.r.snapshot();
    // No remote: refused with the fix.
    let out =
        s.r.cmd()
            .args([
                "run",
                "--agent",
                "true",
                "--executor",
                "ssh",
                "--hosts",
                "build1",
            ])
            .output()
            .unwrap();
    let text = text_of(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("--executor ssh needs a remote"), "{text}");
    assert!(text.contains("--remote NAME"), "{text}");
    for (args, says) in [
        (
            vec!["--executor", "ssh", "--hosts", "build1:4,build2:x"],
            "'build2:x'",
        ),
        (vec!["--executor", "ssh"], "needs hosts"),
        (vec!["--executor", "command"], "--dispatch CMD"),
        (
            vec!["--executor", "kubernetes"],
            "local, ssh or command, not 'kubernetes'",
        ),
    ] {
        let out = s.run_in(&root, &args, &[]).output().unwrap();
        let text = text_of(&out);
        assert_eq!(out.status.code(), Some(129), "{args:?}: {text}");
        assert!(text.contains(says), "{args:?}: {text}");
    }
    assert_same(&before, &s.r.snapshot(), "refused executors change nothing");
    assert_eq!(s.refs_under("refs/parallel/"), Vec::<String>::new());
}

/// Waits until process `pid` is gone (at most `secs`).
fn wait_gone(pid: &str, secs: u64) -> bool {
    let until = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < until {
        if !Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.split(' ').nth(2) == Some("Z"))
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn ssh_executor_two_hosts_survive_a_stopped_and_a_killed_worker() {
    let s = Setup::new();
    let Some(sshd) = Sshd::start_with(
        &s.r.home(),
        &[
            ("GIT_CONFIG_COUNT", "2"),
            ("GIT_CONFIG_KEY_0", "parallel.leaseInterval"),
            ("GIT_CONFIG_VALUE_0", "1s"),
            // The agents' marks go where the sandbox lets them write.
            ("GIT_CONFIG_KEY_1", "parallel.sandboxWritable"),
            ("GIT_CONFIG_VALUE_1", s.marks().to_str().unwrap()),
            ("MARKS", s.marks().to_str().unwrap()),
            ("STOP_ID", "W2"),
            ("KILL_ID", "W3"),
        ],
    ) else {
        return;
    };
    // The remote is served over ssh, as on real hosts: the orchestrator and the workers
    // fetch and push through the test's sshd.
    let url = format!("ssh://build1{}", s.bare.display());
    s.r.git(&["remote", "set-url", "origin", &url]);
    let hosts = s.r.home().join("hosts");
    s.r.git(&[
        "config",
        "parallel.remoteDir",
        &format!("{}/{{host}}/repo", hosts.display()),
    ]);
    s.r.git(&["config", "parallel.leaseTimeout", "4s"]);
    let root = s.r.root.clone();
    let mut c = s.run_in(
        &root,
        &[
            "--executor",
            "ssh",
            "--hosts",
            "build1:2,build2:2",
            "--json",
        ],
        &[],
    );
    sshd.apply(&mut c);
    let out = c.output().unwrap();
    let text = text_of(&out);
    let events = json_lines(&out);
    assert!(out.status.success(), "{text}\nsshd:\n{}", sshd.log());
    s.assert_landed_once(&text);
    // Both hosts ran attempts, in clones of their own.
    for h in ["build1", "build2"] {
        assert!(hosts.join(h).join("repo/.git").is_dir(), "{h}: {text}");
        assert!(
            events.iter().any(|e| e["event"] == "started"
                && e["worktree"].as_str().is_some_and(|w| w.starts_with(h))),
            "{h}: {text}"
        );
    }
    // The stopped worker's lease expired; the killed one's session ended: each task ran again.
    let failed = |id: &str| -> Vec<serde_json::Value> {
        events
            .iter()
            .filter(|e| e["event"] == "attempt_failed" && e["id"] == id)
            .cloned()
            .collect()
    };
    // (Over ssh a later attempt may also fail for a passing reason, a fetch that did not go
    // through, and be retried: the first failure is the one this test caused.)
    let w2 = failed("W2");
    assert!(!w2.is_empty(), "{text}");
    assert_eq!(w2[0]["kind"], "lease-expired", "{text}");
    let w3 = failed("W3");
    assert!(!w3.is_empty(), "{text}");
    assert!(
        w3[0]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("no outcome of attempt 1"),
        "{text}"
    );

    // The stopped worker wakes up after everything landed: its agent commits, it publishes
    // nothing (its lease was taken over), and the remote does not move.
    let main = s.r.git_in(&s.bare, &["rev-parse", "main"]);
    let pid = std::fs::read_to_string(s.marks().join("W2.worker")).unwrap();
    let pid = pid.trim();
    std::fs::write(s.marks().join("go"), "").unwrap();
    let _ = Command::new("kill").args(["-CONT", pid]).status();
    assert!(wait_gone(pid, 60), "the woken worker {pid} did not end");
    assert_eq!(s.r.git_in(&s.bare, &["rev-parse", "main"]), main);
    assert_eq!(
        s.refs_under("refs/parallel/outcome/W2/"),
        Vec::<String>::new()
    );
    assert_eq!(s.refs_under("refs/heads/feature/"), Vec::<String>::new());
    let lost =
        s.r.git_cmd(&s.bare)
            .args(["cat-file", "-e", "main:out/W2/lost.txt"])
            .stderr(Stdio::null())
            .status()
            .unwrap();
    assert!(!lost.success(), "the lost attempt's work landed");
    s.r.git_in(&s.bare, &["fsck", "--no-progress", "--strict"]);
}

#[test]
fn two_orchestrators_on_two_clones_land_every_task_once() {
    let s = Setup::new();
    let url = s.bare.to_str().unwrap().to_string();
    let runners = s.r.home().join("runners");
    std::fs::create_dir_all(&runners).unwrap();
    // Two clones of the remote, each with its own orchestrator.
    let clone = |name: &str| -> PathBuf {
        let dir = s.r.home().join(name);
        s.r.git_in(&s.r.home(), &["clone", "-q", &url, dir.to_str().unwrap()]);
        s.r.git_in(&dir, &["config", "parallel.pollInterval", "0.2s"]);
        dir
    };
    let (a, b) = (clone("a"), clone("b"));
    let template = runner_template(&s.agent());
    let env = [
        ("RUNNERS", runners.to_str().unwrap()),
        ("AGENT_SLEEP", "0.5"),
    ];
    let args = ["--executor", "command", "--dispatch", &template, "-j", "3"];
    // Each orchestrator commits as itself, a second apart: their commits differ.
    let who = |name: &str, date: &str| -> Vec<(String, String)> {
        vec![
            ("GIT_AUTHOR_NAME".into(), format!("Orchestrator {name}")),
            ("GIT_COMMITTER_NAME".into(), format!("Orchestrator {name}")),
            ("GIT_AUTHOR_DATE".into(), date.into()),
            ("GIT_COMMITTER_DATE".into(), date.into()),
        ]
    };
    let spawn = |dir: &Path, me: Vec<(String, String)>| {
        let mut c = s.run_in(dir, &args, &env);
        c.envs(me).stdout(Stdio::piped()).stderr(Stdio::piped());
        c.spawn().unwrap()
    };
    let ca = spawn(&a, who("A", "2026-03-01T12:00:00Z"));
    let cb = spawn(&b, who("B", "2026-03-01T12:00:01Z"));
    let (oa, ob) = (
        ca.wait_with_output().unwrap(),
        cb.wait_with_output().unwrap(),
    );
    let (ta, tb) = (text_of(&oa), text_of(&ob));
    let both = format!("A:\n{ta}\nB:\n{tb}\nrunners:\n{}", runner_logs(&runners));
    assert!(oa.status.success() && ob.status.success(), "{both}");
    assert!(!both.contains("rolling back failed"), "{both}");
    s.assert_landed_once(&both);
    // Each task was completed by exactly one of them.
    let completed = |t: &str| -> Vec<String> {
        t.lines()
            .find_map(|l| l.strip_prefix("Completed: "))
            .map(|l| {
                l.split(", ")
                    .filter(|x| *x != "none")
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut all: Vec<String> = completed(&ta).into_iter().chain(completed(&tb)).collect();
    all.sort();
    assert_eq!(all, ["C1", "C2", "C3", "W1", "W2", "W3"], "{both}");
    // Whoever lost a race was told who won: the remote's new tip and the commit that made it
    // (or, coming later, that the task was already started, or dispatched by the other).
    for (me, other, text) in [("A", "B", &ta), ("B", "A", &tb)] {
        for line in text.lines().filter(|l| l.contains("moved meanwhile")) {
            assert!(
                text.contains(&format!("(Orchestrator {other} <")),
                "{me} lost a race without being told who won ({line}):\n{both}"
            );
        }
    }
    assert!(
        both.contains("moved meanwhile")
            || both.contains("already started")
            || both.contains("dispatched by another run"),
        "{both}"
    );
}

#[test]
fn a_run_interrupted_while_its_worker_runs_watches_it_again_instead_of_dispatching_anew() {
    let s = Setup::new();
    let runners = s.r.home().join("runners");
    std::fs::create_dir_all(&runners).unwrap();
    let root = s.r.root.clone();
    let template = runner_template(&s.agent());
    let args = ["--executor", "command", "--dispatch", &template, "C1"];
    let env = [("RUNNERS", runners.to_str().unwrap()), ("AGENT_SLEEP", "4")];
    let mut first = s
        .run_in(&root, &args, &env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the worker holds C1's lease, run is interrupted; the worker goes on.
    let until = Instant::now() + Duration::from_secs(30);
    while Instant::now() < until {
        let held =
            s.r.git_cmd(&s.bare)
                .args(["cat-file", "-p", "refs/parallel/lease/C1"])
                .output()
                .unwrap();
        let lease = stdout(&held);
        if lease.contains("\"holder\"") && !lease.contains("\"dispatched\"") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = Command::new("kill")
        .args(["-INT", &first.id().to_string()])
        .status();
    let _ = first.wait();
    let out = s
        .run_in(
            &root,
            &[
                "--json",
                "--executor",
                "command",
                "--dispatch",
                &template,
                "C1",
            ],
            &env,
        )
        .output()
        .unwrap();
    let text = text_of(&out);
    assert!(out.status.success(), "{text}\n{}", runner_logs(&runners));
    let events = json_lines(&out);
    // Landed from the attempt the first run dispatched: no new attempt.
    assert!(!events.iter().any(|e| e["event"] == "started"), "{text}");
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "finished" && e["id"] == "C1" && e["attempt"] == 1),
        "{text}"
    );
    assert_eq!(s.merges()["C1"], 1, "{text}");
    assert_eq!(s.statuses()["C1"], "completed");
    assert_eq!(
        s.refs_under("refs/parallel/"),
        Vec::<String>::new(),
        "{text}"
    );
    s.r.git_in(&s.bare, &["fsck", "--no-progress", "--strict"]);
}

/// The agent of the landing-feedback tests: attempt 1 of a task commits `out/<ID>/done.txt`
/// ("mine"), then lands the same file with other content on the remote's main first (from a
/// clone of its own, standing in for another task); attempt 2 must find the conflict in
/// `GIT_PARALLEL_LAST_FAILURE` and the brief, and main merged into its worktree with the
/// markers in place: it keeps what it was told and resolves.
const CONFLICT_AGENT: &str = r#"
id=$GIT_PARALLEL_TASK_ID
n=$GIT_PARALLEL_ATTEMPT
mkdir -p "out/$id"
if [ "$n" = 1 ]; then
  echo mine > "out/$id/done.txt"; git add -A; git commit -q -m "$id: mine"
  c=$(mktemp -d)/other
  git clone -q "$BARE" "$c" || exit 5
  ( cd "$c" && mkdir -p "out/$id" && echo theirs > "out/$id/done.txt" && git add -A \
    && git commit -q -m "main: theirs" && git push -q origin HEAD:main ) || exit 6
  exit 0
fi
[ -n "$GIT_PARALLEL_LAST_FAILURE" ] || exit 7
head -1 "$GIT_PARALLEL_LAST_FAILURE" | grep -q '^conflict: ' || exit 8
grep -q '^<<<<<<<' "out/$id/done.txt" || exit 9
cp "$GIT_PARALLEL_LAST_FAILURE" "out/$id/last-failure.txt"
cp "$GIT_PARALLEL_TASK_BRIEF" "out/$id/brief.md"
printf '%s\n' "$id" > "out/$id/done.txt"
git add -A && git commit -q --no-edit
"#;

/// `--executor command`: attempt 1's work conflicts with what landed on main first. The
/// landing's conflict reaches attempt 2's worker through its lease: its agent reads it
/// (`GIT_PARALLEL_LAST_FAILURE`, kind conflict, the brief) in a worktree with main merged
/// in, resolves, and the task lands, once.
#[test]
fn a_landing_conflict_reaches_the_next_remote_attempt_which_resolves_it_and_lands() {
    let s = Setup::new();
    std::fs::write(s.r.home().join("agent.sh"), CONFLICT_AGENT).unwrap();
    let runners = s.r.home().join("runners");
    std::fs::create_dir_all(&runners).unwrap();
    let root = s.r.root.clone();
    let template = runner_template(&s.agent());
    let out = s
        .run_in(
            &root,
            &[
                "--json",
                "--executor",
                "command",
                "--dispatch",
                &template,
                "C1",
            ],
            &[
                ("RUNNERS", runners.to_str().unwrap()),
                ("BARE", s.bare.to_str().unwrap()),
                ("GIT_CONFIG_COUNT", "1"),
                ("GIT_CONFIG_KEY_0", "parallel.sandbox"),
                ("GIT_CONFIG_VALUE_0", "off"),
            ],
        )
        .output()
        .unwrap();
    let text = text_of(&out);
    let logs = runner_logs(&runners);
    assert!(out.status.success(), "{text}\n{logs}");
    let events = json_lines(&out);
    let failed: Vec<_> = events
        .iter()
        .filter(|e| e["event"] == "attempt_failed")
        .collect();
    assert_eq!(failed.len(), 1, "{text}\n{logs}");
    assert_eq!(failed[0]["kind"], "conflict", "{text}");
    assert_eq!(failed[0]["files"], serde_json::json!(["out/C1/done.txt"]));
    assert_eq!(s.merges()["C1"], 1, "{text}");
    assert_eq!(s.statuses()["C1"], "completed");
    let show = |p: &str| s.r.git_in(&s.bare, &["show", &format!("main:{p}")]);
    assert_eq!(show("out/C1/done.txt").trim(), "C1");
    let last = show("out/C1/last-failure.txt");
    assert!(
        last.starts_with("conflict: its merge conflicts with main in out/C1/done.txt\n"),
        "{last}"
    );
    assert!(last.contains("attempt: 1\n"), "{last}");
    assert!(last.contains("with: main at "), "{last}");
    assert!(
        last.contains("work merged main into this worktree; the merge is in progress"),
        "{last}"
    );
    let brief = show("out/C1/brief.md");
    assert!(brief.contains("its merge conflicts with main"), "{brief}");
    // Nothing was lost: attempt 1's commit and what landed first are both in main's history.
    let log = s.r.git_in(&s.bare, &["log", "--format=%s", "main"]);
    assert!(log.lines().any(|l| l == "C1: mine"), "{log}");
    assert!(log.lines().any(|l| l == "main: theirs"), "{log}");
    assert_eq!(
        s.refs_under("refs/parallel/"),
        Vec::<String>::new(),
        "{text}"
    );
}

/// A `git` first on PATH for the orchestrator (and its workers): the first fetch of the
/// remote's branches after attempt 1 of C1 published its outcome — the one finish makes
/// before it lands, after run read the outcome and checked the branch — is preceded by a
/// commit pushed onto C1's branch on the remote (straight into the bare repository).
const PUSH_BEFORE_FETCH: &str = r#"#!/bin/sh
case " $* " in
  *" fetch "*"+refs/heads/*:"*)
    if [ ! -e "$MARKS/pushed" ] && env -u GIT_DIR -u GIT_WORK_TREE "$REAL_GIT" --git-dir="$BARE" \
        rev-parse -q --verify refs/parallel/outcome/C1/1 >/dev/null 2>&1; then
      touch "$MARKS/pushed"
      ( unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE
        g() { "$REAL_GIT" --git-dir="$BARE" -c user.name=late -c user.email=late@example.com "$@"; }
        b=refs/heads/feature/demo/backend-C1
        tip=$(g rev-parse "$b") && tree=$(g rev-parse "$tip^{tree}") \
          && new=$(echo "late push" | g commit-tree "$tree" -p "$tip") \
          && g update-ref "$b" "$new" "$tip" ) || echo "the late push failed" >&2
    fi ;;
esac
exec "$REAL_GIT" "$@"
"#;

/// A push to a task branch after its attempt's outcome was read: finish, given the tip the
/// outcome published, refuses (code `tip-moved`) instead of landing what it fetched; run
/// counts a failed attempt, attempt 2 builds on the branch as it is, and that lands.
#[test]
fn a_push_to_the_task_branch_after_its_outcome_fails_the_attempt_instead_of_landing() {
    let s = Setup::new();
    std::fs::write(
        s.r.home().join("agent.sh"),
        "id=$GIT_PARALLEL_TASK_ID; n=$GIT_PARALLEL_ATTEMPT\nmkdir -p out/$id\necho \"$id, attempt $n\" > out/$id/done.txt\ngit add -A && git commit -q -m \"work on $id (attempt $n)\"\n",
    )
    .unwrap();
    let runners = s.r.home().join("runners");
    std::fs::create_dir_all(&runners).unwrap();
    let (wrap, real) = git_wrapper(&s.r.home(), PUSH_BEFORE_FETCH);
    let path = format!("{}:{}", wrap.display(), path_with_bin());
    let root = s.r.root.clone();
    let template = runner_template(&s.agent());
    let out = s
        .run_in(
            &root,
            &[
                "--json",
                "--executor",
                "command",
                "--dispatch",
                &template,
                "C1",
            ],
            &[
                ("RUNNERS", runners.to_str().unwrap()),
                ("BARE", s.bare.to_str().unwrap()),
                ("REAL_GIT", &real),
                ("PATH", &path),
            ],
        )
        .output()
        .unwrap();
    let text = text_of(&out);
    let logs = runner_logs(&runners);
    assert!(out.status.success(), "{text}\n{logs}");
    assert!(s.marks().join("pushed").exists(), "{text}\n{logs}");
    let events = json_lines(&out);
    let failed: Vec<_> = events
        .iter()
        .filter(|e| e["event"] == "attempt_failed")
        .collect();
    assert_eq!(failed.len(), 1, "{text}\n{logs}");
    assert_eq!(failed[0]["attempt"], 1, "{text}");
    let reason = failed[0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("tip-moved"), "{reason}");
    assert!(
        reason.contains("not at") && reason.contains("the tip its attempt published"),
        "{reason}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "finished" && e["id"] == "C1" && e["attempt"] == 2),
        "{text}"
    );
    assert_eq!(s.merges()["C1"], 1, "{text}");
    assert_eq!(s.statuses()["C1"], "completed");
    // Attempt 2 built on the branch as it was, the late commit included.
    let log = s.r.git_in(&s.bare, &["log", "--format=%s", "main"]);
    assert!(log.lines().any(|l| l == "late push"), "{log}");
    assert!(log.lines().any(|l| l == "work on C1 (attempt 2)"), "{log}");
    s.r.git_in(&s.bare, &["fsck", "--no-progress", "--strict"]);
}

/// A `git` first on PATH for the orchestrator: while the remote is moved away, every git call
/// runs as it would (and fails); the second failed `ls-remote` moves it back afterwards.
const BRING_BACK: &str = r#"#!/bin/sh
if [ -e "$BARE.away" ]; then
  "$REAL_GIT" "$@"; rc=$?
  case " $* " in
    *" ls-remote "*)
      n=$(cat "$MARKS/fails" 2>/dev/null || echo 0); n=$((n+1)); echo "$n" > "$MARKS/fails"
      [ "$n" -ge 2 ] && mv "$BARE.away" "$BARE" ;;
  esac
  exit "$rc"
fi
exec "$REAL_GIT" "$@"
"#;

/// The remote cannot be reached while run dispatches (the bare repository moved away by
/// attempt 1's dispatch, back after two failed reads): each dispatch that cannot reach it is
/// a failed attempt with the reason, retried like any other, and the task lands once it is
/// back; the run does not stop.
#[test]
fn a_remote_out_of_reach_while_dispatching_fails_the_attempt_and_the_task_lands_later() {
    let s = Setup::new();
    // Only the dispatches read the remote while it is away (the watcher's first read comes
    // after 3s).
    s.r.git(&["config", "parallel.pollInterval", "3s"]);
    let runners = s.r.home().join("runners");
    std::fs::create_dir_all(&runners).unwrap();
    let (wrap, real) = git_wrapper(&s.r.home(), BRING_BACK);
    let path = format!("{}:{}", wrap.display(), path_with_bin());
    let template = format!(
        "if [ {{attempt}} = 1 ]; then mv \"$BARE\" \"$BARE.away\"; exit 3; fi; {}",
        runner_template(&s.agent())
    );
    let root = s.r.root.clone();
    let out = s
        .run_in(
            &root,
            &[
                "--json",
                "--executor",
                "command",
                "--dispatch",
                &template,
                "C1",
            ],
            &[
                ("RUNNERS", runners.to_str().unwrap()),
                ("BARE", s.bare.to_str().unwrap()),
                ("REAL_GIT", &real),
                ("PATH", &path),
            ],
        )
        .output()
        .unwrap();
    let text = text_of(&out);
    let logs = runner_logs(&runners);
    assert!(out.status.success(), "{text}\n{logs}");
    let events = json_lines(&out);
    let failed: Vec<_> = events
        .iter()
        .filter(|e| e["event"] == "attempt_failed")
        .collect();
    assert!(failed.len() >= 2, "{text}");
    assert_eq!(failed[0]["attempt"], 1, "{text}");
    let unreachable: Vec<_> = failed
        .iter()
        .filter(|e| {
            e["reason"]
                .as_str()
                .is_some_and(|r| r.contains("was not dispatched"))
        })
        .collect();
    assert!(!unreachable.is_empty(), "{text}");
    for e in &unreachable {
        let r = e["reason"].as_str().unwrap_or_default();
        assert!(r.contains("bare.git"), "the reason names the remote: {r}");
    }
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "finished" && e["id"] == "C1"),
        "{text}"
    );
    assert_eq!(s.merges()["C1"], 1, "{text}");
    assert_eq!(s.statuses()["C1"], "completed");
    s.r.git_in(&s.bare, &["fsck", "--no-progress", "--strict"]);
}
