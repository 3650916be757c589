//! Real faults: the whole process group of `start` and `finish` killed (SIGKILL or SIGTERM, as
//! a CI cancel, `timeout`, the OOM killer or a closed terminal deliver them) while their git
//! children write, and the half-done states such kills leave, also made by hand so that each
//! is covered whatever the timing. Every one must be explained by `status` and settled by
//! `recover --abort` (exactly the state before) or `recover --continue` (exactly the state
//! after). Also the cases where finish used to fail after its commit point (submodules), undo
//! after a branch switch, and the test gate's temp directory. (Reproductions 03–05b, 07, 08, 10.)
//! The randomized kills are in kills/random.rs; the helpers in support/kill.rs.

mod random;

use std::path::{Path, PathBuf};

use crate::support::kill::*;
use crate::support::{all_output, TestRepo};

fn recover_ok(r: &TestRepo, how: &str, what: &str) -> String {
    let out = r.run(&["recover", how]);
    assert!(
        out.status.success(),
        "{what}: recover {how} failed:\n{}",
        all_output(&out)
    );
    all_output(&out)
}

/// The state of a repository built like `setup` after `args` ran uninterrupted.
fn reference(setup: &dyn Fn() -> TestRepo, args: &[&str]) -> State {
    let r = setup();
    r.ok(args);
    state(&r)
}

fn start_setup() -> TestRepo {
    demo_repo(6, 5000)
}

/// Reproduction 03: the process group killed while start checks the worktrees out.
fn start_killed_during_checkouts(sig: i32, how: &str) {
    let what = format!("start killed by signal {sig}, then recover {how}");
    let after = reference(&start_setup, &["start", "-q"]);
    let r = start_setup();
    let before = state(&r);
    let mut child = spawn(&r, &["start", "-q"]);
    let base = r.base();
    let begun = wait_for(&mut child, || {
        (1..=6).any(|i| {
            base.join(format!("worktrees/demo/backend-T{i}/data/d1"))
                .exists()
        })
    });
    assert!(begun, "{what}: no checkout was seen");
    kill_group(&mut child, sig);
    assert_status_explains(&r, &what);
    if !r.path(".git/parallel/journal").exists() {
        // SIGTERM: start rolled back by itself (or had just ended).
        assert_eq!(sig, libc::SIGTERM, "{what}: no journal left");
        assert_settled(&r, &what);
        let now = state(&r);
        assert!(now == before || now == after, "{what}: {now:?}");
        return;
    }
    recover_ok(&r, how, &what);
    assert_settled(&r, &what);
    let now = state(&r);
    if how == "--abort" {
        assert_eq!(now, before, "{what}");
    } else {
        assert_eq!(now, after, "{what}");
    }
    // Nothing is left in the way: the command runs normally afterwards.
    if how == "--abort" {
        r.ok(&["start", "-q"]);
        assert_eq!(state(&r), after, "{what}: start after the rollback");
    }
}

#[test]
fn start_group_sigkill_during_checkouts_then_abort() {
    start_killed_during_checkouts(libc::SIGKILL, "--abort");
}

#[test]
fn start_group_sigkill_during_checkouts_then_continue() {
    start_killed_during_checkouts(libc::SIGKILL, "--continue");
}

/// SIGTERM is caught: start rolls back by itself (see also the interrupt tests below).
#[test]
fn start_group_sigterm_during_checkouts_then_abort() {
    start_killed_during_checkouts(libc::SIGTERM, "--abort");
}

fn finish_setup(files_per_task: usize) -> TestRepo {
    let r = demo_repo(2, 5000);
    r.ok(&["start", "-q"]);
    for i in 1..=2 {
        work(&r, i, files_per_task);
    }
    r
}

/// Reproduction 04: killed while finish updates the main worktree (`read-tree -m -u`).
fn finish_killed_during_main_update(how: &str) {
    let what = format!("finish killed in the main worktree update, then recover {how}");
    let setup = || finish_setup(4000);
    let after = reference(&setup, &["finish", "-q"]);
    let r = setup();
    let before = state(&r);
    let mut child = spawn(&r, &["finish", "-q"]);
    let src = r.path("src");
    wait_for(&mut child, || src.exists());
    kill_group(&mut child, libc::SIGKILL);
    assert_status_explains(&r, &what);
    recover_ok(&r, how, &what);
    assert_settled(&r, &what);
    let now = state(&r);
    if how == "--abort" {
        assert_eq!(now, before, "{what}");
    } else {
        assert_eq!(now, after, "{what}");
    }
}

