//! The remote protocol between an orchestrator (`run --executor ssh|command`) and its workers
//! (`git parallel work ID`): everything they tell each other is a ref under `refs/parallel/` on
//! the shared remote, pointing at a blob that holds one JSON object.
//!
//! - `refs/parallel/lease/<ID>`: a [`Lease`] — which attempt of the task may run, who holds
//!   it, when it was last renewed, and (from the orchestrator) why the attempt before failed
//!   and whether to merge the target first. The orchestrator writes it before it dispatches an attempt;
//!   the worker takes it and renews it; a renewal refused because the lease changed means a
//!   newer attempt took over.
//! - `refs/parallel/outcome/<ID>/<N>`: the [`Outcome`] of attempt N, published by its worker
//!   together with the task branch and its lease in one atomic push ([`publish`]).
//!
//! Every write is a leased push (the value read, or "must not exist"); reading is one
//! `ls-remote` plus one fetch of the blobs this clone does not have yet ([`read_all`]). All git
//! calls go through the git facade (src/git/remote.rs).

use std::collections::BTreeMap;
use std::time::Duration;

use gix::ObjectId;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::git::remote::{self, Pushed};
use crate::git::{Location, RefUpdate, Settings};
use crate::workflow::failure::{Failure, Kind};

/// Where every ref of the protocol lives on the remote.
pub const PREFIX: &str = "refs/parallel/";
/// The leases: `refs/parallel/lease/<ID>`.
pub const LEASE_PREFIX: &str = "refs/parallel/lease/";
/// The outcomes: `refs/parallel/outcome/<ID>/<N>`.
pub const OUTCOME_PREFIX: &str = "refs/parallel/outcome/";

/// The lease of task `id`.
pub fn lease_ref(id: &str) -> String {
    format!("{LEASE_PREFIX}{id}")
}

/// The outcome of attempt `attempt` of task `id`.
pub fn outcome_ref(id: &str, attempt: u32) -> String {
    format!("{OUTCOME_PREFIX}{id}/{attempt}")
}

/// What a lease's `holder` is before a worker takes it.
pub const DISPATCHED: &str = "dispatched";
/// What a lease's `holder` is once its worker published.
pub const DONE: &str = "done";

/// Who may run which attempt of a task, and since when (`refs/parallel/lease/<ID>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Lease {
    pub task: String,
    /// The attempt that may run, from 1.
    pub attempt: u32,
    /// `<hostname>:<pid>` of the worker holding it, [`DISPATCHED`] before one took it,
    /// [`DONE`] once it published.
    pub holder: String,
    /// `local`, `ssh:<host>` or `command` (a worker started by hand says `local`).
    pub executor: String,
    /// When the attempt was dispatched (unix seconds).
    pub dispatched_at: u64,
    /// When the lease was last written (unix seconds).
    pub renewed_at: u64,
    /// Why the attempt before this one failed, as the orchestrator knows it (a conflict, the
    /// test gate or an outside-paths refusal found when it landed it, or what the worker
    /// published): what the worker hands its agent (`GIT_PARALLEL_LAST_FAILURE`, the brief).
    /// Only in a lease an orchestrator writes; a worker drops it when it takes the lease.
    /// Absent in leases of older versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<Failure>,
    /// The worker merges the target into the task's worktree before its agent runs (after a
    /// conflict, with run's `parallel.onConflict = merge`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub merge_target: bool,
}

impl Lease {
    /// The lease an orchestrator writes before it dispatches `attempt` of `task` at `now`.
    pub fn dispatched(task: &str, attempt: u32, executor: &str, now: u64) -> Lease {
        Lease {
            task: task.to_string(),
            attempt,
            holder: DISPATCHED.to_string(),
            executor: executor.to_string(),
            dispatched_at: now,
            renewed_at: now,
            last_failure: None,
            merge_target: false,
        }
    }

    /// This lease carrying the failure of the attempt before (`merge_target`: the worker
    /// merges the target into the worktree first).
    pub fn after(self, last_failure: Option<Failure>, merge_target: bool) -> Lease {
        Lease {
            merge_target: merge_target && last_failure.is_some(),
            last_failure,
            ..self
        }
    }

