//! Tests of finish: the merges, the status commit and the cleanup it makes on muaththir, and
//! everything it refuses (conflicts, a failing test, dirty worktrees, files outside a task's
//! paths, a target or branch that moved meanwhile), each leaving the repository as it was. Also
//! a task with no files finished by name, the hint that reproduces a conflict between two
//! tasks, and `parallel.foldStatus`.

use std::path::{Path, PathBuf};

use crate::support::muaththir::{branch, commit_in, start_with_work, TASKS};
use crate::support::*;

fn started_file() -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/expected/muaththir-started.task-graph.yml");
    std::fs::read_to_string(p).expect("expected started file")
}

/// muaththir with the three tasks started and, in each worktree, one commit inside the task's
/// paths (as an agent would make it).
fn started_with_work() -> TestRepo {
    let r = TestRepo::muaththir_approved();
    start_with_work(&r);
    r
}

/// Asserts task `id` is still running: in_progress on main, its branch and worktree in place.
fn assert_running(r: &TestRepo, id: &str, role: &str) {
    assert_eq!(
        field(&r.task_file(), id, "status").as_deref(),
        Some("in_progress"),
        "{id}"
    );
    assert!(
        r.ref_exists(&format!("refs/heads/{}", branch(role, id))),
        "{id}: branch gone"
    );
    let wt = r.task_worktree(role, id);
    assert!(wt.join("README.md").is_file(), "{id}: worktree gone");
    assert_eq!(
        r.git_in(&wt, &["symbolic-ref", "HEAD"]).trim(),
        format!("refs/heads/{}", branch(role, id))
    );
}

fn linked_worktree_count(r: &TestRepo) -> usize {
    r.worktree_list()
        .lines()
        .filter(|l| l.starts_with("worktree "))
        .count()
        - 1
}