#[test]
fn finish_group_kill_during_main_update_then_continue() {
    finish_killed_during_main_update("--continue");
}

#[test]
fn finish_group_kill_during_main_update_then_abort() {
    finish_killed_during_main_update("--abort");
}

/// Reproductions 05 and 05b: killed while finish removes the task worktrees (after its commit
/// point); `--abort` (twice, as the script does), or `--continue` then `--abort`.
fn finish_killed_during_removal(order: &[&str]) {
    let what = format!("finish killed removing worktrees, then recover {order:?}");
    let setup = || finish_setup(1);
    let after = reference(&setup, &["finish", "-q"]);
    let r = setup();
    let before = state(&r);
    let tips = [
        r.rev("feature/demo/backend-T1"),
        r.rev("feature/demo/backend-T2"),
    ];
    let mut child = spawn(&r, &["finish", "-q"]);
    let probe = wt(&r, 1).join("data/d1/f1.txt");
    wait_for(&mut child, || !probe.exists());
    kill_group(&mut child, libc::SIGKILL);
    assert_status_explains(&r, &what);
    // A kill that came too late finds finish done: nothing to recover.
    let mut settled_by: Option<&str> =
        (!r.path(".git/parallel/journal").exists()).then_some("completed");
    for how in order {
        let out = r.run(&["recover", how]);
        if settled_by.is_none() {
            assert!(
                out.status.success(),
                "{what}: recover {how}: {}",
                all_output(&out)
            );
            settled_by = Some(how);
        } else {
            assert!(
                all_output(&out).contains("no interrupted operation"),
                "{what}: {}",
                all_output(&out)
            );
        }
    }
    assert_settled(&r, &what);
    assert_status_explains(&r, &what);
    let all = r.git(&["rev-list", "--all"]);
    for t in &tips {
        assert!(all.contains(t.as_str()), "{what}: tip {t} lost");
    }
    let now = state(&r);
    if settled_by == Some("--abort") {
        assert_eq!(now, before, "{what}");
    } else {
        assert_eq!(now, after, "{what}");
    }
    assert!(!r
        .git(&["worktree", "list", "--porcelain"])
        .contains("prunable"));
}

#[test]
fn finish_group_kill_during_removal_then_abort_twice() {
    finish_killed_during_removal(&["--abort", "--abort", "--continue"]);
}

#[test]
fn finish_group_kill_during_removal_then_continue_then_abort() {
    finish_killed_during_removal(&["--continue", "--abort"]);
}

// ---- half-done states made by hand (what a git child killed mid-write leaves) -----------------

const FAILPOINT: &str = "GIT_PARALLEL_FAILPOINT";

/// Runs `args` killed (failpoint) before its step `n`, then lets `mess` make the half-done
/// state a killed git child would leave; asserts `recover --abort` restores `before` exactly on
/// one copy and `recover --continue` reaches the uninterrupted result on another.
#[cfg(feature = "failpoints")]
fn half_done(
    setup: &dyn Fn() -> TestRepo,
    args: &[&str],
    n: usize,
    mess: &dyn Fn(&TestRepo),
    what: &str,
) {
    let after = reference(setup, args);
    for how in ["--abort", "--continue"] {
        let what = format!("{what}, then recover {how}");
        let r = setup();
        let before = state(&r);
        let out = r.run_env(args, &[(FAILPOINT, &format!("kill:{n}"))]);
        assert!(out.status.code().is_none(), "{what}: {}", all_output(&out));
        mess(&r);
        assert_status_explains(&r, &what);
        recover_ok(&r, how, &what);
        assert_settled(&r, &what);
        let expected = if how == "--abort" { &before } else { &after };
        assert_eq!(&state(&r), expected, "{what}");
    }
}

fn small_start() -> TestRepo {
    demo_repo(4, 300)
}

fn admin(r: &TestRepo, i: usize) -> PathBuf {
    r.path(&format!(".git/worktrees/backend-T{i}"))
}

