//! `--remote`: clones coordinated through a shared remote — a bare repository over a file path
//! and `git daemon` on 127.0.0.1 (skipped with a message when git has no daemon). Every test
//! checks the remote's refs and `git fsck` on the bare repository.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use super::support::*;
use crate::support::muaththir::commit_in;

const TASKS: &str = "products/muaththir/.claude/task-graph.yml";
const BACKEND: &str = "refs/heads/feature/muaththir/backend-BACKEND-01";
const FRONTEND: &str = "refs/heads/feature/muaththir/frontend-FRONTEND-01";
const DEVOPS: &str = "refs/heads/feature/muaththir/devops-DEVOPS-01";

/// The orchestrator's clone (muaththir, ready to start) and its bare remote `origin` at
/// `<home>/srv/bare.git`.
fn orchestrator() -> (TestRepo, PathBuf) {
    serve(TestRepo::muaththir_approved())
}

/// `r` with a bare clone of it as its remote `origin`.
fn serve(r: TestRepo) -> (TestRepo, PathBuf) {
    let bare = serve_bare(&r);
    (r, bare)
}

/// Another clone of `url`, in a temp dir of its own (its worktrees beside it).
fn clone_of(url: &str) -> TestRepo {
    clone_of_url(url, TASKS)
}

/// The branches of the bare repository, name → commit.
fn remote_refs(r: &TestRepo, bare: &Path) -> BTreeMap<String, String> {
    r.git_in(bare, &["for-each-ref", "--format=%(refname) %(objectname)"])
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(n, o)| (n.to_string(), o.to_string()))
        .collect()
}

/// The clone's state without its copy of the remote's refs (which every fetch refreshes).
fn local_state(r: &TestRepo) -> Snapshot {
    let mut s = r.snapshot();
    s.refs = s
        .refs
        .lines()
        .filter(|l| !l.starts_with("refs/parallel/remote/"))
        .map(|l| format!("{l}\n"))
        .collect();
    s
}

fn fsck(r: &TestRepo, bare: &Path) {
    r.git_in(bare, &["fsck", "--no-progress"]);
}

/// The task file's status of `id` on the remote's main.
fn remote_status(r: &TestRepo, bare: &Path, id: &str) -> String {
    let text = r.git_in(bare, &["show", &format!("main:{TASKS}")]);
    field(&text, id, "status").unwrap_or_default()
}

fn is_ancestor(r: &TestRepo, bare: &Path, a: &str, b: &str) -> bool {
    r.is_ancestor_in(bare, a, b)
}

/// A worker: joins `id` in its clone (naming the remote, or through the clone's only remote
/// when `named` is false), commits `file` in the task's worktree and pushes it.
fn work(w: &TestRepo, id: &str, role: &str, file: &str, named: bool) -> String {
    let out = if named {
        w.ok(&["join", id, "--remote", "origin"])
    } else {
        w.ok(&["join", id])
    };
    assert!(out.contains("upstream is origin"), "{out}");
    let wt = w.task_worktree(role, id);
    let c = commit_in(w, &wt, file, "work\n", &format!("work on {id}"));
    w.git_in(&wt, &["push", "-q"]);
    c
}

/// `start IDS --remote origin --no-worktree` in `r`, which must succeed; its stdout.
fn hand_out(r: &TestRepo, ids: &str) -> String {
    let mut args = vec!["start"];
    args.extend(ids.split(' '));
    args.extend(["--remote", "origin", "--no-worktree"]);
    r.ok(&args)
}

