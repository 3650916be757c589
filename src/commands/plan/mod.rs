//! `git parallel plan [--format text|json|dot|mermaid]`: the waves a full run would take, the
//! critical path, sequential against parallel minutes, and why a task sits in a later wave
//! (why.rs). Reads only the task file.

mod why;

use std::collections::HashSet;
use std::fmt;

use serde::Serialize;

use crate::cli::defs;
use crate::error::Result;
use crate::taskgraph::display::safe;
use crate::taskgraph::schedule::{self, CriticalPath, Wait};
use crate::taskgraph::{Graph, Status, TaskFile};
use crate::workflow::context::{Context, Output};
use crate::workflow::readiness::{max_tasks, reason};
use crate::workflow::render::{outln, plural};
use crate::workflow::report::{self, Report};

/// Everything the formats print, computed once.
struct Plan<'a> {
    graph: &'a Graph,
    /// Consecutive pairs of the critical path (dependency, dependent).
    critical_edges: HashSet<(usize, usize)>,
    on_critical: Vec<bool>,
    waves: Vec<Vec<usize>>,
    /// Wave number (0-based) of each task, None when it is in no wave.
    wave_of: Vec<Option<usize>>,
    critical: CriticalPath,
    sequential: u64,
    parallel: u64,
    /// Remaining tasks in no wave: they can never start as things stand.
    stuck: Vec<usize>,
    /// Per wave, the checkpoints that must be approved (`git parallel approve`) before it can
    /// start: what `status` says the tasks wait for.
    approvals: Vec<Vec<usize>>,
    /// Whether any task has an `estimated_time_minutes`.
    estimated: bool,
    /// Per task, why it is not in the wave before its own.
    why: Vec<Option<why::Why>>,
}

impl<'a> Plan<'a> {
    fn new(graph: &'a Graph, max: Option<usize>) -> Plan<'a> {
        let waves = schedule::waves_capped(graph, max);
        let mut wave_of = vec![None; graph.tasks.len()];
        for (w, wave) in waves.iter().enumerate() {
            for &i in wave {
                wave_of[i] = Some(w);
            }
        }
        let stuck = (0..graph.tasks.len())
            .filter(|&i| wave_of[i].is_none() && !graph.tasks[i].status.is_done())
            .collect();
        let parallel = schedule::parallel_minutes(graph, &waves);
        let critical = schedule::critical_path(graph);
        let critical_edges = critical.tasks.windows(2).map(|w| (w[0], w[1])).collect();
        let mut on_critical = vec![false; graph.tasks.len()];
        for &i in &critical.tasks {
            on_critical[i] = true;
        }
        let approvals = approvals(graph, &waves);
        let why = why::reasons(graph, &waves, &wave_of, max);
        Plan {
            why,
            graph,
            approvals,
            estimated: graph
                .tasks
                .iter()
                .any(|t| t.estimated_time_minutes.is_some()),
            critical_edges,
            on_critical,
            critical,
            sequential: schedule::sequential_minutes(graph),
            parallel,
            waves,
            wave_of,
            stuck,
        }
    }

    fn id(&self, i: usize) -> &str {
        &self.graph.tasks[i].id
    }

    /// Both ends on the critical path, consecutively.
    fn critical_edge(&self, from: usize, to: usize) -> bool {
        self.critical_edges.contains(&(from, to))
    }

    /// Resolved dependency edges (dependency, dependent), in file order.
    fn edges(&self, tf: &TaskFile) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for (i, t) in self.graph.tasks.iter().enumerate() {
            for d in &t.depends_on {
                if let Some(j) = tf.index_of(d) {
                    if seen.insert((j, i)) {
                        out.push((j, i));
                    }
                }
            }
        }
        out
    }
}

