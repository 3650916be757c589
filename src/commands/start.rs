//! `git parallel start [ID…]`: a branch and a worktree per ready task, the task file marked
//! in_progress and committed on the target first — all as one transaction. Called by `run`
//! without a remote, the task file's records are written uncommitted instead, for the next
//! landing's merge commit to carry (pending.rs commits what is left; see run's module doc).

use crate::txn::steps::Refs;
use crate::txn::Meta;
use camino::Utf8PathBuf;
use serde::Serialize;
use std::fmt;

use crate::cli::defs;
use crate::error::Result;
use crate::git::short_branch;
use crate::git::RefUpdate;
use crate::taskgraph::schedule::{self, Blocker, Wait};
use crate::taskgraph::{Edit, Status};
use crate::txn::{Plan, Step};
use crate::workflow::context::{Context, Output};
use crate::workflow::driver::{drive, drive_report, Prepared};
use crate::workflow::readiness::explain;
use crate::workflow::render::plural;
use crate::workflow::report::Report;
use crate::workflow::session::Session;
use crate::workflow::worktrees::{include_files, launch_line};

/// One task about to start.
struct Launch {
    id: String,
    branch: String,
    worktree: Utf8PathBuf,
}

/// What `start` did, or why it started nothing.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum StartReport {
    /// Tasks were started.
    Started(Started),
    /// No task was ready.
    Nothing(NothingStarted),
}

/// The tasks started (`--json`: `target`, `base`, `started`).
#[derive(Serialize, schemars::JsonSchema)]
pub struct Started {
    /// The target branch the task branches start from.
    target: String,
    /// The commit the task branches start at (the target after the task-file commit).
    base: String,
    /// Each task started.
    started: Vec<StartedTask>,
    #[serde(skip)]
    out: Output,
}

#[derive(Serialize, schemars::JsonSchema)]
struct StartedTask {
    /// The task id.
    id: String,
    /// Its new branch.
    branch: String,
    /// Its new worktree.
    #[schemars(with = "String")]
    worktree: Utf8PathBuf,
    /// The command that takes you there (`parallel.launch`, default `cd {worktree}`).
    next: String,
    #[serde(skip)]
    worktree_shown: String,
}

/// Nothing was ready (`--json`: `started` empty, `in_progress`, `elsewhere`).
#[derive(Serialize, schemars::JsonSchema)]
pub struct NothingStarted {
    /// Always empty: no task was started.
    started: [String; 0],
    /// Tasks already in progress here.
    in_progress: Vec<String>,
    /// Tasks in progress whose branch is not in this repository (started on another machine).
    elsewhere: Vec<String>,
    #[serde(skip)]
    elsewhere_notes: Vec<String>,
    #[serde(skip)]
    awaiting: Vec<(String, Vec<String>)>,
}

pub fn run(ctx: &Context) -> Result<()> {
    drive(ctx, prepare(ctx)?)
}

/// `start`, its report handed back (printed through the context's output as well).
pub fn apply(ctx: &Context) -> Result<StartReport> {
    drive_report(ctx, prepare(ctx)?)
}

/// A task `start` started: its id, branch (a full ref name) and worktree.
pub struct StartedOne {
    pub id: String,
    pub branch: String,
    pub worktree: Utf8PathBuf,
}

impl StartReport {
    /// The tasks started (none when nothing was ready).
    pub fn started(&self) -> Vec<StartedOne> {
        let StartReport::Started(s) = self else {
            return Vec::new();
        };
        s.started
            .iter()
            .map(|t| StartedOne {
                id: t.id.clone(),
                branch: if t.branch.starts_with("refs/") {
                    t.branch.clone()
                } else {
                    format!("refs/heads/{}", t.branch)
                },
                worktree: t.worktree.clone(),
            })
            .collect()
    }
}