/// The scenario: the orchestrator starts two tasks without worktrees, a worker in each of two
/// other clones joins one and pushes its commit, the orchestrator finishes both.
fn orchestrate(orch: &TestRepo, bare: &Path, url: &str) {
    let out = hand_out(orch, "BACKEND-01 FRONTEND-01");
    assert!(out.contains("git parallel join BACKEND-01"), "{out}");
    let refs = remote_refs(orch, bare);
    let main = refs["refs/heads/main"].clone();
    assert_eq!(refs[BACKEND], main);
    assert_eq!(refs[FRONTEND], main);
    assert_eq!(orch.rev("main"), main);
    assert_eq!(remote_status(orch, bare, "BACKEND-01"), "in_progress");
    fsck(orch, bare);

    let w1 = clone_of(url);
    let w2 = clone_of(url);
    let c1 = work(
        &w1,
        "BACKEND-01",
        "backend",
        "products/muaththir/apps/api/server.ts",
        true,
    );
    let c2 = work(
        &w2,
        "FRONTEND-01",
        "frontend",
        "products/muaththir/apps/web/page.tsx",
        false,
    );
    assert_eq!(remote_refs(orch, bare)[BACKEND], c1);

    let status = orch.ok(&["status", "--remote", "origin"]);
    assert!(status.contains("1 ahead"), "{status}");
    let doc = json(&orch.ok(&["status", "--remote", "origin", "--json"]));
    assert_eq!(doc["tasks"][0]["id"], "BACKEND-01", "{doc}");
    assert_eq!(doc["tasks"][0]["remote_tip"], c1.as_str(), "{doc}");
    assert_eq!(doc["tasks"][0]["ahead"], 1, "{doc}");
    assert!(status.contains("other clones: unknown"), "{status}");

    let out = orch.ok(&["finish", "--remote", "origin"]);
    assert!(out.contains("Merged 2 tasks"), "{out}");
    let refs = remote_refs(orch, bare);
    assert!(
        !refs.contains_key(BACKEND) && !refs.contains_key(FRONTEND),
        "{refs:?}"
    );
    assert_eq!(refs["refs/heads/main"], orch.rev("main"));
    assert!(is_ancestor(orch, bare, &c1, "main"));
    assert!(is_ancestor(orch, bare, &c2, "main"));
    assert_eq!(remote_status(orch, bare, "BACKEND-01"), "completed");
    assert_eq!(remote_status(orch, bare, "FRONTEND-01"), "completed");
    fsck(orch, bare);
}

#[test]
fn remote_start_join_push_finish_over_a_path() {
    let (orch, bare) = orchestrator();
    orchestrate(&orch, &bare, bare.to_str().unwrap());
}

/// The binary with the failpoint variable cleared, as a shell command run in `dir` an hour
/// later (so that its commits differ from the ones the first process makes).
fn shell_run(dir: &Path, args: &str) -> String {
    let later = "2026-03-01T13:00:00Z";
    format!(
        "cd '{}' && env -u GIT_PARALLEL_FAILPOINT GIT_PARALLEL_NOW={later} GIT_COMMITTER_DATE={later} GIT_AUTHOR_DATE={later} '{BIN}' {args} >>'{}/out.log' 2>&1",
        dir.display(),
        dir.display()
    )
}

#[test]
fn remote_two_orchestrators_finish_the_same_tasks() {
    let (a, bare) = orchestrator();
    let url = bare.to_str().unwrap();
    hand_out(&a, "BACKEND-01 FRONTEND-01");
    let w = clone_of(url);
    let c1 = work(
        &w,
        "BACKEND-01",
        "backend",
        "products/muaththir/apps/api/server.ts",
        true,
    );
    let c2 = work(
        &w,
        "FRONTEND-01",
        "frontend",
        "products/muaththir/apps/web/page.tsx",
        false,
    );
    let b = clone_of(url);
    // B finishes just before A's push (step 3: after A's target move and main worktree sync).
    let spec = format!("run:3:{}", shell_run(&b.root, "finish --remote origin"));
    let out = a.run_env(
        &["finish", "--remote", "origin"],
        &[("GIT_PARALLEL_FAILPOINT", &spec)],
    );
    let text = all_output(&out);
    let log = std::fs::read_to_string(b.root.join("out.log")).unwrap_or_default();
    assert!(out.status.success(), "{text}\nB: {log}");
    assert!(text.contains("moved meanwhile"), "{text}\nB: {log}");
    assert!(text.contains("Nothing to finish"), "{text}");
    let refs = remote_refs(&a, &bare);
    assert!(
        !refs.contains_key(BACKEND) && !refs.contains_key(FRONTEND),
        "{refs:?}"
    );
    // Each merge landed once, nothing lost; A is at B's result.
    let log = a.git_in(&bare, &["log", "--format=%s", "main"]);
    for id in ["BACKEND-01", "FRONTEND-01"] {
        let merges = log
            .lines()
            .filter(|l| l.contains(&format!("({id})")))
            .count();
        assert_eq!(merges, 1, "{id} merged once:\n{log}");
    }
    assert!(is_ancestor(&a, &bare, &c1, "main") && is_ancestor(&a, &bare, &c2, "main"));
    assert_eq!(a.rev("main"), refs["refs/heads/main"]);
    assert_eq!(b.rev("main"), refs["refs/heads/main"]);
    assert!(!a.path(".git/parallel/journal.json").exists());
    fsck(&a, &bare);
}