/// Per wave, the checkpoints its tasks depend on that are not approved yet, in file order. A
/// checkpoint counts as approved once it has `approved_at` or a task depending on it has started
/// (the scheduler's rule); one not completed yet will need approval when it is. Linear in tasks
/// and dependencies.
fn approvals(graph: &Graph, waves: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let tasks = &graph.tasks;
    let mut by_id: std::collections::HashMap<&str, usize> = Default::default();
    for (i, t) in tasks.iter().enumerate() {
        by_id.entry(t.id.as_str()).or_insert(i);
    }
    let waits = |t: &crate::taskgraph::Task| matches!(t.status, Status::Pending | Status::Ready);
    let mut approved: Vec<bool> = tasks.iter().map(|t| t.approved_at.is_some()).collect();
    for t in tasks.iter().filter(|t| !waits(t)) {
        for d in &t.depends_on {
            if let Some(&j) = by_id.get(d.as_str()) {
                approved[j] = true;
            }
        }
    }
    waves
        .iter()
        .map(|wave| {
            let mut out: Vec<usize> = wave
                .iter()
                .filter(|&&i| waits(&tasks[i]))
                .flat_map(|&i| tasks[i].depends_on.iter())
                .filter_map(|d| by_id.get(d.as_str()).copied())
                .filter(|&j| tasks[j].checkpoint && !approved[j])
                .collect();
            out.sort_unstable();
            out.dedup();
            out
        })
        .collect()
}

fn minutes(graph: &Graph, i: usize) -> u64 {
    graph.tasks[i].estimated_time_minutes.unwrap_or(0)
}

/// The output formats of `plan`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Text,
    Json,
    Dot,
    Mermaid,
}

/// What `plan` reports: the waves a full run would take, the critical path and the time
/// estimates.
#[derive(Serialize, schemars::JsonSchema)]
pub struct PlanReport<'a> {
    /// `metadata.product` of the task file.
    product: Option<String>,
    /// The simulated run, as arrays of ids: each wave is the tasks started together, assuming
    /// every task of a wave completes (and completed checkpoints are approved) before the
    /// next. `in_progress` tasks are in the first wave. Tasks in one wave never share a path
    /// (`produces[].path`, `shared_files`), and a `parallel_ok: false` task is alone in its
    /// wave. Completed and skipped tasks are in no wave.
    waves: Vec<Vec<String>>,
    /// One array of ids per wave: the checkpoints that must be approved (`git parallel approve
    /// ID`) before that wave can start — the same waits `status` reports (a checkpoint is
    /// approved by `approved_at` or once a task depending on it has started).
    approvals: Vec<Vec<String>>,
    /// The longest dependency chain of remaining tasks by `estimated_time_minutes`.
    critical_path: Critical,
    /// The sum of the estimates of the remaining (not completed or skipped) tasks.
    sequential_minutes: u64,
    /// The sum over `waves` of each wave's longest estimate.
    parallel_minutes: u64,
    /// The ids of remaining tasks in no wave: they can never start as things stand (a failed
    /// or blocked dependency, an unknown dependency, a cycle).
    unschedulable: Vec<String>,
    /// Every task, in file order.
    tasks: Vec<PlannedTask>,
    #[serde(skip)]
    view: View<'a>,
}

/// What the text, dot and mermaid renderings need.
struct View<'a> {
    plan: Plan<'a>,
    tf: &'a TaskFile,
    out: Output,
    format: Format,
}

/// The critical path of `plan --json`.
#[derive(Serialize, schemars::JsonSchema)]
struct Critical {
    /// Its task ids, first to last (a missing estimate counts as 0).
    tasks: Vec<String>,
    /// Its length in minutes.
    minutes: u64,
}

/// One task of `plan --json`.
#[derive(Serialize, schemars::JsonSchema)]
struct PlannedTask {
    /// The task id.
    id: String,
    /// Its name (`""` when none).
    name: String,
    /// Its agent (`""` when none).
    agent: String,
    /// Its status.
    #[schemars(with = "String")]
    status: Status,
    /// Its dependencies, as written.
    depends_on: Vec<String>,
    /// Its estimate.
    estimated_time_minutes: Option<u64>,
    /// Whether it is a checkpoint.
    checkpoint: bool,
    /// Whether it may run beside other tasks.
    parallel_ok: bool,
    /// The 1-based number of its wave.
    wave: Option<usize>,
    /// Why it is not in the wave before (`null` in the first wave or in none): `kind`
    /// `dependency` (`task`: its dependency in that wave), `shared_file` (`file`, and `task`
    /// holding it there), `alone` (`task` has `parallel_ok: false`) or `max` (`max`: the cap).
    wave_reason: Option<why::Why>,
}

