//! `git parallel run [ID…]`: the whole protocol, unattended. Starts every ready task, runs the
//! agent command in each task's worktree (at most `-j N` at once), finishes a task as soon as
//! its agent succeeds, runs a failed attempt again in the same worktree up to
//! `parallel.maxRetries` retries and then marks the task failed, and starts whatever became
//! ready at once. Every repository change is one of the commands (start, finish, fail,
//! recover) called in-process through the driver, one at a time.
//!
//! History (issue 20 item 6). Without a remote, run's starts make no commit: each writes its
//! records (status `in_progress`, `started_at`, `assigned_to`, `metadata.updated_at`) to the
//! main worktree's task file in one journaled `WriteFile` step (its inverse writes the old text
//! back), and the next commit of the task file carries them — the next landing's merge commit,
//! which also holds the completion (`parallel.foldStatus`), or any command's record. A finish
//! that merges nothing (tasks that produce nothing, their agents done without commits) writes
//! their completion (`completed`, `completed_at`, `result`) the same way, so their dependents
//! start at once from the main worktree's copy. What is still pending when run ends is
//! committed in one commit ([`crate::commands::start::commit_pending`]). A run of N tasks that
//! produce files thus adds N merge commits and at most one other, and no task branch starts
//! "behind" a start commit. Chosen over keeping start's commit on a ref of our own and folding it into the next
//! merge, which has more ways to go wrong: the main worktree's task file would say `pending`
//! for running tasks (status, plan, a `start` typed by a user would all read a stale file, or
//! all have to learn the ref), and a second line of history would have to be kept in step with
//! the target through kills. Here the file says what is true, and the pending state is
//! recognised from the files alone, with no record of ours that a kill could lose:
//! [`crate::workflow::session::Session::pending_records`] replays the records on the committed
//! text and accepts only an exact match (index untouched); anything else in the task file is
//! refused as before. After a signal the engine starts no transaction, so an interrupted run
//! leaves the records uncommitted for the next run (or command) to carry. With a remote every
//! start and completion is committed and pushed: the remote's task file tells other clones
//! what is taken.
//!
//! Files: schedule.rs (the event loop; one attempt is src/workflow/attempt/),
//! landing.rs (finishing the agents' work), moved.rs (whether a branch moved under its
//! agent), state.rs (attempt records that let a second run continue), ops.rs (the commands
//! run calls, typed), events.rs (events and summary),
//! display.rs (live display, event lines, JSON lines), budget.rs (what the agents used, the
//! budgets, a preset agent's command line; the presets are src/workflow/presets.rs),
//! executor.rs (where attempts run: `--executor local|ssh|command`, the hosts and their slots),
//! dispatch.rs (a remote attempt: its lease written, then `ssh … git parallel work` or the
//! `--dispatch` template), watch.rs (the thread that reads the remote's leases and outcomes and
//! ends remote attempts with the same event a local agent sends).

mod budget;
mod dispatch;
pub mod display;
pub mod events;
pub mod executor;
mod failures;
mod gate;
mod landing;
mod lock;
mod moved;
mod ops;
mod order;
pub mod schedule;
pub mod state;
mod tally;
#[cfg(test)]
mod tests;
mod watch;

use std::collections::BTreeSet;
use std::fmt::Write;
use std::time::{Duration, Instant};

use crate::cli::defs;
use crate::error::{Error, Result};
use crate::taskgraph::schedule::{blockers, critical_path, sequential_minutes, Blocker};
use crate::taskgraph::{Status, TaskFile};
use crate::workflow::context::Context;
use events::{Event, NotRun, Summary, Waiting};
use schedule::{Budget, Config, Sched};

/// The grace period between SIGTERM and SIGKILL for an agent, in seconds (overridden by
/// `GIT_PARALLEL_KILL_GRACE`).
const GRACE_SECONDS: u64 = 5;

