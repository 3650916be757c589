//! Commands and other writers at the same time: two `finish`, `start` and `finish`, a commit on
//! the target or in a task worktree while finish's test gate runs. The repository lock and the
//! compare-and-swap of the target and task branches hold: nothing is lost, the loser exits 1
//! with a message that says why and that nothing was changed.

use std::path::{Path, PathBuf};

use crate::support::kill::{assert_settled, demo_repo, spawn_env, wait_for, work, wt};
use crate::support::{all_output, field, TestRepo};

/// A test command that says it runs (creates `running`) and waits until `go` exists (at most
/// ~30 s), so the test decides exactly what happens while the gate runs.
fn gate(r: &TestRepo) -> (String, PathBuf, PathBuf) {
    let running = r.base().join("running");
    let go = r.base().join("go");
    let cmd = format!(
        "touch '{}'; i=0; while [ ! -e '{}' ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done",
        running.display(),
        go.display()
    );
    (cmd, running, go)
}

fn started(tasks: usize) -> TestRepo {
    let r = demo_repo(tasks, 20);
    r.ok(&["start", "-q"]);
    for i in 1..=tasks {
        work(&r, i, 2);
    }
    r
}

fn status_of(r: &TestRepo, id: &str) -> String {
    field(&r.task_file(), id, "status").unwrap_or_default()
}

fn is_ancestor(r: &TestRepo, a: &str, b: &str) -> bool {
    r.is_ancestor_in(&r.root, a, b)
}

fn touch(p: &Path) {
    std::fs::write(p, "").unwrap();
}

/// A second finish while the first one's test gate runs is refused (the lock), exit 1; the
/// first completes.
#[test]
fn a_second_finish_during_the_first_is_refused() {
    let r = started(2);
    let (cmd, running, go) = gate(&r);
    let mut first = spawn_env(&r, &["finish", "-q", "--test", &cmd], &[]);
    assert!(wait_for(&mut first, || running.exists()));
    let second = r.run(&["finish"]);
    let text = all_output(&second);
    assert_eq!(second.status.code(), Some(1), "{text}");
    assert!(text.contains("another git-parallel is running"), "{text}");
    touch(&go);
    assert!(first.wait().unwrap().success());
    assert_eq!(status_of(&r, "T1"), "completed");
    assert_eq!(status_of(&r, "T2"), "completed");
    assert_settled(&r, "two finishes");
}

/// Two finishes started at the same moment: one merges, the other is refused (lock or
/// compare-and-swap: exit 1, nothing changed) or finds nothing left to finish; the tasks are
/// merged exactly once.
#[test]
fn two_finishes_at_the_same_moment_merge_once() {
    let r = started(2);
    let before = r.rev("main");
    let tips = [
        r.rev("feature/demo/backend-T1"),
        r.rev("feature/demo/backend-T2"),
    ];
    let a = spawn_output(&r, &["finish"]);
    let b = spawn_output(&r, &["finish"]);
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    let codes = [a.status.code(), b.status.code()];
    assert!(codes.contains(&Some(0)), "{codes:?}");
    for out in [&a, &b] {
        let text = all_output(out);
        match out.status.code() {
            Some(0) => {}
            Some(1) => assert!(
                text.contains("another git-parallel is running")
                    || text.contains("nothing was changed"),
                "{text}"
            ),
            other => panic!("exit {other:?}: {text}"),
        }
    }
    // Merged exactly once: two merges and one status commit on top of the old tip.
    let n = r.git(&[
        "rev-list",
        "--count",
        "--first-parent",
        &format!("{before}..main"),
    ]);
    assert_eq!(n.trim(), "3");
    for t in &tips {
        assert!(is_ancestor(&r, t, "main"));
    }
    assert_eq!(status_of(&r, "T1"), "completed");
    assert_settled(&r, "two finishes at once");
}

/// Runs git-parallel on a thread, returning its output.
fn spawn_output(r: &TestRepo, args: &[&str]) -> std::thread::JoinHandle<std::process::Output> {
    let mut c = r.cmd();
    c.args(args);
    std::thread::spawn(move || c.output().expect("run git-parallel"))
}

/// `start` while `finish` runs is refused; afterwards it starts what finish left ready.
#[test]
fn start_during_finish_is_refused_and_works_afterwards() {
    let r = demo_repo(2, 20);
    // Only T1 is started; T2 stays pending.
    r.ok(&["start", "-q", "T1"]);
    work(&r, 1, 2);
    let (cmd, running, go) = gate(&r);
    let mut finish = spawn_env(&r, &["finish", "-q", "--test", &cmd], &[]);
    assert!(wait_for(&mut finish, || running.exists()));
    let start = r.run(&["start", "T2"]);
    let text = all_output(&start);
    assert_eq!(start.status.code(), Some(1), "{text}");
    assert!(text.contains("another git-parallel is running"), "{text}");
    assert!(!r.ref_exists("feature/demo/backend-T2"));
    touch(&go);
    assert!(finish.wait().unwrap().success());
    assert_eq!(status_of(&r, "T1"), "completed");
    r.ok(&["start", "-q", "T2"]);
    assert_eq!(status_of(&r, "T2"), "in_progress");
    assert_settled(&r, "start after finish");
}