pub fn run(ctx: &Context) -> Result<()> {
    let format = ctx.args.plan_format().map(|f| match f {
        defs::PlanFormat::Text => Format::Text,
        defs::PlanFormat::Json => Format::Json,
        defs::PlanFormat::Dot => Format::Dot,
        defs::PlanFormat::Mermaid => Format::Mermaid,
    });
    let max = max_tasks(ctx)?;
    let tf = ctx.load_tasks()?;
    let plan = Plan::new(&tf.graph, max);
    // An explicit --format wins over --json; without one, the sink chooses text or JSON.
    let out = match format {
        Some(f) => Output {
            json: f == Format::Json,
            ..ctx.out
        },
        None => ctx.out,
    };
    let format = format.unwrap_or(Format::Text);
    report::emit(&out, "plan", &build(plan, &tf, out, format));
    Ok(())
}

impl fmt::Display for PlanReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = &self.view;
        f.write_str(&match v.format {
            Format::Dot => to_dot(&v.plan, v.tf),
            Format::Mermaid => to_mermaid(&v.plan, v.tf),
            Format::Text | Format::Json => to_text(&v.out, &v.plan, v.tf),
        })
    }
}

/// Dot and mermaid are the answer asked for: printed even with `-q`.
impl Report for PlanReport<'_> {
    fn essential(&self) -> bool {
        matches!(self.view.format, Format::Dot | Format::Mermaid)
    }
}

fn to_text(out: &Output, plan: &Plan, tf: &TaskFile) -> String {
    let mut o = String::new();
    let graph = plan.graph;
    let remaining = graph.tasks.iter().filter(|t| !t.status.is_done()).count();
    let shown = &tf.path;
    if remaining == 0 {
        outln!(o, "{shown}: every task is done; nothing to plan.");
        return o;
    }
    outln!(
        o,
        "{shown}: {remaining} task{} remaining in {} wave{}",
        plural(remaining),
        plan.waves.len(),
        plural(plan.waves.len())
    );
    for n in 0..plan.waves.len() {
        outln!(o, "{}", wave_line(out, plan, n));
        for &i in &plan.waves[n] {
            match &plan.why[i] {
                None | Some(why::Why::Dependency { .. }) => {}
                Some(w) => outln!(o, "    {} waits: {}", safe(plan.id(i)), safe(&w.text())),
            }
        }
    }
    let all_blockers = schedule::blockers_of(graph, &plan.stuck);
    for (&i, blockers) in plan.stuck.iter().zip(all_blockers) {
        let why = if blockers.is_empty() {
            "on a dependency cycle".to_string()
        } else {
            reason(&Wait::Blocked(blockers))
        };
        outln!(
            o,
            "  {} {}: {why}",
            out.paint("31", "Cannot run"),
            plan.id(i)
        );
    }
    o.push_str(&time_text(plan));
    o
}

/// `  Wave N (M min, after git parallel approve …): ids`.
fn wave_line(out: &Output, plan: &Plan, n: usize) -> String {
    let graph = plan.graph;
    let wave = &plan.waves[n];
    let longest = wave.iter().map(|&i| minutes(graph, i)).max().unwrap_or(0);
    let ids: Vec<String> = wave
        .iter()
        .map(|&i| {
            let t = &graph.tasks[i];
            let mut s = t.id.clone();
            if t.status == Status::InProgress {
                s.push_str(" (running)");
            }
            if t.checkpoint {
                s.push_str(" (checkpoint)");
            }
            s
        })
        .collect();
    let mut head = if plan.estimated {
        format!("{longest} min")
    } else {
        String::new()
    };
    if !plan.approvals[n].is_empty() {
        let ids: Vec<&str> = plan.approvals[n].iter().map(|&j| plan.id(j)).collect();
        if !head.is_empty() {
            head.push_str(", ");
        }
        head.push_str(&format!("after git parallel approve {}", ids.join(" ")));
    }
    let head = if head.is_empty() {
        String::new()
    } else {
        format!(" ({head})")
    };
    format!(
        "  {}{head}: {}",
        out.paint("1", &format!("Wave {}", n + 1)),
        ids.join(", ")
    )
}

