//! `run` through the commands themselves (issue 20): tasks that produce nothing, a task out of
//! retries marked `failed` and published with `--remote`, `retry` and `skip` after run gave
//! up, merge subjects that keep the task name's case, the `--json` error document, and the
//! round-2 reproductions of run's dead ends (a leftover agent process, a busy lock, an agent
//! that drops its branch, a task landed by hand while its agent runs).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{field, TestRepo};

/// The agent: what it does depends on the task id. A task's files go under `out/<ID>/`.
const AGENT: &str = r#"
id=$GIT_PARALLEL_TASK_ID
commit() { mkdir -p "out/$id"; echo "$1" > "out/$id/f"; git add -A && git commit -q -m "work on $id"; }
case "$id" in
  REVIEW*|CHECK*) echo "reviewed, nothing to commit" ;;
  NOTES*) mkdir -p notes; echo note > notes/n.md; git add -A; git commit -q -m notes ;;
  ALWAYS*) echo "this never works"; exit 1 ;;
  WORKFAIL*) commit half; echo "half done, gives up"; exit 1 ;;
  DROP*) commit x; git checkout -q --detach && git branch -q -D "$GIT_PARALLEL_BRANCH" ;;
  TASKFILE*) commit x; sed -i '/id: OTHER/,/status:/s/status: pending/status: completed/' .claude/task-graph.yml
    git commit -q -am "mark OTHER done" ;;
  SLOWFAIL*) commit x; i=0; while [ ! -e "$MARK/landed" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; exit 1 ;;
  LEFTOVER*) commit x; B=$GIT_PARALLEL_BRANCH
    ( sleep 0.3; c=$(git commit-tree -p "$B" -m "late work" "$B^{tree}") && git update-ref "refs/heads/$B" "$c" ) >/dev/null 2>&1 &
    ;;
  *) commit ok ;;
esac
"#;

/// A task: id, dependencies, and its `produces` (YAML flow list).
struct T(&'static str, &'static [&'static str], &'static str);

/// A repository with the task file `.claude/task-graph.yml` holding `tasks`, the agent beside.
fn repo(tasks: &[T]) -> TestRepo {
    repo_named(tasks, |id| format!("Task {id}"))
}

fn repo_named(tasks: &[T], name: impl Fn(&str) -> String) -> TestRepo {
    let mut r = TestRepo::new();
    let mut y = String::from("metadata:\n  product: demo\ntasks:\n");
    for T(id, deps, produces) in tasks {
        y.push_str(&format!(
            "- id: {id}\n  name: \"{}\"\n  agent: backend-engineer\n  depends_on: [{}]\n  produces: {produces}\n  parallel_ok: true\n  status: pending\n",
            name(id),
            deps.join(", "),
            produces = produces.replace('@', id)
        ));
    }
    r.write(".claude/task-graph.yml", &y);
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "add task graph"]);
    r.tasks = ".claude/task-graph.yml".into();
    std::fs::write(r.base().join("agent.sh"), AGENT).unwrap();
    r
}

/// `produces` of a task that writes `out/<id>/` (`@` stands for the id).
const OUT: &str = "[{ name: out, path: out/@/ }]";

fn run_cmd(r: &TestRepo, extra: &[&str]) -> Command {
    let mut c = r.cmd();
    let agent = format!("sh {}", r.base().join("agent.sh").display());
    c.env("GIT_PARALLEL_KILL_GRACE", "1")
        .env("MARK", r.base())
        .args(["run", "-j", "1", "--agent", &agent])
        .args(extra);
    c
}

