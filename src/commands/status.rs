//! `git parallel status` (the default command): every task with its status, the branch and
//! worktree of active tasks, what is ready now and why the rest waits.
//!
//! Fast path: with no active task nothing but the task file and two refs are read; no git
//! process is spawned. Each active worktree costs one `git status`, as many at once as CPUs.

use camino::Utf8PathBuf;
use serde_json::{json, Value};

use super::common::{self, short_branch, Env};
use super::start::{explain, explain_blocker};
use crate::context::{Context, Output};
use crate::error::Result;
use crate::git::WorktreeInfo;
use crate::radar::{self, Radar};
use crate::taskgraph::display;
use crate::taskgraph::schedule::{self, Blocker, Wait};
use crate::taskgraph::{Status, Task};

/// `writeln!` into a String (writing to a String cannot fail).
macro_rules! outln {
    ($o:ident, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($o, $($arg)*);
    }};
}
pub(crate) use outln;

/// Writes to stdout in one go; a write error makes the command exit 128 (crate::output).
pub(crate) fn write_stdout(s: &str) {
    crate::output::print_str(s);
}

/// A JSON document as printed: pretty, with a final newline.
pub(crate) fn json_text(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

/// How status shows a task in progress whose branch is not in this repository.
pub(crate) const ELSEWHERE: &str = "in progress, no branch here";

/// Whether `task` is in progress elsewhere: `in_progress` in the task file, but its branch does
/// not exist in this repository (started on another machine, or the status set by hand).
pub(crate) fn in_progress_elsewhere(env: &Env, task: &Task) -> Result<bool> {
    Ok(task.status == Status::InProgress && env.ctx.repo.ref_id(&env.branch_of(task))?.is_none())
}

/// What such a task is, in one clause: `ID: in progress, no branch here (…)`.
pub(crate) fn elsewhere_note(env: &Env, task: &Task) -> String {
    format!(
        "{}: {ELSEWHERE} (its branch {} is not in this repository: started on another machine, or the status set by hand)",
        task.id,
        short_branch(&env.branch_of(task)),
    )
}

/// What the repository says about an active (in_progress or failed) task.
struct Active {
    branch: String,
    /// The branch exists.
    tip: Option<gix::ObjectId>,
    /// In progress with no branch here: started on another machine, or the status set by hand.
    elsewhere: bool,
    worktree: Option<Utf8PathBuf>,
    /// Changed or untracked files in the worktree (None: no worktree).
    changes: Option<usize>,
    ahead: Option<usize>,
    behind: Option<usize>,
}

/// One row of the report.
struct Row<'a> {
    task: &'a Task,
    active: Option<Active>,
}

pub fn run(ctx: &Context) -> Result<()> {
    let env = Env::load_readonly(ctx)?;
    let graph = &env.tf.graph;
    let is_active = |t: &Task| matches!(t.status, Status::InProgress | Status::Failed);
    // Worktrees are only listed (and git only run) when some task is active.
    let worktrees: Vec<WorktreeInfo> = if graph.tasks.iter().any(is_active) {
        ctx.repo.worktrees()?
    } else {
        Vec::new()
    };
    let mut rows = Vec::with_capacity(graph.tasks.len());
    for t in &graph.tasks {
        let active = if is_active(t) {
            Some(inspect(&env, t, &worktrees)?)
        } else {
            None
        };
        rows.push(Row { task: t, active });
    }
    count_changes(ctx, &mut rows)?;
    let sel = schedule::select(graph);
    // Pending tasks that do not start now, in file order.
    let mut waiting: Vec<(usize, &Wait)> = sel
        .waiting
        .iter()
        .filter(|(i, _)| matches!(graph.tasks[*i].status, Status::Pending | Status::Ready))
        .map(|(i, w)| (*i, w))
        .collect();
    waiting.sort_by_key(|(i, _)| *i);
    let radar = radar_of(&env, &rows)?;
    if ctx.out.json {
        let mut doc = to_json(&env, &rows, &sel.run, &waiting);
        doc["radar"] = serde_json::to_value(&radar).unwrap_or(Value::Null);
        write_stdout(&json_text(&doc));
    } else if !ctx.out.quiet {
        let mut text = to_text(&env, &rows, &sel.run, &waiting);
        text.push_str(&radar_text(&env, &radar));
        write_stdout(&text);
    }
    Ok(())
}