#[test]
fn finish_merges_each_task_marks_them_completed_and_cleans_up() {
    let r = started_with_work();
    let old_tip = r.rev("main");
    let tips: Vec<String> = TASKS
        .iter()
        .map(|(id, role, ..)| r.rev(&branch(role, id)))
        .collect();
    let out = r.ok(&["finish"]);
    for (id, ..) in TASKS {
        assert!(out.contains(id), "{out}");
    }

    // First-parent history: one --no-ff merge per task, in the file's order, then the status
    // commit.
    let log = r.git(&[
        "log",
        "--first-parent",
        "--format=%H %P%x09%s",
        &format!("{old_tip}..main"),
    ]);
    let commits: Vec<(Vec<String>, String)> = log
        .lines()
        .rev()
        .map(|l| {
            let (ids, subject) = l.split_once('\t').unwrap();
            (
                ids.split(' ').map(str::to_string).collect(),
                subject.to_string(),
            )
        })
        .collect();
    assert_eq!(commits.len(), 4, "{log}");
    let mut prev = old_tip.clone();
    for (k, (id, _, _, message)) in TASKS.iter().enumerate() {
        let (ids, subject) = &commits[k];
        assert_eq!(subject, message, "{id}");
        assert_eq!(ids.len(), 3, "{id}: a merge has two parents: {ids:?}");
        assert_eq!(ids[1], prev, "{id}: first parent");
        assert_eq!(ids[2], tips[k], "{id}: second parent");
        prev = ids[0].clone();
    }
    let (ids, subject) = &commits[3];
    assert_eq!(
        subject,
        "chore(muaththir): complete DEVOPS-01, BACKEND-01, FRONTEND-01"
    );
    assert_eq!(ids.len(), 2, "the status commit has one parent");
    assert_eq!(ids[1], prev);
    assert_eq!(
        r.git(&["diff", "--name-only", &prev, "main"]).trim(),
        r.tasks,
        "the status commit changes only the task file"
    );

    // The task file: completed + completed_at for the three, everything else as started.
    let text = r.task_file();
    let (removed, added) = line_diff(&started_file(), &text);
    let removed: Vec<&str> = removed.iter().map(|l| l.trim()).collect();
    let mut added: Vec<&str> = added.iter().map(|l| l.trim()).collect();
    added.sort();
    assert_eq!(removed, [r#"status: "in_progress""#; 3], "{text}");
    let completed_at = format!("completed_at: \"{NOW}\"");
    let mut want = vec![completed_at.as_str(); 3];
    want.extend([r#"status: "completed""#; 3]);
    // Each with the schema's result: success, the files it changed, no metrics by hand.
    let results: Vec<String> = TASKS
        .iter()
        .map(|(_, _, file, _)| {
            format!(
                r#"result: {{status: "success", artifacts_created: ["{file}"], message: "merged into main"}}"#
            )
        })
        .collect();
    want.extend(results.iter().map(String::as_str));
    want.sort();
    assert_eq!(added, want, "{text}");
    for (id, role, ..) in TASKS {
        assert_eq!(field(&text, id, "status").as_deref(), Some("completed"));
        assert_eq!(field(&text, id, "completed_at").as_deref(), Some(NOW));
        assert_eq!(field(&text, id, "assigned_to"), Some(branch(role, id)));
    }

    // The main worktree has the work, clean; no task worktree or branch remains.
    for (id, _, file, _) in TASKS {
        assert_eq!(r.read(file), format!("// {id}\n"));
    }
    assert_eq!(
        r.git(&["status", "--porcelain", "--untracked-files=all"]),
        ""
    );
    assert_eq!(linked_worktree_count(&r), 0);
    assert!(!r.base().join("worktrees").exists());
    assert_eq!(
        r.git(&["for-each-ref", "--format=%(refname)", "refs/heads/"])
            .trim(),
        "refs/heads/main"
    );
    for (k, (id, ..)) in TASKS.iter().enumerate() {
        assert_eq!(r.rev(&format!("refs/parallel/backup/{id}")), tips[k]);
    }
    let fsck = r
        .git_cmd(&r.root)
        .args(["fsck", "--no-dangling"])
        .output()
        .unwrap();
    assert!(
        fsck.status.success(),
        "{}",
        String::from_utf8_lossy(&fsck.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&fsck.stdout), "");
}

#[test]
fn conflict_refuses_and_partial_merges_the_others() {
    let r = started_with_work();
    // BACKEND-01 and FRONTEND-01 both change the first line of README.md (outside their
    // paths, hence --allow-outside).
    commit_in(
        &r,
        &r.task_worktree("backend", "BACKEND-01"),
        "README.md",
        "# backend\n",
        "readme b",
    );
    let fe = r.task_worktree("frontend", "FRONTEND-01");
    commit_in(&r, &fe, "README.md", "# frontend\n", "readme f");
    let before = r.snapshot();
    let text = refused(&r.run(&["finish", "--allow-outside"]));
    assert!(text.contains("FRONTEND-01"), "{text}");
    assert!(text.contains("README.md"), "{text}");
    assert!(
        text.contains(&format!(
            "git -C {} merge {}",
            fe.display(),
            branch("backend", "BACKEND-01")
        )),
        "{text}"
    );
    assert_same(&r.snapshot(), &before, "snapshot");

    // Without --allow-outside, README.md is outside both tasks' paths.
    let text = refused(&r.run(&["finish"]));
    assert!(text.contains("BACKEND-01: README.md is outside"), "{text}");
    assert_same(&r.snapshot(), &before, "snapshot");

    let old_tip = r.rev("main");
    let fe_tip = r.rev(&branch("frontend", "FRONTEND-01"));
    r.ok(&["finish", "--partial", "--allow-outside"]);
    let subjects = r.git(&[
        "log",
        "--first-parent",
        "--format=%s",
        &format!("{old_tip}..main"),
    ]);
    assert_eq!(
        subjects.lines().collect::<Vec<_>>(),
        [
            "chore(muaththir): complete DEVOPS-01, BACKEND-01",
            TASKS[1].3,
            TASKS[0].3,
        ]
    );
    assert_eq!(r.read("README.md"), "# backend\n");
    let text = r.task_file();
    assert_eq!(
        field(&text, "DEVOPS-01", "status").as_deref(),
        Some("completed")
    );
    assert_eq!(
        field(&text, "BACKEND-01", "status").as_deref(),
        Some("completed")
    );
    assert_running(&r, "FRONTEND-01", "frontend");
    assert_eq!(r.rev(&branch("frontend", "FRONTEND-01")), fe_tip);
    assert_eq!(linked_worktree_count(&r), 1);
    assert!(!r.ref_exists(&format!("refs/heads/{}", branch("devops", "DEVOPS-01"))));
    assert!(!r.ref_exists(&format!("refs/heads/{}", branch("backend", "BACKEND-01"))));
    assert!(!r.ref_exists("refs/parallel/backup/FRONTEND-01"));
}

#[test]
fn failing_test_refuses_and_passing_test_lands() {
    let r = started_with_work();
    let before = r.snapshot();
    let text = refused(&r.run(&["finish", "--test", "false"]));
    assert!(text.contains("the test `false` failed"), "{text}");
    assert_same(&r.snapshot(), &before, "snapshot");

    // The test runs on the merged result.
    let check = TASKS
        .iter()
        .map(|(_, _, f, _)| format!("test -f {f}"))
        .collect::<Vec<_>>()
        .join(" && ");
    let out = r.ok(&["finish", "--test", &check]);
    assert!(out.contains("passed"), "{out}");
    assert_eq!(linked_worktree_count(&r), 0);
    for (id, ..) in TASKS {
        assert_eq!(
            field(&r.task_file(), id, "status").as_deref(),
            Some("completed")
        );
    }
}

#[test]
fn the_test_gate_leaves_an_empty_temp_dir_in_place() {
    let r = started_with_work();
    let tmp = r.home().join("empty-tmp");
    std::fs::create_dir(&tmp).unwrap();
    let out = r.run_env(
        &["finish", "--test", "true"],
        &[("TMPDIR", tmp.to_str().unwrap())],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        tmp.is_dir(),
        "finish --test deleted the empty TMPDIR {}",
        tmp.display()
    );
}

#[test]
fn dirty_or_untracked_worktree_is_refused() {
    let r = started_with_work();
    let wt = r.task_worktree("backend", "BACKEND-01");
    std::fs::write(wt.join("README.md"), "# changed, not committed\n").unwrap();
    let before = r.snapshot();
    let text = refused(&r.run(&["finish"]));
    assert!(
        text.contains("BACKEND-01") && text.contains("uncommitted or untracked"),
        "{text}"
    );
    assert!(text.contains("README.md"), "{text}");
    assert_same(&r.snapshot(), &before, "snapshot");
    r.git_in(&wt, &["checkout", "--", "README.md"]);

    let wt = r.task_worktree("frontend", "FRONTEND-01");
    std::fs::write(wt.join("scratch.txt"), "notes\n").unwrap();
    let before = r.snapshot();
    let text = refused(&r.run(&["finish"]));
    assert!(
        text.contains("FRONTEND-01") && text.contains("scratch.txt"),
        "{text}"
    );
    assert_same(&r.snapshot(), &before, "snapshot");
}

#[test]
fn file_outside_the_task_paths_is_refused() {
    let r = started_with_work();
    commit_in(
        &r,
        &r.task_worktree("backend", "BACKEND-01"),
        "products/muaththir/apps/web/hack.ts",
        "x\n",
        "touch the frontend",
    );
    let before = r.snapshot();
    let text = refused(&r.run(&["finish"]));
    assert!(
        text.contains("BACKEND-01: products/muaththir/apps/web/hack.ts is outside"),
        "{text}"
    );
    assert_same(&r.snapshot(), &before, "snapshot");
    r.ok(&["finish", "--allow-outside"]);
    assert_eq!(r.read("products/muaththir/apps/web/hack.ts"), "x\n");
}

#[test]
fn branch_without_commits_is_skipped_or_refused() {
    let r = TestRepo::muaththir_approved();
    r.ok(&["start"]);
    for (id, role, file, _) in &TASKS[..2] {
        commit_in(&r, &r.task_worktree(role, id), file, "x\n", "work");
    }
    let before = r.snapshot();
    let text = refused(&r.run(&["finish", "FRONTEND-01"]));
    assert!(
        text.contains("FRONTEND-01") && text.contains("no commits of its own"),
        "{text}"
    );
    assert_same(&r.snapshot(), &before, "snapshot");

    let out = r.ok(&["finish"]);
    assert!(!out.contains("FRONTEND-01"), "{out}");
    let text = r.task_file();
    assert_eq!(
        field(&text, "DEVOPS-01", "status").as_deref(),
        Some("completed")
    );
    assert_eq!(
        field(&text, "BACKEND-01", "status").as_deref(),
        Some("completed")
    );
    assert_running(&r, "FRONTEND-01", "frontend");
    assert_eq!(linked_worktree_count(&r), 1);
    assert_eq!(
        r.git(&["log", "-1", "--format=%s"]).trim(),
        "chore(muaththir): complete DEVOPS-01, BACKEND-01"
    );

    // Nothing left with commits: nothing to finish, nothing changed.
    let before = r.snapshot();
    let out = r.ok(&["finish"]);
    assert!(out.contains("Nothing to finish"), "{out}");
    assert_same(&r.snapshot(), &before, "snapshot");
}

#[test]
fn target_moved_during_the_test_is_refused() {
    let r = started_with_work();
    let start_tip = r.rev("main");
    let tips: Vec<String> = TASKS
        .iter()
        .map(|(id, role, ..)| r.rev(&branch(role, id)))
        .collect();
    let cmd = format!(
        "git -C '{}' commit -q --allow-empty -m moved",
        r.root.display()
    );
    let text = refused(&r.run(&["finish", "--test", &cmd]));
    assert!(text.contains("refs/heads/main"), "{text}");
    // main keeps the "moved" commit; every task is still in progress with its work.
    assert_eq!(r.git(&["log", "-1", "--format=%s"]).trim(), "moved");
    assert_eq!(r.rev("main~1"), start_tip);
    assert_eq!(
        r.git(&["status", "--porcelain", "--untracked-files=all"]),
        ""
    );
    for (k, (id, role, ..)) in TASKS.iter().enumerate() {
        assert_running(&r, id, role);
        assert_eq!(r.rev(&branch(role, id)), tips[k]);
        assert!(!r.ref_exists(&format!("refs/parallel/backup/{id}")));
    }
    // Nothing is pending: finishing again merges onto the moved target.
    r.ok(&["finish"]);
    assert_eq!(linked_worktree_count(&r), 0);
    let subjects = r.git(&[
        "log",
        "--first-parent",
        "--format=%s",
        &format!("{start_tip}..main"),
    ]);
    assert_eq!(subjects.lines().last(), Some("moved"), "{subjects}");
}

#[test]
fn branch_moved_during_the_test_is_refused() {
    let r = started_with_work();
    let wt = r.task_worktree("backend", "BACKEND-01");
    let start_tip = r.rev("main");
    let cmd = format!(
        "git -C '{}' commit -q --allow-empty -m sneaky",
        wt.display()
    );
    let text = refused(&r.run(&["finish", "--test", &cmd]));
    assert!(text.contains("backend-BACKEND-01"), "{text}");
    assert!(text.contains("nothing was changed"), "{text}");
    // Nothing taken effect, nothing pending, nothing lost.
    assert_eq!(r.rev("main"), start_tip);
    assert_eq!(
        r.git(&["log", "-1", "--format=%s", &branch("backend", "BACKEND-01")])
            .trim(),
        "sneaky"
    );
    for (id, role, ..) in TASKS {
        assert_running(&r, id, role);
        assert!(!r.ref_exists(&format!("refs/parallel/backup/{id}")));
    }
    assert_eq!(
        r.git(&["status", "--porcelain", "--untracked-files=all"]),
        ""
    );
    let sneaky = r.rev(&branch("backend", "BACKEND-01"));
    r.ok(&["finish"]);
    assert!(
        r.is_ancestor_in(&r.root, &sneaky, "main"),
        "the moved branch's commit is merged"
    );
}

#[test]
fn work_written_during_the_test_is_never_deleted() {
    // The worktree checks before the transaction are shared (one `git status` per worktree);
    // a file an agent writes while the test gate runs must still stop the removal.
    let r = started_with_work();
    let wt = r.task_worktree("backend", "BACKEND-01");
    let start_tip = r.rev("main");
    let late = wt.join("late-work.txt");
    let cmd = format!("echo late > '{}'", late.display());
    let text = refused(&r.run(&["finish", "--test", &cmd]));
    assert!(text.contains("late-work.txt"), "{text}");
    assert_eq!(r.rev("main"), start_tip);
    assert_eq!(std::fs::read_to_string(&late).unwrap(), "late\n");
    for (id, role, ..) in TASKS {
        assert_running(&r, id, role);
    }
}

// issue 20 item 1
/// A post-commit hook (`core.hooksPath`) appends to a tracked file of the main worktree from
/// every worktree's commit, as the orchestrator framework's audit trail does: finish lands the
/// agent's commit and the appended line stays, uncommitted, as `git merge` would leave it.
#[test]
fn local_changes_the_landing_does_not_touch_are_left_alone() {
    use std::os::unix::fs::PermissionsExt;
    let r = TestRepo::muaththir_approved();
    r.write("audit-trail.jsonl", "{\"start\": true}\n");
    let hook = r.path(".githooks/post-commit");
    r.write(
        ".githooks/post-commit",
        &format!(
            "#!/bin/sh\necho '{{\"commit\": true}}' >> '{}'\n",
            r.path("audit-trail.jsonl").display()
        ),
    );
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "audit trail and hooks"]);
    r.git(&["config", "core.hooksPath", ".githooks"]);
    r.ok(&["start", "BACKEND-01"]);
    let (_, role, file, _) = TASKS[1];
    let wt = r.task_worktree(role, "BACKEND-01");
    let tip = commit_in(&r, &wt, file, "// agent\n", "agent work");
    let local = r.read("audit-trail.jsonl");
    assert!(
        local.contains("commit"),
        "the hook wrote into the main worktree"
    );
    let out = r.run(&["finish"]);
    assert!(out.status.success(), "{}", crate::support::all_output(&out));
    assert!(
        crate::support::all_output(&out).contains("left alone"),
        "{}",
        crate::support::all_output(&out)
    );
    assert!(
        r.is_ancestor_in(&r.root, &tip, "main"),
        "the agent's commit landed"
    );
    assert_eq!(r.read(file), "// agent\n");
    assert_eq!(
        r.read("audit-trail.jsonl"),
        local,
        "the local change is intact"
    );
    assert_eq!(r.git(&["status", "--porcelain"]), " M audit-trail.jsonl\n");
    assert_eq!(
        field(&r.task_file(), "BACKEND-01", "status").as_deref(),
        Some("completed")
    );
}

/// A local change to a file the landing writes is refused, naming it; nothing changes.
#[test]
fn a_local_change_to_a_file_the_landing_writes_is_refused() {
    let r = started_with_work();
    let (_, role, file, _) = TASKS[1];
    let wt = r.task_worktree(role, "BACKEND-01");
    // The same file, committed on main and then changed there by hand.
    r.write(file, "// main\n");
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "a main version"]);
    r.git_in(
        &wt,
        &["merge", "-q", "-X", "theirs", "main", "-m", "merge main"],
    );
    commit_in(&r, &wt, file, "// agent again\n", "agent work again");
    r.write(file, "// by hand\n");
    let before = r.snapshot();
    let text = refused(&r.run(&["finish"]));
    assert!(
        text.contains("uncommitted changes in files this landing writes") && text.contains(file),
        "{text}"
    );
    assert_same(&r.snapshot(), &before, "a refused finish");
}