    /// This lease held (taken or renewed) by `holder` at `now`, without what the orchestrator
    /// told its worker (the worker read it when it took the lease).
    pub fn held_by(&self, holder: &str, now: u64) -> Lease {
        Lease {
            holder: holder.to_string(),
            renewed_at: now,
            last_failure: None,
            merge_target: false,
            ..self.clone()
        }
    }

    /// How old the lease is at `now`, in seconds.
    pub fn age(&self, now: u64) -> u64 {
        now.saturating_sub(self.renewed_at)
    }

    /// Whether its worker stopped renewing it: older than `timeout` and neither done nor
    /// answered by an outcome (the caller checks the outcome).
    pub fn expired(&self, now: u64, timeout: Duration) -> bool {
        self.holder != DONE && self.age(now) > timeout.as_secs()
    }
}

/// Why an attempt failed, as its outcome says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OutcomeFailure {
    /// What failed, as in run's events: `exit`, `timeout`, `no-commits`, `refused`…
    pub kind: Kind,
    /// Why, in one line.
    pub message: String,
}

/// How an attempt ended, as its worker publishes it (`refs/parallel/outcome/<ID>/<N>`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Outcome {
    /// The task id.
    pub task: String,
    /// The attempt, from 1.
    pub attempt: u32,
    /// The agent exited 0 and committed, or committed nothing where the task produces nothing.
    pub ok: bool,
    /// The agent's exit code (`null`: killed by a signal, or never started).
    pub exit: Option<i32>,
    /// The signal that killed it.
    pub signal: Option<i32>,
    /// Why it failed (`null` when ok).
    pub failure: Option<OutcomeFailure>,
    /// The task branch's tip on the remote once published (`null`: the branch is gone, or the
    /// attempt's commits could not be pushed because the branch moved on the remote meanwhile).
    pub tip: Option<String>,
    /// The agent's commits on the task branch.
    pub commits: u32,
    /// The machine it ran on.
    pub host: String,
    /// When the worker started (unix seconds).
    pub started_at: u64,
    /// When it published (unix seconds).
    pub ended_at: u64,
    /// How long the attempt took, joining included.
    pub seconds: f64,
}

/// A value read from the remote with the blob it came from (the expected value of the next
/// leased write of its ref).
#[derive(Clone, Debug)]
pub struct Stored<T> {
    pub blob: ObjectId,
    pub value: T,
}

/// Every lease and outcome the remote has.
#[derive(Clone, Debug, Default)]
pub struct Board {
    /// By task id.
    pub leases: BTreeMap<String, Stored<Lease>>,
    /// By task id, then attempt.
    pub outcomes: BTreeMap<String, BTreeMap<u32, Stored<Outcome>>>,
    /// Refs under `refs/parallel/lease/` or `refs/parallel/outcome/` whose blob is not one of
    /// ours (name, why).
    pub unreadable: Vec<(String, String)>,
}

impl Board {
    /// The lease of `id`.
    pub fn lease(&self, id: &str) -> Option<&Stored<Lease>> {
        self.leases.get(id)
    }

    /// The outcome of attempt `attempt` of `id`.
    pub fn outcome(&self, id: &str, attempt: u32) -> Option<&Stored<Outcome>> {
        self.outcomes.get(id)?.get(&attempt)
    }

    /// The refs of task `id` on the remote with their values (its lease and outcomes): what a
    /// clean-up deletes, leased on these values.
    pub fn refs_of(&self, id: &str) -> Vec<(String, ObjectId)> {
        let mut v = Vec::new();
        if let Some(l) = self.leases.get(id) {
            v.push((lease_ref(id), l.blob));
        }
        for (n, o) in self.outcomes.get(id).into_iter().flatten() {
            v.push((outcome_ref(id, *n), o.blob));
        }
        v
    }
}

