//! The one driver of mutating commands. A command's `prepare` computes everything up front (pure
//! apart from reading the repository): the [`Plan`] of steps and the report to print once the
//! plan has taken effect. [`drive`] then prints the plan for `--dry-run`, or executes it through
//! the transaction engine, and writes the report through the sink (crate::workflow::report).

use crate::cli::defs;
use crate::error::Result;
use crate::txn::{self, Plan};
use crate::workflow::context::Context;
use crate::workflow::report::{self, Report};

/// A command, ready to apply: its plan (None: nothing to do, the report says why) and the report.
pub struct Prepared<R> {
    pub plan: Option<Plan>,
    pub report: R,
}

impl<R> Prepared<R> {
    /// `plan` to execute, then `report`.
    pub fn new(plan: Plan, report: R) -> Self {
        Prepared {
            plan: Some(plan),
            report,
        }
    }

    /// Nothing to execute; `report` says why.
    pub fn nothing(report: R) -> Self {
        Prepared { plan: None, report }
    }
}

/// Dry run: prints the plan. Otherwise executes it (when there is one) and prints the report.
pub fn drive<R: Report>(ctx: &Context, prepared: Prepared<R>) -> Result<()> {
    drive_report(ctx, prepared).map(|_| ())
}

/// [`drive`], giving the report back: for a caller that goes on with it (`run`, which calls
/// the commands in-process with a silent output). A dry run gives it back too, unapplied.
pub fn drive_report<R: Report>(ctx: &Context, prepared: Prepared<R>) -> Result<R> {
    let command = ctx.args.command.name;
    if let Some(plan) = prepared.plan {
        let plan = super::remote::publish(ctx, plan)?;
        if ctx.args.on(&defs::DRY_RUN) {
            report::dry_run(&ctx.out, command, &plan);
            return Ok(prepared.report);
        }
        let applied = txn::execute(&ctx.repo, &ctx.lock, plan)?;
        report::emit_applied(&ctx.out, command, &prepared.report, &applied)?;
        return Ok(prepared.report);
    }
    report::emit(&ctx.out, command, &prepared.report);
    Ok(prepared.report)
}
