//! `git parallel status` (the default command): every task with its status, the branch and
//! worktree of active tasks, what is ready now and why the rest waits.
//!
//! Fast path: with no active task nothing but the task file and two refs are read; no git
//! process is spawned. Each active worktree costs one `git status`, as many at once as CPUs.

mod table;

use camino::Utf8PathBuf;
use serde::Serialize;
use std::fmt;

use self::table::{
    fit_end, layout, short_path, status_color, terminal_width, Cell, C_AGENT, C_AHEAD, C_BRANCH,
    C_CHANGES, C_ID, C_STATUS, C_WHERE, N_COLS,
};
use crate::error::Result;
use crate::git::short_branch;
use crate::git::WorktreeInfo;
use crate::taskgraph::display;
use crate::taskgraph::schedule::{self, Wait};
use crate::taskgraph::{Status, Task};
use crate::workflow::agent_env;
use crate::workflow::context::Context;
use crate::workflow::failure::{self, Failure};
use crate::workflow::radar::{self, Radar};
use crate::workflow::readiness::reason;
use crate::workflow::remote::attempts::{self, LeaseState};
use crate::workflow::render::outln;
use crate::workflow::report::{self, Report};
use crate::workflow::session::Session;
use crate::workflow::worktrees::ELSEWHERE;

/// What the repository says about an active (in_progress or failed) task.
struct Active {
    branch: String,
    /// The branch exists.
    tip: Option<gix::ObjectId>,
    /// In progress with no branch here: started on another machine, or the status set by hand.
    elsewhere: bool,
    worktree: Option<Utf8PathBuf>,
    /// The worktree's port block (`parallel.ports`).
    ports: Option<crate::txn::taskenv::Ports>,
    /// Changed or untracked files in the worktree (None: no worktree).
    changes: Option<usize>,
    ahead: Option<usize>,
    behind: Option<usize>,
}

/// One row of the report.
struct Row<'a> {
    task: &'a Task,
    active: Option<Active>,
    /// Unfinished tasks `run` tried: its attempts and the last failure.
    tried: Option<(u32, Option<Failure>)>,
    /// In-progress tasks with a lease on `parallel.remote`: where a worker runs it.
    lease: Option<LeaseState>,
}

/// What `status` reports: every task, the branch and worktree of the active ones, what is ready
/// and why the rest waits, and the conflict radar.
#[derive(Serialize, schemars::JsonSchema)]
pub struct StatusReport<'a> {
    /// The task file used (see Paths above).
    task_file: String,
    /// The product: `metadata.product`, else `--product`/`parallel.product`, else the
    /// `products/<name>/` directory of the task file.
    product: String,
    /// The branch tasks start from and merge into (`parallel.target`, else the branch checked
    /// out in the main worktree).
    target: String,
    /// Every task, in file order.
    tasks: Vec<TaskState>,
    /// The ids of what `git parallel start` with no ids would start now, in start order
    /// (priority, then file order).
    ready: Vec<String>,
    /// Every `pending` or `ready` task that does not start now, in file order.
    waiting: Vec<Waiting>,
    /// The conflict radar over the `in_progress` tasks whose branch is here, from their
    /// committed tips (in-memory merges; nothing is written).
    radar: Radar,
    /// The worktree pool (`parallel.reuseWorktrees`): absent when reuse is off and nothing
    /// is parked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pool: Option<crate::workflow::pool::PoolSummary>,
    /// The ignored files finish kept of removed worktrees (`.git/parallel/ignored/`): absent
    /// when there are none. `git parallel gc` deletes those older than `parallel.keepBackups`
    /// days.
    #[serde(skip_serializing_if = "Option::is_none")]
    kept_ignored: Option<crate::workflow::kept_space::KeptSpace>,
    /// The test gate's kept worktree and its size (`null`: none).
    gate_worktree: Option<crate::workflow::kept_space::GateSpace>,
    #[serde(skip)]
    view: View<'a>,
}