/// A task's lease as `status` shows it (`--json`: `lease`).
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct LeaseState {
    /// The attempt the lease is for.
    pub attempt: u32,
    /// `<host>:<pid>` of the worker holding it; `dispatched` before a worker took it, `done`
    /// once it published its outcome.
    pub holder: String,
    /// How the attempt was started: `local` (a worker started by hand), `ssh:<host>`,
    /// `command`.
    pub executor: String,
    /// Seconds since the lease was last written.
    pub age_seconds: u64,
    /// Not renewed for longer than `parallel.leaseTimeout` and not done: its worker is
    /// presumed lost.
    pub expired: bool,
    /// The published outcome of that attempt: `true` ok, `false` failed; `null`: none yet.
    pub outcome_ok: Option<bool>,
}

impl LeaseState {
    /// `attempt 2, ssh:build1 (build1:4242), lease 5s old` and what is known of its end.
    pub fn describe(&self) -> String {
        let who = if self.holder == DISPATCHED {
            format!("{}, dispatched", self.executor)
        } else if self.holder == DONE {
            format!("{}, done", self.executor)
        } else {
            format!("{} ({})", self.executor, self.holder)
        };
        let end = match (self.outcome_ok, self.expired) {
            (Some(true), _) => ", succeeded",
            (Some(false), _) => ", failed",
            (None, true) => ", expired",
            (None, false) => "",
        };
        format!(
            "attempt {}, {who}, lease {}s old{end}",
            self.attempt, self.age_seconds
        )
    }
}

impl Board {
    /// Task `id`'s lease as `status` shows it at `now` (`None`: no lease).
    pub fn state(&self, id: &str, now: u64, timeout: Duration) -> Option<LeaseState> {
        let l = &self.lease(id)?.value;
        let outcome_ok = self.outcome(id, l.attempt).map(|o| o.value.ok);
        Some(LeaseState {
            attempt: l.attempt,
            holder: l.holder.clone(),
            executor: l.executor.clone(),
            age_seconds: l.age(now),
            expired: outcome_ok.is_none() && l.expired(now, timeout),
            outcome_ok,
        })
    }
}

/// Reads every lease and outcome of `remote` (a remote name or URL): one `ls-remote`, then one
/// fetch of the blobs this clone does not have yet.
pub fn read_all(loc: &Location, remote: &str) -> Result<Board> {
    let refs = remote::ls_remote_under(loc, remote, PREFIX)?;
    read_refs(loc, remote, &refs)
}

/// Reads the lease of `id` alone (`None`: the remote has none).
pub fn read_lease(loc: &Location, remote: &str, id: &str) -> Result<Option<Stored<Lease>>> {
    let name = lease_ref(id);
    let refs = remote::ls_remote(loc, remote, &[name.as_str()])?;
    let mut board = read_refs(loc, remote, &refs)?;
    if let Some((name, why)) = board.unreadable.pop() {
        return Err(crate::refused!(
            help = "delete it (git push {remote} :{name}) and dispatch the task again",
            "the lease {name} on {remote} cannot be read: {why}"
        ));
    }
    Ok(board.leases.remove(id))
}

/// The board made of `refs` (name → blob), fetching the blobs missing here.
fn read_refs(loc: &Location, remote: &str, refs: &BTreeMap<String, ObjectId>) -> Result<Board> {
    let ours: Vec<(&String, &ObjectId)> = refs
        .iter()
        .filter(|(n, _)| n.starts_with(LEASE_PREFIX) || n.starts_with(OUTCOME_PREFIX))
        .collect();
    let oids: Vec<ObjectId> = ours.iter().map(|(_, o)| **o).collect();
    let mut blobs = remote::read_blobs(loc, &oids)?;
    let missing: Vec<&str> = ours
        .iter()
        .zip(&blobs)
        .filter(|(_, b)| b.is_none())
        .map(|((n, _), _)| n.as_str())
        .collect();
    if !missing.is_empty() {
        remote::fetch_objects(loc, remote, &missing)?;
        blobs = remote::read_blobs(loc, &oids)?;
    }
    let mut board = Board::default();
    for ((name, oid), blob) in ours.into_iter().zip(blobs) {
        let Some(bytes) = blob else {
            board
                .unreadable
                .push((name.clone(), "it does not point at a blob".into()));
            continue;
        };
        if let Some(id) = name.strip_prefix(LEASE_PREFIX) {
            match serde_json::from_slice::<Lease>(&bytes) {
                Ok(value) => {
                    board
                        .leases
                        .insert(id.to_string(), Stored { blob: *oid, value });
                }
                Err(e) => board.unreadable.push((name.clone(), e.to_string())),
            }
        } else if let Some(rest) = name.strip_prefix(OUTCOME_PREFIX) {
            let parsed = rest
                .rsplit_once('/')
                .and_then(|(id, n)| Some((id, n.parse::<u32>().ok()?)));
            let Some((id, n)) = parsed else {
                board
                    .unreadable
                    .push((name.clone(), "not refs/parallel/outcome/<ID>/<N>".into()));
                continue;
            };
            match serde_json::from_slice::<Outcome>(&bytes) {
                Ok(value) => {
                    board
                        .outcomes
                        .entry(id.to_string())
                        .or_default()
                        .insert(n, Stored { blob: *oid, value });
                }
                Err(e) => board.unreadable.push((name.clone(), e.to_string())),
            }
        }
    }
    Ok(board)
}