fn run(r: &TestRepo, extra: &[&str]) -> Output {
    run_cmd(r, extra).output().expect("run git-parallel run")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn status(r: &TestRepo, id: &str) -> String {
    field(&r.task_file(), id, "status").unwrap_or_default()
}

/// Task `id`'s `result` in the task file `text` (the schema's mapping).
fn result_of(text: &str, id: &str) -> serde_yaml::Value {
    let doc: serde_yaml::Value = serde_yaml::from_str(text).expect("YAML");
    doc["tasks"]
        .as_sequence()
        .and_then(|ts| ts.iter().find(|t| t["id"].as_str() == Some(id)))
        .map(|t| t["result"].clone())
        .unwrap_or(serde_yaml::Value::Null)
}

fn branch(id: &str) -> String {
    format!("refs/heads/feature/demo/backend-{id}")
}

fn worktree(r: &TestRepo, id: &str) -> PathBuf {
    r.base().join(format!("worktrees/demo/backend-{id}"))
}

/// First-parent subjects of `main` after `since`.
fn subjects(r: &TestRepo, since: &str) -> Vec<String> {
    r.git(&[
        "log",
        "--first-parent",
        "--format=%s",
        &format!("{since}..main"),
    ])
    .lines()
    .map(str::to_string)
    .collect()
}

#[test]
fn tasks_that_produce_nothing_complete_without_commits_and_with_commits_land() {
    // REVIEW declares no produces; CHECK only an entry without a path; NOTES produces nothing
    // either but commits: it lands as usual. AFTER depends on the review.
    let r = repo(&[
        T("A", &[], OUT),
        T("REVIEW", &["A"], "[]"),
        T("CHECK", &["A"], "[{ name: verdict, type: decision }]"),
        T("NOTES", &[], "[]"),
        T("AFTER", &["REVIEW", "CHECK"], OUT),
    ]);
    r.git(&["config", "parallel.maxRetries", "0"]);
    r.git(&["config", "parallel.boundaries", "warn"]);
    let before = r.rev("main");
    let out = run(&r, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for id in ["A", "REVIEW", "CHECK", "NOTES", "AFTER"] {
        assert_eq!(status(&r, id), "completed", "{id}: {}", text(&out));
        assert!(!r.ref_exists(&branch(id)), "{id}: branch removed");
    }
    // Merges only for the tasks with commits.
    let merges = r.git(&["log", "--merges", "--format=%s", &format!("{before}..main")]);
    assert!(
        !merges.contains("REVIEW") && !merges.contains("CHECK"),
        "{merges}"
    );
    for id in ["(A)", "(NOTES)", "(AFTER)"] {
        assert!(merges.contains(id), "{id}: {merges}");
    }
    assert!(r.path("notes/n.md").exists());
}

#[test]
fn merge_subjects_keep_the_task_names_case() {
    let r = repo_named(&[T("STRICT", &[], OUT)], |_| {
        "Support strict=True in API".into()
    });
    let before = r.rev("main");
    let out = run(&r, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let s = subjects(&r, &before);
    assert!(
        s.iter()
            .any(|l| l == "feat(demo): Support strict=True in API (STRICT)"),
        "{s:?}"
    );
}

#[test]
fn retry_and_skip_after_run_gave_up() {
    let r = repo(&[
        T("ALWAYS", &[], OUT),
        T("WORKFAIL", &[], OUT),
        T("DEP", &["WORKFAIL"], OUT),
        T("FREE", &[], OUT),
    ]);
    r.git(&["config", "parallel.maxRetries", "1"]);
    let out = run(&r, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("ALWAYS: failed after 2 failed attempts"),
        "{}",
        text(&out)
    );
    // The schema's statuses: failed after retries, its branch and worktree kept.
    assert_eq!(status(&r, "ALWAYS"), "failed");
    assert_eq!(
        field(&r.task_file(), "ALWAYS", "retry_count").as_deref(),
        Some("1")
    );
    let failed = result_of(&r.task_file(), "ALWAYS");
    assert_eq!(failed["status"], "failure");
    assert_eq!(failed["metrics"]["attempts"], 2);
    assert!(r.ref_exists(&branch("ALWAYS")));
    assert!(worktree(&r, "ALWAYS").is_dir());
    assert_eq!(status(&r, "FREE"), "completed");
    assert_eq!(status(&r, "DEP"), "pending");
    assert_eq!(status(&r, "WORKFAIL"), "failed");

    // retry gives it another round.
    let out = r.run(&["retry", "ALWAYS"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(status(&r, "ALWAYS"), "in_progress");

    // skip drops the other: its work saved, worktree and branch gone, marked skipped.
    assert_eq!(status(&r, "WORKFAIL"), "failed");
    let tip = r.rev(&branch("WORKFAIL"));
    let out = r.run(&["skip", "WORKFAIL", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["command"], "skip");
    assert_eq!(v["skipped"][0]["id"], "WORKFAIL");
    assert_eq!(status(&r, "WORKFAIL"), "skipped");
    let skipped = result_of(&r.task_file(), "WORKFAIL");
    assert_eq!(skipped["status"], "failure");
    assert_eq!(skipped["artifacts_created"][0], "out/WORKFAIL/f");
    assert!(!r.ref_exists(&branch("WORKFAIL")));
    assert!(!worktree(&r, "WORKFAIL").exists());
    assert_eq!(r.rev("refs/parallel/backup/WORKFAIL"), tip);
    // Its dependents go on: a skipped dependency counts as done. (ALWAYS fails again.)
    let out = run(&r, &["DEP"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(status(&r, "DEP"), "completed", "{}", text(&out));
    // A completed or skipped task cannot be skipped: a typed refusal.
    let out = r.run(&["skip", "WORKFAIL", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(error_doc(&out)["error"]["code"], "wrong-status");
}

/// The `--json` error document: the last line of stderr.
fn error_doc(out: &Output) -> serde_json::Value {
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("not JSON ({e}): {err}"))
}

#[test]
fn a_failed_command_with_json_ends_stderr_with_its_error_code() {
    let r = repo(&[T("A", &[], OUT)]);
    r.ok(&["start", "A"]);
    let w = worktree(&r, "A");
    std::fs::create_dir_all(w.join("out/A")).unwrap();
    std::fs::write(w.join("out/A/f"), "x").unwrap();
    r.git_in(&w, &["add", "-A"]);
    r.git_in(&w, &["commit", "-q", "-m", "work"]);
    // A local change to a file the landing writes (the task file): main is in the way.
    let tasks = r.root.join(".claude/task-graph.yml");
    let text = std::fs::read_to_string(&tasks).unwrap();
    std::fs::write(&tasks, format!("{text}# edited by hand\n")).unwrap();
    let out = r.run(&["finish", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v = error_doc(&out);
    assert_eq!(v["command"], "finish");
    assert_eq!(v["error"]["code"], "main-dirty");
    assert_eq!(v["error"]["exit"], 1);
    assert!(v["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("cannot finish")));
}

#[test]
fn run_with_a_remote_lands_the_good_task_and_publishes_the_failure() {
    let r = repo(&[T("GOOD", &[], OUT), T("ALWAYS", &[], OUT)]);
    r.git(&["config", "parallel.maxRetries", "0"]);
    let bare = r.home().join("bare.git");
    r.git(&[
        "clone",
        "-q",
        "--bare",
        r.root.to_str().unwrap(),
        bare.to_str().unwrap(),
    ]);
    r.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    let out = run(&r, &["--remote", "origin"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(status(&r, "GOOD"), "completed", "{}", text(&out));
    assert_eq!(status(&r, "ALWAYS"), "failed", "{}", text(&out));
    // The remote's task file says the same: every change was published, the failure too.
    let remote_file = r.git_in(&bare, &["show", "main:.claude/task-graph.yml"]);
    assert_eq!(
        field(&remote_file, "GOOD", "status").as_deref(),
        Some("completed")
    );
    assert_eq!(
        field(&remote_file, "ALWAYS", "status").as_deref(),
        Some("failed")
    );
    // Each with the schema's result: status, the files, a message, run's metrics.
    let good = result_of(&remote_file, "GOOD");
    assert_eq!(good["status"], "success", "{remote_file}");
    assert_eq!(good["artifacts_created"][0], "out/GOOD/f", "{remote_file}");
    assert_eq!(good["metrics"]["attempts"], 1, "{remote_file}");
    assert!(
        good["metrics"]["seconds"].as_u64().is_some(),
        "{remote_file}"
    );
    let bad = result_of(&remote_file, "ALWAYS");
    assert_eq!(bad["status"], "failure", "{remote_file}");
    assert!(bad["message"]
        .as_str()
        .is_some_and(|m| m.contains("failed attempts")));
    assert_eq!(bad["metrics"]["attempts"], 1, "{remote_file}");
    assert_eq!(
        r.git_in(&bare, &["rev-parse", "main"]).trim(),
        r.rev("main")
    );
    let fsck = Command::new("git")
        .args(["-C", bare.to_str().unwrap(), "fsck", "--no-progress"])
        .output()
        .unwrap();
    assert!(fsck.status.success(), "{}", text(&fsck));
}

// repro round2 02
#[test]
fn a_leftover_agent_process_that_commits_while_the_task_lands_never_makes_run_relaunch_it() {
    let r = repo(&[T("LEFTOVER", &[], OUT)]);
    r.git(&["config", "parallel.maxRetries", "2"]);
    let out = run(&r, &["--json"]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let t = text(&out);
    assert_eq!(status(&r, "LEFTOVER"), "completed", "{t}");
    let starts = t.matches("\"event\":\"started\"").count();
    assert_eq!(
        starts, 1,
        "the agent of a task that landed is never run again: {t}"
    );
    assert!(!t.contains("\"event\":\"retried\""), "{t}");
}

// repro round2 03
#[test]
fn a_lock_held_by_another_git_parallel_is_waited_for_and_never_charged_to_the_agent() {
    let r = repo(&[T("A", &[], OUT)]);
    r.git(&["config", "parallel.maxRetries", "0"]);
    // Another git-parallel (alive: this test's own process) holds the lock for a while.
    let lock = r.path(".git/parallel/lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    std::fs::write(
        &lock,
        format!("{}\ngit parallel finish\n", std::process::id()),
    )
    .unwrap();
    let child = run_cmd(&r, &[]).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    std::fs::remove_file(&lock).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(status(&r, "A"), "completed");
    assert!(!text(&out).contains("failed"), "{}", text(&out));
}

// repro round2 05
#[test]
fn an_agent_that_deletes_its_branch_fails_its_attempt_and_the_run_goes_on() {
    let r = repo(&[T("DROP", &[], OUT), T("B", &[], OUT)]);
    r.git(&["config", "parallel.maxRetries", "0"]);
    // Unconfined: a sandboxed agent cannot delete its branch in the first place.
    let out = run(&r, &["--sandbox", "off"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("is gone"), "{t}");
    assert_eq!(status(&r, "DROP"), "failed", "{t}");
    assert_eq!(status(&r, "B"), "completed", "{t}");
}

// repro round2 05, under the default sandbox: the agent cannot delete its branch there, so its
// worktree is left detached off its branch; finish refuses that work (task-dirty) and run fails
// the attempt instead of stopping.
#[test]
fn an_agent_that_leaves_its_worktree_off_its_branch_fails_its_attempt_and_the_run_goes_on() {
    let r = repo(&[T("DROP", &[], OUT), T("B", &[], OUT)]);
    r.git(&["config", "parallel.maxRetries", "0"]);
    let out = run(&r, &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert_eq!(status(&r, "DROP"), "failed", "{t}");
    assert_eq!(status(&r, "B"), "completed", "{t}");
}

// repro round2 20: an agent's commit that marks another task completed in the task file is
// refused at landing; that task still runs and lands, and run goes on.
#[test]
fn an_agent_that_edits_the_task_file_fails_its_attempt_and_the_other_task_still_runs() {
    let r = repo(&[
        T("TASKFILE", &[], OUT),
        T("OTHER", &[], OUT),
        T("AFTER", &["OTHER"], OUT),
    ]);
    r.git(&["config", "parallel.maxRetries", "0"]);
    let out = run(&r, &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    let log = std::fs::read_to_string(r.root.join(".git/parallel/run/logs/TASKFILE.log"))
        .unwrap_or_default();
    assert!(log.contains("changes the task file"), "{log}");
    assert_eq!(status(&r, "TASKFILE"), "failed", "{t}");
    assert_eq!(status(&r, "OTHER"), "completed", "{t}");
    assert_eq!(status(&r, "AFTER"), "completed", "{t}");
    // OTHER's own work is on main: its agent ran.
    assert!(r.root.join("out/OTHER/f").exists(), "{t}");
}

// repro round2 18
#[test]
fn a_task_landed_by_hand_while_its_agent_runs_stays_completed() {
    let r = repo(&[T("SLOWFAIL", &[], OUT), T("NEXT", &["SLOWFAIL"], OUT)]);
    r.git(&["config", "parallel.maxRetries", "0"]);
    let child = run_cmd(&r, &[]).spawn().unwrap();
    // Wait for the agent's commit, then land it by hand; the agent then exits 1.
    let b = branch("SLOWFAIL");
    let start = r.rev("main");
    let mut landed = false;
    for _ in 0..300 {
        if r.ref_exists(&b)
            && r.git(&["rev-list", "--count", &format!("{start}..{b}")])
                .trim()
                != "0"
        {
            let mut c = r.cmd();
            c.args(["finish", "-q", "SLOWFAIL"]);
            // The run's lock may be held a moment: try again.
            if c.output().unwrap().status.success() {
                landed = true;
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(landed, "finish SLOWFAIL by hand");
    std::fs::write(r.base().join("landed"), "").unwrap();
    let out = child.wait_with_output().unwrap();
    let t = text(&out);
    assert_eq!(status(&r, "SLOWFAIL"), "completed", "{t}");
    assert_eq!(status(&r, "NEXT"), "completed", "{t}");
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(!Path::new(&worktree(&r, "SLOWFAIL")).exists());
}

#[test]
fn a_run_adds_one_merge_commit_per_task_and_its_completions_fold_into_them() {
    let r = repo(&[T("A", &[], OUT), T("B", &[], OUT), T("C", &[], OUT)]);
    let before = r.rev("main");
    let out = run_cmd(&r, &[]).args(["-j", "3"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let range = format!("{before}..main");
    let count = |args: &[&str]| {
        let mut a = vec!["rev-list", "--count", "--first-parent"];
        a.extend_from_slice(args);
        a.push(&range);
        r.git(&a).trim().parse::<usize>().unwrap()
    };
    let (merges, all) = (count(&["--merges"]), count(&[]));
    assert_eq!(merges, 3);
    // No start commit (the start records ride in the merge commits); each completion is in
    // its merge commit.
    assert_eq!(all - merges, 0, "{:?}", subjects(&r, &before));
    for id in ["A", "B", "C"] {
        assert_eq!(status(&r, id), "completed");
    }
}
