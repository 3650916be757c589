//! `git parallel join ID`: take part in a task started on another clone — its worktree made
//! here on its branch (brought from the remote with `--remote`, which also becomes the branch's
//! upstream so a plain `git push` in the worktree publishes the work), set up like `start` does
//! (include files, postStart), as one transaction (src/workflow/join.rs).

use crate::cli::defs;
use crate::error::Result;
use crate::workflow::context::Context;
use crate::workflow::driver::drive;
use crate::workflow::join::prepare;
use crate::workflow::remote::{publisher, set_upstream, Publish};

pub fn run(ctx: &Context) -> Result<()> {
    let id = ctx
        .args
        .positionals
        .first()
        .map(String::as_str)
        .unwrap_or("");
    let upstream = publisher(ctx)?.map(|Publish::Push { remote }| remote);
    let prepared = prepare(ctx, id, upstream)?;
    let upstream = prepared.report.upstream.clone();
    let branch = format!("refs/heads/{}", prepared.report.branch);
    drive(ctx, prepared)?;
    match upstream {
        Some(remote) if !ctx.args.on(&defs::DRY_RUN) => set_upstream(ctx, &remote, &branch),
        _ => Ok(()),
    }
}
