//! `git parallel status` (the default command): every task with its status, the branch and
//! worktree of active tasks, what is ready now and why the rest waits.
//!
//! Fast path: with no active task nothing but the task file and two refs are read; no git
//! process is spawned. Each active worktree costs one `git status`, as many at once as CPUs.

use camino::Utf8PathBuf;
use serde_json::{json, Value};

use super::common::{self, short_branch, Env};
use super::readiness::reason;
use super::render::{json_text, outln, write_stdout};
use super::worktrees::ELSEWHERE;
use crate::context::{Context, Output};
use crate::error::Result;
use crate::git::WorktreeInfo;
use crate::radar::{self, Radar};
use crate::taskgraph::display;
use crate::taskgraph::schedule::{self, Wait};
use crate::taskgraph::{Status, Task};

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
            // A worktree half-removed by an interrupted operation has no `.git` left.
            Some(p) if p.join(".git").exists() => Some((&mut a.changes, p.clone())),
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

/// One cell of the task table: its plain text and its ANSI colour (empty: none).
#[derive(Clone, Default)]
struct Cell {
    text: String,
    color: &'static str,
}

impl Cell {
    fn new(text: impl Into<String>, color: &'static str) -> Cell {
        Cell {
            text: text.into(),
            color,
        }
    }
}

/// The table's columns, in display order.
const C_ID: usize = 0;
const C_AGENT: usize = 1;
const C_STATUS: usize = 2;
const C_BRANCH: usize = 3;
const C_WHERE: usize = 4;
const C_CHANGES: usize = 5;
const C_AHEAD: usize = 6;
const N_COLS: usize = 7;
/// Which columns go first when the table is wider than the terminal.
const DROP_ORDER: [usize; 4] = [C_AHEAD, C_AGENT, C_BRANCH, C_CHANGES];

/// The terminal's width: the TTY's (ioctl TIOCGWINSZ on stdout), else `$COLUMNS`, else none
/// (piped output is never cut).
fn terminal_width() -> Option<usize> {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd as _;
        let fd = std::io::stdout().as_raw_fd();
        // SAFETY: isatty and ioctl(TIOCGWINSZ) only read the descriptor and fill `ws`.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        if unsafe { libc::isatty(fd) } == 1
            && unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } == 0
            && ws.ws_col > 0
        {
            return Some(usize::from(ws.ws_col));
        }
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0)
}

/// `s` cut to `width` characters, ending in `…` when cut.
fn fit_end(s: &str, width: Option<usize>) -> String {
    match width {
        Some(w) if s.chars().count() > w => {
            let mut t: String = s.chars().take(w.saturating_sub(1)).collect();
            t.push('…');
            t
        }
        _ => s.to_string(),
    }
}

/// `s` cut to `width` characters from the left, starting with `…` when cut (for paths: the
/// end names the task).
fn fit_start(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        return s.to_string();
    }
    let keep = width.saturating_sub(1);
    let mut t = String::from("…");
    t.extend(s.chars().skip(n - keep));
    t
}

/// The shortest way to write the absolute path `p` seen from `cwd`: relative (with `..`),
/// absolute, or under `~`.
fn short_path(p: &camino::Utf8Path, cwd: &camino::Utf8Path, home: Option<&str>) -> String {
    let mut best = p.to_string();
    let mut consider = |c: String| {
        if !c.is_empty() && c.chars().count() < best.chars().count() {
            best = c;
        }
    };
    if p.is_absolute() && cwd.is_absolute() {
        let pc: Vec<_> = p.components().collect();
        let cc: Vec<_> = cwd.components().collect();
        let common = pc.iter().zip(&cc).take_while(|(a, b)| a == b).count();
        let mut parts: Vec<&str> = vec![".."; cc.len() - common];
        parts.extend(pc[common..].iter().map(|c| c.as_str()));
        consider(if parts.is_empty() {
            ".".to_string()
        } else {
            parts.join("/")
        });
    }
    if let Some(home) = home.filter(|h| h.len() > 1 && h.starts_with('/')) {
        if let Ok(rest) = p.strip_prefix(home) {
            consider(if rest.as_str().is_empty() {
                "~".to_string()
            } else {
                format!("~/{rest}")
            });
        }
    }
    best
}