/// `a` runs `start <a_args> --remote origin --no-worktree`; clone `b` runs `<b_args> --remote
/// origin --no-worktree` once, just before `a`'s push (step 4 of a start without worktrees).
/// `a`'s output and all its text.
fn race(a: &TestRepo, b: &TestRepo, b_args: &str, a_args: &str) -> (std::process::Output, String) {
    let marker = a.home().join("b-ran");
    let b_args = format!("{b_args} --remote origin --no-worktree");
    let spec = format!(
        "run:4:test -e '{m}' || {{ touch '{m}'; {}; }}",
        shell_run(&b.root, &b_args),
        m = marker.display()
    );
    let mut args = vec!["start"];
    args.extend(a_args.split(' '));
    args.extend(["--remote", "origin", "--no-worktree"]);
    let out = a.run_env(&args, &[("GIT_PARALLEL_FAILPOINT", &spec)]);
    let text = all_output(&out);
    (out, text)
}

#[test]
fn remote_two_orchestrators_start_overlapping_tasks() {
    let (a, bare) = orchestrator();
    let b = clone_of(bare.to_str().unwrap());
    // B starts FRONTEND-01 and DEVOPS-01 just before A's push.
    let before = a.rev("main");
    let (out, text) = race(
        &a,
        &b,
        "start FRONTEND-01 DEVOPS-01",
        "BACKEND-01 FRONTEND-01",
    );
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("moved meanwhile"), "{text}");
    assert!(
        text.contains("chore(muaththir): start FRONTEND-01, DEVOPS-01"),
        "{text}"
    );
    // Nothing local stayed changed.
    assert_eq!(a.rev("main"), before);
    assert!(!a.ref_exists(BACKEND) && !a.ref_exists(FRONTEND));
    let refs = remote_refs(&a, &bare);
    assert!(!refs.contains_key(BACKEND), "{refs:?}");
    let b_main = refs["refs/heads/main"].clone();
    assert_eq!(refs[FRONTEND], b_main);
    assert_eq!(refs[DEVOPS], b_main);
    // --retry recomputes on the new tip: what is still ready starts, each task once.
    let out = a.run(&["start", "--retry", "--remote", "origin", "--no-worktree"]);
    assert_ok(&out, &["start", "--retry"]);
    assert!(stdout(&out).contains("Started 1 task"), "{}", stdout(&out));
    let refs = remote_refs(&a, &bare);
    assert!(refs.contains_key(BACKEND));
    assert_eq!(refs[FRONTEND], b_main);
    for id in ["BACKEND-01", "FRONTEND-01", "DEVOPS-01"] {
        assert_eq!(remote_status(&a, &bare, id), "in_progress");
    }
    let log = a.git_in(&bare, &["log", "--format=%s", "main"]);
    assert_eq!(log.matches("FRONTEND-01").count(), 1, "{log}");
    fsck(&a, &bare);
}

#[test]
fn remote_start_retry_recomputes_after_a_lost_race() {
    let (a, bare) = orchestrator();
    let b = clone_of(bare.to_str().unwrap());
    let (out, text) = race(&a, &b, "start DEVOPS-01", "BACKEND-01 --retry");
    assert!(out.status.success(), "{text}");
    assert!(text.contains("recomputing on its new tip"), "{text}");
    let refs = remote_refs(&a, &bare);
    assert!(
        refs.contains_key(BACKEND) && refs.contains_key(DEVOPS),
        "{refs:?}"
    );
    assert_eq!(remote_status(&a, &bare, "BACKEND-01"), "in_progress");
    assert_eq!(remote_status(&a, &bare, "DEVOPS-01"), "in_progress");
    fsck(&a, &bare);
}

