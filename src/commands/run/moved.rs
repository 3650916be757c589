//! Whether a task's branch moved by anything but its own worktree since its agent started. A
//! sandboxed agent may write the directory of its own branch's ref, and with it the refs
//! beside it (the other tasks' branches of the same directory); but each worktree's HEAD
//! reflog (`<admin dir>/logs/HEAD`) is written only from that worktree. So at landing the
//! task's HEAD reflog since the agent started must be one unbroken chain from the tip it
//! started at to the branch's tip now: a move by anyone else breaks it (the next entry's
//! old value is not the previous entry's new one, or the tip is not the last new value).

use camino::{Utf8Path, Utf8PathBuf};

/// What an attempt started from: its branch's tip and where its HEAD reflog stood.
#[derive(Clone, Debug)]
pub struct Start {
    pub branch: String,
    pub tip: String,
    head_log: Utf8PathBuf,
    entries: usize,
}

impl Start {
    /// The start of an attempt in `worktree` whose branch is at `tip`; `None` when the
    /// worktree's admin dir cannot be found (nothing is checked then).
    pub fn of(worktree: &Utf8Path, branch: &str, tip: &str) -> Option<Start> {
        let admin = crate::txn::worktree::dotgit_target(worktree)?;
        let head_log = admin.join("logs").join("HEAD");
        let entries = read(&head_log).len();
        Some(Start {
            branch: branch.to_string(),
            tip: tip.to_string(),
            head_log,
            entries,
        })
    }

    /// Why the branch, now at `now`, did not get there from its own worktree (`None`: it did).
    pub fn moved(&self, now: &str) -> Option<String> {
        let log = read(&self.head_log);
        let mut at = self.tip.as_str();
        for (old, new) in log.iter().skip(self.entries) {
            if old != at {
                return Some(format!(
                    "it was at {} when its worktree moved it from {}",
                    short(at),
                    short(old)
                ));
            }
            at = new;
        }
        (at != now).then(|| {
            format!(
                "it is at {} but its worktree last left it at {}",
                short(now),
                short(at)
            )
        })
    }
}

/// The (old, new) values of a reflog's entries; none when it cannot be read.
fn read(path: &Utf8Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut words = l.split(' ');
            Some((words.next()?.to_string(), words.next()?.to_string()))
        })
        .collect()
}

fn short(c: &str) -> String {
    c.chars().take(12).collect()
}
