//! `git parallel validate`: check the task file and report every problem with its location.
//!
//! Text: the problems on stderr (errors, then warnings unless `-q`; notes when there is no
//! error) and `FILE: ok (…)` on stdout. `--json`: one document with every finding, printed also
//! when the file has errors (exit 1 then).

use std::collections::HashMap;
use std::fmt;

use camino::{Utf8Path, Utf8PathBuf};
use serde::Serialize;

use crate::error::Result;
use crate::taskgraph::{display, Finding, Severity, Status, Task, TaskFile};
use crate::workflow::context::Context;
use crate::workflow::render::plural;
use crate::workflow::report::{self, Report};

/// What `validate` found.
#[derive(Serialize, schemars::JsonSchema)]
pub struct Validated {
    /// The task file checked (see Paths above).
    file: String,
    /// `true` when there are no errors (warnings allowed).
    ok: bool,
    /// How many tasks the file has; `null` when it could not be read as a task graph at all.
    tasks: Option<usize>,
    /// Findings that make the file unusable, sorted by position.
    errors: Vec<Problem>,
    /// Findings that do not (e.g. a consumed artifact that no task produces), sorted by
    /// position.
    warnings: Vec<Problem>,
    /// Forms read liberally, not problems: a single value where a list is expected
    /// (`depends_on: ARCH-01`), plain paths in `produces`; sorted by position.
    notes: Vec<Problem>,
    /// The file as the text names it (relative to the current directory).
    #[serde(skip)]
    shown: String,
}

/// One finding of `validate --json`.
#[derive(Serialize, schemars::JsonSchema)]
struct Problem {
    /// A stable identifier such as `taskgraph::syntax`, `taskgraph::schema-file`,
    /// `taskgraph::duplicate-id`, `taskgraph::unknown-dependency`, `taskgraph::cycle`,
    /// `taskgraph::unknown-status`.
    code: Option<String>,
    /// One line, the same as the text output's.
    message: String,
    /// 1-based line of the offending node.
    line: usize,
    /// 1-based column, in characters.
    col: usize,
}

impl fmt::Display for Validated {
    /// `FILE: ok (N tasks, W warnings)`; nothing when there are errors (they go to stderr).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.ok {
            return Ok(());
        }
        let tasks = self.tasks.unwrap_or(0);
        let warnings = self.warnings.len();
        writeln!(
            f,
            "{}: ok ({tasks} task{}, {warnings} warning{})",
            self.shown,
            plural(tasks),
            plural(warnings)
        )
    }
}

impl Report for Validated {}