/// What the text needs beyond the document: the environment, the rows, which are ready.
struct View<'a> {
    env: &'a Session<'a>,
    rows: Vec<Row<'a>>,
    ready: Vec<usize>,
    /// The remote the leases were read from, when they were.
    leases_on: Option<String>,
}

/// One task in `status --json`.
#[derive(Serialize, schemars::JsonSchema)]
struct TaskState {
    /// The task id.
    id: String,
    /// Its name; `""` when the task has none.
    name: String,
    /// Its agent; `""` when the task has none.
    agent: String,
    /// Its status.
    #[schemars(with = "String")]
    status: Status,
    /// Active tasks only (`in_progress`, `failed`): the task's branch (`assigned_to`, else the
    /// name `parallel.branchTemplate` gives).
    #[serde(skip_serializing_if = "Option::is_none")]
    branch: Option<String>,
    /// Active tasks only: whether that branch exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    branch_exists: Option<bool>,
    /// Active tasks only: `true` for a task `in_progress` whose branch is not in this
    /// repository ("in progress, no branch here": started on another machine, or the status
    /// set by hand); `finish` skips it, `git parallel abort ID` resets it.
    #[serde(skip_serializing_if = "Option::is_none")]
    elsewhere: Option<bool>,
    /// Absolute path of the worktree that has the branch checked out, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    worktree: Option<Utf8PathBuf>,
    /// With `worktree`: its block of ports (`parallel.ports`), first to last.
    #[serde(skip_serializing_if = "Option::is_none")]
    ports: Option<Vec<u16>>,
    /// With `worktree`: the worktree has uncommitted changes or untracked files.
    #[serde(skip_serializing_if = "Option::is_none")]
    dirty: Option<bool>,
    /// With `worktree`: how many entries `git status --porcelain --untracked-files=all
    /// --ignore-submodules=none` lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    changes: Option<usize>,
    /// When the branch exists: commits on the branch not on the target (since their merge
    /// base).
    #[serde(skip_serializing_if = "Option::is_none")]
    ahead: Option<usize>,
    /// With `ahead`: commits on the target not on the branch.
    #[serde(skip_serializing_if = "Option::is_none")]
    behind: Option<usize>,
    /// Unfinished tasks `git parallel run` tried: the agent attempts it made.
    #[serde(skip_serializing_if = "Option::is_none")]
    attempts: Option<u32>,
    /// Unfinished tasks whose last attempt under `run` failed: why (its text is
    /// `.git/parallel/run/failures/<ID>.txt`, what the next attempt's agent reads).
    #[serde(skip_serializing_if = "Option::is_none")]
    last_failure: Option<Failure>,
    /// In-progress tasks with a lease on `parallel.remote` (`refs/parallel/lease/<ID>`): the
    /// attempt a worker (`run --executor`, `git parallel work`) runs, where, and how old the
    /// lease is.
    #[serde(skip_serializing_if = "Option::is_none")]
    lease: Option<LeaseState>,
}

/// A task that does not start now, and why.
#[derive(Serialize, schemars::JsonSchema)]
struct Waiting {
    /// The task id.
    id: String,
    /// The same sentence as the text output: unmet dependencies, a checkpoint awaiting
    /// approval, a shared file, `parallel_ok: false`.
    reason: String,
}