/// The critical path and the time estimates (or that there are none).
fn time_text(plan: &Plan) -> String {
    let mut o = String::new();
    if !plan.estimated {
        outln!(
            o,
            "No task has estimated_time_minutes: no critical path or time estimate to show."
        );
        return o;
    }
    if !plan.critical.tasks.is_empty() {
        let ids: Vec<&str> = plan.critical.tasks.iter().map(|&i| plan.id(i)).collect();
        outln!(
            o,
            "Critical path ({} min): {}",
            plan.critical.minutes,
            ids.join(" -> ")
        );
    }
    let saved = plan.sequential.saturating_sub(plan.parallel);
    let speedup = if plan.parallel > 0 {
        format!(", {:.1}x", plan.sequential as f64 / plan.parallel as f64)
    } else {
        String::new()
    };
    outln!(
        o,
        "Time: {} min sequential, {} min in parallel (saves {saved} min{speedup})",
        plan.sequential,
        plan.parallel
    );
    o
}

/// The report of `plan`, kept with what its renderings need.
fn build<'a>(plan: Plan<'a>, tf: &'a TaskFile, out: Output, format: Format) -> PlanReport<'a> {
    let graph = plan.graph;
    let ids = |v: &[usize]| -> Vec<String> { v.iter().map(|&i| plan.id(i).to_string()).collect() };
    let tasks = graph
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| PlannedTask {
            id: t.id.clone(),
            name: t.name.clone(),
            agent: t.agent.clone(),
            status: t.status,
            depends_on: t.depends_on.clone(),
            estimated_time_minutes: t.estimated_time_minutes,
            checkpoint: t.checkpoint,
            parallel_ok: t.parallel_ok,
            wave: plan.wave_of[i].map(|w| w + 1),
            wave_reason: plan.why[i].clone(),
        })
        .collect();
    let waves = plan.waves.iter().map(|w| ids(w)).collect();
    let approvals = plan.approvals.iter().map(|a| ids(a)).collect();
    let critical_path = Critical {
        tasks: ids(&plan.critical.tasks),
        minutes: plan.critical.minutes,
    };
    let unschedulable = ids(&plan.stuck);
    PlanReport {
        product: graph.product.clone(),
        waves,
        approvals,
        critical_path,
        sequential_minutes: plan.sequential,
        parallel_minutes: plan.parallel,
        unschedulable,
        tasks,
        view: View {
            plan,
            tf,
            out,
            format,
        },
    }
}

/// Fill and border colours of a status, shared by dot and mermaid.
fn colors(s: Status) -> (&'static str, &'static str) {
    match s {
        Status::Completed => ("#b7e1a1", "#4d8b31"),
        Status::InProgress => ("#ffe08a", "#b8860b"),
        Status::Failed => ("#f4a3a3", "#b22222"),
        Status::Blocked => ("#d0d0d0", "#808080"),
        Status::Skipped => ("#eeeeee", "#a0a0a0"),
        Status::Ready => ("#cfe8ff", "#4682b4"),
        Status::Pending => ("#ffffff", "#333333"),
    }
}

fn dot_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn to_dot(plan: &Plan, tf: &TaskFile) -> String {
    let graph = plan.graph;
    let name = graph.product.as_deref().unwrap_or("task graph");
    let mut s = format!("digraph {} {{\n", dot_quote(name));
    s.push_str("  rankdir=LR;\n");
    s.push_str("  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\"];\n");
    s.push_str("  edge [color=\"#666666\"];\n");
    let node = |i: usize| -> String {
        let t = &graph.tasks[i];
        let (fill, border) = colors(t.status);
        let mut label = format!("{}\n{}", safe(&t.id), safe(&t.agent));
        if let Some(m) = t.estimated_time_minutes {
            label.push_str(&format!(" · {m} min"));
        }
        label.push_str(&format!("\n{}", t.status));
        let mut attrs = format!(
            "label={}, fillcolor=\"{fill}\", color=\"{border}\", tooltip={}",
            dot_quote(&label),
            dot_quote(&safe(&t.name))
        );
        if t.checkpoint {
            attrs.push_str(", peripheries=2");
        }
        if plan.on_critical[i] {
            attrs.push_str(", penwidth=2");
        }
        format!("{} [{attrs}];\n", dot_quote(&t.id))
    };
    for (n, wave) in plan.waves.iter().enumerate() {
        s.push_str(&format!(
            "  subgraph cluster_wave{} {{\n    label=\"Wave {}\";\n    style=dashed;\n    color=\"#999999\";\n",
            n + 1,
            n + 1
        ));
        for &i in wave {
            s.push_str("    ");
            s.push_str(&node(i));
        }
        s.push_str("  }\n");
    }
    for i in 0..graph.tasks.len() {
        if plan.wave_of[i].is_none() {
            s.push_str("  ");
            s.push_str(&node(i));
        }
    }
    for (from, to) in plan.edges(tf) {
        let attrs = if plan.critical_edge(from, to) {
            " [color=\"#b22222\", penwidth=2]"
        } else {
            ""
        };
        s.push_str(&format!(
            "  {} -> {}{attrs};\n",
            dot_quote(plan.id(from)),
            dot_quote(plan.id(to))
        ));
    }
    for (to, from, label) in waits(plan) {
        s.push_str(&format!(
            "  {} -> {} [style=dashed, color=\"#999999\", label={}];\n",
            dot_quote(plan.id(from)),
            dot_quote(plan.id(to)),
            dot_quote(&safe(&label))
        ));
    }
    s.push_str("}\n");
    s
}