// repro round2 06
/// A task worktree switched to a branch of its own (or a detached HEAD) after a first commit on
/// the task branch: finish never completes the task without the newer commits. Named, it
/// refuses, naming the worktree's branch and the commits; unnamed, it skips the task saying
/// why; once the work is on the task branch it lands.
#[test]
fn a_worktree_off_its_task_branch_is_not_finished_without_its_newer_commits() {
    let r = started_with_work();
    let (id, role, file, _) = TASKS[1];
    let wt = r.task_worktree(role, id);
    r.git_in(&wt, &["checkout", "-q", "-b", "mywork"]);
    let newer = commit_in(&r, &wt, file, "// newer\n", "newer work on mywork");
    let before = r.snapshot();
    let text = refused(&r.run(&["finish", id]));
    assert!(
        text.contains("is on branch mywork") && text.contains("1 commit the branch does not have"),
        "{text}"
    );
    assert_same(&r.snapshot(), &before, "a refused finish");
    // Without ids the others land and this one is skipped, saying why.
    let out = r.run(&["finish"]);
    assert!(out.status.success(), "{}", crate::support::all_output(&out));
    assert!(crate::support::all_output(&out).contains("is on branch mywork"));
    assert_eq!(
        field(&r.task_file(), id, "status").as_deref(),
        Some("in_progress")
    );
    assert!(wt.is_dir(), "its worktree is left as it is");
    // A detached HEAD is named too.
    r.git_in(&wt, &["checkout", "-q", "--detach"]);
    let text = refused(&r.run(&["finish", id]));
    assert!(text.contains("is on a detached HEAD at"), "{text}");
    // Back on the task branch with the work, it lands.
    r.git_in(&wt, &["checkout", "-q", &branch(role, id)]);
    r.git_in(&wt, &["merge", "-q", "mywork"]);
    r.ok(&["finish", id]);
    assert!(
        r.is_ancestor_in(&r.root, &newer, "main"),
        "the newer commit landed"
    );
}

