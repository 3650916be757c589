//! `git parallel work`: a worker on another clone runs one attempt of a task's agent and
//! publishes it through the shared remote alone (a bare repository over a file path): the task
//! branch, the outcome `refs/parallel/outcome/<ID>/<N>` and the lease `refs/parallel/lease/<ID>`
//! in one atomic leased push. The tests read the remote's refs and blobs, not only the output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use super::support::*;

const TASKS: &str = ".claude/task-graph.yml";

/// `GIT_PARALLEL_NOW` (support::NOW) in unix seconds.
const NOW_SECS: u64 = 1_772_366_400;

/// The agent: what it does depends on the task id. `SLOW*` writes its pid to `agent.pid` in the
/// worktree and sleeps (a worker whose lease is taken over must stop it).
const AGENT: &str = r#"
id=$GIT_PARALLEL_TASK_ID
n=$GIT_PARALLEL_ATTEMPT
echo "agent for $id, attempt $n"
case "$id" in
  FAIL*) echo "this does not work"; exit 3 ;;
  SLOW*) echo $$ > agent.pid; sleep 30; mkdir -p "out/$id"; echo late > "out/$id/late.txt"; git add -A; git commit -q -m late ;;
  *) mkdir -p "out/$id"; echo "attempt $n" > "out/$id/done.txt"; env | grep '^GIT_PARALLEL_' | grep -v NOW | sort > "out/$id/env.txt"; git add -A; git commit -q -m "work on $id (attempt $n)" ;;
esac
"#;

/// The orchestrator's clone: tasks `ids` (each producing `out/<ID>/`) started with
/// `--remote origin --no-worktree`, and the bare remote.
fn orchestrator(ids: &[&str]) -> (TestRepo, PathBuf) {
    let mut r = TestRepo::new();
    let mut y = String::from("metadata:\n  product: demo\ntasks:\n");
    for id in ids {
        y.push_str(&format!(
            "- id: {id}\n  name: Task {id}\n  agent: backend-engineer\n  depends_on: []\n  produces:\n  - name: {id}\n    path: out/{id}/\n  parallel_ok: true\n  status: pending\n"
        ));
    }
    r.write(TASKS, &y);
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "add task graph"]);
    r.tasks = TASKS.into();
    std::fs::write(r.home().join("agent.sh"), AGENT).unwrap();
    let bare = r.home().join("srv/bare.git");
    std::fs::create_dir_all(bare.parent().unwrap()).unwrap();
    r.git(&[
        "clone",
        "-q",
        "--bare",
        r.root.to_str().unwrap(),
        bare.to_str().unwrap(),
    ]);
    r.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    let mut start = vec!["start"];
    start.extend(ids);
    start.extend(["--remote", "origin", "--no-worktree"]);
    r.ok(&start);
    (r, bare)
}

/// A worker's clone of the bare remote, in a temp dir of its own.
fn worker(bare: &Path) -> TestRepo {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("repo");
    let mut c = Command::new("git");
    isolate(&mut c, tmp.path());
    let out = c
        .args([
            "clone",
            "-q",
            bare.to_str().unwrap(),
            root.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "clone: {}", stderr(&out));
    TestRepo {
        root: root.canonicalize().unwrap(),
        tmp,
        tasks: TASKS.into(),
    }
}

/// `git parallel work ARGS` in `w` with the test agent (kept in `agent_home`).
fn work_cmd(w: &TestRepo, agent_home: &Path, args: &[&str]) -> Command {
    let mut c = w.cmd();
    c.env("GIT_PARALLEL_KILL_GRACE", "1")
        .arg("work")
        .args(args)
        .args([
            "--agent",
            &format!("sh {}", agent_home.join("agent.sh").display()),
        ]);
    c
}

fn work(w: &TestRepo, agent_home: &Path, args: &[&str]) -> Output {
    work_cmd(w, agent_home, args).output().expect("run work")
}

fn branch(id: &str) -> String {
    format!("refs/heads/feature/demo/backend-{id}")
}

/// The remote's refs under `prefix`, `name sha` lines.
fn refs(r: &TestRepo, bare: &Path, prefix: &str) -> String {
    r.git_in(
        bare,
        &["for-each-ref", "--format=%(refname) %(objectname)", prefix],
    )
}

/// The JSON blob a ref of the remote points at (`None`: no such ref).
fn blob(r: &TestRepo, bare: &Path, name: &str) -> Option<serde_json::Value> {
    let out = r
        .git_cmd(bare)
        .args(["cat-file", "blob", name])
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).expect("the ref holds JSON"))
}