fn prepare(ctx: &Context) -> Result<Prepared<StartReport>> {
    let env = Session::load(ctx)?;
    let idx = select(&env)?;
    if idx.is_empty() {
        return Ok(Prepared::nothing(StartReport::Nothing(nothing_to_start(
            &env,
        )?)));
    }
    let launches: Vec<Launch> = idx
        .iter()
        .map(|&i| {
            let t = &env.tf.graph.tasks[i];
            Launch {
                id: t.id.clone(),
                branch: env.new_branch_name(t),
                worktree: env.worktree_path(t),
            }
        })
        .collect();
    check_names(&env, &launches)?;
    let (plan, base) = build_plan(&env, &launches)?;
    let mut report = started(&env, launches, base.to_string());
    if env.ctx.args.on(&defs::NO_WORKTREE) {
        // No worktree here: an agent takes the task where it runs.
        report
            .started
            .iter_mut()
            .for_each(|t| t.next = format!("git parallel join {}", t.id));
    }
    Ok(Prepared::new(plan, StartReport::Started(report)))
}

/// The tasks to start: the named ones (each checked) or the scheduler's selection.
fn select(env: &Session) -> Result<Vec<usize>> {
    let graph = &env.tf.graph;
    let ids = &env.ctx.args.positionals;
    let max = crate::workflow::readiness::max_tasks(env.ctx)?;
    if ids.is_empty() {
        return Ok(schedule::select_capped(graph, max).run);
    }
    if let Some(m) = max.filter(|&m| ids.len() > m) {
        return Err(crate::refused!(
            help = "name fewer tasks, or raise --max / parallel.maxTasks",
            "cannot start {} tasks: at most {m} may start at once (--max / parallel.maxTasks)",
            ids.len()
        ));
    }
    let mut idx = Vec::new();
    let mut problems = Vec::new();
    for id in ids {
        match env.tf.index_of(id) {
            Some(i) if !idx.contains(&i) => idx.push(i),
            Some(_) => {}
            None => problems.push(format!(
                "{id}: no such task in {}; {}",
                env.tf.path,
                crate::workflow::suggest::unknown_id_hint(&env.tf, id)
            )),
        }
    }
    let force = env.ctx.args.on(&defs::START_FORCE);
    let mut conflicts = false;
    for (i, wait) in schedule::check_explicit(graph, &idx) {
        if force && matches!(wait, Wait::Conflict { .. }) {
            continue;
        }
        let task = &graph.tasks[i];
        if crate::workflow::worktrees::in_progress_elsewhere(env, task)? {
            problems.push(format!(
                "{}; to start it here, reset it first: git parallel abort {} (adopting a branch from a remote is not supported yet)",
                crate::workflow::worktrees::elsewhere_note(env, task),
                task.id
            ));
            continue;
        }
        conflicts |= matches!(wait, Wait::Conflict { .. });
        problems.push(format!("{}: {}", task.id, explain(&wait)));
    }
    if !problems.is_empty() {
        return Err(crate::refused!(
            help = format!(
                "see 'git parallel status' for what is ready{}",
                if force || !conflicts {
                    ""
                } else {
                    "; --force starts tasks despite shared files (never despite dependencies)"
                }
            ),
            "cannot start:\n  {}",
            problems.join("\n  ")
        ));
    }
    Ok(idx)
}

/// Why nothing starts: the tasks in progress here and elsewhere, and checkpoints to approve.
fn nothing_to_start(env: &Session) -> Result<NothingStarted> {
    let graph = &env.tf.graph;
    let mut in_progress = Vec::new();
    let mut elsewhere = Vec::new();
    let mut elsewhere_notes = Vec::new();
    for t in graph
        .tasks
        .iter()
        .filter(|t| t.status == Status::InProgress)
    {
        if crate::workflow::worktrees::in_progress_elsewhere(env, t)? {
            elsewhere.push(t.id.clone());
            elsewhere_notes.push(crate::workflow::worktrees::elsewhere_note(env, t));
        } else {
            in_progress.push(t.id.clone());
        }
    }
    Ok(NothingStarted {
        started: [],
        in_progress,
        elsewhere,
        elsewhere_notes,
        awaiting: awaiting_approval(graph),
    })
}