/// `start` and `finish` at the same moment: each either succeeds or is refused with exit 1;
/// the end state is consistent (every in-progress task has its branch and worktree).
#[test]
fn start_and_finish_at_the_same_moment_stay_consistent() {
    let r = demo_repo(2, 20);
    r.ok(&["start", "-q", "T1"]);
    work(&r, 1, 2);
    let f = spawn_output(&r, &["finish"]);
    let s = spawn_output(&r, &["start", "T2"]);
    for out in [f.join().unwrap(), s.join().unwrap()] {
        let text = all_output(&out);
        assert!(matches!(out.status.code(), Some(0 | 1)), "{text}");
        if out.status.code() == Some(1) {
            assert!(
                text.contains("another git-parallel is running")
                    || text.contains("nothing was changed"),
                "{text}"
            );
        }
    }
    for i in 1..=2 {
        let id = format!("T{i}");
        let branch = format!("feature/demo/backend-T{i}");
        match status_of(&r, &id).as_str() {
            "in_progress" => {
                assert!(r.ref_exists(&branch), "{id}");
                assert!(wt(&r, i).join(".git").exists(), "{id}");
            }
            "completed" | "pending" => assert!(!wt(&r, i).exists(), "{id}"),
            other => panic!("{id}: {other}"),
        }
    }
    assert_eq!(
        r.git(&["status", "--porcelain", "--untracked-files=all"]),
        ""
    );
    assert_settled(&r, "start and finish at once");
}

/// A commit lands on the target while finish's test gate runs: the compare-and-swap refuses
/// to move the target, everything is rolled back, the commit stays; finish then works on top.
#[test]
fn a_commit_on_the_target_during_the_test_gate_wins() {
    let r = started(2);
    let (cmd, running, go) = gate(&r);
    let mut finish = spawn_finish_output(&r, &cmd);
    assert!(wait_for(&mut finish, || running.exists()));
    r.write("NOTES", "the user's commit\n");
    r.git(&["add", "NOTES"]);
    r.git(&["commit", "-q", "-m", "user commit during the test"]);
    let user = r.rev("main");
    touch(&go);
    let out = finish.wait_with_output().unwrap();
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("nothing was changed"), "{text}");
    assert_eq!(r.rev("main"), user, "the user's commit stays");
    assert_eq!(status_of(&r, "T1"), "in_progress");
    assert!(wt(&r, 1).join(".git").exists() && wt(&r, 2).join(".git").exists());
    assert_eq!(
        r.git(&["status", "--porcelain", "--untracked-files=all"]),
        ""
    );
    assert_settled(&r, "after the refused finish");
    let again = r.run(&["finish"]);
    assert_eq!(again.status.code(), Some(0), "{}", all_output(&again));
    assert!(is_ancestor(&r, &user, "main"));
    assert_eq!(r.read("NOTES"), "the user's commit\n");
}

fn spawn_finish_output(r: &TestRepo, cmd: &str) -> std::process::Child {
    let mut c = r.cmd();
    c.args(["finish", "--test", cmd])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    c.spawn().expect("spawn finish")
}

/// An agent commits in its worktree while the test gate runs: the task branch is no longer
/// where it was merged from, so nothing moves (exit 1) and the new commit is kept; the next
/// finish merges it.
#[test]
fn an_agent_commit_during_the_test_gate_is_not_lost() {
    let r = started(2);
    let (cmd, running, go) = gate(&r);
    let mut finish = spawn_finish_output(&r, &cmd);
    assert!(wait_for(&mut finish, || running.exists()));
    let w = wt(&r, 1);
    std::fs::write(w.join("src/t1/late"), "late work\n").unwrap();
    r.git_in(&w, &["add", "-A"]);
    r.git_in(&w, &["commit", "-q", "-m", "late work"]);
    let late = r.rev("feature/demo/backend-T1");
    let main_before = r.rev("main");
    touch(&go);
    let out = finish.wait_with_output().unwrap();
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("nothing was changed"), "{text}");
    assert_eq!(r.rev("main"), main_before);
    assert_eq!(r.rev("feature/demo/backend-T1"), late);
    assert_settled(&r, "after the refused finish");
    r.ok(&["finish", "-q"]);
    assert!(is_ancestor(&r, &late, "main"));
    assert_eq!(r.read("src/t1/late"), "late work\n");
}

/// An agent leaves uncommitted work in its worktree while the test gate runs: the removal
/// after the commit point would refuse, so finish stops before it (exit 1, nothing changed)
/// instead of moving the target and failing half-way; the work is untouched.
#[test]
fn uncommitted_agent_work_during_the_test_gate_stops_finish_before_the_target_moves() {
    let r = started(2);
    let (cmd, running, go) = gate(&r);
    let mut finish = spawn_finish_output(&r, &cmd);
    assert!(wait_for(&mut finish, || running.exists()));
    std::fs::write(wt(&r, 2).join("src/t2/draft"), "not yet committed\n").unwrap();
    let main_before = r.rev("main");
    touch(&go);
    let out = finish.wait_with_output().unwrap();
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("nothing was changed"), "{text}");
    assert!(text.contains("src/t2/draft"), "{text}");
    assert_eq!(r.rev("main"), main_before);
    assert_eq!(
        std::fs::read_to_string(wt(&r, 2).join("src/t2/draft")).unwrap(),
        "not yet committed\n"
    );
    assert_eq!(status_of(&r, "T2"), "in_progress");
    assert_settled(&r, "after the refused finish");
}
