//! The `Push` step: publishing an operation's ref changes on the shared remote with one atomic,
//! leased push — the commit point of a `--remote` operation. Idempotent like every step: the
//! remote's refs are read first; all at their new values is done, all at their old values is
//! pushed, anything else is someone else's change and refused, naming who moved what.

use serde::{Deserialize, Serialize};

use super::shared::short;
use super::{Step, StepKind};
use crate::error::Result;
use crate::git::remote::{self, Pushed};
use crate::git::{short_branch, Location, RefUpdate, Repo};

/// The `Push` step: `updates` published on `remote`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Push {
    pub remote: String,
    pub updates: Vec<RefUpdate>,
}

impl StepKind for Push {
    fn describe(&self) -> String {
        describe(&self.remote, &self.updates)
    }

    /// The push the other way round (for `undo`).
    fn inverse(&self) -> Option<Step> {
        Some(Step::Push(Push {
            remote: self.remote.clone(),
            updates: reversed(&self.updates),
        }))
    }

    fn apply(&self, repo: &Repo, _proven: bool) -> Result<()> {
        apply(&repo.loc, &self.remote, &self.updates)
    }

    /// A push waits on the network.
    fn lets_time_pass(&self) -> bool {
        true
    }

    fn undo(&self, repo: &Repo, fresh: bool, _proven: bool) -> Result<()> {
        undo(&repo.loc, &self.remote, &self.updates, fresh)
    }
}

/// The file written just before the operation sends its push and removed with its journal
/// (`Journal::remove`): a rollback knows from it whether anything may have been published
/// (before it, a failed Push step changed nothing). A file in the state directory rather than
/// a flag in memory, so a `recover` after a kill reads the same fact.
pub fn sent_marker(dir: &camino::Utf8Path) -> camino::Utf8PathBuf {
    dir.join("push-sent")
}

fn state_dir(loc: &Location) -> camino::Utf8PathBuf {
    loc.common_dir.join("parallel")
}

/// `push to origin: move main a..b; create feature/x at c`.
fn describe(remote: &str, updates: &[RefUpdate]) -> String {
    let parts: Vec<String> = updates
        .iter()
        .map(|u| {
            let b = short_branch(&u.name);
            match (&u.old, &u.new) {
                (None, Some(n)) => format!("create {b} at {}", short(n)),
                (Some(o), None) => format!("delete {b} (at {})", short(o)),
                (Some(o), Some(n)) => format!("move {b} {}..{}", short(o), short(n)),
                (None, None) => format!("check {b} is absent"),
            }
        })
        .collect();
    format!("push to {remote}: {}", parts.join("; "))
}

/// The updates the other way round (for `undo`, and to take back a push).
fn reversed(updates: &[RefUpdate]) -> Vec<RefUpdate> {
    updates.iter().map(RefUpdate::reversed).collect()
}

/// Applies the push (see the module doc).
fn apply(loc: &Location, name: &str, updates: &[RefUpdate]) -> Result<()> {
    let cur = current(loc, name, updates)?;
    if at(&cur, updates, |u| &u.new) {
        return Ok(());
    }
    if !at(&cur, updates, |u| &u.old) {
        return Err(moved(loc, name, updates, &cur));
    }
    let marker = sent_marker(&state_dir(loc));
    let sent_before = marker.exists();
    std::fs::write(&marker, name)?;
    match remote::push(loc, name, updates)? {
        Pushed::Done => Ok(()),
        Pushed::Rejected(why) => {
            let cur = current(loc, name, updates)?;
            // An earlier push of this operation (killed while the remote still ran it) landed
            // first: what this push was to do is done (repro round2 08).
            if at(&cur, updates, |u| &u.new) {
                return Ok(());
            }
            // The remote refused this atomic push and none was sent before it: nothing of this
            // operation was published, so its rollback has nothing to take back there (a lost
            // race between two clones ends in a clean refusal, not a failed rollback).
            if !sent_before {
                let _ = std::fs::remove_file(&marker);
            }
            if at(&cur, updates, |u| &u.old) {
                return Err(crate::refused!(
                    help = "see the remote's hooks or permissions; nothing was published",
                    "{name} refused the push: {why}"
                ));
            }
            Err(moved(loc, name, updates, &cur))
        }
        Pushed::Failed(stderr) => Err(crate::fatal!(
            help = "check that the remote is reachable (git ls-remote {name}); then run 'git parallel recover' to settle the operation",
            "cannot push to {name}: {stderr}"
        )),
    }
}

