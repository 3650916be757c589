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
  PUSH*) mkdir -p "out/$id"; echo one > "out/$id/a.txt"; git add -A; git commit -q -m one; git push -q; echo two > "out/$id/b.txt"; git add -A; git commit -q -m two ;;
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
    let bare = serve_bare(&r);
    let mut start = vec!["start"];
    start.extend(ids);
    start.extend(["--remote", "origin", "--no-worktree"]);
    r.ok(&start);
    (r, bare)
}

/// A worker's clone of the bare remote, in a temp dir of its own.
fn worker(bare: &Path) -> TestRepo {
    clone_of_url(bare.to_str().unwrap(), TASKS)
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

    // The next attempt, on another clone, finds why the last one failed in its brief.
    let w2 = worker(&bare);
    let out = work(&w2, &orch.home(), &["FAIL-01"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let brief = std::fs::read_to_string(w2.path(".git/parallel/run/briefs/FAIL-01.md")).unwrap();
    assert!(brief.contains("## The last attempt failed"), "{brief}");
    assert!(brief.contains("exited with 3"), "{brief}");
    let second = blob(&orch, &bare, "refs/parallel/outcome/FAIL-01/2").expect("outcome 2");
    assert_eq!(second["attempt"], 2);
    assert!(blob(&orch, &bare, "refs/parallel/outcome/FAIL-01/1").is_some());
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

#[test]
fn status_shows_where_each_task_with_a_lease_runs_and_how_old_its_lease_is() {
    let (orch, bare) = orchestrator(&["OK-06", "OK-07"]);
    orch.git(&["config", "parallel.remote", "origin"]);
    put_lease(
        &orch,
        &bare,
        "OK-06",
        lease("OK-06", 2, "build1:4242", NOW_SECS - 5),
    );
    put_lease(
        &orch,
        &bare,
        "OK-07",
        lease("OK-07", 1, "dispatched", NOW_SECS - 100),
    );
    let text = orch.ok(&["status"]);
    assert!(text.contains("Workers on origin (leases):"), "{text}");
    assert!(
        text.contains("OK-06  attempt 2, ssh:build1 (build1:4242), lease 5s old"),
        "{text}"
    );
    assert!(
        text.contains("OK-07  attempt 1, ssh:build1, dispatched, lease 100s old, expired"),
        "{text}"
    );
    let doc = json(&orch.ok(&["status", "--json"]));
    let task = |id: &str| {
        doc["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .unwrap()
            .clone()
    };
    let l = &task("OK-06")["lease"];
    assert_eq!(l["attempt"], 2);
    assert_eq!(l["holder"], "build1:4242");
    assert_eq!(l["executor"], "ssh:build1");
    assert_eq!(l["age_seconds"], 5);
    assert_eq!(l["expired"], false);
    assert_eq!(task("OK-07")["lease"]["expired"], true);

    // Cheap: one ls-remote, and no fetch where the blobs are here already.
    let trace_file = orch.home().join("trace.txt");
    let traced = orch.run_env(&["status"], &[("GIT_TRACE", trace_file.to_str().unwrap())]);
    assert!(traced.status.success(), "{}", stderr(&traced));
    let trace = std::fs::read_to_string(&trace_file).unwrap_or_default();
    assert_eq!(trace.matches("git ls-remote").count(), 1, "{trace}");
    assert_eq!(trace.matches("git fetch").count(), 0, "{trace}");

    // Any other clone sees the same, and status --remote too.
    let w = worker(&bare);
    let text = w.ok(&["status", "--remote", "origin"]);
    assert!(
        text.contains("worker: attempt 2, ssh:build1 (build1:4242), lease 5s old"),
        "{text}"
    );
    // Once a worker published, the outcome is shown.
    let out = work(&w, &orch.home(), &["OK-07", "--attempt", "1"]);
    assert_ok(&out, &["work", "OK-07"]);
    let text = orch.ok(&["status"]);
    assert!(
        text.contains("OK-07  attempt 1, ssh:build1, done, lease 0s old, succeeded"),
        "{text}"
    );
}

#[test]
fn two_workers_in_one_clone_at_once_both_publish() {
    // As on an ssh host with two slots: one clone, two tasks, two workers started together.
    let (orch, bare) = orchestrator(&["OK-08", "OK-09"]);
    let w = worker(&bare);
    let children: Vec<_> = ["OK-08", "OK-09"]
        .iter()
        .map(|id| {
            work_cmd(&w, &orch.home(), &[id])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert_ok(&out, &["work", "at once"]);
    }
    for id in ["OK-08", "OK-09"] {
        let o = blob(&orch, &bare, &format!("refs/parallel/outcome/{id}/1")).expect("outcome");
        assert_eq!(o["ok"], true, "{id}");
        let tip = orch.git_in(&bare, &["rev-parse", &branch(id)]);
        assert_eq!(o["tip"], tip.trim(), "{id}");
    }
    orch.git_in(&bare, &["fsck", "--no-progress"]);
}

#[test]
fn an_agent_that_pushes_its_branch_itself_gets_a_failed_outcome_and_its_lease_is_released() {
    let (orch, bare) = orchestrator(&["PUSH-01"]);
    let w = worker(&bare);
    // Its own push writes the bare repository, outside what the sandbox lets it write.
    w.git(&["config", "parallel.sandbox", "off"]);
    let out = work(&w, &orch.home(), &["PUSH-01", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let pushed = orch.git_in(&bare, &["rev-parse", &branch("PUSH-01")]);
    assert_eq!(
        pushed.trim(),
        w.rev(&format!("{}~1", branch("PUSH-01"))),
        "the agent's own push stays; the worker's second commit was not pushed"
    );
    let o = blob(&orch, &bare, "refs/parallel/outcome/PUSH-01/1").expect("an outcome");
    assert_eq!(o["ok"], false);
    assert_eq!(o["failure"]["kind"], "refused");
    assert_eq!(o["tip"], serde_json::Value::Null);
    assert_eq!(
        blob(&orch, &bare, "refs/parallel/lease/PUSH-01").unwrap()["holder"],
        "done"
    );
}

#[test]
fn a_preset_agent_gets_its_command_line_as_under_run() {
    let (orch, bare) = orchestrator(&["OK-10"]);
    let w = worker(&bare);
    let bin = orch.home().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let claude = bin.join("claude");
    std::fs::write(
        &claude,
        "#!/bin/sh\nid=$GIT_PARALLEL_TASK_ID\nmkdir -p \"out/$id\"\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > \"out/$id/args.txt\"\ngit add -A && git commit -q -m \"work on $id\"\nprintf '{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"session_id\":\"s1\",\"total_cost_usd\":0.5}\\n'\n",
    )
    .unwrap();
    let mut perm = std::fs::metadata(&claude).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&claude, perm).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = w
        .cmd()
        .env("PATH", path)
        .args(["work", "OK-10", "--agent", "claude"])
        .output()
        .unwrap();
    assert_ok(&out, &["work", "--agent", "claude"]);
    let tip = orch.git_in(&bare, &["rev-parse", &branch("OK-10")]);
    let args = orch.git_in(
        &bare,
        &["show", &format!("{}:out/OK-10/args.txt", tip.trim())],
    );
    assert!(args.starts_with("--output-format\njson\n"), "{args}");
    assert!(args.contains("\n-p\n"), "{args}");
    assert!(args.contains("OK-10"), "the prompt names the task: {args}");
    let o = blob(&orch, &bare, "refs/parallel/outcome/OK-10/1").unwrap();
    assert_eq!(o["ok"], true);
}

/// finish, fail, skip and abort typed by hand with a remote: each task they land or drop has
/// its lease and outcomes deleted from the remote after their own push; a task they leave in
/// progress keeps its own.
#[test]
fn finish_fail_skip_and_abort_by_hand_clear_the_attempt_refs_of_the_tasks_they_land_or_drop() {
    let (orch, bare) = orchestrator(&["A", "B", "C", "D", "E"]);
    let w = worker(&bare);
    assert_ok(&work(&w, &orch.home(), &["A"]), &["work", "A"]);
    for id in ["B", "C", "D", "E"] {
        put_lease(&orch, &bare, id, lease(id, 1, "dispatched", NOW_SECS));
    }
    assert!(refs(&orch, &bare, "refs/parallel/outcome/A/").contains("/A/1 "));
    let of = |id: &str| {
        let mut v = refs(&orch, &bare, &format!("refs/parallel/lease/{id}"));
        v.push_str(&refs(&orch, &bare, &format!("refs/parallel/outcome/{id}/")));
        v
    };
    for (args, id) in [
        (vec!["finish", "A", "--remote", "origin"], "A"),
        (
            vec!["fail", "B", "--reason", "given up", "--remote", "origin"],
            "B",
        ),
        (vec!["skip", "C", "--remote", "origin"], "C"),
        (vec!["abort", "D", "--remote", "origin"], "D"),
    ] {
        assert!(!of(id).is_empty(), "{args:?}: refs before");
        let out = orch.cmd().args(&args).output().unwrap();
        assert_ok(&out, &args);
        assert_eq!(of(id), "", "{args:?}: refs of {id} after");
        assert_ne!(of("E"), "", "{args:?}: E is left alone");
    }
    let text = orch.git_in(&bare, &["show", &format!("main:{TASKS}")]);
    for (id, status) in [
        ("A", "completed"),
        ("B", "failed"),
        ("C", "skipped"),
        ("D", "pending"),
        ("E", "in_progress"),
    ] {
        assert_eq!(field(&text, id, "status").as_deref(), Some(status), "{id}");
    }
    assert!(orch
        .git_in(&bare, &["log", "--format=%s", "main"])
        .lines()
        .any(|l| l.ends_with("(A)")));
}