impl fmt::Display for NothingStarted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.in_progress.is_empty() {
            writeln!(
                f,
                "Nothing to start: no task is ready (see 'git parallel status')."
            )?;
        } else {
            writeln!(
                f,
                "Nothing to start: {} already in progress; no other task is ready.",
                self.in_progress.join(", ")
            )?;
        }
        for (note, id) in self.elsewhere_notes.iter().zip(&self.elsewhere) {
            writeln!(f, "{note}; reset it with: git parallel abort {id}")?;
        }
        for (checkpoint, waiting) in &self.awaiting {
            writeln!(
                f,
                "{} wait{} for checkpoint {checkpoint} to be approved: git parallel approve {checkpoint}",
                waiting.join(", "),
                if waiting.len() == 1 { "s" } else { "" }
            )?;
        }
        Ok(())
    }
}

/// Completed checkpoints that hold back otherwise ready tasks, with those tasks.
fn awaiting_approval(graph: &crate::taskgraph::Graph) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (i, task) in graph.tasks.iter().enumerate() {
        let blockers = schedule::blockers(graph, i);
        let only_checkpoints = !blockers.is_empty()
            && blockers
                .iter()
                .all(|b| matches!(b, Blocker::Checkpoint { .. }));
        if !only_checkpoints {
            continue;
        }
        for b in blockers {
            if let Blocker::Checkpoint { dep } = b {
                match out.iter_mut().find(|(c, _)| *c == dep) {
                    Some((_, v)) => v.push(task.id.clone()),
                    None => out.push((dep, vec![task.id.clone()])),
                }
            }
        }
    }
    out
}

/// Every branch and path is valid and free, checked before anything is touched.
fn check_names(env: &Session, launches: &[Launch]) -> Result<()> {
    let mut problems = Vec::new();
    let existing = env.ctx.repo.worktrees()?;
    let heads = env.ctx.repo.refs_under("refs/heads/")?;
    for (n, l) in launches.iter().enumerate() {
        let b = short_branch(&l.branch);
        if !crate::workflow::naming::valid_branch(b) {
            problems.push(invalid_branch(env, l, b));
        } else if env.ctx.repo.ref_id(&l.branch)?.is_some() {
            problems.push(format!("{}: branch {b} already exists", l.id));
        }
        if let Some(why) = in_the_way(&l.worktree) {
            problems.push(format!(
                "{}: {} already exists and {why} (move it away, or remove it if it is not needed)",
                l.id, l.worktree
            ));
        } else if existing.iter().any(|w| w.path == l.worktree) {
            problems.push(format!(
                "{}: a worktree is registered at {} (run git worktree prune)",
                l.id,
                env.show(&l.worktree)
            ));
        }
        if l.worktree.starts_with(&env.main) {
            problems.push(format!(
                "{}: worktree {} would be inside the main worktree",
                l.id,
                env.show(&l.worktree)
            ));
        }
        for (name, _) in &heads {
            if let Some(clash) = case_clash(name, &l.branch) {
                problems.push(format!(
                    "{}: its branch {b} and the existing branch {} differ only in case{clash}; they would collide on a case-insensitive filesystem (macOS, Windows)",
                    l.id,
                    short_branch(name)
                ));
            }
        }
        for other in &launches[..n] {
            if let Some(clash) = case_clash(&other.branch, &l.branch) {
                problems.push(format!(
                    "{} and {}: branches {} and {b} differ only in case{clash}; they would collide on a case-insensitive filesystem (macOS, Windows)",
                    other.id,
                    l.id,
                    short_branch(&other.branch)
                ));
            }
            if let Some(clash) = case_clash(other.worktree.as_str(), l.worktree.as_str()) {
                problems.push(format!(
                    "{} and {}: worktrees {} and {} differ only in case{clash}; they would collide on a case-insensitive filesystem (macOS, Windows)",
                    other.id, l.id, other.worktree, l.worktree
                ));
            }
            if other.branch == l.branch {
                problems.push(format!(
                    "{} and {}: both would use branch {b}",
                    other.id, l.id
                ));
            }
            if other.worktree == l.worktree {
                problems.push(format!(
                    "{} and {}: both would use {}",
                    other.id, l.id, l.worktree
                ));
            }
        }
    }
    if !problems.is_empty() {
        return Err(crate::refused!(
            help = "remove or rename what is in the way (git branch -d, git worktree remove), or change parallel.branchTemplate / parallel.worktreeTemplate",
            "cannot start; nothing was changed:\n  {}",
            problems.join("\n  ")
        ));
    }
    Ok(())
}

