//! What `run` measured of each task's attempts (attempts, seconds, reported cost): handed to the
//! commands run calls in their context, written into a task's `result` by workflow::outcome.
//! A leaf of the workflow layer: it names no other module of the crate.

use std::collections::BTreeMap;

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
