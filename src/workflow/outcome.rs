//! The `result` a task is left with when it ends, as the orchestrators' schema has it
//! (`status: success|failure`, `artifacts_created`, `message`, `metrics`): `finish` writes a
//! success, `fail` and `skip` a failure. The metrics (attempts, seconds, cost when the agent
//! reported one) are what `run` measured, handed to the command in its context; a command run
//! by hand writes none.

use std::collections::BTreeMap;

use super::session::Session;
use crate::error::Result;
use crate::taskgraph::{Edit, Scalar, Task};

/// What `run` measured of a task's attempts.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    pub attempts: u32,
    pub seconds: u64,
    /// In US dollars, when the agent reported a cost.
    pub cost_usd: Option<f64>,
}

/// What `run` measured, per task id.
pub type MetricsByTask = BTreeMap<String, Metrics>;

/// The edit writing task `id`'s `result`.
pub fn result_edit(
    id: &str,
    success: bool,
    message: &str,
    artifacts: &[String],
    metrics: Option<&Metrics>,
) -> Edit {
    let mut map = vec![
        (
            "status".to_string(),
            Scalar::from(if success { "success" } else { "failure" }),
        ),
        (
            "artifacts_created".to_string(),
            Scalar::List(artifacts.iter().map(|a| Scalar::from(a.as_str())).collect()),
        ),
        ("message".to_string(), Scalar::from(one_line(message))),
    ];
    if let Some(m) = metrics {
        let mut metrics = vec![
            ("attempts".to_string(), Scalar::from(m.attempts)),
            (
                "seconds".to_string(),
                Scalar::Int(i64::try_from(m.seconds).unwrap_or(i64::MAX)),
            ),
        ];
        if let Some(c) = m.cost_usd {
            metrics.push(("cost_usd".to_string(), Scalar::number(c)));
        }
        map.push(("metrics".to_string(), Scalar::Map(metrics)));
    }
    Edit::task(id, "result", Scalar::Map(map))
}

/// The first line of `s`, trimmed.
fn one_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().trim().to_string()
}

/// The files `task`'s branch changed since it left the target (none when it has no branch):
/// its `artifacts_created`.
pub fn branch_files(env: &Session, task: &Task) -> Result<Vec<String>> {
    let repo = &env.ctx.repo;
    let Some(tip) = repo.ref_id(&env.branch_of(task))? else {
        return Ok(Vec::new());
    };
    let base = repo
        .merge_base(env.target_tip, tip)?
        .unwrap_or(env.target_tip);
    Ok(repo.changed_paths(base, tip)?)
}