#[test]
fn remote_kill_after_the_push_is_finished_by_recover_continue() {
    let (a, bare) = orchestrator();
    let url = bare.to_str().unwrap();
    a.ok(&["start", "BACKEND-01", "--remote", "origin", "--no-worktree"]);
    let w = clone_of(url);
    let c = work(
        &w,
        "BACKEND-01",
        "backend",
        "products/muaththir/apps/api/server.ts",
        true,
    );
    // finish: 1 target move, 2 main worktree sync, 3 push, 4 local branch deletion.
    let out = a.run_env(
        &["finish", "--remote", "origin"],
        &[("GIT_PARALLEL_FAILPOINT", "killafter:3")],
    );
    assert!(!out.status.success());
    let refs = remote_refs(&a, &bare);
    assert!(
        !refs.contains_key(BACKEND),
        "the push took effect: {refs:?}"
    );
    assert!(is_ancestor(&a, &bare, &c, "main"));
    let refused = a.run(&["start", "--remote", "origin"]);
    assert_eq!(refused.status.code(), Some(1), "{}", all_output(&refused));
    a.ok(&["recover", "--continue"]);
    assert!(!a.ref_exists(BACKEND));
    assert_eq!(a.rev("main"), refs["refs/heads/main"]);
    assert_eq!(remote_refs(&a, &bare), refs);
    assert_eq!(remote_status(&a, &bare, "BACKEND-01"), "completed");
    fsck(&a, &bare);
}

#[test]
fn remote_abort_fail_and_approve_publish_the_task_file() {
    let (a, bare) = serve(TestRepo::muaththir());
    a.ok(&["approve", "ARCH-01", "--remote", "origin"]);
    let text = a.git_in(&bare, &["show", &format!("main:{TASKS}")]);
    assert!(field(&text, "ARCH-01", "approved_at").is_some(), "{text}");
    assert_eq!(remote_refs(&a, &bare)["refs/heads/main"], a.rev("main"));
    hand_out(&a, "BACKEND-01 DEVOPS-01");
    a.ok(&["abort", "BACKEND-01", "--remote", "origin"]);
    let refs = remote_refs(&a, &bare);
    assert!(!refs.contains_key(BACKEND), "{refs:?}");
    assert_eq!(remote_status(&a, &bare, "BACKEND-01"), "pending");
    a.ok(&[
        "fail",
        "DEVOPS-01",
        "--reason",
        "flaky",
        "--remote",
        "origin",
    ]);
    assert_eq!(remote_status(&a, &bare, "DEVOPS-01"), "failed");
    assert_eq!(remote_refs(&a, &bare)["refs/heads/main"], a.rev("main"));
    // Another clone sees the shared record; with parallel.remote set, no flag is needed.
    let b = clone_of(bare.to_str().unwrap());
    b.git(&["config", "parallel.remote", "origin"]);
    let out = b.ok(&["retry", "DEVOPS-01"]);
    assert!(!out.is_empty());
    assert_eq!(remote_status(&a, &bare, "DEVOPS-01"), "in_progress");
    assert_eq!(remote_refs(&a, &bare)["refs/heads/main"], b.rev("main"));
    fsck(&a, &bare);
}