pub fn run(ctx: &Context) -> Result<()> {
    if let Some(remote) = ctx.args.value(&crate::cli::defs::REMOTE) {
        return crate::workflow::remote::status::show(ctx, remote);
    }
    let env = Session::load_readonly(ctx)?;
    let graph = &env.tf.graph;
    let is_active = |t: &Task| matches!(t.status, Status::InProgress | Status::Failed);
    // A blocked task shows its branch and worktree when run left them (out of retries).
    let may_have_branch = |t: &Task| is_active(t) || t.status == Status::Blocked;
    // Worktrees are only listed (and git only run) when some task is active.
    let worktrees: Vec<WorktreeInfo> = if graph.tasks.iter().any(may_have_branch) {
        ctx.repo.worktrees()?
    } else {
        Vec::new()
    };
    let mut tried = failure::known(&agent_env::run_dir(&ctx.repo));
    let mut leases = leases(
        ctx,
        graph.tasks.iter().any(|t| t.status == Status::InProgress),
    )?;
    let mut rows = Vec::with_capacity(graph.tasks.len());
    for t in &graph.tasks {
        let active = if is_active(t) {
            Some(inspect(&env, t, &worktrees)?)
        } else if t.status == Status::Blocked {
            Some(inspect(&env, t, &worktrees)?).filter(|a| a.tip.is_some() || a.worktree.is_some())
        } else {
            None
        };
        let tried = tried.remove(&t.id).filter(|_| !t.status.is_done());
        let lease = leases
            .as_mut()
            .and_then(|(_, l)| l.remove(&t.id))
            .filter(|_| t.status == Status::InProgress);
        rows.push(Row {
            task: t,
            active,
            tried,
            lease,
        });
    }
    count_changes(ctx, &mut rows)?;
    let radar = radar_of(&env, &rows)?;
    let mut report = build(&env, rows, radar);
    report.view.leases_on = leases.map(|(remote, _)| remote);
    report::emit(&ctx.out, "status", &report);
    Ok(())
}

/// The leases on `parallel.remote` by task id, when it is set and some task is in progress
/// (one `ls-remote`; blobs fetched only when this clone lacks them). A remote that cannot be
/// read is a warning: status goes on without them.
fn leases(
    ctx: &Context,
    any_in_progress: bool,
) -> Result<Option<(String, std::collections::BTreeMap<String, LeaseState>)>> {
    let Some(remote) = ctx
        .repo
        .settings
        .get("parallel.remote")
        .filter(|r| !r.trim().is_empty() && any_in_progress)
    else {
        return Ok(None);
    };
    let timeout = attempts::lease_timeout(&ctx.repo.settings)?;
    let board = match attempts::read_all(&ctx.repo.loc, remote) {
        Ok(b) => b,
        Err(e) => {
            report::text_note(
                &ctx.out,
                format_args!(
                    "cannot read the leases on {remote} (parallel.remote): {}",
                    e.to_string().lines().next().unwrap_or_default()
                ),
            );
            return Ok(None);
        }
    };
    let now = crate::time::now_secs();
    let states = board
        .leases
        .keys()
        .filter_map(|id| Some((id.clone(), board.state(id, now, timeout)?)))
        .collect();
    Ok(Some((remote.to_string(), states)))
}

/// The report of `rows`: what is ready, and why the pending tasks that do not start now wait.
fn build<'a>(env: &'a Session<'a>, rows: Vec<Row<'a>>, radar: Radar) -> StatusReport<'a> {
    let graph = &env.tf.graph;
    let sel = schedule::select(graph);
    // Pending tasks that do not start now, in file order.
    let mut waiting: Vec<(usize, &Wait)> = sel
        .waiting
        .iter()
        .filter(|(i, _)| matches!(graph.tasks[*i].status, Status::Pending | Status::Ready))
        .map(|(i, w)| (*i, w))
        .collect();
    waiting.sort_by_key(|(i, _)| *i);
    StatusReport {
        task_file: env
            .task_rel
            .clone()
            .unwrap_or_else(|| env.task_path.to_string()),
        product: env.product.clone(),
        target: short_branch(&env.target).to_string(),
        tasks: rows.iter().map(task_state).collect(),
        ready: sel.run.iter().map(|&i| graph.tasks[i].id.clone()).collect(),
        waiting: waiting
            .iter()
            .map(|(i, w)| Waiting {
                id: graph.tasks[*i].id.clone(),
                reason: reason(w),
            })
            .collect(),
        radar,
        pool: crate::workflow::pool::summary(env.ctx, &env.main),
        kept_ignored: crate::workflow::kept_space::KeptSpace::measure(&env.ctx.repo),
        gate_worktree: crate::workflow::kept_space::GateSpace::measure(&env.ctx.repo),
        view: View {
            env,
            rows,
            ready: sel.run,
            leases_on: None,
        },
    }
}