/// The conflict radar over the in-progress tasks whose branch exists here.
fn radar_of(env: &Env, rows: &[Row]) -> Result<Radar> {
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
    let off = env.ctx.repo.config("parallel.radar").is_some_and(|v| {
        matches!(
            v.to_ascii_lowercase().as_str(),
            "false" | "no" | "off" | "0"
        )
    });
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
fn radar_text(env: &Env, radar: &Radar) -> String {
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

fn inspect(env: &Env, t: &Task, worktrees: &[WorktreeInfo]) -> Result<Active> {
    let repo = &env.ctx.repo;
    let branch = env.branch_of(t);
    let tip = repo.ref_id(&branch)?;
    let worktree = worktrees
        .iter()
        .find(|w| w.branch.as_deref() == Some(branch.as_str()))
        .map(|w| w.path.clone());
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
        changes: None,
        ahead,
        behind,
    })
}

/// Fills in `changes` of every active row with a worktree: `Repo::status_many`, as many
/// worktrees at once as there are CPUs.
fn count_changes(ctx: &Context, rows: &mut [Row]) -> Result<()> {
    let mut todo: Vec<(&mut Option<usize>, Utf8PathBuf)> = rows
        .iter_mut()
        .filter_map(|r| r.active.as_mut())
        .filter_map(|a| match &a.worktree {
            Some(p) if p.is_dir() => Some((&mut a.changes, p.clone())),
            _ => None,
        })
        .collect();
    let paths: Vec<&camino::Utf8Path> = todo.iter().map(|(_, p)| p.as_path()).collect();
    let results = ctx.repo.status_many(&paths);
    for ((slot, _), lines) in todo.iter_mut().zip(results) {
        **slot = Some(lines?.len());
    }
    Ok(())
}

/// Why a task waits, in words: `explain`, with unmet dependencies listed in one clause.
pub(crate) fn reason(wait: &Wait) -> String {
    let Wait::Blocked(blockers) = wait else {
        return explain(wait);
    };
    let deps: Vec<String> = blockers
        .iter()
        .filter_map(|b| match b {
            Blocker::Dependency { dep, status } => Some(format!("{dep} ({status})")),
            _ => None,
        })
        .collect();
    let mut parts = Vec::new();
    if !deps.is_empty() {
        parts.push(format!("depends on {}", deps.join(", ")));
    }
    parts.extend(
        blockers
            .iter()
            .filter(|b| !matches!(b, Blocker::Dependency { .. }))
            .map(explain_blocker),
    );
    parts.join("; ")
}

/// The ANSI colour of a status (empty: none).
fn status_color(s: Status) -> &'static str {
    match s {
        Status::Completed => "32",
        Status::InProgress => "33",
        Status::Failed => "31",
        Status::Ready => "36",
        Status::Blocked | Status::Skipped => "90",
        Status::Pending => "",
    }
}

fn paint_padded(out: &Output, code: &str, s: &str, width: usize) -> String {
    let pad = " ".repeat(width.saturating_sub(s.chars().count()));
    if code.is_empty() {
        format!("{s}{pad}")
    } else {
        format!("{}{pad}", out.paint(code, s))
    }
}

