//! `--remote NAME` (or `parallel.remote`): clones on any machine coordinated through a shared git
//! remote, with no server of our own. Before a mutating command plans, [`session`] fetches the
//! remote and brings the local target and task branches up to it (src/commands/remote/sync.rs);
//! the command then plans exactly as it does locally, and [`publish`] adds the step that makes
//! the result take effect for everyone: one atomic push leased on every ref it changes
//! (src/txn/steps/push.rs), the plan's commit point. When another clone published first, the push is
//! refused, nothing local stays changed, and `finish` (or `start --retry`) recomputes on the new
//! tip, a bounded number of times. `status --remote` is src/commands/remote/status.rs.

pub mod attempts;
pub(crate) mod status;
mod sync;

use crate::cli::defs::{self, Flag, RemotePolicy};
use crate::cli::CommandId;
use crate::error::{Code, Result};
use crate::git::{remote, RefUpdate};
use crate::txn::steps::{AddWorktree, Push, Refs, SyncMain};
use crate::txn::{Plan, Step};
use crate::workflow::context::Context;

/// How a command's result is published for the other clones. Today one way; a forge mode
/// (open a pull request and let the forge's merge queue land it) would be another variant,
/// with its own step in place of [`Step::Push`].
#[derive(Clone, Debug)]
pub(crate) enum Publish {
    /// An atomic push to this remote, leased on every ref.
    Push { remote: String },
}

/// How often `finish` (and `start --retry`) computes its result when others keep publishing
/// first.
const ATTEMPTS: usize = 3;

/// Whether the running command takes `flag`.
fn takes(ctx: &Context, flag: &'static Flag) -> bool {
    ctx.args
        .command
        .flags
        .iter()
        .any(|f| std::ptr::eq(*f, flag))
}

/// Whether the running command was given the switch `flag` (false when it does not take it).
fn on(ctx: &Context, flag: &'static Flag) -> bool {
    takes(ctx, flag) && ctx.args.on(flag)
}

/// How the running command publishes: `--remote NAME`, else `parallel.remote`, when the
/// command takes the flag; None: it works on this clone alone.
pub(crate) fn publisher(ctx: &Context) -> Result<Option<Publish>> {
    if !takes(ctx, &defs::REMOTE) {
        return Ok(None);
    }
    let Some(name) = ctx
        .flag_or_config(&defs::REMOTE)
        .filter(|n| !n.trim().is_empty())
        .or_else(|| join_default(ctx))
    else {
        return Ok(None);
    };
    if name.starts_with('-') || !remote::configured(&ctx.repo.loc, &name) {
        return Err(crate::refused!(
            help =
                "name a configured remote (git remote -v), or add one: git remote add {name} <url>",
            "{name:?} is not a configured git remote (--remote / parallel.remote)"
        ));
    }
    Ok(Some(Publish::Push { remote: name }))
}

