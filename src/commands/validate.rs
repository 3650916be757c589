//! `git parallel validate`: check the task file and report every problem with its location.

use std::collections::HashMap;

use camino::{Utf8Path, Utf8PathBuf};
use serde_json::json;

use super::common;
use super::render::{json_text, write_stdout};
use crate::context::Context;
use crate::error::Result;
use crate::taskgraph::{display, Finding, Severity, Status, TaskFile};

pub fn run(ctx: &Context) -> Result<()> {
    if ctx.out.json {
        return run_json(ctx);
    }
    // Errors and warnings are printed by load_tasks (warnings unless quiet).
    let tf = ctx.load_tasks()?;
    let start_errors = start_checks(ctx, &tf);
    for f in &start_errors {
        eprint!(
            "{}",
            crate::error::render("error", &f.report, ctx.out.color_err)
        );
    }
    if !start_errors.is_empty() {
        let n = start_errors.len();
        return Err(crate::refused!(
            "{}: {n} problem{} with the branch or worktree names `start` would use; fix {} and run again",
            tf.path,
            if n == 1 { "" } else { "s" },
            if n == 1 { "it" } else { "them" },
        ));
    }
    if !ctx.out.quiet {
        let findings = tf.validate();
        // Notes: forms read liberally (`depends_on: A`, paths in `produces`); not problems.
        for f in findings.iter().filter(|f| f.severity == Severity::Note) {
            eprint!(
                "{}",
                crate::error::render("note", &f.report, ctx.out.color_err)
            );
        }
        let warnings = findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .count();
        write_stdout(&format!(
            "{}: ok ({} task{}, {warnings} warning{})\n",
            tf.path,
            tf.graph.tasks.len(),
            if tf.graph.tasks.len() == 1 { "" } else { "s" },
            if warnings == 1 { "" } else { "s" }
        ));
    }
    Ok(())
}

fn run_json(ctx: &Context) -> Result<()> {
    let path = ctx.locate_task_file()?;
    let bytes = std::fs::read(&path).map_err(|e| {
        crate::refused!(
            help = "check --tasks / parallel.tasks",
            "cannot read task file {path}: {e}"
        )
    })?;
    let shown = ctx.display_path(&path);
    let (text, decoded) = match TaskFile::decode(Utf8Path::new(&shown), bytes.clone()) {
        Ok(t) => (t.clone(), Ok(t)),
        Err(r) => (String::from_utf8_lossy(&bytes).into_owned(), Err(r)),
    };
    let file = ctx.repo_relative(&path).unwrap_or_else(|| path.to_string());
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut notes = Vec::new();
    let mut tasks = None;
    match decoded.and_then(|t| TaskFile::parse(Utf8Path::new(&shown), t)) {
        Err(report) => {
            let (line, col) = report_position(&report, &text);
            errors.push(json!({
                "code": report.code().map(|c| c.to_string()),
                "message": report.to_string(),
                "line": line,
                "col": col,
            }));
        }
        Ok(tf) => {
            tasks = Some(tf.graph.tasks.len());
            let mut findings = tf.validate();
            if !findings.iter().any(|f| f.severity == Severity::Error) {
                findings.extend(start_checks(ctx, &tf));
            }
            findings.sort_by_key(|f| (f.line, f.col));
            for f in findings {
                let v = json!({
                    "code": f.code,
                    "message": f.message,
                    "line": f.line,
                    "col": f.col,
                });
                match f.severity {
                    Severity::Error => errors.push(v),
                    Severity::Warning => warnings.push(v),
                    Severity::Note => notes.push(v),
                }
            }
        }
    }
    let failed = !errors.is_empty();
    write_stdout(&json_text(&common::json_envelope(
        "validate",
        json!({
            "file": file,
            "ok": !failed,
            "tasks": tasks,
            "errors": errors,
            "warnings": warnings,
            "notes": notes,
        }),
    )));
    if failed {
        crate::output::mark_failed();
    }
    Ok(())
}

/// 1-based line and column (in characters) of a report's first label, (1, 1) without one.
fn report_position(report: &miette::Report, text: &str) -> (usize, usize) {
    let offset = report
        .labels()
        .and_then(|mut l| l.next())
        .map_or(0, |l| l.offset());
    crate::taskgraph::line_col(text, offset)
}

/// What `start` will need of every task not started yet: a valid branch name under
/// parallel.branchTemplate, a worktree path under parallel.worktreeTemplate inside the worktree
/// root and outside the main worktree, and no two tasks sharing either. Uses the same code as
/// `start` (`common::new_branch_name`, `common::worktree_path`). Empty outside a repository.
fn start_checks(ctx: &Context, tf: &TaskFile) -> Vec<Finding> {
    let Ok(main) = ctx.repo.workdir().map(|p| p.to_path_buf()) else {
        return Vec::new();
    };
    let task_rel = ctx
        .locate_task_file()
        .ok()
        .and_then(|p| ctx.repo_relative(&p));
    let product = common::product_name(ctx, tf, &task_rel);
    let root = common::worktree_root(ctx, &main);
    let mut out = Vec::new();
    let mut branches: HashMap<String, usize> = HashMap::new();
    let mut paths: HashMap<Utf8PathBuf, usize> = HashMap::new();
    for (i, t) in tf.graph.tasks.iter().enumerate() {
        if matches!(
            t.status,
            Status::InProgress | Status::Completed | Status::Skipped
        ) {
            continue;
        }
        let branch = common::new_branch_name(ctx, &product, t);
        let short = common::short_branch(&branch).to_string();
        let worktree = common::worktree_path(ctx, &main, &product, t);
        let mut problem = |code: &'static str, message: String, help: &str| {
            out.extend(tf.task_error(i, code, message, "this task", help.to_string()));
        };
        if !common::valid_branch(&short) {
            problem(
                "taskgraph::invalid-branch",
                format!(
                    "task `{}` would get the branch `{}`, which is not a valid git branch name",
                    display::short(&t.id),
                    display::short(&short)
                ),
                "check parallel.branchTemplate, the id and the agent",
            );
        }
        if !worktree.starts_with(&root) || worktree == root {
            problem(
                "taskgraph::worktree-outside-root",
                format!(
                    "task `{}` would get the worktree {}, outside the worktree root {root}",
                    display::short(&t.id),
                    display::short(worktree.as_str())
                ),
                "check parallel.worktreeTemplate",
            );
        } else if worktree.starts_with(&main) {
            problem(
                "taskgraph::worktree-in-main",
                format!(
                    "task `{}` would get the worktree {}, inside the main worktree",
                    display::short(&t.id),
                    display::short(worktree.as_str())
                ),
                "set parallel.worktreeTemplate to a path outside the repository (default ../worktrees/{product}/{role}-{id})",
            );
        }
        if let Some(&j) = branches.get(&short) {
            problem(
                "taskgraph::shared-branch",
                format!(
                    "tasks `{}` and `{}` would both get the branch `{}`",
                    display::short(&tf.graph.tasks[j].id),
                    display::short(&t.id),
                    display::short(&short)
                ),
                "include {id} in parallel.branchTemplate",
            );
        } else {
            branches.insert(short, i);
        }
        if let Some(&j) = paths.get(&worktree) {
            problem(
                "taskgraph::shared-worktree",
                format!(
                    "tasks `{}` and `{}` would both get the worktree {}",
                    display::short(&tf.graph.tasks[j].id),
                    display::short(&t.id),
                    display::short(worktree.as_str())
                ),
                "include {id} in parallel.worktreeTemplate",
            );
        } else {
            paths.insert(worktree, i);
        }
    }
    out
}
