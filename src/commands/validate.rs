//! `git parallel validate`: check the task file and report every problem with its location.

use camino::Utf8Path;
use serde_json::json;

use super::common;
use super::status::{json_text, write_stdout};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::taskgraph::{Severity, TaskFile};

pub fn run(ctx: &Context) -> Result<()> {
    if ctx.out.json {
        return run_json(ctx);
    }
    // Errors and warnings are printed by load_tasks (warnings unless quiet).
    let tf = ctx.load_tasks()?;
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
    let text = std::fs::read_to_string(&path).map_err(|e| {
        crate::refused!(
            help = "check --tasks / parallel.tasks",
            "cannot read task file {path}: {e}"
        )
    })?;
    let shown = ctx.display_path(&path);
    let file = ctx.repo_relative(&path).unwrap_or_else(|| path.to_string());
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut notes = Vec::new();
    let mut tasks = None;
    match TaskFile::parse(Utf8Path::new(&shown), text.clone()) {
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
        return Err(Error::Exit(1));
    }
    Ok(())
}

/// 1-based line and column (in characters) of a report's first label, (1, 1) without one.
fn report_position(report: &miette::Report, text: &str) -> (usize, usize) {
    let offset = report
        .labels()
        .and_then(|mut l| l.next())
        .map_or(0, |l| l.offset())
        .min(text.len());
    let offset = (0..=offset)
        .rev()
        .find(|&o| text.is_char_boundary(o))
        .unwrap_or(0);
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}