/// What makes a task's branch name invalid: the template and the values put into it.
fn invalid_branch(env: &Session, l: &Launch, b: &str) -> String {
    let template = env.ctx.repo.settings.branch_template();
    let role = env.tf.task(&l.id).map(|t| t.role()).unwrap_or_default();
    let bad = |v: &str| !v.is_empty() && !crate::workflow::naming::valid_branch(&format!("x{v}"));
    let found = [("product", &env.product), ("role", &role), ("id", &l.id)]
        .into_iter()
        .find(|(k, v)| template.contains(&format!("{{{k}}}")) && bad(v.as_str()));
    let culprit = found
        .map(|(k, v)| format!("; its {k} {v:?} cannot be part of a branch name"))
        .unwrap_or_default();
    format!(
        "{}: {b:?} (from parallel.branchTemplate {template:?}) is not a valid branch name{culprit}; \
         change {} or set parallel.branchTemplate",
        l.id,
        match found.map(|(k, _)| k) {
            Some("product") => "the product name (metadata.product)",
            Some("role") => "the task's agent",
            _ => "the task id",
        }
    )
}

/// Why the path a worktree is to be made at is in the way: None when it is free (missing, or
/// an empty directory, which `git worktree add` uses).
fn in_the_way(path: &camino::Utf8Path) -> Option<&'static str> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_dir() {
        return Some("is not a directory");
    }
    match std::fs::read_dir(path).map(|mut entries| entries.next().is_none()) {
        Ok(true) => None,
        Ok(false) => Some("is not empty"),
        Err(_) => Some("cannot be read"),
    }
}

/// Whether two slash-separated names (refs, paths) would name the same file or directory on a
/// case-insensitive filesystem without being the same: the first component that differs, differs
/// only in case. Some(where), empty when the whole names differ only in case.
fn case_clash(a: &str, b: &str) -> Option<String> {
    let (ca, cb): (Vec<&str>, Vec<&str>) = (a.split('/').collect(), b.split('/').collect());
    for (i, (x, y)) in ca.iter().zip(&cb).enumerate() {
        if x == y {
            continue;
        }
        if x.to_lowercase() != y.to_lowercase() {
            return None;
        }
        let whole = i + 1 == ca.len() && i + 1 == cb.len();
        return Some(if whole {
            String::new()
        } else {
            format!(" in the directory {x:?} / {y:?}")
        });
    }
    None
}