// repro round2 20
/// An agent's commit that edits the task file (marking another task completed) is refused at
/// landing, naming the task and the way to undo the edit; after following it the task lands
/// and the other task's status is untouched.
#[test]
fn a_branch_that_edits_the_task_file_is_refused() {
    let r = started_with_work();
    let (id, role, _, _) = TASKS[1];
    let wt = r.task_worktree(role, id);
    let tasks = wt.join(&r.tasks);
    let text = std::fs::read_to_string(&tasks).unwrap();
    std::fs::write(
        &tasks,
        crate::support::set_status(&text, "DEVOPS-01", "completed"),
    )
    .unwrap();
    r.git_in(
        &wt,
        &["commit", "-q", "-am", "helpfully mark DEVOPS-01 done"],
    );
    let before = r.snapshot();
    let text = refused(&r.run(&["finish", id]));
    assert!(
        text.contains(&format!("{id}: its branch changes the task file")),
        "{text}"
    );
    assert_same(&r.snapshot(), &before, "a refused finish");
    // The unnamed finish refuses too: nothing is merged silently.
    refused(&r.run(&["finish"]));
    // The hint's command undoes the edit on the branch; then it lands.
    let hint = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("git -C"))
        .expect("a command in the hint");
    let mut sh = std::process::Command::new("sh");
    crate::support::isolate(&mut sh, &r.home());
    let out = sh
        .arg("-c")
        .arg(hint)
        .current_dir(&r.root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{hint}: {}",
        crate::support::all_output(&out)
    );
    r.ok(&["finish", id]);
    assert_eq!(
        field(&r.task_file(), id, "status").as_deref(),
        Some("completed")
    );
    assert_eq!(
        field(&r.task_file(), "DEVOPS-01", "status").as_deref(),
        Some("in_progress")
    );
}

