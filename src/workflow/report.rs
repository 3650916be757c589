//! The one output sink for what a command has to say when it is done. A report is a type that
//! is both `Serialize` (its `--json` document: the fields after `version` and `command`) and
//! `Display` (its text); [`emit`] chooses between them, and prints nothing under `-q` unless
//! the report is the answer itself (`path`). A `--dry-run` plan has one rendering, [`dry_run`].
//!
//! Report types derive `schemars::JsonSchema` with a doc comment on every field: docs/json.md
//! is generated from them.
//!
//! Notes and progress on stderr stay in crate::output (`output::note`), which this builds on.

use serde::Serialize;
use std::fmt;

use crate::error::Result;
use crate::txn::{Applied, Plan};
use crate::workflow::context::Output;

/// What a command prints when it is done.
pub trait Report: Serialize + fmt::Display + schemars::JsonSchema {
    /// Printed even with `-q`: the report is the answer asked for, not a summary.
    fn essential(&self) -> bool {
        false
    }

    /// Lines of the text that the `--json` document carries as data (kept ignored files): with
    /// `--json` they are written on stderr as `note: …` (nothing with `-q`).
    fn json_notes(&self) -> Vec<String> {
        Vec::new()
    }
}

/// `{ "version": 1, "command": …, <fields of body> }`: the envelope of every `--json` document.
pub fn envelope(command: &str, body: impl Serialize) -> serde_json::Value {
    let mut v = serde_json::json!({ "version": 1, "command": command });
    if let (Some(obj), Ok(serde_json::Value::Object(b))) =
        (v.as_object_mut(), serde_json::to_value(body))
    {
        obj.extend(b);
    }
    v
}

/// A JSON document as printed: pretty, with a final newline.
pub fn json_text(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

/// Prints `report` of `command`: its JSON envelope with `--json`, else its text (not with `-q`
/// unless [`Report::essential`]).
/// Emits the report of a transaction that took effect, and flushes it: when it cannot be
/// written, the error (fatal, like git) says that the repository did change all the same.
pub fn emit_applied<R: Report>(
    out: &Output,
    command: &str,
    report: &R,
    applied: &Applied,
) -> Result<()> {
    emit(out, command, report);
    crate::output::finish().map_err(|e| {
        let summary = &applied.summary;
        crate::fatal!(
            help = "the operation DID take effect; see 'git parallel status' (do not run it again)",
            "'{summary}' took effect, but its report could not be written to standard output: {e}"
        )
    })
}

pub fn emit<R: Report>(out: &Output, command: &str, report: &R) {
    if out.json {
        crate::output::print_str(&json_text(&envelope(command, report)));
        for line in report.json_notes() {
            crate::output::note(format_args!("{line}"));
        }
    } else if !out.quiet || report.essential() {
        let text = report.to_string();
        if !text.is_empty() {
            crate::output::print_str(&text);
        }
    }
}

/// A note on stderr that goes with the text output only (with `--json` the document carries
/// what it says; nothing with `-q`).
pub fn text_note(out: &Output, args: fmt::Arguments<'_>) {
    if !out.json && !out.quiet {
        crate::output::note(args);
    }
}

/// The `--json` document of a dry run: the plan, and that nothing was done.
#[derive(Serialize)]
struct DryRun<'a> {
    dry_run: bool,
    plan: &'a Plan,
}

/// Prints the plan of a `--dry-run` (text: numbered steps, the commit point marked).
pub fn dry_run(out: &Output, command: &str, plan: &Plan) {
    if out.json {
        let doc = DryRun {
            dry_run: true,
            plan,
        };
        crate::output::print_str(&json_text(&envelope(command, doc)));
    } else {
        crate::output::print_str(&plan.to_string());
    }
}

/// Prints a diagnostic about the input (e.g. a task-file finding, with its snippet) on stderr,
/// prefixed `error`, `warning` or `note`: in text mode only (a `--json` document carries it),
/// and with `-q` only errors.
pub fn diagnostic(out: &Output, prefix: &str, report: &miette::Report) {
    if out.json || (out.quiet && prefix != "error") {
        return;
    }
    let text = crate::error::render(prefix, report, out.color_err);
    crate::output::eprint(format_args!("{text}"));
}

/// The closing `error: …` line of a text-mode failure on stderr (nothing with `--json`).
pub fn error_line(out: &Output, text: &str) {
    if !out.json {
        crate::output::eprint(format_args!("error: {text}\n"));
    }
}
