//! What the repository says about a task's worktree: which one it is, what changed in it, the
//! include files copied into new ones, and tasks in progress on another machine.

use camino::Utf8Path;

use super::session::Session;
use crate::error::Result;
use crate::git::short_branch;
use crate::git::{cli, WorktreeInfo};
use crate::taskgraph::{Status, Task};
use crate::txn::steps::CopyFile;

/// The task's worktree: the one its branch is checked out in, else a registered worktree at
/// the path the template gives (whatever it has checked out).
pub(crate) fn task_worktree(env: &Session, task: &Task) -> Result<Option<WorktreeInfo>> {
    if let Some(w) = env.worktree_of(task)? {
        return Ok(Some(w));
    }
    let path = env.worktree_path(task);
    Ok(env
        .ctx
        .repo
        .worktrees()?
        .into_iter()
        .find(|w| w.path == path))
}
/// The changes in a worktree (`txn::clean::changes`, shared with the removal check) split
/// into real changes and unchanged copies of the include files start put there (which removing
/// the worktree may discard).
pub(crate) fn worktree_changes(
    env: &Session,
    wt: &Utf8Path,
    copy: &[CopyFile],
) -> Result<(Vec<String>, Vec<String>)> {
    let mut changes = Vec::new();
    let mut ours = Vec::new();
    for line in crate::txn::clean::changes(&env.ctx.repo, wt)? {
        if let Some(rel) = line.strip_prefix("?? ") {
            if let Some(c) = copy.iter().find(|c| c.rel == rel) {
                let same = match (std::fs::read(&c.from), std::fs::read(wt.join(rel))) {
                    (Ok(a), Ok(b)) => a == b,
                    _ => false,
                };
                if same {
                    ours.push(rel.to_string());
                    continue;
                }
            }
        }
        changes.push(line);
    }
    Ok((changes, ours))
}
/// Untracked or ignored files named by `.worktreeinclude` or `parallel.copy`.
pub(crate) fn include_files(env: &Session) -> Result<Vec<CopyFile>> {
    let include = env.main.join(".worktreeinclude");
    let globs = env.ctx.repo.settings.copy.clone();
    if !include.is_file() && globs.is_empty() {
        return Ok(Vec::new());
    }
    let mut cmd = env.ctx.repo.git_main();
    cmd.args(["ls-files", "-z", "--others", "--ignored"]);
    if include.is_file() {
        cmd.arg(format!("--exclude-from={include}"));
    }
    for g in &globs {
        cmd.arg(format!("--exclude={g}"));
    }
    Ok(cli::stdout_z(cmd)?
        .into_iter()
        .map(|rel| CopyFile {
            from: env.main.join(&rel),
            rel,
        })
        .collect())
}
/// How status shows a task in progress whose branch is not in this repository.
pub(crate) const ELSEWHERE: &str = "in progress, no branch here";
/// Whether `task` is in progress elsewhere: `in_progress` in the task file, but its branch does
/// not exist in this repository (started on another machine, or the status set by hand).
pub(crate) fn in_progress_elsewhere(env: &Session, task: &Task) -> Result<bool> {
    Ok(task.status == Status::InProgress && env.ctx.repo.ref_id(&env.branch_of(task))?.is_none())
}
/// What such a task is, in one clause: `ID: in progress, no branch here (…)`.
pub(crate) fn elsewhere_note(env: &Session, task: &Task) -> String {
    format!(
        "{}: {ELSEWHERE} (its branch {} is not in this repository: started on another machine, or the status set by hand)",
        task.id,
        short_branch(&env.branch_of(task)),
    )
}

/// The command that takes the user to a task's new worktree: `parallel.launch`, else the hand-off
/// line of the agent preset `parallel.agent` names (claude: `cd <worktree> && claude
/// '/orchestrator Execute task <ID>'`), else `cd {worktree}`.
pub(crate) fn launch_line(
    env: &Session,
    id: &str,
    branch: &str,
    path: &camino::Utf8Path,
) -> String {
    let settings = &env.ctx.repo.settings;
    let preset = settings
        .get("parallel.agent")
        .and_then(super::presets::find);
    let template = match (settings.get("parallel.launch"), preset) {
        (None, Some(p)) => p.launch.to_string(),
        _ => settings.launch(),
    };
    let handoff = preset.map_or_else(String::new, |p| {
        crate::taskgraph::display::substitute(p.handoff, &[("id", id)])
    });
    // Every value is shell-quoted: ids and products come from the task file.
    crate::taskgraph::display::fill_template(
        &template,
        &[
            ("worktree", path.as_str()),
            ("product", &env.product),
            ("id", id),
            ("branch", short_branch(branch)),
            ("handoff", &handoff),
        ],
    )
}