/// Start killed in its worktree steps: T1 registered with a half checkout (some files, one
/// half-written, no index, a stale index.lock), T2 only git's first admin file (`locked`) and an
/// empty directory, T3 registered but still locked "initializing" with no checkout, T4 nothing.
#[cfg(feature = "failpoints")]
#[test]
fn start_half_made_worktrees_are_settled_both_ways() {
    let mess = |r: &TestRepo| {
        let branch = |i: usize| format!("feature/demo/backend-T{i}");
        r.git(&[
            "worktree",
            "add",
            "-q",
            "--no-checkout",
            wt(r, 1).to_str().unwrap(),
            &branch(1),
        ]);
        std::fs::create_dir_all(wt(r, 1).join("data/d0")).unwrap();
        std::fs::write(wt(r, 1).join("data/d0/f0.txt"), "0\n").unwrap();
        std::fs::write(wt(r, 1).join("data/d0/f1.txt"), "").unwrap();
        std::fs::write(admin(r, 1).join("index.lock"), "partial").unwrap();
        std::fs::create_dir_all(admin(r, 2)).unwrap();
        std::fs::write(admin(r, 2).join("locked"), "initializing").unwrap();
        std::fs::create_dir_all(wt(r, 2)).unwrap();
        r.git(&[
            "worktree",
            "add",
            "-q",
            "--no-checkout",
            wt(r, 3).to_str().unwrap(),
            &branch(3),
        ]);
        std::fs::write(admin(r, 3).join("locked"), "initializing").unwrap();
    };
    // Steps: task file commit, main worktree, branches, then the four worktrees (4..7).
    half_done(
        &small_start,
        &["start", "-q"],
        4,
        &mess,
        "start killed in its checkouts",
    );
}

fn small_finish() -> TestRepo {
    let r = demo_repo(2, 300);
    r.ok(&["start", "-q"]);
    for i in 1..=2 {
        work(&r, i, 3);
    }
    r
}

/// Finish killed while removing worktrees: T1 as `git worktree remove` leaves it (its `.git`
/// file and part of its files gone, still registered), T2 as our removal leaves it (marked,
/// part of its files gone, `.git` still there).
#[cfg(feature = "failpoints")]
#[test]
fn finish_half_removed_worktrees_are_settled_both_ways() {
    let mess = |r: &TestRepo| {
        std::fs::remove_file(wt(r, 1).join(".git")).unwrap();
        std::fs::remove_dir_all(wt(r, 1).join("data/d0")).unwrap();
        std::fs::write(admin(r, 2).join("git-parallel-removing"), "").unwrap();
        std::fs::remove_dir_all(wt(r, 2).join("data")).unwrap();
        std::fs::write(admin(r, 2).join("index.lock"), "").unwrap();
    };
    // Steps: refs, main worktree (commit point), removals (3, 4), branch deletions.
    half_done(
        &small_finish,
        &["finish", "-q"],
        3,
        &mess,
        "finish killed removing worktrees",
    );
}

/// Finish killed in `read-tree -m -u`: the index still at the old tip, a stale index.lock, the
/// task file and some new files already at the new tip, one new file half-written.
#[cfg(feature = "failpoints")]
#[test]
fn finish_half_updated_main_worktree_is_settled_both_ways() {
    let mess = |r: &TestRepo| {
        let show = |p: &str| r.git(&["show", &format!("main:{p}")]);
        r.write(&r.tasks, &show(&r.tasks));
        r.write("src/t1/f0", &show("src/t1/f0"));
        let half = show("src/t2/f1");
        r.write("src/t2/f1", &half[..half.len() / 2]);
        std::fs::write(r.path(".git/index.lock"), "").unwrap();
    };
    // Steps: refs (1), main worktree (2, the commit point).
    half_done(
        &small_finish,
        &["finish", "-q"],
        2,
        &mess,
        "finish killed updating the main worktree",
    );
}

/// A file of the user's in a path the update writes is never overwritten or deleted: recover
/// refuses, naming it, and settles once it is moved away.
#[cfg(feature = "failpoints")]
#[test]
fn half_updated_main_worktree_keeps_a_file_of_the_users() {
    let r = small_finish();
    let out = r.run_env(&["finish", "-q"], &[(FAILPOINT, "kill:2")]);
    assert!(out.status.code().is_none(), "{}", all_output(&out));
    r.write("src/t1/f0", "the user's own file\n");
    let out = r.run(&["recover", "--continue"]);
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    assert!(
        all_output(&out).contains("src/t1/f0"),
        "{}",
        all_output(&out)
    );
    assert_eq!(r.read("src/t1/f0"), "the user's own file\n");
    std::fs::rename(r.path("src/t1/f0"), r.base().join("saved")).unwrap();
    recover_ok(&r, "--continue", "after moving the file away");
    assert_settled(&r, "after moving the file away");
}

// ---- finish with a submodule; undo after a branch switch; the test gate's directory ----------