fn to_text(env: &Env, rows: &[Row], ready: &[usize], waiting: &[(usize, &Wait)]) -> String {
    let mut o = String::new();
    let out = &env.ctx.out;
    let graph = &env.tf.graph;
    let done = graph.tasks.iter().filter(|t| t.status.is_done()).count();
    outln!(
        o,
        "{} ({}): {done} of {} tasks done; target {}{}",
        env.show(&env.task_path),
        crate::taskgraph::display::safe(&env.product),
        graph.tasks.len(),
        short_branch(&env.target),
        if env.target_tip.is_null() {
            " (no commits yet)"
        } else {
            ""
        }
    );
    let w_id = rows
        .iter()
        .map(|r| r.task.id.chars().count())
        .max()
        .unwrap_or(0);
    let w_agent = rows
        .iter()
        .map(|r| r.task.agent.chars().count())
        .max()
        .unwrap_or(0);
    let w_status = rows
        .iter()
        .map(|r| r.task.status.as_str().len())
        .max()
        .unwrap_or(0);
    let w_branch = rows
        .iter()
        .filter_map(|r| r.active.as_ref().map(|a| a.branch.chars().count()))
        .max()
        .unwrap_or(0);
    let w_path = rows
        .iter()
        .filter_map(|r| r.active.as_ref()?.worktree.as_ref())
        .map(|p| env.show(p).chars().count())
        .max()
        .unwrap_or(0);
    for (i, r) in rows.iter().enumerate() {
        let t = r.task;
        let id_code = if ready.contains(&i) { "1" } else { "" };
        let mut line = format!(
            "  {}  {:<w_agent$}  {}",
            paint_padded(out, id_code, &t.id, w_id),
            crate::taskgraph::display::safe(&t.agent),
            paint_padded(out, status_color(t.status), t.status.as_str(), w_status),
        );
        if let Some(a) = &r.active {
            line.push_str(&format!("  {:<w_branch$}", a.branch));
            if a.elsewhere {
                line.push_str(&format!("  {}", out.paint("33", ELSEWHERE)));
                outln!(o, "{}", line.trim_end());
                continue;
            }
            if a.tip.is_none() {
                line.push_str(&format!("  {}", out.paint("31", "(branch missing)")));
            }
            match &a.worktree {
                Some(p) => line.push_str(&format!("  {:<w_path$}", env.show(p))),
                None => line.push_str(&format!("  {}", out.paint("31", "(no worktree)"))),
            }
            match a.changes {
                Some(0) => line.push_str("  clean"),
                Some(n) => line.push_str(&format!(
                    "  {}",
                    out.paint(
                        "31",
                        &format!("dirty ({n} change{})", if n == 1 { "" } else { "s" })
                    )
                )),
                None => {}
            }
            if let (Some(ahead), Some(behind)) = (a.ahead, a.behind) {
                line.push_str(&format!("  ahead {ahead}, behind {behind}"));
            }
        }
        outln!(o, "{}", line.trim_end());
    }
    let ids = |v: &mut dyn Iterator<Item = usize>| -> Vec<String> {
        v.map(|i| graph.tasks[i].id.clone()).collect()
    };
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
        outln!(o, "Ready now: {why}");
    } else {
        outln!(
            o,
            "Ready now: {}  (git parallel start)",
            out.paint("1", &ids(&mut ready.iter().copied()).join(", "))
        );
    }
    if !waiting.is_empty() {
        outln!(o, "Waiting:");
        let w = waiting
            .iter()
            .map(|(i, _)| graph.tasks[*i].id.chars().count())
            .max()
            .unwrap_or(0);
        for (i, wait) in waiting {
            outln!(o, "  {:<w$}  {}", graph.tasks[*i].id, reason(wait));
        }
    }
    o
}

fn to_json(env: &Env, rows: &[Row], ready: &[usize], waiting: &[(usize, &Wait)]) -> Value {
    let graph = &env.tf.graph;
    let tasks: Vec<Value> = rows
        .iter()
        .map(|r| {
            let t = r.task;
            let mut v = json!({
                "id": t.id,
                "name": t.name,
                "agent": t.agent,
                "status": t.status,
            });
            if let (Some(a), Some(obj)) = (&r.active, v.as_object_mut()) {
                obj.insert("branch".into(), json!(a.branch));
                obj.insert("branch_exists".into(), json!(a.tip.is_some()));
                obj.insert("elsewhere".into(), json!(a.elsewhere));
                if let Some(p) = &a.worktree {
                    obj.insert("worktree".into(), json!(p));
                }
                if let Some(n) = a.changes {
                    obj.insert("dirty".into(), json!(n > 0));
                    obj.insert("changes".into(), json!(n));
                }
                if let (Some(ahead), Some(behind)) = (a.ahead, a.behind) {
                    obj.insert("ahead".into(), json!(ahead));
                    obj.insert("behind".into(), json!(behind));
                }
            }
            v
        })
        .collect();
    let ready: Vec<&str> = ready.iter().map(|&i| graph.tasks[i].id.as_str()).collect();
    let waiting: Vec<Value> = waiting
        .iter()
        .map(|(i, w)| json!({ "id": graph.tasks[*i].id, "reason": reason(w) }))
        .collect();
    let task_file = env
        .task_rel
        .clone()
        .unwrap_or_else(|| env.task_path.to_string());
    common::json_envelope(
        "status",
        json!({
            "task_file": task_file,
            "product": env.product,
            "target": short_branch(&env.target),
            "tasks": tasks,
            "ready": ready,
            "waiting": waiting,
        }),
    )
}