pub fn run(ctx: &Context) -> Result<()> {
    let began = Instant::now();
    if ctx.args.on(&defs::DRY_RUN) {
        return dry_run(ctx, began);
    }
    crate::txn::interrupt::install();
    // One run per repository: a second one would run a second agent in every worktree.
    let _lock = lock::acquire(&crate::workflow::agent_env::run_dir(&ctx.repo))?;
    let sandbox = crate::sandbox::Policy::load(
        &ctx.repo,
        ctx.args.value(&defs::SANDBOX),
        crate::sandbox::Mode::Auto,
    )?;
    let executor = executor::Executor::from_ctx(ctx)?;
    let ops = ops::Ops::new(ctx, sandbox.mode, executor.remote().is_some());
    if let Some(op) = ops.settle(ctx)? {
        crate::workflow::report::text_note(
            &ctx.out,
            format_args!("settled the interrupted operation '{op}'"),
        );
    }
    let env = crate::workflow::session::Session::load_readonly(ctx)?;
    let tf = &env.tf;
    let cfg = config(ctx, &env, began, sandbox, executor)?;
    if cfg.sandbox.active() {
        crate::output::note(format_args!("{}", cfg.sandbox.describe("agents")));
    } else if cfg.sandbox.mode != crate::sandbox::Mode::Off {
        crate::output::warning(format_args!("{}", cfg.sandbox.describe("agents")));
    }
    let scope = cfg.scope.clone();
    let mut summary = Summary {
        sequential_minutes: sequential_minutes(&tf.graph),
        critical_path_minutes: critical_path(&tf.graph).minutes,
        ..Summary::default()
    };
    let jobs = cfg.jobs;
    let mut sched = Sched::new(ctx, cfg, ops, env.target.clone());
    sched
        .sink
        .plan(tally::Tally::new(tf.graph.clone(), scope.clone(), jobs));
    let result = sched.drive();
    // The records no landing carried (the start of tasks neither landed nor failed, after a
    // budget or a stop; the completion of tasks that produce nothing, landed last), still
    // uncommitted in the main worktree: committed in one commit. Not after a signal (the
    // engine starts nothing then): the next run, or any command that commits the task file,
    // carries them.
    let committed = match crate::txn::interrupt::received() {
        None => sched.ops.commit_pending(ctx).map(|_| ()),
        Some(_) => Ok(()),
    };
    std::mem::swap(&mut summary.completed, &mut sched.summary.completed);
    summary.failed = std::mem::take(&mut sched.summary.failed);
    summary.attempts = sched.summary.attempts;
    summary.interrupted = sched.summary.interrupted;
    summary.cost_usd = sched.summary.cost_usd;
    summary.tokens = sched.summary.tokens;
    summary.budget_reached = sched.stopped_by.clone();
    summary.results = std::mem::take(&mut sched.summary.results);
    result?;
    committed?;
    if !summary.interrupted {
        wrap_up(&ctx.load_tasks()?, scope.as_ref(), &mut sched, &mut summary);
    }
    summary.wall_seconds = began.elapsed().as_secs();
    summary.kept_ignored = crate::workflow::kept_space::KeptSpace::measure(&ctx.repo);
    summary.gate_worktree = crate::workflow::kept_space::GateSpace::measure(&ctx.repo);
    sched.sink.summary(&summary);
    outcome(&summary)
}

/// `run --dry-run`: the settings checked as run checks them, then what it would start first,
/// what it would take up again and what waits; no lock taken, nothing settled or changed.
fn dry_run(ctx: &Context, began: Instant) -> Result<()> {
    let sandbox = crate::sandbox::Policy::load(
        &ctx.repo,
        ctx.args.value(&defs::SANDBOX),
        crate::sandbox::Mode::Auto,
    )?;
    let executor = executor::Executor::from_ctx(ctx)?;
    let env = crate::workflow::session::Session::load_readonly(ctx)?;
    let cfg = config(ctx, &env, began, sandbox, executor)?;
    let graph = &env.tf.graph;
    let in_scope = |id: &str| cfg.scope.as_ref().is_none_or(|s| s.contains(id));
    let ready = order::by_remaining_path(graph, &crate::taskgraph::schedule::select(graph).run);
    let start: Vec<String> = ready
        .iter()
        .map(|&i| graph.tasks[i].id.clone())
        .filter(|id| in_scope(id))
        .collect();
    let resume: Vec<String> = graph
        .tasks
        .iter()
        .filter(|t| t.status == Status::InProgress && in_scope(&t.id))
        .map(|t| t.id.clone())
        .collect();
    let free = cfg.jobs.saturating_sub(resume.len());
    let start: Vec<String> = start.into_iter().take(free).collect();
    let later = graph
        .tasks
        .iter()
        .filter(|t| !t.status.is_done() && t.status != Status::InProgress && in_scope(&t.id))
        .filter(|t| !start.contains(&t.id))
        .map(|t| t.id.clone())
        .collect();
    let plan = Event::Plan {
        start,
        resume,
        later,
        jobs: cfg.jobs,
        executor: match cfg.executor.remote() {
            Some(r) => r.name_on(None),
            None => "local".into(),
        },
    };
    if ctx.out.json {
        let doc = crate::workflow::report::envelope("run", &plan);
        crate::output::print_str(&format!("{doc}\n"));
    } else {
        crate::output::print(format_args!("{}\n", plan.line()));
    }
    Ok(())
}