/// One row as `status --json` shows it.
fn task_state(r: &Row) -> TaskState {
    let t = r.task;
    let a = r.active.as_ref();
    let changes = a.and_then(|a| a.changes);
    let counts = a.and_then(|a| a.ahead.zip(a.behind));
    TaskState {
        id: t.id.clone(),
        name: t.name.clone(),
        agent: t.agent.clone(),
        status: t.status,
        branch: a.map(|a| a.branch.clone()),
        branch_exists: a.map(|a| a.tip.is_some()),
        elsewhere: a.map(|a| a.elsewhere),
        worktree: a.and_then(|a| a.worktree.clone()),
        ports: a
            .and_then(|a| a.ports)
            .map(|p| (0..p.count).map(|i| p.first.saturating_add(i)).collect()),
        dirty: changes.map(|n| n > 0),
        changes,
        ahead: counts.map(|(ahead, _)| ahead),
        behind: counts.map(|(_, behind)| behind),
        attempts: r.tried.as_ref().map(|(n, _)| *n),
        last_failure: r.tried.as_ref().and_then(|(_, f)| f.clone()),
        lease: r.lease.clone(),
    }
}

/// The `Workers on REMOTE:` lines: each in-progress task with a lease there.
fn workers_text(remote: Option<&str>, rows: &[Row]) -> String {
    let (Some(remote), true) = (remote, rows.iter().any(|r| r.lease.is_some())) else {
        return String::new();
    };
    let mut o = String::new();
    outln!(o, "Workers on {remote} (leases):");
    for r in rows {
        if let Some(l) = &r.lease {
            outln!(
                o,
                "  {}  {}",
                display::safe(&r.task.id),
                display::safe(&l.describe())
            );
        }
    }
    o
}

/// The `Failed attempts:` lines: each unfinished task whose last attempt under run failed.
fn failures_text(env: &Session, rows: &[Row], width: Option<usize>) -> String {
    let failed: Vec<(&str, u32, &Failure)> = rows
        .iter()
        .filter_map(|r| {
            let (n, f) = r.tried.as_ref()?;
            Some((r.task.id.as_str(), *n, f.as_ref()?))
        })
        .collect();
    let mut o = String::new();
    if failed.is_empty() {
        return o;
    }
    outln!(o, "Failed attempts (git parallel run):");
    let w = failed
        .iter()
        .map(|(id, ..)| id.chars().count())
        .max()
        .unwrap_or(0);
    for (id, attempts, f) in failed {
        let line = format!(
            "  {:<w$}  attempt {} of {attempts}: {}",
            display::safe(id),
            f.attempt,
            display::safe(&f.headline())
        );
        outln!(o, "{}", fit_end(&line, width));
    }
    let dir = agent_env::run_dir(&env.ctx.repo);
    outln!(
        o,
        "  (why, in full: {}/failures/<ID>.txt; the logs: {}/logs/)",
        env.show(&dir),
        env.show(&dir)
    );
    o
}

impl fmt::Display for StatusReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = &self.view;
        f.write_str(&to_text(v.env, &v.rows, &v.ready, &self.waiting))?;
        f.write_str(&radar_text(v.env, &self.radar))?;
        f.write_str(&agents_text(v.env))?;
        f.write_str(&workers_text(v.leases_on.as_deref(), &v.rows))?;
        if let Some(p) = &self.pool {
            writeln!(f, "{}", p.line(|d| v.env.show(d)))?;
        }
        if let Some(k) = &self.kept_ignored {
            writeln!(
                f,
                "Kept ignored files of removed worktrees: {} in {} (git parallel gc deletes old ones)",
                k.describe(),
                v.env.show(&crate::txn::state_dir(&v.env.ctx.repo).join("ignored"))
            )?;
        }
        match &self.gate_worktree {
            Some(g) => writeln!(
                f,
                "{}",
                g.describe(&v.env.show(camino::Utf8Path::new(&g.path)))
            ),
            None => Ok(()),
        }
    }
}

impl Report for StatusReport<'_> {}