/// The waits that are not dependencies, as (task, the task it waits for, label): a dashed
/// edge in dot and mermaid. A `--max` wait has no task to point at (its text is in the JSON).
fn waits(plan: &Plan) -> Vec<(usize, usize, String)> {
    let graph = plan.graph;
    let index = |id: &str| graph.tasks.iter().position(|t| t.id == id);
    plan.why
        .iter()
        .enumerate()
        .filter_map(|(i, w)| {
            let (holder, label) = match w.as_ref()? {
                why::Why::SharedFile { file, task } => (task, format!("shares {file}")),
                why::Why::Alone { task } if *task != graph.tasks[i].id => {
                    (task, "runs alone".to_string())
                }
                _ => return None,
            };
            Some((i, index(holder)?, label))
        })
        .collect()
}

/// Mermaid label text: quotes and angle brackets as entities.
fn mermaid_text(s: &str) -> String {
    s.replace('&', "#amp;")
        .replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}

fn to_mermaid(plan: &Plan, tf: &TaskFile) -> String {
    let graph = plan.graph;
    let mut s = String::from("flowchart LR\n");
    let node = |i: usize| -> String {
        let t = &graph.tasks[i];
        let mut label = format!(
            "{}<br/>{}",
            mermaid_text(&safe(&t.id)),
            mermaid_text(&safe(&t.agent))
        );
        if let Some(m) = t.estimated_time_minutes {
            label.push_str(&format!(" · {m} min"));
        }
        if t.checkpoint {
            format!("t{i}{{{{\"{label}\"}}}}\n")
        } else {
            format!("t{i}[\"{label}\"]\n")
        }
    };
    for (n, wave) in plan.waves.iter().enumerate() {
        s.push_str(&format!("  subgraph wave{} [\"Wave {}\"]\n", n + 1, n + 1));
        for &i in wave {
            s.push_str("    ");
            s.push_str(&node(i));
        }
        s.push_str("  end\n");
    }
    for i in 0..graph.tasks.len() {
        if plan.wave_of[i].is_none() {
            s.push_str("  ");
            s.push_str(&node(i));
        }
    }
    let edges = plan.edges(tf);
    let mut critical_links = Vec::new();
    for (k, &(from, to)) in edges.iter().enumerate() {
        if plan.critical_edge(from, to) {
            s.push_str(&format!("  t{from} ==> t{to}\n"));
            critical_links.push(k.to_string());
        } else {
            s.push_str(&format!("  t{from} --> t{to}\n"));
        }
    }
    for (to, from, label) in waits(plan) {
        s.push_str(&format!(
            "  t{from} -. \"{}\" .-> t{to}\n",
            mermaid_text(&safe(&label))
        ));
    }
    for st in Status::ALL {
        let members: Vec<String> = (0..graph.tasks.len())
            .filter(|&i| graph.tasks[i].status == st)
            .map(|i| format!("t{i}"))
            .collect();
        if members.is_empty() {
            continue;
        }
        let (fill, border) = colors(st);
        s.push_str(&format!(
            "  classDef {} fill:{fill},stroke:{border},color:#000\n",
            st.as_str()
        ));
        s.push_str(&format!("  class {} {}\n", members.join(","), st.as_str()));
    }
    if !critical_links.is_empty() {
        s.push_str(&format!(
            "  linkStyle {} stroke:#b22222,stroke-width:2px\n",
            critical_links.join(",")
        ));
    }
    s
}
