//! `git parallel recover --abort|--continue`: roll back or complete an interrupted operation.

use crate::cli::defs;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::txn::{self, Recovered};

pub fn run(ctx: &Context) -> Result<()> {
    let abort = ctx.args.on(&defs::ABORT_OP);
    let cont = ctx.args.on(&defs::CONTINUE_OP);
    if abort == cont {
        return Err(Error::usage(
            "give exactly one of --abort or --continue",
            Some(defs::RECOVER.name),
        ));
    }
    let done = txn::recover(&ctx.repo, cont)?;
    let (what, summary) = match &done {
        Recovered::RolledBack(s) => ("rolled_back", s),
        Recovered::Completed(s) => ("completed", s),
    };
    if ctx.out.json {
        super::common::print_json(&super::common::json_envelope(
            "recover",
            serde_json::json!({ "result": what, "operation": summary }),
        ));
    } else if !ctx.out.quiet {
        match done {
            Recovered::RolledBack(s) => {
                println!("Rolled back '{s}': the repository is as it was before it.")
            }
            Recovered::Completed(s) => println!("Completed '{s}'."),
        }
    }
    Ok(())
}
