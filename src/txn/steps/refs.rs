//! The `Refs` step: an atomic compare-and-swap update of several refs, each from its expected
//! old value. Re-run after a kill, it moves only the refs not yet at their new value.

use serde::{Deserialize, Serialize};

use super::shared::short;
use super::{Step, StepKind};
use crate::error::Result;
use crate::git::{RefUpdate, Repo};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Refs {
    pub updates: Vec<RefUpdate>,
    pub message: String,
}

impl StepKind for Refs {
    fn describe(&self) -> String {
        let parts: Vec<String> = self
            .updates
            .iter()
            .map(|u| match (&u.old, &u.new) {
                (None, Some(n)) => format!("create {} at {}", u.name, short(n)),
                (Some(o), None) => format!("delete {} (at {})", u.name, short(o)),
                (Some(o), Some(n)) if o == n => format!("check {} is at {}", u.name, short(o)),
                (Some(o), Some(n)) => format!("move {} {}..{}", u.name, short(o), short(n)),
                (None, None) => format!("check {} is absent", u.name),
            })
            .collect();
        parts.join("; ")
    }

    fn inverse(&self) -> Option<Step> {
        Some(Step::Refs(Refs {
            updates: self.updates.iter().map(RefUpdate::reversed).collect(),
            message: format!("undo: {}", self.message),
        }))
    }

    fn apply(&self, repo: &Repo, proven: bool) -> Result<()> {
        apply_refs(repo, &self.updates, &self.message, proven)
    }

    fn undo(&self, repo: &Repo, _fresh: bool, proven: bool) -> Result<()> {
        undo_refs(repo, &self.updates, &self.message, proven)
    }
}

/// Lock files a ref transaction on these refs takes (loose ref locks, packed-refs, HEAD).
fn clear_ref_locks(repo: &Repo, updates: &[RefUpdate]) {
    for u in updates {
        let lock = repo.common_dir.join(format!("{}.lock", u.name));
        crate::txn::stale::clear(lock.as_std_path());
    }
    for p in [
        repo.common_dir.join("packed-refs.lock"),
        repo.git_dir.join("HEAD.lock"),
    ] {
        crate::txn::stale::clear(p.as_std_path());
    }
}

/// Moves the refs not yet at their new value (a transaction cut short by a kill may have
/// renamed some of its lock files into place and not others); each from its expected old value.
fn apply_refs(repo: &Repo, updates: &[RefUpdate], message: &str, proven: bool) -> Result<()> {
    if proven {
        clear_ref_locks(repo, updates);
    }
    let mut todo = Vec::new();
    for u in updates {
        let cur = repo.ref_id(&u.name)?;
        if cur != u.new || (u.old == u.new && cur != u.old) {
            todo.push(u.clone());
        }
    }
    if todo.is_empty() {
        return Ok(());
    }
    // After a cut-short transaction only part of it may be in place; the rest must still
    // find their old values.
    let updates = if proven { todo.as_slice() } else { updates };
    repo.update_refs(updates, message).map_err(|e| {
        // Name what moved (another process committing, a branch moved meanwhile).
        let moved: Vec<String> = updates
            .iter()
            .filter_map(|u| {
                let cur = repo.ref_id(&u.name).ok()?;
                (cur != u.old).then(|| {
                    format!(
                        "{} is {} now, expected {}",
                        crate::git::short_branch(&u.name),
                        cur.as_deref()
                            .map_or("absent".into(), |c| format!("at {}", short(c))),
                        u.old
                            .as_deref()
                            .map_or("absent".into(), |c| format!("at {}", short(c)))
                    )
                })
            })
            .collect();
        if moved.is_empty() {
            e.into()
        } else {
            crate::refused!(
                code = crate::error::Code::Stale,
                "another process changed {} meanwhile: {}",
                if moved.len() == 1 { "a ref" } else { "refs" },
                moved.join("; ")
            )
        }
    })
}

/// Reverses the updates that took effect (a ref transaction is atomic, so normally all or
/// none did); refs not at their new value are left alone.
fn undo_refs(repo: &Repo, updates: &[RefUpdate], message: &str, proven: bool) -> Result<()> {
    if proven {
        clear_ref_locks(repo, updates);
    }
    let mut back = Vec::new();
    for u in updates {
        let cur = repo.ref_id(&u.name)?;
        if cur == u.new && u.new != u.old {
            back.push(u.reversed());
        }
    }
    if back.is_empty() {
        return Ok(());
    }
    Ok(repo.update_refs(&back, &format!("undo: {message}"))?)
}