/// The agents `run` has running (or left running when killed) on in-progress tasks, and
/// whether they run sandboxed; nothing when there are none.
fn agents_text(env: &Session) -> String {
    let records =
        super::run::state::Records::load(&crate::txn::state_dir(&env.ctx.repo).join("run"));
    let in_progress = |id: &str| {
        env.tf
            .task(id)
            .is_some_and(|t| t.status == Status::InProgress)
    };
    let running: Vec<String> = records
        .running()
        .filter(|(id, ..)| in_progress(id))
        .map(|(id, attempt, how)| format!("{id} (attempt {attempt}, {how})"))
        .collect();
    if running.is_empty() {
        return String::new();
    }
    format!("Agents of run: {}\n", running.join(", "))
}

/// The conflict radar over the in-progress tasks whose branch exists here.
fn radar_of(env: &Session, rows: &[Row]) -> Result<Radar> {
    let running: Vec<radar::Running> = rows
        .iter()
        .filter(|r| r.task.status == Status::InProgress)
        .filter_map(|r| {
            let tip = r.active.as_ref()?.tip?;
            Some(radar::Running {
                id: &r.task.id,
                tip,
                paths: r.task.paths().collect(),
            })
        })
        .collect();
    let off = !env.ctx.repo.settings.radar();
    if off || running.is_empty() || env.target_tip.is_null() {
        return Ok(Radar::default());
    }
    radar::scan(
        &env.ctx.repo,
        env.target_tip,
        &running,
        env.task_rel.as_deref(),
    )
}

/// The radar's findings as text (empty when there are none). Ids and paths are shown safely
/// (no control characters reach the terminal).
fn radar_text(env: &Session, radar: &Radar) -> String {
    if radar.is_empty() {
        return String::new();
    }
    let files = |f: &[String]| -> String {
        let shown: Vec<String> = f.iter().map(|p| display::safe(p).into_owned()).collect();
        shown.join(", ")
    };
    let target = short_branch(&env.target);
    let mut o = String::from("\nConflict radar (committed work so far):\n");
    for p in &radar.pairs {
        outln!(
            o,
            "  {} and {} will conflict in {}",
            display::safe(&p.tasks[0]),
            display::safe(&p.tasks[1]),
            files(&p.files)
        );
    }
    for t in &radar.target {
        outln!(
            o,
            "  {} conflicts with {target} in {}",
            display::safe(&t.task),
            files(&t.files)
        );
    }
    for t in &radar.outside {
        outln!(
            o,
            "  {} changes files outside its produces/shared_files: {}",
            display::safe(&t.task),
            files(&t.files)
        );
    }
    o
}

fn inspect(env: &Session, t: &Task, worktrees: &[WorktreeInfo]) -> Result<Active> {
    let repo = &env.ctx.repo;
    let branch = env.branch_of(t);
    let tip = repo.ref_id(&branch)?;
    let worktree = worktrees
        .iter()
        .find(|w| w.branch.as_deref() == Some(branch.as_str()))
        .map(|w| w.path.clone());
    let ports = worktree.as_deref().and_then(crate::txn::taskenv::ports_of);
    let (mut ahead, mut behind) = (None, None);
    if let (Some(tip), false) = (tip, env.target_tip.is_null()) {
        if let Some(base) = repo.merge_base(env.target_tip, tip)? {
            ahead = Some(repo.count_between(base, tip)?);
            behind = Some(repo.count_between(base, env.target_tip)?);
        }
    }
    Ok(Active {
        branch: short_branch(&branch).to_string(),
        elsewhere: tip.is_none() && t.status == Status::InProgress,
        tip,
        worktree,
        ports,
        changes: None,
        ahead,
        behind,
    })
}