// repro round2 04
/// A task worktree deleted by hand after its work was committed: finish lands the committed
/// work and prunes the worktree's registration (nothing uncommitted can be lost: there are no
/// files), instead of failing on `git status` there every time.
#[test]
fn finish_lands_a_task_whose_worktree_was_deleted_by_hand() {
    let r = started_with_work();
    let wt = r.task_worktree("backend", "BACKEND-01");
    let tip = r.git_in(&wt, &["rev-parse", "HEAD"]).trim().to_string();
    std::fs::remove_dir_all(&wt).unwrap();
    // Another one emptied, its directory left (an `rm -rf` that may not delete it).
    let emptied = r.task_worktree("frontend", "FRONTEND-01");
    for e in std::fs::read_dir(&emptied).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            std::fs::remove_dir_all(&p).unwrap();
        } else {
            std::fs::remove_file(&p).unwrap();
        }
    }
    r.ok(&["finish"]);
    assert!(!emptied.exists());
    assert_eq!(
        field(&r.task_file(), "FRONTEND-01", "status").as_deref(),
        Some("completed")
    );
    assert!(
        r.is_ancestor_in(&r.root, &tip, "main"),
        "the committed work landed"
    );
    assert_eq!(
        field(&r.task_file(), "BACKEND-01", "status").as_deref(),
        Some("completed")
    );
    assert_eq!(linked_worktree_count(&r), 0, "its registration is pruned");
    assert!(!r.root.join(".git/parallel/journal").exists());
}