/// Takes the push back when it took effect: the reverse push, leased on the new values.
/// Rolling back in the run that applied it (`fresh`) before it sent anything (no
/// [`sent_marker`]), there is nothing to take back.
///
/// A remote still at the old values does not prove that nothing was published: a push that
/// was interrupted (killed, Ctrl-C) may still be running on the remote (a slow pre-receive
/// hook) and land later (repro round2 08). So the state is made definite first: the same
/// leased push is sent again. Whichever of the two lands, the other's lease fails, so once
/// ours is done (or refused with the refs at our values) no push of this operation is in
/// flight any more; then it is taken back. If someone else moved a ref meanwhile, the
/// interrupted push can no longer land either.
fn undo(loc: &Location, name: &str, updates: &[RefUpdate], fresh: bool) -> Result<()> {
    if fresh && !sent_marker(&state_dir(loc)).exists() {
        return Ok(());
    }
    if at(&current(loc, name, updates)?, updates, |u| &u.old) {
        if let Err(e) = apply(loc, name, updates) {
            if at(&current(loc, name, updates)?, updates, |u| &u.old) {
                // Still at the old values: the remote refused or could not be reached, so
                // whether the interrupted push may yet land is unknown.
                return Err(e);
            }
            // Someone else moved a ref: the interrupted push cannot land any more.
            if !at(&current(loc, name, updates)?, updates, |u| &u.new) {
                return Ok(());
            }
        }
    }
    apply(loc, name, &reversed(updates))
}

type Values = std::collections::BTreeMap<String, gix::ObjectId>;

fn current(loc: &Location, name: &str, updates: &[RefUpdate]) -> Result<Values> {
    let names: Vec<&str> = updates.iter().map(|u| u.name.as_str()).collect();
    remote::ls_remote(loc, name, &names).map_err(|e| {
        crate::fatal!(
            help = "check that the remote is reachable (git ls-remote {name}), then run the command again (or 'git parallel recover' if it says an operation is pending)",
            "cannot read the refs of {name}: {e}"
        )
    })
}

/// Whether every ref is at the value `pick` gives.
fn at(
    cur: &Values,
    updates: &[RefUpdate],
    pick: impl Fn(&RefUpdate) -> &Option<gix::ObjectId>,
) -> bool {
    updates.iter().all(|u| cur.get(&u.name) == pick(u).as_ref())
}

/// The refusal of a push because the remote moved: who won, per ref, with the winning commit's
/// author and subject when it can be fetched.
fn moved(loc: &Location, name: &str, updates: &[RefUpdate], cur: &Values) -> crate::error::Error {
    moved_report(loc, name, updates, cur).with_code(crate::error::Code::RemoteRace)
}

/// The text of [`moved`].
fn moved_report(
    loc: &Location,
    name: &str,
    updates: &[RefUpdate],
    cur: &Values,
) -> crate::error::Error {
    let _ = remote::fetch(loc, name);
    let lines: Vec<String> = updates
        .iter()
        .filter(|u| cur.get(&u.name) != u.old.as_ref())
        .map(|u| {
            let b = short_branch(&u.name);
            let was = u
                .old
                .as_deref()
                .map_or("absent".to_string(), |o| format!("at {}", short(o)));
            match cur.get(&u.name) {
                Some(c) => {
                    let who = remote::commit_line(loc, c)
                        .map(|l| format!(" ({l})"))
                        .unwrap_or_default();
                    format!("{b} is at {} now, expected {was}{who}", short(c))
                }
                None => format!("{b} was deleted, expected {was}"),
            }
        })
        .collect();
    crate::refused!(
        help = "someone else published first; run the command again to recompute on the new tip (start --retry, finish retries by itself)",
        "the remote {name} moved meanwhile; nothing was published:\n  {}",
        lines.join("\n  ")
    )
}