fn git_file_ok(r: &TestRepo, dir: &Path, args: &[&str]) -> String {
    let mut a = vec!["-c", "protocol.file.allow=always"];
    a.extend(args);
    r.git_in(dir, &a)
}

/// A task worktree with an initialised submodule, and one commit of work (reproduction 07).
fn submodule_repo() -> TestRepo {
    let r = demo_repo(1, 10);
    let sub = r.base().join("sub-src");
    std::fs::create_dir_all(&sub).unwrap();
    r.git_in(&sub, &["init", "-q", "-b", "main"]);
    std::fs::write(sub.join("lib.txt"), "lib\n").unwrap();
    r.git_in(&sub, &["add", "-A"]);
    r.git_in(&sub, &["commit", "-q", "-m", "lib"]);
    git_file_ok(
        &r,
        &r.root,
        &["submodule", "add", "-q", sub.to_str().unwrap(), "libs/sub"],
    );
    r.git(&["commit", "-q", "-m", "add submodule"]);
    r.ok(&["start", "-q"]);
    git_file_ok(&r, &wt(&r, 1), &["submodule", "update", "-q", "--init"]);
    work(&r, 1, 1);
    r
}

/// A clean submodule whose commit is on its remote: finish removes the worktree and completes.
#[test]
fn finish_removes_a_worktree_with_a_clean_pushed_submodule() {
    let r = submodule_repo();
    let out = r.run(&["finish"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert!(!wt(&r, 1).exists());
    assert!(!r.path(".git/worktrees/backend-T1").exists());
    assert_eq!(
        crate::support::field(&r.task_file(), "T1", "status").as_deref(),
        Some("completed")
    );
    assert!(r.path("src/t1/f0").exists());
    assert_settled(&r, "finish with a submodule");
}

/// A submodule commit that exists only in the task worktree: finish refuses before anything
/// changes (it used to move the target, then fail to remove the worktree and exit 1).
#[test]
fn finish_refuses_up_front_when_a_submodule_commit_exists_only_in_the_worktree() {
    let r = submodule_repo();
    let w = wt(&r, 1);
    let sub = w.join("libs/sub");
    std::fs::write(sub.join("lib.txt"), "changed\n").unwrap();
    r.git_in(&sub, &["commit", "-q", "-am", "local only"]);
    r.git_in(&w, &["commit", "-q", "-am", "record the submodule commit"]);
    let before = state(&r);
    let main_before = r.rev("main");
    let out = r.run(&["finish", "--allow-outside"]);
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("libs/sub"), "{text}");
    assert!(text.contains("push"), "{text}");
    assert_eq!(r.rev("main"), main_before);
    assert_eq!(state(&r), before);
    assert!(sub.join("lib.txt").exists());
    assert_settled(&r, "refused finish");
}

/// Reproduction 08: undo after the user switched the main worktree to another branch moves
/// the target back but leaves the other branch's index and files alone, and says so.
#[test]
fn undo_after_a_branch_switch_leaves_the_other_branch_alone() {
    let r = demo_repo(1, 10);
    r.ok(&["start", "-q"]);
    work(&r, 1, 1);
    let main_before = r.rev("main");
    r.ok(&["finish", "-q"]);
    let main_after = r.rev("main");
    r.git(&["switch", "-q", "-c", "other"]);
    let out = r.run(&["undo"]);
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("only the branch was moved"), "{text}");
    assert_eq!(r.git(&["symbolic-ref", "HEAD"]).trim(), "refs/heads/other");
    assert_eq!(
        r.git(&["status", "--porcelain", "--untracked-files=all"]),
        ""
    );
    assert_eq!(r.rev("other"), main_after);
    assert_eq!(r.rev("main"), main_before);
    assert!(r.path("src/t1/f0").exists());
    assert!(wt(&r, 1).join("src/t1/f0").exists());
}

/// The entries of a directory, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// A private TMPDIR holding directories named like the test gate's used to be.
fn tmpdir_with_lookalikes(r: &TestRepo) -> PathBuf {
    let t = r.base().join("tmpdir");
    for name in ["git-parallel-test-1", "git-parallel-test-4242"] {
        std::fs::create_dir_all(t.join(name).join("sub")).unwrap();
        std::fs::write(t.join(name).join("sub/precious"), "data\n").unwrap();
    }
    t
}