/// `join` without `--remote` or `parallel.remote` in a clone with exactly one remote: that one
/// (joining is taking part in work published elsewhere; a clone of the shared remote has just it).
fn join_default(ctx: &Context) -> Option<String> {
    if ctx.args.command.id != CommandId::Join {
        return None;
    }
    let mut names = remote::names(&ctx.repo.loc).into_iter();
    match (names.next(), names.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}

/// Runs the mutating command `run`; with a remote, after syncing from it, and again (fetching
/// anew) when its push lost a race and the command recomputes (`finish`, `start --retry`).
pub(crate) fn session<T>(ctx: &Context, mut run: impl FnMut(&Context) -> Result<T>) -> Result<T> {
    let policy = ctx.args.command.remote;
    let publish = if matches!(policy, RemotePolicy::None) {
        None
    } else {
        publisher(ctx)?
    };
    let Some(Publish::Push { remote }) = publish else {
        return run(ctx);
    };
    let attempts = match policy {
        RemotePolicy::Recompute => ATTEMPTS,
        RemotePolicy::RecomputeWith(flag) if on(ctx, flag) => ATTEMPTS,
        _ => 1,
    };
    let mut attempt = 1;
    loop {
        sync::sync(ctx, &remote, on(ctx, &defs::DRY_RUN))?;
        match run(ctx) {
            Err(e) if e.code() == Code::RemoteRace && attempt < attempts => {
                attempt += 1;
                crate::output::eprint(format_args!(
                    "{}",
                    crate::error::render_error("note", &e, ctx.out.color_err)
                ));
                crate::output::note(format_args!(
                    "fetching {remote} again and recomputing on its new tip (attempt {attempt} of {attempts})"
                ));
            }
            other => return other,
        }
    }
}

/// [`session`] for a command that lands or drops tasks typed by hand (finish, fail, skip,
/// abort): then, with a remote, the lease and outcomes of every task whose status it changed
/// out of in_progress (or to skipped) are deleted from the remote after its own push, leased on
/// the values read (best effort: a leftover is harmless, attempt numbers only grow). `run`
/// clears those of the tasks it lands or drops itself.
pub(crate) fn session_dropping<T>(
    ctx: &Context,
    mut run: impl FnMut(&Context) -> Result<T>,
) -> Result<T> {
    if !matches!(publisher(ctx), Ok(Some(_))) {
        return session(ctx, run);
    }
    let mut before = None;
    let result = session(ctx, |c| {
        before = statuses(c);
        run(c)
    });
    if let (Some(before), Ok(Some(Publish::Push { remote }))) = (before, publisher(ctx)) {
        clear_dropped(ctx, &remote, &before);
    }
    result
}

/// Every task's status in the task file as it is here (None: it cannot be read), read quietly.
fn statuses(ctx: &Context) -> Option<std::collections::BTreeMap<String, crate::taskgraph::Status>> {
    let path = ctx.locate_task_file().ok()?;
    let bytes = std::fs::read(&path).ok()?;
    let text = crate::taskgraph::TaskFile::decode(&path, bytes).ok()?;
    let tf = crate::taskgraph::TaskFile::parse(&path, text).ok()?;
    Some(
        tf.graph
            .tasks
            .into_iter()
            .map(|t| (t.id, t.status))
            .collect(),
    )
}

/// Deletes from `remote` the protocol refs of the tasks that left in_progress since `before`.
fn clear_dropped(
    ctx: &Context,
    remote: &str,
    before: &std::collections::BTreeMap<String, crate::taskgraph::Status>,
) {
    use crate::taskgraph::Status;
    let Some(after) = statuses(ctx) else { return };
    let dropped: Vec<&str> = after
        .iter()
        .filter(|(id, now)| {
            let was = before.get(*id).copied();
            was != Some(**now)
                && (was == Some(Status::InProgress) || **now == Status::Skipped)
                && **now != Status::InProgress
        })
        .map(|(id, _)| id.as_str())
        .collect();
    if dropped.is_empty() {
        return;
    }
    let loc = &ctx.repo.loc;
    let Ok(board) = attempts::read_all(loc, remote) else {
        return;
    };
    let _ = attempts::clear(loc, remote, &board, &dropped);
}

/// The plan as the running command publishes it. `--no-worktree`: without the steps that make
/// or take a worktree.
/// With a remote: plus one [`Step::Push`] of every branch the plan changes, each leased on the
/// value fetched from the remote, inserted as the commit point (after the plan's own commit
/// point, or after its last ref change): a refused push rolls the local steps back, and the
/// local cleanup after it only goes forward.
pub(crate) fn publish(ctx: &Context, mut plan: Plan) -> Result<Plan> {
    if on(ctx, &defs::NO_WORKTREE) {
        plan.steps.retain(|s| {
            !matches!(
                s,
                Step::AddWorktree(AddWorktree { .. })
                    | Step::Pool(crate::txn::pool::Pool::Take { .. })
            )
        });
    }
    let Some(Publish::Push { remote }) = publisher(ctx)? else {
        return Ok(plan);
    };
    if on(ctx, &defs::NO_COMMIT) {
        return Err(crate::refused!(
            help = "leave out --no-commit: with a remote the task file on its target is the one shared record",
            "--no-commit cannot be used with --remote {remote}"
        ));
    }
    let updates = push_updates(ctx, &remote, &plan)?;
    if updates.is_empty() {
        return Ok(plan);
    }
    let at = match plan.commit_point {
        Some(cp) => cp + 1,
        None => plan
            .steps
            .iter()
            .rposition(|s| matches!(s, Step::Refs(Refs { .. }) | Step::SyncMain(SyncMain { .. })))
            .map_or(0, |i| i + 1),
    };
    plan.steps.insert(at, Step::Push(Push { remote, updates }));
    plan.commit_point = Some(at);
    Ok(plan)
}

/// Every branch the plan's ref steps leave at a new value, from its value on the remote (as
/// fetched) to that value.
fn push_updates(ctx: &Context, remote: &str, plan: &Plan) -> Result<Vec<RefUpdate>> {
    let mut finals: Vec<(String, Option<gix::ObjectId>)> = Vec::new();
    for s in &plan.steps {
        let Step::Refs(Refs { updates, .. }) = s else {
            continue;
        };
        for u in updates
            .iter()
            .filter(|u| u.old != u.new && u.name.starts_with("refs/heads/"))
        {
            match finals.iter_mut().find(|(n, _)| *n == u.name) {
                Some(f) => f.1 = u.new,
                None => finals.push((u.name.clone(), u.new)),
            }
        }
    }
    let mut out = Vec::new();
    for (name, new) in finals {
        let old = ctx.repo.ref_id(&remote::fetched_ref(remote, &name))?;
        if old != new {
            out.push(RefUpdate { name, old, new });
        }
    }
    Ok(out)
}

/// Makes `remote` the upstream of `branch`, so that a plain `git push` in its worktree
/// publishes there (branch.<b>.remote / branch.<b>.merge).
pub(crate) fn set_upstream(ctx: &Context, remote: &str, branch: &str) -> Result<()> {
    let short = crate::git::short_branch(branch);
    for (key, value) in [("remote", remote), ("merge", branch)] {
        let mut cmd = ctx.repo.git_main();
        cmd.args(["config", &format!("branch.{short}.{key}"), value]);
        crate::git::cli::run(cmd)?;
    }
    Ok(())
}