/// Writes `lease` as the remote's `refs/parallel/lease/<id>` (as an orchestrator or another
/// worker would).
fn put_lease(r: &TestRepo, bare: &Path, id: &str, lease: serde_json::Value) {
    let mut c = r.git_cmd(bare);
    c.args(["hash-object", "-w", "--stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lease.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let sha = String::from_utf8_lossy(&out.stdout).trim().to_string();
    r.git_in(
        bare,
        &["update-ref", &format!("refs/parallel/lease/{id}"), &sha],
    );
}

fn lease(id: &str, attempt: u32, holder: &str, renewed_at: u64) -> serde_json::Value {
    serde_json::json!({"task": id, "attempt": attempt, "holder": holder, "executor": "ssh:build1",
        "dispatched_at": renewed_at, "renewed_at": renewed_at})
}

#[test]
fn a_worker_run_by_hand_publishes_an_ok_outcome_whose_tip_is_the_remote_branch() {
    let (orch, bare) = orchestrator(&["OK-01"]);
    let before = orch.git_in(&bare, &["rev-parse", &branch("OK-01")]);
    let w = worker(&bare);
    let out = work(&w, &orch.home(), &["OK-01", "--json"]);
    assert_ok(&out, &["work"]);
    let doc = json(&stdout(&out));
    assert_eq!(doc["command"], "work");
    assert_eq!(doc["ok"], true);

    let tip = orch
        .git_in(&bare, &["rev-parse", &branch("OK-01")])
        .trim()
        .to_string();
    assert_ne!(tip, before.trim(), "the task branch was pushed");
    assert_eq!(tip, w.rev(&branch("OK-01")));
    let outcome = blob(&orch, &bare, "refs/parallel/outcome/OK-01/1").expect("an outcome");
    assert_eq!(outcome["ok"], true);
    assert_eq!(outcome["attempt"], 1);
    assert_eq!(outcome["exit"], 0);
    assert_eq!(outcome["tip"], tip.as_str());
    assert_eq!(outcome["commits"], 1);
    assert_eq!(outcome["failure"], serde_json::Value::Null);
    assert_eq!(doc["tip"], outcome["tip"]);
    let l = blob(&orch, &bare, "refs/parallel/lease/OK-01").expect("a lease");
    assert_eq!(l["attempt"], 1);
    assert_eq!(l["holder"], "done");
    assert_eq!(l["executor"], "local");

    // The agent ran as run's do: its variables, in the task's worktree.
    let env = orch.git_in(&bare, &["show", &format!("{tip}:out/OK-01/env.txt")]);
    assert!(env.contains("GIT_PARALLEL_TASK_ID=OK-01"), "{env}");
    assert!(env.contains("GIT_PARALLEL_ATTEMPT=1"), "{env}");
    assert!(env.contains("GIT_PARALLEL_TASK_BRIEF="), "{env}");
    assert!(
        env.contains("GIT_PARALLEL_BRANCH=feature/demo/backend-OK-01"),
        "{env}"
    );

    // The next worker by hand takes attempt 2 (the branch goes on from attempt 1's tip).
    let out = work(&w, &orch.home(), &["OK-01"]);
    assert_ok(&out, &["work", "again"]);
    let second = blob(&orch, &bare, "refs/parallel/outcome/OK-01/2").expect("outcome 2");
    assert_eq!(second["ok"], true);
    let tip2 = orch
        .git_in(&bare, &["rev-parse", &branch("OK-01")])
        .trim()
        .to_string();
    assert!(orch.is_ancestor_in(&bare, &tip, &tip2));
    assert_eq!(second["tip"], tip2.as_str());
    orch.git_in(&bare, &["fsck", "--no-progress"]);
}

#[test]
fn a_worker_given_only_the_url_clones_it_and_publishes() {
    let (orch, bare) = orchestrator(&["OK-02"]);
    let dir = tempfile::tempdir().unwrap();
    let mut c = orch.cmd_in(dir.path());
    c.args(["work", "OK-02", "--remote", bare.to_str().unwrap()])
        .args([
            "--agent",
            &format!("sh {}", orch.home().join("agent.sh").display()),
        ]);
    let out = c.output().unwrap();
    assert_ok(&out, &["work", "--remote", "URL"]);
    assert!(dir.path().join("bare/.git").is_dir(), "cloned into ./bare");
    let outcome = blob(&orch, &bare, "refs/parallel/outcome/OK-02/1").expect("an outcome");
    assert_eq!(outcome["ok"], true);
    let tip = orch.git_in(&bare, &["rev-parse", &branch("OK-02")]);
    assert_eq!(outcome["tip"], tip.trim());
}

#[test]
fn attempt_2_when_the_lease_says_1_runs_and_publishes_nothing() {
    let (orch, bare) = orchestrator(&["OK-03"]);
    put_lease(
        &orch,
        &bare,
        "OK-03",
        lease("OK-03", 1, "dispatched", NOW_SECS),
    );
    let before = refs(&orch, &bare, "refs/");
    let w = worker(&bare);
    let out = work(&w, &orch.home(), &["OK-03", "--attempt", "2", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("names attempt 1"), "{err}");
    assert!(err.contains("\"stale-attempt\""), "{err}");
    assert_eq!(refs(&orch, &bare, "refs/"), before, "nothing published");
    assert!(
        !w.base().join("worktrees").exists(),
        "no worktree made for a stale attempt"
    );
    // No lease at all and --attempt: nothing either.
    let (orch, bare) = orchestrator(&["OK-04"]);
    let before = refs(&orch, &bare, "refs/");
    let w = worker(&bare);
    let out = work(&w, &orch.home(), &["OK-04", "--attempt", "1"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(refs(&orch, &bare, "refs/"), before);
}

#[test]
fn a_worker_whose_lease_is_taken_over_stops_its_agent_and_publishes_nothing() {
    let (orch, bare) = orchestrator(&["SLOW-01"]);
    put_lease(
        &orch,
        &bare,
        "SLOW-01",
        lease("SLOW-01", 1, "dispatched", NOW_SECS),
    );
    let w = worker(&bare);
    w.git(&["config", "parallel.leaseInterval", "1"]);
    let began = Instant::now();
    let child = work_cmd(&w, &orch.home(), &["SLOW-01", "--attempt", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid_file = w.base().join("worktrees/demo/backend-SLOW-01/agent.pid");
    while !pid_file.exists() {
        assert!(
            began.elapsed() < Duration::from_secs(20),
            "the agent never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let taken: serde_json::Value = blob(&orch, &bare, "refs/parallel/lease/SLOW-01").unwrap();
    assert_eq!(
        taken["holder"].as_str().map(|h| h.contains(':')),
        Some(true)
    );
    let branch_before = orch.git_in(&bare, &["rev-parse", &branch("SLOW-01")]);
    // The orchestrator dispatches attempt 2 elsewhere.
    put_lease(
        &orch,
        &bare,
        "SLOW-01",
        lease("SLOW-01", 2, "dispatched", NOW_SECS),
    );
    let out = child.wait_with_output().unwrap();
    assert!(
        began.elapsed() < Duration::from_secs(20),
        "the worker stopped well before its agent's 30 s"
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("taken over by attempt 2"), "{err}");
    assert!(refs(&orch, &bare, "refs/parallel/outcome/").is_empty());
    assert_eq!(
        blob(&orch, &bare, "refs/parallel/lease/SLOW-01").unwrap(),
        lease("SLOW-01", 2, "dispatched", NOW_SECS)
    );
    assert_eq!(
        orch.git_in(&bare, &["rev-parse", &branch("SLOW-01")]),
        branch_before
    );
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    // Gone, or a zombie nobody reaped yet (its parent, the worker, has exited).
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap_or_default();
    let state = stat
        .rsplit(')')
        .next()
        .and_then(|r| r.split_whitespace().next());
    assert!(
        matches!(state, None | Some("Z" | "X")),
        "the agent (pid {}) was stopped: {stat}",
        pid.trim()
    );
}

#[test]
fn a_failing_agent_publishes_a_failed_outcome_with_its_kind() {
    let (orch, bare) = orchestrator(&["FAIL-01"]);
    let tip = orch.git_in(&bare, &["rev-parse", &branch("FAIL-01")]);
    let w = worker(&bare);
    let out = work(&w, &orch.home(), &["FAIL-01", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc = json(&stdout(&out));
    assert_eq!(doc["ok"], false);
    let outcome = blob(&orch, &bare, "refs/parallel/outcome/FAIL-01/1").expect("an outcome");
    assert_eq!(outcome["ok"], false);
    assert_eq!(outcome["exit"], 3);
    assert_eq!(outcome["failure"]["kind"], "exit");
    assert!(outcome["failure"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("exited with 3")));
    assert_eq!(outcome["tip"], tip.trim(), "nothing new on the branch");
    assert_eq!(orch.git_in(&bare, &["rev-parse", &branch("FAIL-01")]), tip);
    let l = blob(&orch, &bare, "refs/parallel/lease/FAIL-01").unwrap();
    assert_eq!(l["holder"], "done");
}

#[test]
fn a_lease_interval_that_is_not_a_duration_is_refused_before_anything_runs() {
    let (orch, bare) = orchestrator(&["OK-05"]);
    let before = refs(&orch, &bare, "refs/");
    let w = worker(&bare);
    w.git(&["config", "parallel.leaseInterval", "soon"]);
    let out = work(&w, &orch.home(), &["OK-05"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("parallel.leaseInterval"),
        "{}",
        stderr(&out)
    );
    assert_eq!(refs(&orch, &bare, "refs/"), before);
    w.git(&["config", "parallel.leaseInterval", "2s"]);
    assert_ok(&work(&w, &orch.home(), &["OK-05"]), &["work", "2s"]);
}
