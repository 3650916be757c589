//! One module per command; `run` dispatches on the parsed command.

pub mod common;
pub mod finish;
pub mod recover;
pub mod undo;
pub mod help;
pub mod start;

use crate::cli::Args;
use crate::context::Context;
use crate::error::Result;

pub fn run(args: Args) -> Result<()> {
    #[allow(clippy::single_match)]
    match args.command.name {
        "generate" => return Err(crate::fatal!("generate: not implemented yet")),
        _ => {}
    }
    let ctx = Context::open(args)?;
    match ctx.args.command.name {
        "start" => start::run(&ctx),
        "finish" => finish::run(&ctx),
        "recover" => recover::run(&ctx),
        "undo" => undo::run(&ctx),
        name => Err(crate::fatal!("{name}: not implemented yet")),
    }
}
