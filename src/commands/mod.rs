//! The commands layer: one module per command and nothing else. Each owns its arguments, a
//! `prepare` that computes the plan and report, and the call to the driver; [`run`] dispatches on
//! the parsed command. May import the workflow layer (src/workflow/), the engine (src/txn/) and
//! the leaves (src/taskgraph/, src/git/, src/cli/, output); no command module imports another,
//! except `run`, which calls the typed entry points of the commands it orchestrates (`start::apply`,
//! `finish::land`, `fail::apply`, `recover::apply`) in-process (src/commands/run/ops.rs).

pub mod abort;
pub mod approve;
pub mod complete;
pub mod demo;
pub mod exec;
pub mod fail;
pub mod finish;
pub mod gc;
pub mod generate;
pub mod help;
pub mod install_docs;
pub mod join;
pub mod path;
pub mod plan;
pub mod recover;
pub mod retry;
pub mod run;
pub mod start;
pub mod status;
pub mod undo;
pub mod validate;
pub mod work;

use crate::cli::{Args, CommandId};
use crate::error::Result;
use crate::workflow::context::Context;
use crate::workflow::remote;

/// Runs the parsed command: an exhaustive match from the table's `CommandId` to its run
/// function.
pub fn run(args: Args) -> Result<()> {
    let run: fn(&Context) -> Result<()> = match args.command.id {
        CommandId::Generate => return generate::run(args),
        CommandId::Demo => return demo::run(&args),
        CommandId::InstallDocs => return install_docs::run(&args),
        // It may clone the repository first.
        CommandId::Work => return work::run(args),
        // Completion must stay silent: no repository or no task file simply completes nothing.
        CommandId::Complete => {
            return Context::open(args)
                .and_then(|ctx| complete::run(&ctx))
                .or(Ok(()))
        }
        CommandId::Status => status::run,
        CommandId::Plan => plan::run,
        CommandId::Path => path::run,
        CommandId::Validate => validate::run,
        CommandId::Start => start::run,
        CommandId::Finish => finish::run,
        CommandId::Recover => recover::run,
        CommandId::Undo => undo::run,
        CommandId::Abort => abort::run,
        CommandId::Skip => abort::skip,
        CommandId::Fail => fail::run,
        CommandId::Retry => retry::run,
        CommandId::Approve => approve::run,
        CommandId::Join => join::run,
        CommandId::Gc => gc::run,
        CommandId::Exec => exec::run,
        CommandId::Run => run::run,
    };
    let drops = matches!(
        args.command.id,
        CommandId::Finish | CommandId::Fail | CommandId::Skip | CommandId::Abort
    );
    let ctx = Context::open(args)?;
    match drops {
        true => remote::session_dropping(&ctx, run),
        false => remote::session(&ctx, run),
    }
}

/// The report type of every command with a `--json` document, for docs/json.md (json_doc):
/// registering one is this one line, `schema::<module::Type>("command")`.
pub fn report_schemas() -> Vec<(&'static str, schemars::Schema)> {
    use crate::workflow::{bisect, merge};
    use generate::json_doc::schema;
    vec![
        schema::<status::StatusReport>("status"),
        schema::<plan::PlanReport>("plan"),
        schema::<path::TaskPath>("path"),
        schema::<validate::Validated>("validate"),
        schema::<start::StartReport>("start"),
        schema::<finish::FinishReport>("finish"),
        // finish's refusals that print a document all the same (exit 1, nothing changed).
        schema::<merge::Conflicted>("finish-conflicts"),
        schema::<bisect::TestRefused>("finish-test-failures"),
        schema::<abort::Aborted>("abort"),
        schema::<abort::SkipReport>("skip"),
        schema::<fail::Failed>("fail"),
        schema::<retry::RetryReport>("retry"),
        schema::<approve::Approved>("approve"),
        schema::<crate::workflow::join::Joined>("join"),
        schema::<work::Worked>("work"),
        schema::<remote::status::RemoteStatus>("status-remote"),
        schema::<recover::RecoverReport>("recover"),
        schema::<undo::Undone>("undo"),
        schema::<gc::Collected>("gc"),
        schema::<exec::Executed>("exec"),
        schema::<run::events::Event>("run-event"),
        schema::<run::events::Summary>("run"),
    ]
}