/// The text of a check: the diagnostics in the order the text shows them (`error`, `warning`
/// or `note`, and the report with its snippet), then the closing error line if it failed.
#[derive(Default)]
struct Diagnostics {
    shown: Vec<(&'static str, miette::Report)>,
    failure: Option<String>,
}

pub fn run(ctx: &Context) -> Result<()> {
    let (validated, diagnostics) = check(ctx)?;
    for (prefix, r) in &diagnostics.shown {
        report::diagnostic(&ctx.out, prefix, r);
    }
    if let Some(line) = &diagnostics.failure {
        report::error_line(&ctx.out, line);
    }
    report::emit(&ctx.out, "validate", &validated);
    if !validated.ok {
        return Err(crate::error::Error::Failed);
    }
    Ok(())
}

/// Reads, parses and checks the task file; only a file that cannot be found or read is an error.
fn check(ctx: &Context) -> Result<(Validated, Diagnostics)> {
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
    let mut v = Validated {
        file: ctx.repo_relative(&path).unwrap_or_else(|| path.to_string()),
        ok: true,
        tasks: None,
        errors: Vec::new(),
        warnings: Vec::new(),
        notes: Vec::new(),
        shown: shown.clone(),
    };
    let mut d = Diagnostics::default();
    match decoded.and_then(|t| TaskFile::parse(Utf8Path::new(&shown), t)) {
        Err(r) => {
            let (line, col) = report_position(&r, &text);
            v.errors.push(Problem {
                code: r.code().map(|c| c.to_string()),
                message: r.to_string(),
                line,
                col,
            });
            d.shown.push(("error", r));
        }
        Ok(tf) => {
            v.tasks = Some(tf.graph.tasks.len());
            let findings = checked(ctx, &tf, &mut d);
            v.add(findings, &mut d);
        }
    }
    v.ok = v.errors.is_empty();
    Ok((v, d))
}

/// The findings of a parsed task file, and the closing error line of the text if any: the
/// graph's own, then (when it has no error) what `start` will need of it.
fn checked(ctx: &Context, tf: &TaskFile, d: &mut Diagnostics) -> Vec<Finding> {
    let mut findings = tf.validate();
    let errors = count(&findings, Severity::Error);
    if errors > 0 {
        d.failure = Some(format!(
            "{}: {errors} error{} in the task graph; fix {} and run again (git parallel validate)",
            tf.path,
            plural(errors),
            if errors == 1 { "it" } else { "them" }
        ));
        return findings;
    }
    let start = start_checks(ctx, tf);
    let n = start.len();
    if n > 0 {
        d.failure = Some(format!(
            "{}: {n} problem{} with the branch or worktree names `start` would use; fix {} and run again",
            tf.path,
            plural(n),
            if n == 1 { "it" } else { "them" },
        ));
    }
    findings.extend(start);
    findings
}

fn count(findings: &[Finding], severity: Severity) -> usize {
    findings.iter().filter(|f| f.severity == severity).count()
}

impl Validated {
    /// Files `findings` (in the order found) by severity, sorted by position, and hands their
    /// reports to the text: notes only when nothing failed.
    fn add(&mut self, findings: Vec<Finding>, d: &mut Diagnostics) {
        let failed = d.failure.is_some();
        let mut sorted: Vec<(usize, usize, usize)> = findings
            .iter()
            .enumerate()
            .map(|(k, f)| (f.line, f.col, k))
            .collect();
        sorted.sort();
        for &(_, _, k) in &sorted {
            let f = &findings[k];
            let p = Problem {
                code: Some(f.code.to_string()),
                message: f.message.clone(),
                line: f.line,
                col: f.col,
            };
            match f.severity {
                Severity::Error => self.errors.push(p),
                Severity::Warning => self.warnings.push(p),
                Severity::Note => self.notes.push(p),
            }
        }
        // The text: errors and warnings as found, then the notes (only when nothing failed).
        let (notes, problems): (Vec<Finding>, Vec<Finding>) = findings
            .into_iter()
            .partition(|f| f.severity == Severity::Note);
        for f in problems {
            let prefix = match f.severity {
                Severity::Error => "error",
                _ => "warning",
            };
            d.shown.push((prefix, f.report));
        }
        if !failed {
            d.shown
                .extend(notes.into_iter().map(|f| ("note", f.report)));
        }
    }
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
/// `start` (`crate::workflow::naming::new_branch_name`, `crate::workflow::naming::worktree_path`). Empty outside a repository.
fn start_checks(ctx: &Context, tf: &TaskFile) -> Vec<Finding> {
    let Ok(main) = ctx.repo.workdir().map(|p| p.to_path_buf()) else {
        return Vec::new();
    };
    let task_rel = ctx
        .locate_task_file()
        .ok()
        .and_then(|p| ctx.repo_relative(&p));
    let product = crate::workflow::naming::product_name(ctx, tf, &task_rel);
    let root = crate::workflow::naming::worktree_root(ctx, &main);
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
        let branch = crate::workflow::naming::new_branch_name(ctx, &product, t);
        let short = crate::git::short_branch(&branch).to_string();
        let worktree = crate::workflow::naming::worktree_path(ctx, &main, &product, t);
        let mut problems = name_problems(t, &short, &worktree, &root, &main);
        let other = |j: usize| display::short(&tf.graph.tasks[j].id).into_owned();
        if let Some(&j) = branches.get(&short) {
            problems.push((
                "taskgraph::shared-branch",
                format!(
                    "tasks `{}` and `{}` would both get the branch `{}`",
                    other(j),
                    display::short(&t.id),
                    display::short(&short)
                ),
                "include {id} in parallel.branchTemplate",
            ));
        } else {
            branches.insert(short, i);
        }
        if let Some(&j) = paths.get(&worktree) {
            problems.push((
                "taskgraph::shared-worktree",
                format!(
                    "tasks `{}` and `{}` would both get the worktree {}",
                    other(j),
                    display::short(&t.id),
                    display::short(worktree.as_str())
                ),
                "include {id} in parallel.worktreeTemplate",
            ));
        } else {
            paths.insert(worktree, i);
        }
        for (code, message, help) in problems {
            out.extend(tf.task_error(i, code, message, "this task", help.to_string()));
        }
    }
    out
}

/// A problem `start` would have: its code, message and help.
type NameProblem = (&'static str, String, &'static str);

/// What is wrong with the branch name `short` and the worktree path `worktree` that task `t`
/// would get, on their own (not shared with another task).
fn name_problems(
    t: &Task,
    short: &str,
    worktree: &Utf8Path,
    root: &Utf8Path,
    main: &Utf8Path,
) -> Vec<NameProblem> {
    let mut out = Vec::new();
    if !crate::workflow::naming::valid_branch(short) {
        out.push((
            "taskgraph::invalid-branch",
            format!(
                "task `{}` would get the branch `{}`, which is not a valid git branch name",
                display::short(&t.id),
                display::short(short)
            ),
            "check parallel.branchTemplate, the id and the agent",
        ));
    }
    if !worktree.starts_with(root) || worktree == root {
        out.push((
            "taskgraph::worktree-outside-root",
            format!(
                "task `{}` would get the worktree {}, outside the worktree root {root}",
                display::short(&t.id),
                display::short(worktree.as_str())
            ),
            "check parallel.worktreeTemplate",
        ));
    } else if worktree.starts_with(main) {
        out.push((
            "taskgraph::worktree-in-main",
            format!(
                "task `{}` would get the worktree {}, inside the main worktree",
                display::short(&t.id),
                display::short(worktree.as_str())
            ),
            "set parallel.worktreeTemplate to a path outside the repository (default ../worktrees/{product}/{role}-{id})",
        ));
    }
    out
}