/// Fills in `changes` of every active row with a worktree, all worktrees in one pass
/// (`txn::clean::changes_many`: the same listing finish checks, so "clean" here means finish
/// will not refuse the worktree for changes).
fn count_changes(ctx: &Context, rows: &mut [Row]) -> Result<()> {
    let mut todo: Vec<(&mut Option<usize>, Utf8PathBuf)> = rows
        .iter_mut()
        .filter_map(|r| r.active.as_mut())
        .filter_map(|a| match &a.worktree {
            // A worktree half-removed by an interrupted operation has no `.git` left.
            Some(p) if p.join(".git").exists() => Some((&mut a.changes, p.clone())),
            _ => None,
        })
        .collect();
    let paths: Vec<&camino::Utf8Path> = todo.iter().map(|(_, p)| p.as_path()).collect();
    let results = crate::txn::clean::changes_many(&ctx.repo, &paths);
    for ((slot, _), lines) in todo.iter_mut().zip(results) {
        **slot = Some(lines?.len());
    }
    Ok(())
}

/// The cells of one task's row.
fn row_cells(env: &Session, r: &Row, is_ready: bool, home: Option<&str>) -> [Cell; N_COLS] {
    let t = r.task;
    let mut c: [Cell; N_COLS] = Default::default();
    c[C_ID] = Cell::new(t.id.as_str(), if is_ready { "1" } else { "" });
    c[C_AGENT] = Cell::new(display::safe(&t.agent), "");
    c[C_STATUS] = Cell::new(t.status.as_str(), status_color(t.status));
    let Some(a) = &r.active else {
        return c;
    };
    c[C_BRANCH] = Cell::new(a.branch.as_str(), "");
    if a.elsewhere {
        c[C_WHERE] = Cell::new(ELSEWHERE, "33");
        return c;
    }
    c[C_WHERE] = match (&a.worktree, a.tip.is_none()) {
        (Some(p), false) => match a.ports {
            Some(ports) => Cell::new(
                format!(
                    "{} (ports {}-{})",
                    short_path(p, &env.ctx.cwd, home),
                    ports.first,
                    ports.first.saturating_add(ports.count.saturating_sub(1))
                ),
                "",
            ),
            None => Cell::new(short_path(p, &env.ctx.cwd, home), ""),
        },
        (Some(p), true) => Cell::new(
            format!("(branch missing) {}", short_path(p, &env.ctx.cwd, home)),
            "31",
        ),
        (None, false) => Cell::new("(no worktree)", "31"),
        (None, true) => Cell::new("(branch missing) (no worktree)", "31"),
    };
    c[C_CHANGES] = match a.changes {
        Some(0) => Cell::new("clean", ""),
        Some(n) => Cell::new(
            format!("dirty ({n} change{})", if n == 1 { "" } else { "s" }),
            "31",
        ),
        None => Cell::default(),
    };
    if let (Some(ahead), Some(behind)) = (a.ahead, a.behind) {
        c[C_AHEAD] = Cell::new(format!("ahead {ahead}, behind {behind}"), "");
    }
    c
}

/// One line naming the done tasks not listed: `12 completed, 1 skipped: A-01, B-02, … (…)`.
fn done_summary(graph_tasks: &[&Task], width: Option<usize>) -> String {
    let completed = graph_tasks
        .iter()
        .filter(|t| t.status == Status::Completed)
        .count();
    let skipped = graph_tasks.len() - completed;
    let mut head = Vec::new();
    if completed > 0 {
        head.push(format!("{completed} completed"));
    }
    if skipped > 0 {
        head.push(format!("{skipped} skipped"));
    }
    let tail = " (git parallel status --all to list them)";
    let mut line = format!("  {}: ", head.join(", "));
    let budget = width.map(|w| w.saturating_sub(line.chars().count() + tail.chars().count()));
    let mut used = 0usize;
    for (k, t) in graph_tasks.iter().enumerate() {
        let sep = if k == 0 { "" } else { ", " };
        let piece = format!("{sep}{}", t.id);
        let n = piece.chars().count();
        let more = k + 1 < graph_tasks.len();
        // Room for the piece, and for ", …" after it when more follow.
        if let Some(b) = budget {
            if used + n + if more { 3 } else { 0 } > b {
                line.push_str(if k == 0 { "…" } else { ", …" });
                break;
            }
        }
        line.push_str(&piece);
        used += n;
    }
    line.push_str(tail);
    fit_end(&line, width)
}