fn assert_lookalikes_intact(t: &Path) {
    assert_eq!(
        entries(t),
        vec!["git-parallel-test-1", "git-parallel-test-4242"]
    );
    for name in ["git-parallel-test-1", "git-parallel-test-4242"] {
        assert_eq!(
            std::fs::read_to_string(t.join(name).join("sub/precious")).unwrap(),
            "data\n"
        );
    }
}

/// Reproduction 10: the test gate makes a fresh directory of its own and deletes only that.
#[test]
fn test_gate_uses_a_fresh_directory_and_deletes_nothing_else() {
    let r = demo_repo(1, 10);
    r.ok(&["start", "-q"]);
    work(&r, 1, 1);
    let t = tmpdir_with_lookalikes(&r);
    let out = r.run_env(
        &["finish", "-q", "--test", "test -f src/t1/f0"],
        &[("TMPDIR", t.to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert_lookalikes_intact(&t);
    assert_settled(&r, "finish --test");
}

/// Killed during the test gate (its test still running): the first `recover --continue` runs
/// the test again and completes; `recover --abort` removes the test worktree; only ever ours.
#[test]
fn finish_killed_in_the_test_gate_is_settled_both_ways() {
    for how in ["--continue", "--abort"] {
        let what = format!("finish --test killed, then recover {how}");
        let r = demo_repo(2, 300);
        r.ok(&["start", "-q"]);
        work(&r, 1, 1);
        work(&r, 2, 1);
        let before = state(&r);
        let t = tmpdir_with_lookalikes(&r);
        let go = r.base().join("go");
        let running = r.base().join("running");
        let cmd = format!(
            "test -e {go} || {{ touch {running}; sleep 30; }}",
            go = go.display(),
            running = running.display()
        );
        let tmp = t.to_str().unwrap();
        let mut child = spawn_env(&r, &["finish", "-q", "--test", &cmd], &[("TMPDIR", tmp)]);
        assert!(wait_for(&mut child, || running.exists()), "{what}");
        kill_group(&mut child, libc::SIGKILL);
        assert_status_explains(&r, &what);
        std::fs::write(&go, "").unwrap();
        let out = r.run_env(&["recover", how], &[("TMPDIR", tmp)]);
        assert!(out.status.success(), "{what}: {}", all_output(&out));
        assert_settled(&r, &what);
        assert_lookalikes_intact(&t);
        if how == "--abort" {
            assert_eq!(state(&r), before, "{what}");
        } else {
            assert!(!wt(&r, 1).exists() && !wt(&r, 2).exists(), "{what}");
            assert!(r.path("src/t2/f0").exists(), "{what}");
        }
    }
}

// ---- interrupts: rolled back by the command itself ---------------------------------------------

/// SIGTERM to finish alone while its test runs: passed on to the test, then finish rolls back
/// by itself and exits 128+15; nothing is pending, the state is the one before.
#[test]
fn sigterm_during_the_test_gate_rolls_finish_back_by_itself() {
    let r = demo_repo(2, 50);
    r.ok(&["start", "-q"]);
    work(&r, 1, 1);
    work(&r, 2, 1);
    let before = state(&r);
    let running = r.base().join("running");
    let cmd = format!("touch '{}'; sleep 30", running.display());
    let mut child = spawn(&r, &["finish", "--test", &cmd]);
    assert!(wait_for(&mut child, || running.exists()));
    // SAFETY: kill(2) on our child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(128 + libc::SIGTERM), "{status}");
    assert_settled(&r, "finish after SIGTERM");
    assert!(!r.path(".git/parallel/lock").exists());
    assert_eq!(state(&r), before);
}

/// SIGINT to start's whole process group (a terminal's Ctrl-C) during its checkouts: it rolls
/// back by itself (or, hit before it began or after it ended, is simply before or after).
#[test]
fn sigint_to_start_rolls_back_by_itself() {
    let after = reference(&start_setup, &["start", "-q"]);
    let r = start_setup();
    let before = state(&r);
    let mut child = spawn(&r, &["start", "-q"]);
    let base = r.base();
    wait_for(&mut child, || {
        (1..=6).any(|i| {
            base.join(format!("worktrees/demo/backend-T{i}/data/d1"))
                .exists()
        })
    });
    // SAFETY: kill(2) on the process group we created.
    unsafe {
        libc::kill(-(child.id() as i32), libc::SIGINT);
    }
    let status = child.wait().unwrap();
    assert_settled(&r, "start after SIGINT");
    assert!(!r.path(".git/parallel/lock").exists());
    if status.success() {
        assert_eq!(state(&r), after);
    } else {
        assert_eq!(state(&r), before, "{status}");
    }
}

/// `recover` itself killed (process group) in the middle, both ways: the next `recover` in
/// the same direction settles it.
#[cfg(feature = "failpoints")]
#[test]
fn a_killed_recover_is_settled_by_the_next_one() {
    let after = reference(&start_setup, &["start", "-q"]);
    for how in ["--continue", "--abort"] {
        let what = format!("recover {how} killed");
        let r = start_setup();
        let before = state(&r);
        // Killed after the last of the 6 worktrees (step 9) was added: an abort has all six to
        // remove; killed before the first one (step 4): a continue has all six to add.
        let kill = if how == "--abort" {
            "killafter:9"
        } else {
            "kill:4"
        };
        let out = r.run_env(&["start", "-q"], &[(FAILPOINT, kill)]);
        assert!(out.status.code().is_none(), "{what}: {}", all_output(&out));
        let mut child = spawn(&r, &["recover", how]);
        let base = r.base();
        let probe = move || {
            let n = (1..=6)
                .filter(|i| {
                    base.join(format!("worktrees/demo/backend-T{i}/data/d1"))
                        .exists()
                })
                .count();
            if how == "--abort" {
                n < 6
            } else {
                n > 0
            }
        };
        wait_for(&mut child, probe);
        kill_group(&mut child, libc::SIGKILL);
        assert_status_explains(&r, &what);
        if r.path(".git/parallel/journal").exists() {
            recover_ok(&r, how, &what);
        }
        assert_settled(&r, &what);
        let now = state(&r);
        assert!(now == before || now == after, "{what}: {now:?}");
        if how == "--abort" {
            assert_eq!(now, before, "{what}");
        } else {
            assert_eq!(now, after, "{what}");
        }
    }
}

// ---- a killed owner that is not reaped yet ------------------------------------------------------

// repro round2 16
/// finish killed in its test gate and not reaped yet (a zombie: its parent has not waited):
/// the lock's owner is dead, so `status` says the operation was interrupted and `recover
/// --abort` rolls it back, before the zombie is reaped.
#[test]
fn a_killed_unreaped_finish_counts_as_dead() {
    let r = demo_repo(1, 1);
    r.ok(&["start", "-q"]);
    work(&r, 1, 1);
    let before = state(&r);
    let running = r.base().join("running");
    let cmd = format!("touch {}; sleep 30", running.display());
    let mut child = spawn(&r, &["finish", "-q", "--test", &cmd]);
    assert!(wait_for(&mut child, || running.exists()));
    // SIGKILL to finish alone, not reaped: it stays a zombie while its test's sleep runs on.
    // SAFETY: kill(2) on the child we spawned; no memory is involved.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let stat = format!("/proc/{}/stat", child.id());
    let zombie = || {
        std::fs::read_to_string(&stat).is_ok_and(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
    };
    for _ in 0..500 {
        if zombie() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(zombie(), "finish should be a zombie now");
    let status = r.run(&["status"]);
    assert!(
        !all_output(&status).contains("still running"),
        "{}",
        all_output(&status)
    );
    let out = r.run(&["recover", "--abort"]);
    assert!(out.status.success(), "{}", all_output(&out));
    assert!(zombie(), "the test must run while finish is still unreaped");
    kill_group(&mut child, libc::SIGKILL);
    assert_settled(&r, "finish killed, unreaped, recover --abort");
    assert_eq!(state(&r), before);
}

// repro round2 16
/// A lock file of the previous release (pid and command, no `flock` line) whose owner is a
/// zombie is stale too; one whose owner runs still locks.
#[test]
fn an_old_lock_file_is_judged_by_its_pid() {
    let r = demo_repo(1, 1);
    r.ok(&["start", "-q"]);
    let lock = r.path(".git/parallel/lock");
    let mut live = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .expect("sleep");
    std::fs::write(&lock, format!("{}\ngit parallel finish\n", live.id())).unwrap();
    let out = r.run(&["finish", "-q"]);
    assert!(!out.status.success(), "{}", all_output(&out));
    assert!(all_output(&out).contains("another git-parallel is running"));
    // SAFETY: kill(2) on the child we spawned.
    unsafe { libc::kill(live.id() as i32, libc::SIGKILL) };
    std::thread::sleep(std::time::Duration::from_millis(100));
    let out = r.run(&["finish"]);
    assert!(
        all_output(&out).contains("no longer running"),
        "{}",
        all_output(&out)
    );
    let _ = live.wait();
}