/// How a leased write ended.
#[derive(Debug)]
pub enum Written {
    /// The remote took it; the new value's blob (the expected value of the next write).
    Done(ObjectId),
    /// The remote refused: a lease did not hold (someone else wrote first), nothing changed.
    Lost(String),
    /// git could not reach the remote; whether it changed is not known.
    Failed(String),
}

/// Writes `value` as a JSON blob into this clone's object database.
pub fn blob_of<T: Serialize>(loc: &Location, value: &T) -> Result<ObjectId> {
    let bytes = serde_json::to_vec(value)
        .map_err(|e| crate::fatal!("cannot write the protocol's JSON: {e}"))?;
    Ok(remote::write_blob(loc, &bytes)?)
}

/// Writes `new` to `refs/parallel/lease/<task>` on `remote`, leased on `expected` (the blob
/// read; `None`: there must be no lease yet).
pub fn write_lease(
    loc: &Location,
    remote: &str,
    expected: Option<ObjectId>,
    new: &Lease,
) -> Result<Written> {
    let blob = blob_of(loc, new)?;
    let update = RefUpdate {
        name: lease_ref(&new.task),
        old: expected,
        new: Some(blob),
    };
    Ok(written(remote::push(loc, remote, &[update])?, blob))
}

/// A worker's last push, atomic: the task branch (`branch`, leased on the tip it fetched;
/// `None`: the branch is not pushed), the outcome (its ref must not exist yet) and the lease
/// (from `lease_expected`, the worker's own last lease blob, to `lease_done`, holder
/// [`DONE`]). A worker whose lease was taken over publishes nothing.
pub fn publish(
    loc: &Location,
    remote: &str,
    branch: Option<RefUpdate>,
    outcome: &Outcome,
    lease_expected: ObjectId,
    lease_done: &Lease,
) -> Result<Written> {
    let outcome_blob = blob_of(loc, outcome)?;
    let lease_blob = blob_of(loc, lease_done)?;
    let mut updates: Vec<RefUpdate> = branch.into_iter().collect();
    updates.push(RefUpdate {
        name: outcome_ref(&outcome.task, outcome.attempt),
        old: None,
        new: Some(outcome_blob),
    });
    updates.push(RefUpdate {
        name: lease_ref(&outcome.task),
        old: Some(lease_expected),
        new: Some(lease_blob),
    });
    Ok(written(remote::push(loc, remote, &updates)?, outcome_blob))
}

/// Deletes the leases and outcomes of tasks `ids` from `remote` in one push, each leased on
/// the value in `board` (after the tasks landed or were dropped; best effort: the caller may
/// ignore the result).
pub fn clear(loc: &Location, remote: &str, board: &Board, ids: &[&str]) -> Result<Written> {
    let updates: Vec<RefUpdate> = ids
        .iter()
        .flat_map(|id| board.refs_of(id))
        .map(|(name, oid)| RefUpdate {
            name,
            old: Some(oid),
            new: None,
        })
        .collect();
    if updates.is_empty() {
        return Ok(Written::Done(ObjectId::null(gix::hash::Kind::Sha1)));
    }
    Ok(written(
        remote::push(loc, remote, &updates)?,
        ObjectId::null(gix::hash::Kind::Sha1),
    ))
}