fn to_text(env: &Session, rows: &[Row], ready: &[usize], waiting: &[Waiting]) -> String {
    let graph = &env.tf.graph;
    let width = terminal_width();
    let done = graph.tasks.iter().filter(|t| t.status.is_done()).count();
    let head = format!(
        "{} ({}): {done} of {} tasks done; target {}{}",
        env.show(&env.task_path),
        display::safe(&env.product),
        graph.tasks.len(),
        short_branch(&env.target),
        if env.target_tip.is_null() {
            " (no commits yet)"
        } else {
            ""
        }
    );
    let mut o = String::new();
    outln!(o, "{}", fit_end(&head, width));
    o.push_str(&table_text(env, rows, ready, width));
    o.push_str(&failures_text(env, rows, width));
    o.push_str(&ready_text(env, ready, width));
    if !waiting.is_empty() {
        outln!(o, "Waiting:");
        let w = waiting
            .iter()
            .map(|t| t.id.chars().count())
            .max()
            .unwrap_or(0);
        for t in waiting {
            let line = format!("  {:<w$}  {}", t.id, t.reason);
            outln!(o, "{}", fit_end(&line, width));
        }
    }
    o
}

/// The task table, and the line naming the done tasks it leaves out (unless `--all`).
fn table_text(env: &Session, rows: &[Row], ready: &[usize], width: Option<usize>) -> String {
    let out = &env.ctx.out;
    let all = env.ctx.args.on(&crate::cli::defs::STATUS_ALL);
    let home = std::env::var("HOME").ok();
    // Which rows are ready: one flag per task, so the table is linear in the number of tasks.
    let mut is_ready = vec![false; rows.len()];
    for &i in ready {
        if let Some(f) = is_ready.get_mut(i) {
            *f = true;
        }
    }
    let mut hidden: Vec<&Task> = Vec::new();
    let mut table = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        if !all && r.task.status.is_done() && r.active.is_none() {
            hidden.push(r.task);
            continue;
        }
        table.push(row_cells(env, r, is_ready[i], home.as_deref()));
    }
    let mut o = layout(out, &table, width);
    if !hidden.is_empty() {
        let line = done_summary(&hidden, width);
        // The counts take the colour of their status, as the rows would have.
        let code = if hidden.iter().any(|t| t.status == Status::Completed) {
            status_color(Status::Completed)
        } else {
            status_color(Status::Skipped)
        };
        match line.strip_prefix("  ").and_then(|l| l.split_once(": ")) {
            Some((counts, rest)) => outln!(o, "  {}: {rest}", out.paint(code, counts)),
            None => outln!(o, "{line}"),
        }
    }
    o
}

/// The `Ready now:` line.
fn ready_text(env: &Session, ready: &[usize], width: Option<usize>) -> String {
    let graph = &env.tf.graph;
    let mut o = String::new();
    if ready.is_empty() {
        let running = graph.tasks.iter().any(|t| t.status == Status::InProgress);
        let remaining = graph.tasks.iter().any(|t| !t.status.is_done());
        let why = if !remaining {
            "nothing (every task is done)"
        } else if running {
            "nothing (waiting for the running tasks)"
        } else {
            "nothing"
        };
        outln!(o, "{}", fit_end(&format!("Ready now: {why}"), width));
        return o;
    }
    let ids: Vec<&str> = ready.iter().map(|&i| graph.tasks[i].id.as_str()).collect();
    let list = ids.join(", ");
    let fixed = "Ready now: ".len() + "  (git parallel start)".len();
    match width {
        Some(w) if w < fixed + 10 => {
            let line = format!("Ready now: {list}  (git parallel start)");
            outln!(o, "{}", fit_end(&line, width));
        }
        _ => {
            let list = fit_end(&list, width.map(|w| w - fixed));
            outln!(
                o,
                "Ready now: {}  (git parallel start)",
                env.ctx.out.paint("1", &list)
            );
        }
    }
    o
}
