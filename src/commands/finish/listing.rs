//! finish's listing of the worktrees before it plans: the main worktree's changes to tracked
//! files and every task worktree's `git status`, in one pass.

use super::Session;
use crate::error::Result;

/// `git status --porcelain` lines, or why they could not be had.
pub(super) type Listing = Result<Vec<String>>;

/// The main worktree's changes to tracked files: each line and the paths it concerns.
pub(super) type MainListing = Result<Vec<(String, Vec<String>)>>;

/// The main worktree's changes to tracked files (when the target is checked out there) and the
/// task worktrees' listings (`txn::clean`, shared with the later checks), in one pass.
pub(super) fn listings(
    env: &Session,
    paths: &[&camino::Utf8Path],
) -> (Option<MainListing>, Vec<Listing>) {
    let (loc, main) = (&env.ctx.repo.loc, env.main.as_path());
    let main_checked = env.target_checked_out;
    std::thread::scope(|s| {
        let main = s
            .spawn(move || main_checked.then(|| -> MainListing { Ok(loc.tracked_changes(main)?) }));
        let statuses = crate::txn::clean::changes_many(loc, paths);
        let main = main
            .join()
            .unwrap_or_else(|_| Some(Err(crate::fatal!("the main worktree's status panicked"))));
        (main, statuses)
    })
}