#[test]
fn remote_refuses_an_unknown_remote_and_a_missing_target() {
    let (a, bare) = orchestrator();
    let out = a.run(&["start", "--remote", "nosuch"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        refused(&out).contains("not a configured git remote"),
        "{}",
        refused(&out)
    );
    a.git_in(&bare, &["update-ref", "-d", "refs/heads/main"]);
    let before = a.snapshot();
    let out = a.run(&["start", "--remote", "origin"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        refused(&out).contains("has no branch main"),
        "{}",
        refused(&out)
    );
    assert_same(&before, &a.snapshot(), "nothing changed");
    assert!(remote_refs(&a, &bare).is_empty());
    fsck(&a, &bare);
}

/// A `git daemon` serving `base` on a free port of 127.0.0.1, killed when dropped.
struct Daemon {
    child: Option<Child>,
    base: PathBuf,
    port: u16,
    home: PathBuf,
}

impl Daemon {
    /// None (with a message) when this git has no daemon.
    fn start(base: &Path, home: &Path) -> Option<Daemon> {
        let exec = Command::new("git").arg("--exec-path").output().ok()?;
        let exec = String::from_utf8_lossy(&exec.stdout).trim().to_string();
        if !Path::new(&exec).join("git-daemon").exists() {
            eprintln!("skipped: git daemon is not installed");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let mut d = Daemon {
            child: None,
            base: base.to_path_buf(),
            port,
            home: home.to_path_buf(),
        };
        d.restart();
        Some(d)
    }

    fn url(&self) -> String {
        format!("git://127.0.0.1:{}/bare.git", self.port)
    }

    fn restart(&mut self) {
        let mut c = Command::new("git");
        isolate(&mut c, &self.home);
        c.args([
            "daemon",
            "--reuseaddr",
            "--enable=receive-pack",
            "--export-all",
            &format!("--base-path={}", self.base.display()),
            "--listen=127.0.0.1",
            &format!("--port={}", self.port),
        ])
        .arg(&self.base)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
        self.child = Some(c.spawn().expect("git daemon"));
        // Ready when it answers (bounded: 200 tries, 25 ms apart).
        for _ in 0..200 {
            let mut ls = Command::new("git");
            isolate(&mut ls, &self.home);
            let ok = ls
                .args(["ls-remote", &self.url()])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!("git daemon did not answer on port {}", self.port);
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

#[test]
fn remote_over_git_daemon_and_the_server_stopped_mid_push() {
    let (orch, bare) = orchestrator();
    let Some(mut daemon) = Daemon::start(bare.parent().unwrap(), &orch.home()) else {
        return;
    };
    orch.git(&["remote", "set-url", "origin", &daemon.url()]);
    orchestrate(&orch, &bare, &daemon.url());

    // The server goes away just before the push of a start (step 4): a clear error, nothing
    // local changed, the remote unchanged.
    let refs = remote_refs(&orch, &bare);
    orch.ok(&["status", "--remote", "origin"]); // brings refs/parallel/remote/ up to date
    let before = orch.snapshot();
    let spec = format!("run:4:kill {}", daemon.pid());
    let out = orch.run_env(
        &["start", "DEVOPS-01", "--remote", "origin", "--no-worktree"],
        &[("GIT_PARALLEL_FAILPOINT", &spec)],
    );
    let text = all_output(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("origin"), "{text}");
    assert!(text.contains("cannot read the refs of origin"), "{text}");
    assert!(text.contains("nothing was changed"), "{text}");
    daemon.stop();
    if orch.path(".git/parallel/journal.json").exists() {
        daemon.restart();
        orch.ok(&["recover", "--abort"]);
    }
    assert_same(&before, &orch.snapshot(), "rolled back");
    assert_eq!(remote_refs(&orch, &bare), refs);
    fsck(&orch, &bare);

    // Stopped before anything: the fetch fails, nothing changes.
    let out = orch.run(&["start", "DEVOPS-01", "--remote", "origin"]);
    assert_eq!(out.status.code(), Some(128), "{}", all_output(&out));
    assert!(all_output(&out).contains("cannot fetch from origin"));
    assert_same(&before, &orch.snapshot(), "unchanged");

    // Back up: the same start goes through.
    daemon.restart();
    orch.ok(&["start", "DEVOPS-01", "--remote", "origin", "--no-worktree"]);
    assert!(remote_refs(&orch, &bare).contains_key(DEVOPS));
    fsck(&orch, &bare);
}

#[test]
fn remote_undo_of_a_finish_is_the_reverse_leased_push() {
    let (a, bare) = orchestrator();
    a.ok(&["start", "BACKEND-01", "--remote", "origin", "--no-worktree"]);
    let w = clone_of(bare.to_str().unwrap());
    let c = work(
        &w,
        "BACKEND-01",
        "backend",
        "products/muaththir/apps/api/server.ts",
        true,
    );
    let before = remote_refs(&a, &bare);
    a.ok(&["finish", "--remote", "origin"]);
    let after = remote_refs(&a, &bare);
    assert!(!after.contains_key(BACKEND));
    a.ok(&["undo"]);
    assert_eq!(remote_refs(&a, &bare), before);
    assert_eq!(a.rev(BACKEND), c);
    assert_eq!(a.rev("main"), before["refs/heads/main"]);
    fsck(&a, &bare);

    // Once the remote moved on, the undo is refused and changes nothing anywhere.
    a.ok(&["finish", "--remote", "origin"]);
    let b = clone_of(bare.to_str().unwrap());
    b.ok(&["start", "DEVOPS-01", "--remote", "origin", "--no-worktree"]);
    let moved = remote_refs(&a, &bare);
    let local = local_state(&a);
    let out = a.run(&["undo"]);
    let text = all_output(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("moved meanwhile"), "{text}");
    assert_eq!(remote_refs(&a, &bare), moved);
    assert_same(&local, &local_state(&a), "undo refused");
    fsck(&a, &bare);
}

#[test]
fn remote_kill_before_the_push_is_rolled_back_by_recover_abort() {
    let (a, bare) = orchestrator();
    a.ok(&["start", "BACKEND-01", "--remote", "origin", "--no-worktree"]);
    let w = clone_of(bare.to_str().unwrap());
    work(
        &w,
        "BACKEND-01",
        "backend",
        "products/muaththir/apps/api/server.ts",
        true,
    );
    a.ok(&["status", "--remote", "origin"]);
    // A dry run with a remote fetches and changes nothing.
    let out = a.run(&["start", "--remote", "origin", "--dry-run"]);
    assert_ok(&out, &["start", "--dry-run"]);
    let refs = remote_refs(&a, &bare);
    // finish: 1 target move, 2 main worktree sync, 3 push (killed as it starts).
    let out = a.run_env(
        &["finish", "--remote", "origin"],
        &[("GIT_PARALLEL_FAILPOINT", "kill:3")],
    );
    assert!(!out.status.success());
    let before_recover = a.rev("main");
    assert_eq!(remote_refs(&a, &bare), refs, "nothing published");
    a.ok(&["recover", "--abort"]);
    assert_eq!(remote_refs(&a, &bare), refs);
    assert_ne!(
        a.rev("main"),
        before_recover,
        "the local target move was undone"
    );
    assert_eq!(a.rev("main"), refs["refs/heads/main"]);
    assert!(!a.path(".git/parallel/journal.json").exists());
    // And the finish then goes through.
    a.ok(&["finish", "--remote", "origin"]);
    assert!(!remote_refs(&a, &bare).contains_key(BACKEND));
    fsck(&a, &bare);
}

/// The remote's `main` once no push is running on it any more: the pre-receive hook of the
/// scenario below sleeps `HOOK_SECS`; this waits that long and more.
fn settled_main(r: &TestRepo, bare: &Path) -> String {
    std::thread::sleep(std::time::Duration::from_secs(HOOK_SECS + 2));
    remote_refs(r, bare)["refs/heads/main"].clone()
}

const HOOK_SECS: u64 = 2;

/// The orchestrator and its bare remote with BACKEND-01 started and a worker's commit pushed,
/// the remote's pre-receive hook sleeping `HOOK_SECS`; and main's tip before.
fn ready_with_a_slow_remote() -> (TestRepo, PathBuf, String) {
    let (a, bare) = orchestrator();
    let url = bare.to_str().unwrap().to_string();
    a.ok(&["start", "BACKEND-01", "--remote", "origin", "--no-worktree"]);
    let w = clone_of(&url);
    work(
        &w,
        "BACKEND-01",
        "backend",
        "products/muaththir/apps/api/server.ts",
        true,
    );
    let hook = bare.join("hooks/pre-receive");
    std::fs::write(&hook, format!("#!/bin/sh\nsleep {HOOK_SECS}\n")).unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let before = remote_refs(&a, &bare)["refs/heads/main"].clone();
    (a, bare, before)
}

/// `finish --remote origin` spawned (in a process group of its own) and left running until its
/// push step has started and the push is on the remote.
fn finish_until_its_push_runs(a: &TestRepo) -> Child {
    use std::os::unix::process::CommandExt;
    let finish = a
        .cmd()
        .args(["finish", "--remote", "origin"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let journal = a.root.join(".git/parallel/journal");
    let started = (0..500).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::read_to_string(&journal).is_ok_and(|j| {
            let v: serde_json::Value = serde_json::from_str(&j).unwrap_or_default();
            v["steps"].as_array().is_some_and(|s| {
                s.iter()
                    .any(|s| s["step"]["type"] == "push" && s["state"] == "started")
            })
        })
    });
    assert!(started, "the push step never started");
    std::thread::sleep(std::time::Duration::from_millis(500));
    finish
}

/// `finish --remote origin` killed (SIGKILL to finish alone) while its push runs on the remote
/// (a slow pre-receive hook): the orphaned `git push` still lands after the kill. Returns the
/// orchestrator, the bare remote and main's tip before.
fn finish_killed_during_its_push() -> (TestRepo, PathBuf, String) {
    let (a, bare, before) = ready_with_a_slow_remote();
    let mut finish = finish_until_its_push_runs(&a);
    finish.kill().unwrap();
    finish.wait().unwrap();
    (a, bare, before)
}

// repro round2 08
/// Ctrl-C (SIGINT to finish's process group) while its push runs on a `git daemon` remote: the
/// server goes on with the push, so finish's own rollback must make sure it does not land
/// after finish said nothing was changed.
#[test]
fn ctrl_c_during_the_push_to_a_daemon_publishes_nothing() {
    let (a, bare, before) = ready_with_a_slow_remote();
    let Some(daemon) = Daemon::start(bare.parent().unwrap(), &a.home()) else {
        return;
    };
    a.git(&["remote", "set-url", "origin", &daemon.url()]);
    let finish = finish_until_its_push_runs(&a);
    let group = format!("-{}", finish.id());
    let sent = Command::new("kill")
        .args(["-INT", "--", &group])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = finish.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nothing was changed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(settled_main(&a, &bare), before, "nothing is published");
    assert_eq!(a.rev("main"), before);
    assert!(!a.root.join(".git/parallel/journal").exists());
    fsck(&a, &bare);
}

// repro round2 08
/// recover --abort after a kill during the push: the push still running on the remote must not
/// land after recover said nothing was published; remote and clone agree, at the old main.
#[test]
fn recover_abort_after_a_kill_during_the_push_leaves_nothing_published() {
    let (a, bare, before) = finish_killed_during_its_push();
    a.ok(&["recover", "--abort"]);
    assert_eq!(settled_main(&a, &bare), before, "nothing is published");
    assert_eq!(a.rev("main"), before);
    assert_eq!(remote_status(&a, &bare, "BACKEND-01"), "in_progress");
    fsck(&a, &bare);
}

// repro round2 08
/// recover --continue at the same spot: its own earlier push landing first is success, not a
/// lost race; remote and clone agree on the merge.
#[test]
fn recover_continue_after_a_kill_during_the_push_completes_it() {
    let (a, bare, before) = finish_killed_during_its_push();
    a.ok(&["recover", "--continue"]);
    let main = settled_main(&a, &bare);
    assert_ne!(main, before);
    assert_eq!(a.rev("main"), main);
    assert_eq!(remote_status(&a, &bare, "BACKEND-01"), "completed");
    fsck(&a, &bare);
}

/// A `git` that, once (while `$STALE` exists), leaves the fetched target at `$OLD` after a fetch:
/// what a concurrent, older fetch of the same clone leaves behind (two workers of a host
/// sharing its clone).
const STALE_FETCH: &str = r#"#!/bin/sh
case " $* " in
*" fetch "*)
  "$REAL_GIT" "$@"; rc=$?
  if [ -e "$STALE" ]; then
    rm -f "$STALE"
    "$REAL_GIT" update-ref refs/parallel/remote/origin/heads/main "$OLD"
  fi
  exit $rc;;
esac
exec "$REAL_GIT" "$@"
"#;

#[test]
fn a_fetch_left_behind_by_a_concurrent_one_is_read_again_not_refused() {
    let (a, bare) = orchestrator();
    let b = clone_of(bare.to_str().unwrap());
    let old = b.rev("main");
    // The remote moves on (a's start), and b is brought up to it.
    hand_out(&a, "BACKEND-01");
    b.git(&["pull", "-q", "--ff-only", "origin", "main"]);
    assert_ne!(b.rev("main"), old);
    // b's next sync: its first fetch leaves the target's fetched ref at the old tip.
    let (wrap, real) = git_wrapper(&b.home(), STALE_FETCH);
    let stale = b.home().join("stale");
    std::fs::write(&stale, "").unwrap();
    let path = format!(
        "{}:{}",
        wrap.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = b
        .cmd()
        .args(["start", "DEVOPS-01", "--remote", "origin", "--no-worktree"])
        .env("PATH", &path)
        .env("REAL_GIT", &real)
        .env("STALE", &stale)
        .env("OLD", &old)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", all_output(&out));
    assert!(!stale.exists(), "the stale fetch did not happen");
    assert_eq!(remote_status(&b, &bare, "DEVOPS-01"), "in_progress");
    assert_eq!(remote_status(&b, &bare, "BACKEND-01"), "in_progress");
    fsck(&b, &bare);
}
