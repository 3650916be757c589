//! `git parallel status` fits the terminal: worktree paths relative to the current directory,
//! columns dropped or cut to `COLUMNS`, completed tasks summarised in one line unless `--all`;
//! piped output without `COLUMNS` is never cut.

use std::path::Path;
use std::process::Output;

use super::readonly::{muaththir_ready, start};
use super::support::{stdout, TestRepo};

/// Runs status in `dir` with `COLUMNS` set (or unset) and a HOME the worktrees are not under,
/// so the relative path is the shortest.
fn status_in(r: &TestRepo, dir: &Path, columns: Option<&str>, args: &[&str]) -> Output {
    let mut c = r.cmd_in(dir);
    c.arg("status").args(args).env("HOME", "/nonexistent-home");
    match columns {
        Some(n) => c.env("COLUMNS", n),
        None => c.env_remove("COLUMNS"),
    };
    let out = c.output().expect("run git-parallel");
    assert!(
        out.status.success(),
        "status failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn three_active() -> TestRepo {
    let r = muaththir_ready();
    start(&r, &["DEVOPS-01", "BACKEND-01", "FRONTEND-01"]);
    let wts = r.git(&["worktree", "list", "--porcelain"]);
    assert_eq!(wts.matches("worktree ").count(), 4, "{wts}");
    r
}

/// The worktree path of the task whose branch ends in `tail`, relative to the temp dir.
fn worktree_dirs(r: &TestRepo) -> Vec<String> {
    r.git(&["worktree", "list", "--porcelain"])
        .lines()
        .filter_map(|l| l.strip_prefix("worktree "))
        .map(Path::new)
        .filter(|p| *p != r.root)
        .map(|p| {
            p.strip_prefix(r.home())
                .expect("worktree under the temp dir")
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

#[test]
fn status_at_80_columns_fits_with_three_active_tasks() {
    let r = three_active();
    let text = stdout(&status_in(&r, &r.root, Some("80"), &[]));
    for line in text.lines() {
        assert!(
            line.chars().count() <= 80,
            "line of {} chars: {line:?}\n{text}",
            line.chars().count()
        );
    }
    for id in ["DEVOPS-01", "BACKEND-01", "FRONTEND-01"] {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(id))
            .unwrap_or_else(|| panic!("no row for {id}:\n{text}"));
        assert!(line.contains("in_progress"), "{line}");
    }
    // The absolute temp dir is never printed.
    let abs = r.home().to_string_lossy().into_owned();
    assert!(!text.contains(&abs), "{text}");
    // Three active rows, one summary of the two completed tasks: nothing wraps.
    assert!(text.contains("2 completed: PRD-01, ARCH-01"), "{text}");
    // Tiny terminals do not panic and still fit.
    let narrow = stdout(&status_in(&r, &r.root, Some("20"), &[]));
    assert!(narrow.lines().all(|l| l.chars().count() <= 20), "{narrow}");
}

#[test]
fn status_paths_are_relative_from_root_and_subdirectory() {
    let r = three_active();
    let dirs = worktree_dirs(&r);
    assert_eq!(dirs.len(), 3, "{dirs:?}");
    let text = stdout(&status_in(&r, &r.root, None, &[]));
    for d in &dirs {
        assert!(
            text.contains(&format!("  ../{d}")),
            "../{d} missing:\n{text}"
        );
    }
    let sub = r.path("products/muaththir");
    let text = stdout(&status_in(&r, &sub, None, &[]));
    for d in &dirs {
        assert!(
            text.contains(&format!("  ../../../{d}")),
            "../../../{d} missing:\n{text}"
        );
    }
    // Where HOME is shorter, ~ is used.
    let mut c = r.cmd();
    c.arg("status").env("HOME", r.home()).env_remove("COLUMNS");
    let text = stdout(&c.output().expect("run"));
    for d in &dirs {
        assert!(text.contains(&format!("  ~/{d}")), "~/{d} missing:\n{text}");
    }
    // JSON keeps absolute paths and every task.
    let json = stdout(&status_in(&r, &r.root, Some("80"), &["--json"]));
    let abs = r.home().join(&dirs[0]).to_string_lossy().into_owned();
    assert!(json.contains(&abs), "{json}");
    assert!(json.contains("\"PRD-01\""), "{json}");
}

#[test]
fn status_summarises_completed_tasks_unless_all() {
    let r = muaththir_ready();
    let text = stdout(&status_in(&r, &r.root, None, &[]));
    let summary = "  2 completed: PRD-01, ARCH-01 (git parallel status --all to list them)";
    assert!(text.lines().any(|l| l == summary), "{text}");
    assert!(
        !text.lines().any(|l| l.trim_start().starts_with("PRD-01 ")),
        "{text}"
    );
    let all = stdout(&status_in(&r, &r.root, None, &["--all"]));
    assert!(!all.contains("--all to list them"), "{all}");
    for id in ["PRD-01", "ARCH-01"] {
        assert!(
            all.lines()
                .any(|l| l.trim_start().starts_with(id) && l.contains("completed")),
            "{id} not listed:\n{all}"
        );
    }
    // The rest of the report is the same.
    assert_eq!(
        text.lines().filter(|l| !l.contains("completed")).count(),
        all.lines().filter(|l| !l.contains("completed")).count()
    );
}

#[test]
fn status_piped_without_columns_is_not_cut() {
    let r = three_active();
    let wide = stdout(&status_in(&r, &r.root, None, &[]));
    assert!(!wide.contains('…'), "{wide}");
    assert!(
        wide.lines().any(|l| l.chars().count() > 80),
        "expected full rows:\n{wide}"
    );
    for d in worktree_dirs(&r) {
        assert!(wide.contains(&d), "{d} missing:\n{wide}");
    }
    assert!(wide.contains("ahead 0, behind 0"), "{wide}");
    // Stable: the same twice.
    assert_eq!(wide, stdout(&status_in(&r, &r.root, None, &[])));
}
