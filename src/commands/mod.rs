//! One module per command; `run` dispatches on the parsed command.

pub mod abort;
pub mod approve;
pub mod common;
pub mod complete;
pub mod demo;
pub mod exec;
pub mod generate;
pub mod fail;
pub mod finish;
pub mod gc;
pub mod recover;
pub mod retry;
pub mod undo;
pub mod help;
pub mod path;
pub mod plan;
pub mod start;
pub mod status;
pub mod validate;

use crate::cli::Args;
use crate::context::Context;
use crate::error::Result;

pub fn run(args: Args) -> Result<()> {
    #[allow(clippy::single_match)]
    match args.command.name {
        "generate" => return generate::run(&args),
        "demo" => return demo::run(&args),
        _ => {}
    }
    let ctx = Context::open(args)?;
    match ctx.args.command.name {
        "__complete" => complete::run(&ctx),
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
        name => Err(crate::fatal!("{name}: not implemented yet")),
    }
}
