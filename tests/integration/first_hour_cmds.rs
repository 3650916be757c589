//! First-hour fixes of start and finish (issue 14): unknown ids get a case-insensitive "did you
//! mean" in start, finish, exec and path; a conflict between two tasks gets a hint that really
//! reproduces it; `parallel.foldStatus` makes finish one commit per merged task.

use crate::finish::{branch, commit_in, start_with_work, TASKS};
use crate::support::{assert_same, field, refused, TestRepo};

#[test]
fn unknown_id_in_start_finish_exec_path_suggests_the_id_ignoring_case() {
    let r = TestRepo::muaththir_approved();
    let before = r.snapshot();
    let text = refused(&r.run(&["start", "backend-01"]));
    assert!(text.contains("did you mean BACKEND-01?"), "{text}");
    assert!(!text.contains("--force"), "{text}");
    assert!(
        text.lines().count() < 8,
        "short error, not the usage:\n{text}"
    );
    assert_same(&r.snapshot(), &before, "start backend-01");

    r.ok(&["start", "BACKEND-01"]);
    let before = r.snapshot();
    for args in [
        &["finish", "backend-01"][..],
        &["exec", "backend-01", "--", "true"][..],
        &["path", "backend-01"][..],
        &["path", "BACKEND-1"][..],
    ] {
        let text = refused(&r.run(args));
        assert!(
            text.contains("did you mean BACKEND-01?"),
            "{args:?}: {text}"
        );
        assert!(text.lines().count() < 8, "{args:?}: short error:\n{text}");
        assert_same(&r.snapshot(), &before, &format!("{args:?}"));
    }
    // An id like none: where to look them up, no guess.
    let text = refused(&r.run(&["path", "DEPLOY-07"]));
    assert!(text.contains("git parallel status"), "{text}");
    assert!(!text.contains("did you mean"), "{text}");
}

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