// repro round2 14
/// A read-only directory in a task worktree (files copied from a read-only store) does not stop
/// the cleanup after finish's commit point: finish completes, the worktree is gone and nothing
/// is left pending. (EACCES shows only for a user other than root; as root this checks the
/// outcome.)
#[test]
fn a_read_only_directory_in_a_task_worktree_does_not_stop_finish() {
    use std::os::unix::fs::PermissionsExt;
    let r = started_with_work();
    let wt = r.task_worktree("backend", "BACKEND-01");
    let vendor = "products/muaththir/apps/api/src/vendor";
    commit_in(&r, &wt, &format!("{vendor}/lib.txt"), "lib\n", "vendored");
    std::fs::set_permissions(wt.join(vendor), std::fs::Permissions::from_mode(0o555)).unwrap();
    let start_tip = r.rev("main");
    r.ok(&["finish"]);
    assert_ne!(r.rev("main"), start_tip);
    assert!(!wt.exists(), "the worktree is removed");
    assert_eq!(r.read(&format!("{vendor}/lib.txt")), "lib\n");
    assert!(!r.root.join(".git/parallel/journal").exists());
    assert_eq!(
        field(&r.task_file(), "BACKEND-01", "status").as_deref(),
        Some("completed")
    );
}

#[test]
fn undo_after_finish_restores_the_repository() {
    let r = started_with_work();
    let before = r.snapshot();
    r.ok(&["finish", "--test", "true"]);
    assert_eq!(linked_worktree_count(&r), 0);
    let out = r.ok(&["undo"]);
    assert!(
        out.contains("finish DEVOPS-01, BACKEND-01, FRONTEND-01"),
        "{out}"
    );
    assert_same(&r.snapshot(), &before, "snapshot");
    for (id, role, file, _) in TASKS {
        let wt: PathBuf = r.task_worktree(role, id);
        assert_eq!(
            std::fs::read_to_string(wt.join(file)).unwrap(),
            format!("// {id}\n")
        );
    }
    // And finishing again gives the same result as the first time.
    r.ok(&["finish", "--test", "true"]);
    assert_eq!(linked_worktree_count(&r), 0);
}

#[test]
fn undo_after_finish_makes_the_worktrees_ready_again() {
    let r = TestRepo::muaththir_approved();
    r.write(".gitignore", ".env\n.ready\n");
    r.write(".worktreeinclude", ".env\n");
    r.git(&["add", ".gitignore", ".worktreeinclude"]);
    r.git(&["commit", "-q", "-m", "ignore .env"]);
    r.write(".env", "SECRET=42\n");
    r.git(&["config", "parallel.postStart", "touch .ready"]);
    r.ok(&["start"]);
    for (id, role, file, _) in TASKS {
        let wt = r.task_worktree(role, id);
        commit_in(
            &r,
            &wt,
            file,
            &format!("// {id}\n"),
            &format!("work on {id}"),
        );
    }
    r.ok(&["finish"]);
    assert_eq!(linked_worktree_count(&r), 0);
    r.ok(&["undo"]);
    for (id, role, _, _) in TASKS {
        let wt = r.task_worktree(role, id);
        assert_eq!(
            std::fs::read_to_string(wt.join(".env")).unwrap(),
            "SECRET=42\n",
            "{id}"
        );
        assert!(wt.join(".ready").is_file(), "{id}: postStart not rerun");
    }
}

#[test]
fn finish_from_inside_a_task_worktree_is_refused() {
    let r = started_with_work();
    let (id, role, _, _) = TASKS[1];
    let wt = r.task_worktree(role, id);
    let before = r.snapshot();
    let out = r.cmd_in(&wt).arg("finish").output().unwrap();
    let text = refused(&out);
    assert!(text.contains("you are inside its worktree"), "{text}");
    assert_same(&r.snapshot(), &before, "snapshot");
}

// repro round2 10
/// File names come from the agents' commits: finish's boundary errors and warnings, its "both
/// changed" notes and its conflict report show them escaped (no ESC/OSC sequence reaches the
/// terminal, no newline forges a line), as status does; the repository is left as it was.
#[test]
fn file_names_are_printed_escaped() {
    let r = started_with_work();
    let hostile = "x\u{1b}]0;PWNED\u{7}\u{1b}[2J\nfake line: T9 merged OK.txt";
    let shown = "x\\u{1b}]0;PWNED\\u{7}\\u{1b}[2J\\nfake line: T9 merged OK.txt";
    for (role, id, text) in [
        ("backend", "BACKEND-01", "b\n"),
        ("frontend", "FRONTEND-01", "f\n"),
    ] {
        commit_in(&r, &r.task_worktree(role, id), hostile, text, "hostile");
    }
    let before = r.snapshot();
    for args in [&["finish"][..], &["finish", "--allow-outside"]] {
        let out = r.run(args);
        let text = crate::support::all_output(&out);
        assert!(!text.contains('\u{1b}'), "{args:?}: raw ESC in {text:?}");
        assert!(
            !text.lines().any(|l| l.starts_with("fake line")),
            "{args:?}: {text}"
        );
        assert!(text.contains(shown), "{args:?}: {text}");
        assert_same(&r.snapshot(), &before, "snapshot");
    }
}