/// The cells of one task's row.
fn row_cells(env: &Env, r: &Row, is_ready: bool, home: Option<&str>) -> [Cell; N_COLS] {
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
        (Some(p), false) => Cell::new(short_path(p, &env.ctx.cwd, home), ""),
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

/// Lays the table out in `width` columns: drops whole columns (DROP_ORDER), then cuts the
/// worktree column from the left, then cuts any line still too long. Returns the text.
fn layout(out: &Output, table: &[[Cell; N_COLS]], width: Option<usize>) -> String {
    let mut widths = [0usize; N_COLS];
    for row in table {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.text.chars().count());
        }
    }
    let mut shown: Vec<bool> = widths.iter().map(|&w| w > 0).collect();
    let total = |shown: &[bool], widths: &[usize; N_COLS]| -> usize {
        let cols: Vec<usize> = (0..N_COLS).filter(|&i| shown[i]).collect();
        2 + cols.iter().map(|&i| widths[i]).sum::<usize>() + 2 * cols.len().saturating_sub(1)
    };
    let mut where_cap = None;
    if let Some(limit) = width {
        for col in DROP_ORDER {
            if total(&shown, &widths) <= limit {
                break;
            }
            shown[col] = false;
        }
        let over = total(&shown, &widths).saturating_sub(limit);
        if over > 0 && shown[C_WHERE] {
            // Keep at least a few characters of the worktree column.
            let cap = widths[C_WHERE].saturating_sub(over).max(8);
            if cap < widths[C_WHERE] {
                widths[C_WHERE] = cap;
                where_cap = Some(cap);
            }
        }
    }
    let last = (0..N_COLS).rev().find(|&i| shown[i]).unwrap_or(0);
    let mut o = String::new();
    for row in table {
        let mut plain = String::from(" ");
        let mut painted = String::from(" ");
        for (i, cell) in row.iter().enumerate() {
            if !shown[i] {
                continue;
            }
            let text = match where_cap {
                Some(cap) if i == C_WHERE => fit_start(&cell.text, cap),
                _ => cell.text.clone(),
            };
            let pad = if i == last {
                String::new()
            } else {
                " ".repeat(widths[i].saturating_sub(text.chars().count()))
            };
            plain.push(' ');
            plain.push(' ');
            painted.push(' ');
            painted.push(' ');
            plain.push_str(&text);
            if cell.color.is_empty() || text.is_empty() {
                painted.push_str(&text);
            } else {
                painted.push_str(&out.paint(cell.color, &text));
            }
            plain.push_str(&pad);
            painted.push_str(&pad);
        }
        // `plain` starts with one space too many: the first cell is preceded by two spaces.
        let plain = plain[1..].trim_end().to_string();
        let painted = painted[1..].trim_end().to_string();
        match width {
            Some(w) if plain.chars().count() > w => outln!(o, "{}", fit_end(&plain, width)),
            _ => outln!(o, "{painted}"),
        }
    }
    o
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

fn to_text(env: &Env, rows: &[Row], ready: &[usize], waiting: &[(usize, &Wait)]) -> String {
    let mut o = String::new();
    let out = &env.ctx.out;
    let graph = &env.tf.graph;
    let width = terminal_width();
    let all = env.ctx.args.on(&crate::cli::defs::STATUS_ALL);
    let home = std::env::var("HOME").ok();
    let done = graph.tasks.iter().filter(|t| t.status.is_done()).count();
    let head = format!(
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
    outln!(o, "{}", fit_end(&head, width));
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
    o.push_str(&layout(out, &table, width));
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
        outln!(o, "{}", fit_end(&format!("Ready now: {why}"), width));
    } else {
        let list = ids(&mut ready.iter().copied()).join(", ");
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
                    out.paint("1", &list)
                );
            }
        }
    }
    if !waiting.is_empty() {
        outln!(o, "Waiting:");
        let w = waiting
            .iter()
            .map(|(i, _)| graph.tasks[*i].id.chars().count())
            .max()
            .unwrap_or(0);
        for (i, wait) in waiting {
            let line = format!("  {:<w$}  {}", graph.tasks[*i].id, reason(wait));
            outln!(o, "{}", fit_end(&line, width));
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

#[cfg(test)]
mod tests {
    use super::*;
    use camino::Utf8Path;

    #[test]
    fn short_path_picks_the_shortest_form() {
        let cwd = Utf8Path::new("/home/u/src/repo/sub");
        let p = Utf8Path::new("/home/u/src/worktrees/p/a-01");
        assert_eq!(short_path(p, cwd, None), "../../worktrees/p/a-01");
        // A tie goes to the relative path; from deeper down, ~ is shorter.
        assert_eq!(
            short_path(p, cwd, Some("/home/u")),
            "../../worktrees/p/a-01"
        );
        let deep = Utf8Path::new("/home/u/src/repo/a/b/c");
        assert_eq!(
            short_path(p, deep, Some("/home/u")),
            "~/src/worktrees/p/a-01"
        );
        assert_eq!(
            short_path(
                Utf8Path::new("/home/u/src/repo/sub/x"),
                cwd,
                Some("/home/u")
            ),
            "x"
        );
        assert_eq!(short_path(Utf8Path::new("/w"), cwd, None), "/w");
    }

    #[test]
    fn fitting_cuts_with_an_ellipsis() {
        assert_eq!(fit_end("abcdef", Some(4)), "abc…");
        assert_eq!(fit_end("abcdef", None), "abcdef");
        assert_eq!(fit_end("abc", Some(3)), "abc");
        assert_eq!(fit_start("abcdef", 4), "…def");
        assert_eq!(fit_start("ab", 0), "…");
    }
}
