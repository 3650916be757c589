//! One module per command; `run` dispatches on the parsed command.

pub mod abort;
pub mod approve;
pub mod common;
pub mod complete;
pub mod demo;
pub mod exec;
pub mod fail;
pub mod finish;
pub mod gc;
pub mod generate;
pub mod help;
pub mod install_docs;
pub mod path;
pub mod plan;
pub mod recover;
pub mod retry;
pub mod start;
pub mod status;
pub mod submodules;
pub mod undo;
pub mod validate;

// Shared pieces, not commands: no command module imports another.
pub mod backup;
pub mod before_start;
pub mod driver;
pub mod merge;
pub mod mergeable;
pub mod readiness;
pub mod render;
pub mod select;
pub mod table;
pub mod worktrees;

use crate::cli::Args;
use crate::context::Context;
use crate::error::Result;

pub fn run(args: Args) -> Result<()> {
    match args.command.name {
        "generate" => return generate::run(&args),
        "demo" => return demo::run(&args),
        "install-docs" => return install_docs::run(&args),
        // Completion must stay silent: no repository or no task file simply completes nothing.
        "__complete" => {
            return Context::open(args)
                .and_then(|ctx| complete::run(&ctx))
                .or(Ok(()))
        }
        _ => {}
    }
    let dry_run = &crate::cli::defs::DRY_RUN;
    if args.command.flags.iter().any(|f| std::ptr::eq(*f, dry_run)) && args.on(dry_run) {
        crate::git::PLAN_ONLY.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let ctx = Context::open(args)?;
    match ctx.args.command.name {
        "status" => status::run(&ctx),
        "plan" => plan::run(&ctx),
        "path" => path::run(&ctx),
        "validate" => validate::run(&ctx),
        "start" => start::run(&ctx),
        "finish" => finish::run(&ctx),
        "recover" => recover::run(&ctx),
        "undo" => undo::run(&ctx),
        "abort" => abort::run(&ctx),
        "fail" => fail::run(&ctx),
        "retry" => retry::run(&ctx),
        "approve" => approve::run(&ctx),
        "gc" => gc::run(&ctx),
        "exec" => exec::run(&ctx),
        name => Err(crate::fatal!("{name}: no such command")),
    }
}