// repro round2 12
/// The repository's reference-transaction hook is run for finish's ref transaction as git runs
/// it: a hook that protects main refuses finish (nothing changes); one that accepts sees the
/// transaction prepared, then committed, with an `<old> <new> <ref>` line per ref.
#[test]
fn the_reference_transaction_hook_is_run() {
    use std::os::unix::fs::PermissionsExt;
    let r = started_with_work();
    let log = r.home().join("hook.log");
    let hook = r.path(".git/hooks/reference-transaction");
    std::fs::create_dir_all(hook.parent().unwrap()).unwrap();
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\necho \"$1\" >> {log}\ncat >> {log}\n\
             if [ \"$1\" = prepared ] && [ -e {deny} ] && grep -q ' refs/heads/main$' {log}; then\n\
             echo 'policy: main is protected' >&2; exit 1; fi\n",
            log = log.display(),
            deny = r.home().join("deny").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(r.home().join("deny"), "").unwrap();
    let before = r.snapshot();
    let old_main = r.rev("main");
    let text = refused(&r.run(&["finish"]));
    assert!(text.contains("policy: main is protected"), "{text}");
    assert!(
        text.contains("reference-transaction hook refused"),
        "{text}"
    );
    assert_same(&r.snapshot(), &before, "snapshot");
    let seen = std::fs::read_to_string(&log).unwrap();
    assert!(seen.starts_with("prepared\n"), "{seen}");
    assert!(seen.contains("aborted\n"), "{seen}");
    assert!(!seen.contains("committed"), "{seen}");

    std::fs::remove_file(r.home().join("deny")).unwrap();
    std::fs::remove_file(&log).unwrap();
    r.ok(&["finish", "-q"]);
    let new_main = r.rev("main");
    assert_ne!(new_main, old_main);
    let seen = std::fs::read_to_string(&log).unwrap();
    assert!(
        seen.contains(&format!("{old_main} {new_main} refs/heads/main\n")),
        "{seen}"
    );
    assert!(seen.contains("\ncommitted\n"), "{seen}");
    assert!(!seen.contains("aborted"), "{seen}");
}

// ---- a task with no files ----------------------------------------------------------------------

/// A task that produces no files (a checkpoint review) is finished by naming it: completed
/// without a merge commit (no `git commit --allow-empty` needed), worktree and branch removed.
/// `finish` with no ids skips it while it has nothing, and says how to finish it.
#[test]
fn a_task_that_produces_no_files_is_finished_by_name_without_a_merge() {
    let r = TestRepo::new();
    r.write(
        "tasks.yml",
        "metadata:\n  product: demo\ntasks:\n  - id: REVIEW-01\n    agent: reviewer\n    checkpoint: true\n    parallel_ok: true\n    status: pending\n  - id: API-01\n    agent: backend-engineer\n    produces: [\"api/\"]\n    parallel_ok: true\n    status: pending\n",
    );
    r.git(&["add", "-A"]);
    r.git(&["commit", "-q", "-m", "tasks"]);
    let t = ["--tasks", "tasks.yml"];
    r.ok(&[t[0], t[1], "start", "-q"]);
    let api = r.base().join("worktrees/demo/backend-engineer-API-01");
    let api = if api.is_dir() {
        api
    } else {
        r.base().join("worktrees/demo/backend-API-01")
    };
    std::fs::create_dir_all(api.join("api")).unwrap();
    std::fs::write(api.join("api/x"), "x\n").unwrap();
    r.git_in(&api, &["add", "-A"]);
    r.git_in(&api, &["commit", "-q", "-m", "api"]);
    let out = r.run(&[t[0], t[1], "finish"]);
    assert_ok(&out, &["finish"]);
    let text = all_output(&out);
    assert!(
        text.contains("'git parallel finish REVIEW-01' completes it without a merge"),
        "{text}"
    );
    let before = r.rev("main");
    let out = r.run(&[t[0], t[1], "finish", "REVIEW-01"]);
    assert_ok(&out, &["finish", "REVIEW-01"]);
    assert!(
        stdout(&out).contains("nothing to merge"),
        "{}",
        stdout(&out)
    );
    // One commit: the status change; no merge commit for the review.
    assert_eq!(
        r.git(&["rev-list", "--count", &format!("{before}..main")])
            .trim(),
        "1"
    );
    assert_eq!(
        r.git(&[
            "rev-list",
            "--count",
            "--merges",
            &format!("{before}..main")
        ])
        .trim(),
        "0"
    );
    assert_eq!(
        field(&r.read("tasks.yml"), "REVIEW-01", "status").as_deref(),
        Some("completed")
    );
    assert_eq!(r.git(&["branch", "--list", "*REVIEW-01*"]).trim(), "");
    let worktrees = r.git(&["worktree", "list"]);
    assert!(!worktrees.contains("REVIEW-01"), "{worktrees}");
}

// ---- the hint for a conflict between two tasks -------------------------------------------------