fn build_plan(env: &Session, launches: &[Launch]) -> Result<(Plan, gix::ObjectId)> {
    let now = crate::time::now_iso();
    let mut edits = Vec::new();
    for l in launches {
        edits.push(Edit::status(&l.id, Status::InProgress));
        edits.push(Edit::task(&l.id, "started_at", now.as_str()));
        edits.push(Edit::task(&l.id, "assigned_to", short_branch(&l.branch)));
    }
    edits.push(Edit::metadata("updated_at", now.as_str()));
    let ids: Vec<&str> = launches.iter().map(|l| l.id.as_str()).collect();
    let message = format!("chore({}): start {}", env.product, ids.join(", "));
    let no_commit = env.ctx.args.on(&defs::NO_COMMIT);
    let (mut steps, base) = if env.defers_commit() && !no_commit {
        let text = env
            .tf
            .apply_edits(&edits)
            .map_err(crate::error::Error::Refused)?;
        (vec![env.deferred_task_file_step(text)?], env.target_tip)
    } else {
        env.task_file_steps(&edits, &message, no_commit)?
    };
    steps.push(Step::Refs(Refs {
        updates: launches
            .iter()
            .map(|l| RefUpdate {
                name: l.branch.clone(),
                old: None,
                new: Some(base),
            })
            .collect(),
        message: format!("git-parallel: {message}"),
    }));
    let copy = include_files(env)?;
    let post_start = env.ctx.repo.settings.post_start();
    let made: Vec<(&str, &str, &camino::Utf8Path)> = launches
        .iter()
        .map(|l| (l.id.as_str(), l.branch.as_str(), l.worktree.as_path()))
        .collect();
    let envs = crate::workflow::taskenv::plan(env, &made)?;
    let new: Vec<_> = launches
        .iter()
        .zip(envs)
        .map(|(l, e)| (l.worktree.clone(), l.branch.clone(), e))
        .collect();
    steps.extend(crate::workflow::pool::worktree_steps(
        env.ctx, &env.main, &new, &copy, post_start,
    )?);
    let plan = Plan {
        command: "start".into(),
        summary: format!("start {}", ids.join(", ")),
        steps,
        commit_point: None,
        meta: Meta::tasks(ids.iter().copied()),
    };
    Ok((plan, base))
}

/// The report of starting `launches` at `base`.
fn started(env: &Session, launches: Vec<Launch>, base: String) -> Started {
    let started = launches
        .into_iter()
        .map(|l| StartedTask {
            next: launch_line(env, &l.id, &l.branch, &l.worktree),
            branch: short_branch(&l.branch).to_string(),
            worktree_shown: env.show(&l.worktree),
            worktree: l.worktree,
            id: l.id,
        })
        .collect();
    Started {
        target: short_branch(&env.target).to_string(),
        base,
        started,
        out: env.ctx.out,
    }
}

impl fmt::Display for Started {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tasks = &self.started;
        let w_id = tasks.iter().map(|t| t.id.chars().count()).max();
        let w_br = tasks.iter().map(|t| t.branch.chars().count()).max();
        let (w_id, w_br) = (w_id.unwrap_or(0), w_br.unwrap_or(0));
        writeln!(
            f,
            "Started {} task{} from {} at {}:",
            tasks.len(),
            plural(tasks.len()),
            self.target,
            crate::txn::steps::shared::short(&self.base)
        )?;
        for t in tasks {
            writeln!(
                f,
                "  {}  {:<w_br$}  {}",
                self.out.paint("1", &format!("{:<w_id$}", t.id)),
                t.branch,
                t.worktree_shown
            )?;
        }
        writeln!(f, "Next:")?;
        for t in tasks {
            writeln!(f, "  {}", t.next)?;
        }
        Ok(())
    }
}

impl fmt::Display for StartReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartReport::Started(r) => r.fmt(f),
            StartReport::Nothing(r) => r.fmt(f),
        }
    }
}

impl Report for StartReport {}

mod pending;
pub use pending::commit_pending;

#[cfg(test)]
mod tests {
    use super::case_clash;

    #[test]
    fn case_clashes() {
        assert_eq!(case_clash("a/b/API-01", "a/b/api-01").as_deref(), Some(""));
        assert_eq!(
            case_clash("refs/heads/Feature/x", "refs/heads/feature/y/z").as_deref(),
            Some(" in the directory \"Feature\" / \"feature\"")
        );
        assert_eq!(case_clash("a/b", "a/b"), None);
        assert_eq!(case_clash("a/B", "a/c"), None);
        assert_eq!(case_clash("a/b", "a/b/c"), None);
        assert_eq!(case_clash("x/É", "x/é").as_deref(), Some(""));
    }
}
