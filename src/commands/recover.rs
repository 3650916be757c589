//! `git parallel recover --abort|--continue`: roll back or complete an interrupted operation.
//!
//! Not on the command driver (crate::workflow::driver): there is no plan to prepare, print for
//! `--dry-run` or execute. The steps to redo or undo are the interrupted operation's, read from
//! its journal by the transaction engine itself (`txn::recover`), and recover has no `--dry-run`.
//! Its typed report goes through the same sink (`crate::workflow::report::emit`).

use serde::Serialize;
use std::fmt;

use crate::cli::defs;
use crate::error::{Error, Result};
use crate::txn::{self, Recovered};
use crate::workflow::context::Context;
use crate::workflow::report::{self, Report};

/// What became of the interrupted operation (`--json`: `result`, `operation`).
#[derive(Serialize, schemars::JsonSchema)]
pub struct RecoverReport {
    /// `"rolled_back"`: every step done was undone, the repository is as before the operation
    /// (`--abort`, or `--continue` on an operation that was being rolled back); `"completed"`:
    /// the remaining steps were done (`--continue`).
    result: Outcome,
    /// The summary of the operation (as a plan's `summary`).
    operation: String,
}

/// How the interrupted operation ended.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    /// Every step done was undone.
    RolledBack,
    /// The remaining steps were done.
    Completed,
}

pub fn run(ctx: &Context) -> Result<()> {
    apply(ctx).map(|_| ())
}

/// `recover`, its report handed back (printed through the context's output as well).
pub fn apply(ctx: &Context) -> Result<RecoverReport> {
    let abort = ctx.args.on(&defs::ABORT_OP);
    let cont = ctx.args.on(&defs::CONTINUE_OP);
    if abort == cont {
        return Err(Error::usage(
            "give exactly one of --abort or --continue",
            Some(defs::RECOVER.name),
        ));
    }
    let (result, operation) = match txn::recover(&ctx.repo, cont)? {
        Recovered::RolledBack(s) => (Outcome::RolledBack, s),
        Recovered::Completed(s) => (Outcome::Completed, s),
    };
    let how = if cont { "--continue" } else { "--abort" };
    let applied = txn::Applied {
        summary: format!("recover {how} of {operation}"),
    };
    let report = RecoverReport { result, operation };
    report::emit_applied(&ctx.out, "recover", &report, &applied)?;
    Ok(report)
}

impl RecoverReport {
    /// The summary of the operation settled.
    pub fn operation(&self) -> &str {
        &self.operation
    }
}

impl fmt::Display for RecoverReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.operation;
        match self.result {
            Outcome::RolledBack => writeln!(
                f,
                "Rolled back '{s}': the repository is as it was before it."
            ),
            Outcome::Completed => writeln!(f, "Completed '{s}'."),
        }
    }
}

impl Report for RecoverReport {}

#[cfg(test)]
mod tests {
    use super::{Outcome, RecoverReport};

    #[test]
    fn result_is_snake_case_and_text_names_the_operation() {
        let r = RecoverReport {
            result: Outcome::RolledBack,
            operation: "finish A-01".into(),
        };
        let v = crate::workflow::report::envelope("recover", &r);
        assert_eq!(v["result"], "rolled_back");
        assert_eq!(v["operation"], "finish A-01");
        assert_eq!(
            r.to_string(),
            "Rolled back 'finish A-01': the repository is as it was before it.\n"
        );
        let done = RecoverReport {
            result: Outcome::Completed,
            operation: "finish A-01".into(),
        };
        assert_eq!(done.to_string(), "Completed 'finish A-01'.\n");
    }
}