fn written(p: Pushed, blob: ObjectId) -> Written {
    match p {
        Pushed::Done => Written::Done(blob),
        Pushed::Rejected(why) => Written::Lost(why),
        Pushed::Failed(why) => Written::Failed(why),
    }
}

/// `parallel.leaseInterval`: how often a worker renews its lease (default 10 s).
pub fn lease_interval(settings: &Settings) -> Result<Duration> {
    duration(settings, "parallel.leaseInterval", Duration::from_secs(10))
}

/// `parallel.leaseTimeout`: a lease older than this lost its worker (default 60 s).
pub fn lease_timeout(settings: &Settings) -> Result<Duration> {
    duration(settings, "parallel.leaseTimeout", Duration::from_secs(60))
}

fn duration(settings: &Settings, key: &str, default: Duration) -> Result<Duration> {
    match settings.get(key) {
        None => Ok(default),
        Some(v) => crate::time::parse_duration(v)
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                crate::refused!(
                    help = "set it to a duration such as 10s, 2m or a bare number of seconds: git config {key} 10s",
                    "{key} must be a duration above 0, not '{v}'"
                )
            }),
    }
}

/// This machine's name (for `holder` and `host`; `localhost` when it cannot be read).
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname(2) writes at most buf.len() bytes into buf.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    match std::str::from_utf8(&buf[..end]) {
        Ok(name) if r == 0 && !name.is_empty() => name.to_string(),
        _ => "localhost".to_string(),
    }
}

/// The holder this process writes into a lease: `<hostname>:<pid>`.
pub fn holder() -> String {
    format!("{}:{}", hostname(), std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_json_is_the_protocols() {
        let l = Lease::dispatched("A", 2, "ssh:build1", 100).held_by("h:1", 130);
        let v: serde_json::Value = serde_json::to_value(&l).expect("json");
        assert_eq!(
            v,
            serde_json::json!({"task":"A","attempt":2,"holder":"h:1","executor":"ssh:build1",
                "dispatched_at":100,"renewed_at":130})
        );
        assert_eq!(l.age(140), 10);
        assert!(l.expired(200, std::time::Duration::from_secs(60)));
        assert!(!l.expired(180, std::time::Duration::from_secs(60)));
    }

    #[test]
    fn a_lease_carries_the_last_failure_and_an_old_lease_still_reads() {
        let mut f = Failure::new(Kind::Conflict, "its merge conflicts with main in a.txt", 1);
        f.with = Some("main at abc1234".into());
        f.evidence = Some("CONFLICT (add/add)\n".into());
        let l = Lease::dispatched("A", 2, "command", 100).after(Some(f), true);
        let v = serde_json::to_value(&l).expect("json");
        assert_eq!(v["last_failure"]["kind"], "conflict");
        assert_eq!(v["last_failure"]["with"], "main at abc1234");
        assert_eq!(v["merge_target"], true);
        let back: Lease = serde_json::from_value(v).expect("read back");
        assert_eq!(back, l);
        // Taken by its worker: what it was told is not renewed with it.
        let held = l.held_by("h:1", 120);
        assert_eq!(held.last_failure, None);
        assert!(!held.merge_target);
        // A lease written before the field existed.
        let old: Lease = serde_json::from_str(
            r#"{"task":"A","attempt":1,"holder":"dispatched","executor":"command","dispatched_at":1,"renewed_at":1}"#,
        )
        .expect("old lease");
        assert_eq!(old.last_failure, None);
        assert!(!old.merge_target);
    }

    #[test]
    fn outcome_failure_kind_is_kebab_case() {
        let f = OutcomeFailure {
            kind: Kind::LeaseExpired,
            message: "m".into(),
        };
        let v = serde_json::to_value(&f).expect("json");
        assert_eq!(v["kind"], "lease-expired");
    }

    #[test]
    fn ref_names() {
        assert_eq!(lease_ref("A-1"), "refs/parallel/lease/A-1");
        assert_eq!(outcome_ref("A-1", 3), "refs/parallel/outcome/A-1/3");
    }
}