/// The exit: interrupted (128 + signal), 1 when a task ended failed, else 0.
fn outcome(s: &Summary) -> Result<()> {
    if let Some(signal) = crate::txn::interrupt::received().filter(|_| s.interrupted) {
        return Err(Error::Interrupted {
            signal,
            report: miette::miette!(
                help = "run 'git parallel run' again to continue where it stopped",
                "run was interrupted by {}; the agents were stopped and every task left as it was",
                crate::txn::interrupt::name(signal)
            ),
        });
    }
    if let Some(budget) = &s.budget_reached {
        let undone: Vec<&str> = s.not_run.iter().map(|n| n.id.as_str()).collect();
        if !undone.is_empty() {
            return Err(crate::refused!(
                help = "raise the budget and run 'git parallel run' again to continue",
                "run stopped launching agents: {budget}; left undone: {}",
                undone.join(", ")
            ));
        }
    }
    if !s.failed.is_empty() {
        return Err(crate::refused!(
            help =
                "their branches and worktrees are kept; see the logs under .git/parallel/run/logs/; 'git parallel retry ID' gives a task another round, 'git parallel skip ID' drops it",
            "{} failed after using up {} retries: {}",
            if s.failed.len() == 1 {
                "a task was"
            } else {
                "tasks were"
            },
            if s.failed.len() == 1 { "its" } else { "their" },
            s.failed.join(", ")
        ));
    }
    Ok(())
}

/// The agent command, the limits and the selection.
fn config(
    ctx: &Context,
    env: &crate::workflow::session::Session,
    began: Instant,
    sandbox: crate::sandbox::Policy,
    executor: executor::Executor,
) -> Result<Config> {
    let agent = ctx
        .flag_or_config(&defs::AGENT)
        .filter(|a| !a.trim().is_empty());
    let Some(agent) = agent else {
        return Err(Error::usage(
            "no agent command: pass --agent CMD or set it with git config parallel.agent CMD",
            Some(defs::RUN.name),
        ));
    };
    let jobs = match ctx.flag_or_config(&defs::RUN_JOBS) {
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(Error::usage(
                    format!(
                        "-j / parallel.maxTasks must be a whole number of 1 or more, not '{v}'"
                    ),
                    Some(defs::RUN.name),
                ))
            }
        },
        None => std::thread::available_parallelism().map_or(2, |n| n.get()),
    };
    let timeout = match ctx.args.value(&defs::TIMEOUT) {
        Some(v) => Some(crate::time::parse_duration(v).ok_or_else(|| {
            Error::usage(
                format!("--timeout takes a duration such as 90s, 30m or 2h, not '{v}'"),
                Some(defs::RUN.name),
            )
        })?),
        None => None,
    };
    let deadline = match ctx.args.value(&defs::DEADLINE) {
        Some(v) => Some(
            began
                + crate::time::parse_duration(v).ok_or_else(|| {
                    Error::usage(
                        format!("--deadline takes a duration such as 90s, 30m or 2h, not '{v}'"),
                        Some(defs::RUN.name),
                    )
                })?,
        ),
        None => None,
    };
    let budget = Budget {
        max_cost: dollars(
            ctx.flag_or_config(&defs::MAX_COST),
            "--max-cost / parallel.maxCost",
        )?,
        task_max_cost: dollars(
            ctx.repo
                .settings
                .get("parallel.taskMaxCost")
                .map(str::to_string),
            "parallel.taskMaxCost",
        )?,
        deadline,
    };
    let grace = std::env::var("GIT_PARALLEL_KILL_GRACE")
        .ok()
        .and_then(|v| crate::time::parse_duration(&v))
        .unwrap_or(Duration::from_secs(GRACE_SECONDS));
    Ok(Config {
        preset: crate::workflow::presets::find(&agent),
        prompt: ctx
            .repo
            .settings
            .get("parallel.prompt")
            .filter(|p| !p.trim().is_empty())
            .map(str::to_string),
        git_dir: ctx.repo.common_dir.clone(),
        budget,
        agent,
        jobs,
        test: ctx.args.value(&defs::RUN_TEST).map(str::to_string),
        timeout,
        grace,
        max_retries: ctx.repo.settings.max_retries()?,
        scope: scope(ctx, &env.tf)?,
        dir: crate::txn::state_dir(&ctx.repo).join("run"),
        product: env.product.clone(),
        task_file: env.task_path.clone(),
        on_conflict: crate::workflow::attempt::feedback::OnConflict::from_config(&ctx.repo)?,
        executor,
        sandbox,
    })
}

/// A budget in US dollars (`2`, `0.5`, `$3`), or a usage error naming `what`.
fn dollars(v: Option<String>, what: &str) -> Result<Option<f64>> {
    let Some(v) = v else { return Ok(None) };
    let n = v.trim().trim_start_matches('$').parse::<f64>().ok();
    match n.filter(|n| n.is_finite() && *n >= 0.0) {
        Some(n) => Ok(Some(n)),
        None => Err(Error::usage(
            format!("{what} takes an amount in US dollars such as 5 or 0.50, not '{v}'"),
            Some(defs::RUN.name),
        )),
    }
}