#[test]
fn conflict_between_two_tasks_hint_reproduces_it_in_the_later_worktree() {
    let r = TestRepo::muaththir_approved();
    start_with_work(&r);
    commit_in(
        &r,
        &r.task_worktree("backend", "BACKEND-01"),
        "README.md",
        "# backend\n",
        "readme b",
    );
    let fe = r.task_worktree("frontend", "FRONTEND-01");
    commit_in(&r, &fe, "README.md", "# frontend\n", "readme f");
    let before = r.snapshot();
    let text = refused(&r.run(&["finish", "--allow-outside"]));
    let be_branch = branch("backend", "BACKEND-01");
    assert!(text.contains("conflicts with BACKEND-01"), "{text}");
    assert!(
        text.contains(&format!("git -C {} merge {be_branch}", fe.display())),
        "{text}"
    );
    assert!(
        text.contains(
            "pass --partial to merge the others: DEVOPS-01, BACKEND-01 now, leaving FRONTEND-01 running"
        ),
        "{text}"
    );
    assert!(
        !text.contains(&format!("git -C {} merge main", fe.display())),
        "{text}"
    );
    assert_same(&r.snapshot(), &before, "refused finish");

    // Running the hint's command in that worktree produces the same conflict.
    let cmd = text
        .lines()
        .find_map(|l| l.split("reproduce and resolve it there: ").nth(1))
        .expect("a reproduce command")
        .trim();
    let out = r.sh_in(&r.root, cmd);
    assert!(!out.status.success(), "{cmd} merged cleanly");
    let unmerged = r.git_in(&fe, &["diff", "--name-only", "--diff-filter=U"]);
    assert_eq!(unmerged.trim(), "README.md", "{cmd}");
    // The old hint did not: main merges cleanly (it has neither task).
    r.git_in(&fe, &["merge", "--abort"]);
    let out = r
        .git_cmd(&fe)
        .args(["merge", "main"])
        .output()
        .expect("git merge main");
    assert!(out.status.success());
}

// ---- parallel.foldStatus -----------------------------------------------------------------------

#[test]
fn fold_status_makes_one_commit_per_task_and_undo_restores_it() {
    let r = TestRepo::muaththir_approved();
    r.git(&["config", "parallel.foldStatus", "true"]);
    start_with_work(&r);
    let old_tip = r.rev("main");
    let tips: Vec<String> = TASKS
        .iter()
        .map(|(id, role, ..)| r.rev(&branch(role, id)))
        .collect();
    let before_text = r.task_file();
    r.ok(&["finish"]);

    // Exactly the three merge commits, no chore commit; their messages unchanged.
    let subjects = r.git(&[
        "log",
        "--first-parent",
        "--format=%s",
        &format!("{old_tip}..main"),
    ]);
    assert_eq!(
        subjects.lines().collect::<Vec<_>>(),
        [TASKS[2].3, TASKS[1].3, TASKS[0].3]
    );
    for (n, tip) in tips.iter().rev().enumerate() {
        let parents = r.git(&["rev-list", "--parents", "-n1", &format!("main~{n}")]);
        let parents: Vec<&str> = parents.split_whitespace().skip(1).collect();
        assert_eq!(parents.len(), 2, "main~{n} is a merge");
        assert_eq!(parents[1], tip, "main~{n} merges its task's tip");
    }
    assert_eq!(r.rev("main~3"), old_tip);
    // The last merge's tree has the status change; the one before it does not.
    let last = r.git(&["show", &format!("main:{}", r.tasks)]);
    let prev = r.git(&["show", &format!("main~1:{}", r.tasks)]);
    assert_eq!(prev, before_text);
    for (id, ..) in TASKS {
        assert_eq!(
            field(&last, id, "status").as_deref(),
            Some("completed"),
            "{id}"
        );
        assert!(field(&last, id, "completed_at").is_some(), "{id}");
    }
    assert_eq!(
        r.task_file(),
        last,
        "the main worktree has the new task file"
    );
    // Only the task file differs from the plain merge of the three branches.
    let changed = r.git(&["diff", "--name-only", "main~1^{tree}", "main^{tree}"]);
    let mut files: Vec<&str> = changed.lines().collect();
    files.retain(|f| *f != r.tasks);
    for (_, _, f, _) in TASKS.iter().take(2) {
        files.retain(|x| x != f);
    }
    assert_eq!(files, [TASKS[2].2], "{changed}");

    // undo puts main, the branches, the worktrees and the task file back.
    r.ok(&["undo"]);
    assert_eq!(r.rev("main"), old_tip);
    assert_eq!(r.task_file(), before_text);
    for ((id, role, ..), tip) in TASKS.iter().zip(&tips) {
        assert_eq!(&r.rev(&branch(role, id)), tip, "{id}");
        assert!(
            r.task_worktree(role, id).join("README.md").is_file(),
            "{id}"
        );
    }
}

#[test]
fn without_fold_status_finish_keeps_its_separate_status_commit() {
    let r = TestRepo::muaththir_approved();
    start_with_work(&r);
    let old_tip = r.rev("main");
    r.ok(&["finish"]);
    let subjects = r.git(&[
        "log",
        "--first-parent",
        "--format=%s",
        &format!("{old_tip}..main"),
    ]);
    assert_eq!(
        subjects.lines().collect::<Vec<_>>(),
        [
            "chore(muaththir): complete DEVOPS-01, BACKEND-01, FRONTEND-01",
            TASKS[2].3,
            TASKS[1].3,
            TASKS[0].3,
        ]
    );
}
