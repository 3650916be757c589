//! `git parallel undo`: reverse the last completed operation by applying the inverse of each
//! of its steps, newest first, through the transaction engine (refs move back only from the
//! values the operation left, so anything changed since makes it refuse).

use crate::cli::defs;
use crate::context::Context;
use crate::error::Result;
use crate::txn;

pub fn run(ctx: &Context) -> Result<()> {
    txn::ensure_no_pending(&ctx.repo)?;
    let plan = txn::undo_plan(&ctx.repo)?;
    if ctx.args.on(&defs::DRY_RUN) {
        if ctx.out.json {
            super::common::print_json(&super::common::json_envelope(
                "undo",
                serde_json::json!({ "dry_run": true, "plan": plan }),
            ));
        } else {
            plan.print();
        }
        return Ok(());
    }
    let summary = plan.summary.clone();
    txn::execute(&ctx.repo, plan)?;
    if ctx.out.json {
        super::common::print_json(&super::common::json_envelope(
            "undo",
            serde_json::json!({ "undone": summary.trim_start_matches("undo ") }),
        ));
    } else if !ctx.out.quiet {
        println!("Undid '{}'.", summary.trim_start_matches("undo "));
    }
    Ok(())
}
