//! The remote protocol of issue 22 between `run --executor ssh|command` and `git parallel work`:
//! every lease and outcome is a blob holding one JSON object, pointed at by a ref under
//! `refs/parallel/` on the remote (`lease/<ID>`, `outcome/<ID>/<N>`); written with leased
//! pushes, read with one `ls-remote` and (only when a blob is new here) one fetch.
//!
//! (The smallest part of it `run` needs, written on h/executor until h/work's version lands.)

use std::collections::BTreeMap;

use gix::ObjectId;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::git::{remote, Location, RefUpdate};

/// `refs/parallel/lease/<ID>`: who holds attempt N of a task, and since when.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Lease {
    pub task: String,
    pub attempt: u32,
    /// `<hostname>:<pid>` of the worker, `dispatched` before one took it, `done` once it
    /// published.
    pub holder: String,
    /// `local`, `ssh:<host>`, `command`.
    pub executor: String,
    pub dispatched_at: u64,
    pub renewed_at: u64,
}

/// The failure of an outcome.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct OutcomeFailure {
    pub kind: crate::workflow::failure::Kind,
    pub message: String,
}

/// `refs/parallel/outcome/<ID>/<N>`: how attempt N ended.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Outcome {
    pub task: String,
    pub attempt: u32,
    pub ok: bool,
    pub exit: Option<i32>,
    pub signal: Option<i32>,
    pub failure: Option<OutcomeFailure>,
    /// The task branch's tip as pushed.
    pub tip: Option<String>,
    pub commits: usize,
    pub host: String,
    pub started_at: u64,
    pub ended_at: u64,
    pub seconds: f64,
}

/// The lease ref of a task.
pub fn lease_ref(id: &str) -> String {
    format!("refs/parallel/lease/{id}")
}

/// The outcome ref of attempt `n` of a task.
pub fn outcome_ref(id: &str, n: u32) -> String {
    format!("refs/parallel/outcome/{id}/{n}")
}

/// Every lease and outcome on the remote, with the blob each lease ref points at (the
/// expected value of the next leased write).
#[derive(Clone, Default, Debug)]
pub struct Attempts {
    pub leases: BTreeMap<String, (ObjectId, Lease)>,
    pub outcomes: BTreeMap<(String, u32), Outcome>,
}

impl Attempts {
    /// The highest attempt number the remote knows of `id` (0: none).
    pub fn last_attempt(&self, id: &str) -> u32 {
        let lease = self.leases.get(id).map_or(0, |(_, l)| l.attempt);
        let outcome = self
            .outcomes
            .keys()
            .filter(|(t, _)| t == id)
            .map(|(_, n)| *n)
            .max()
            .unwrap_or(0);
        lease.max(outcome)
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Reads every lease and outcome of `remote`: one `ls-remote`, plus one fetch when a blob is
/// not here yet. Unreadable blobs are left out.
pub fn read_all(loc: &Location, name: &str) -> Result<Attempts> {
    let refs = remote::ls_remote_matching(loc, name, "refs/parallel/*")?;
    let refs: Vec<(String, ObjectId)> = refs
        .into_iter()
        .filter(|(r, _)| r.starts_with("refs/parallel/lease/") || r.starts_with("refs/parallel/outcome/"))
        .collect();
    let missing: Vec<String> = refs
        .iter()
        .filter(|(_, o)| !remote::has_object(loc, o))
        .map(|(r, _)| r.clone())
        .collect();
    if !missing.is_empty() {
        let specs: Vec<String> = missing
            .iter()
            .map(|r| format!("+{r}:{}", remote::fetched_ref(name, r)))
            .collect();
        remote::fetch_refspecs(loc, name, &specs)?;
    }
    let mut out = Attempts::default();
    for (r, oid) in refs {
        let Some(text) = remote::blob(loc, &oid) else {
            continue;
        };
        if let Some(id) = r.strip_prefix("refs/parallel/lease/") {
            if let Ok(l) = serde_json::from_slice::<Lease>(&text) {
                out.leases.insert(id.to_string(), (oid, l));
            }
        } else if let Some(rest) = r.strip_prefix("refs/parallel/outcome/") {
            let Some((id, n)) = rest.rsplit_once('/') else {
                continue;
            };
            let (Ok(n), Ok(o)) = (n.parse::<u32>(), serde_json::from_slice::<Outcome>(&text))
            else {
                continue;
            };
            out.outcomes.insert((id.to_string(), n), o);
        }
    }
    Ok(out)
}

/// Writes `new` as the lease of its task, leased on `expected` (`None`: there must be none).
/// Whether the remote took it (`false`: the lease was changed meanwhile).
pub fn write_lease(
    loc: &Location,
    name: &str,
    expected: Option<ObjectId>,
    new: &Lease,
) -> Result<bool> {
    let text = serde_json::to_vec(new).unwrap_or_default();
    let blob = remote::write_blob(loc, &text)?;
    let update = RefUpdate {
        name: lease_ref(&new.task),
        old: expected,
        new: Some(blob),
    };
    match remote::push(loc, name, &[update])? {
        remote::Pushed::Done => Ok(true),
        remote::Pushed::Rejected(_) => Ok(false),
        remote::Pushed::Failed(e) => Err(crate::fatal!(
            help = "check that the remote is reachable (git ls-remote {name})",
            "cannot write the lease of {} on {name}: {e}",
            new.task
        )),
    }
}