/// With ids: those tasks and every task they depend on, directly or not. `None`: all.
fn scope(ctx: &Context, tf: &TaskFile) -> Result<Option<BTreeSet<String>>> {
    if ctx.args.positionals.is_empty() {
        return Ok(None);
    }
    let mut todo: Vec<String> = Vec::new();
    for id in &ctx.args.positionals {
        if tf.task(id).is_none() {
            return Err(crate::refused!(
                help = crate::workflow::suggest::unknown_id_hint(tf, id),
                "no task {id} in {}",
                tf.path
            ));
        }
        todo.push(id.clone());
    }
    let mut scope = BTreeSet::new();
    while let Some(id) = todo.pop() {
        if let Some(t) = tf.task(&id).filter(|_| scope.insert(id.clone())) {
            todo.extend(t.depends_on.iter().cloned());
        }
    }
    Ok(Some(scope))
}

/// The end when nothing more can run: who waits for whose approval, and what did not run.
fn wrap_up(tf: &TaskFile, scope: Option<&BTreeSet<String>>, sched: &mut Sched, s: &mut Summary) {
    for (i, t) in tf.graph.tasks.iter().enumerate() {
        if t.status.is_done() || scope.is_some_and(|sc| !sc.contains(&t.id)) {
            continue;
        }
        if s.failed.contains(&t.id) {
            continue;
        }
        let bs = blockers(&tf.graph, i);
        let approve: Vec<String> = bs
            .iter()
            .filter_map(|b| match b {
                Blocker::Checkpoint { dep } => Some(dep.clone()),
                _ => None,
            })
            .collect();
        let reason = match sched.unstartable.get(&t.id) {
            Some(why) => why.clone(),
            None if sched.stopped_by.is_some()
                && (bs.is_empty() || t.status == Status::InProgress) =>
            {
                format!(
                    "left undone: {}",
                    sched.stopped_by.clone().unwrap_or_default()
                )
            }
            None if bs.is_empty() => format!("status is {}", t.status),
            None => {
                crate::workflow::readiness::reason(&crate::taskgraph::schedule::Wait::Blocked(bs))
            }
        };
        sched.sink.event(&Event::Waiting {
            id: t.id.clone(),
            approve: approve.clone(),
            reason: reason.clone(),
        });
        if approve.is_empty() || matches!(t.status, Status::Blocked | Status::Failed) {
            s.not_run.push(NotRun {
                id: t.id.clone(),
                reason,
            });
        } else {
            s.waiting_for_approval.push(Waiting {
                id: t.id.clone(),
                approve,
            });
        }
    }
}

/// The summary as text.
pub fn summary_text(s: &Summary) -> String {
    let mut t = String::new();
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".into()
        } else {
            v.join(", ")
        }
    };
    let _ = writeln!(t, "Completed: {}", list(&s.completed));
    if !s.failed.is_empty() {
        let _ = writeln!(
            t,
            "Failed: {} (branches and worktrees kept)",
            s.failed.join(", ")
        );
    }
    for w in &s.waiting_for_approval {
        let _ = writeln!(
            t,
            "Waiting for approval: {} (git parallel approve {})",
            w.id,
            w.approve.join(" ")
        );
    }
    for n in &s.not_run {
        let _ = writeln!(t, "Not run: {}: {}", n.id, n.reason);
    }
    if let Some(b) = &s.budget_reached {
        let _ = writeln!(t, "Stopped launching: {b}");
    }
    if s.cost_usd.is_some() || s.tokens.is_some() {
        let cost = s.cost_usd.map_or("unknown".into(), |c| format!("${c:.2}"));
        let tokens = s.tokens.map_or("unknown".into(), |n| n.to_string());
        let _ = writeln!(t, "Cost: {cost}, {tokens} tokens reported by the agents.");
    }
    if let Some(k) = &s.kept_ignored {
        let _ = writeln!(
            t,
            "Kept ignored files of removed worktrees: {} (.git/parallel/ignored/; git parallel gc deletes old ones)",
            k.describe()
        );
    }
    if let Some(g) = &s.gate_worktree {
        let _ = writeln!(t, "{}", g.describe(".git/parallel/gate"));
    }
    // Without estimates there is no plan to compare with.
    let plan = if s.sequential_minutes == 0 && s.critical_path_minutes == 0 {
        String::new()
    } else {
        format!(
            " (plan: {} min sequential, {} min critical path)",
            s.sequential_minutes, s.critical_path_minutes
        )
    };
    let _ = writeln!(
        t,
        "{} agent attempt{} in {}m{:02}s{plan}.",
        s.attempts,
        if s.attempts == 1 { "" } else { "s" },
        s.wall_seconds / 60,
        s.wall_seconds % 60,
    );
    t
}
