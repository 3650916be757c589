//! Merging task branches into the target in memory (objects only; no ref, index or file
//! changes): one merge after the other, each on the previous, with the merge messages; and
//! the refusal that names the conflicts and how to reproduce each one in its worktree.

use crate::taskgraph::display::safe;
use gix::ObjectId;
use serde::Serialize;
use std::fmt;

use super::mergeable::Candidate;
use super::session::Session;
use crate::error::{Error, Result};
use crate::git::short_branch;
use crate::git::Merge;
use crate::taskgraph::Task;
use crate::workflow::report::{self, Report};

/// The in-memory result of merging the candidates.
pub(crate) struct Merged {
    /// The last merge commit (the target's tip when nothing merged).
    pub tip: ObjectId,
    /// The candidates merged (by task index), each with its merge commit.
    pub merged: Vec<(usize, ObjectId)>,
    /// The candidates whose merge conflicts (by task index), with the conflicting paths.
    pub conflicts: Vec<(usize, Vec<String>)>,
    /// The last clean merge's parents and message, to rewrite it with the status change folded
    /// in (`parallel.foldStatus`).
    pub last: Option<([ObjectId; 2], String)>,
}

/// A task left unmerged because its merge conflicts.
#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct Conflict {
    /// The task id.
    id: String,
    /// The conflicting paths.
    files: Vec<String>,
}

impl Conflict {
    /// The task id.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// The conflicting paths.
    pub(crate) fn files(&self) -> &[String] {
        &self.files
    }
}

impl Merged {
    /// The conflicts, by task id.
    pub(crate) fn conflict_list(&self, env: &Session) -> Vec<Conflict> {
        self.conflicts
            .iter()
            .map(|(i, files)| Conflict {
                id: env.tf.graph.tasks[*i].id.clone(),
                files: files.clone(),
            })
            .collect()
    }
}

/// The `--json` document of a finish refused for conflicts (nothing changed): printed, and the
/// exit code is 1 all the same. It has no text: the error says it all.
#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct Conflicted {
    /// Always empty: nothing was merged.
    merged: [String; 0],
    /// The tasks whose merge conflicts, with the conflicting paths.
    conflicts: Vec<Conflict>,
}

impl fmt::Display for Conflicted {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        Ok(())
    }
}

impl Report for Conflicted {}

/// The conventional-commit type of a task's merge, by its agent role.
fn merge_type(task: &Task) -> &'static str {
    match task.role().as_str() {
        "devops" => "ci",
        "technical-writer" => "docs",
        "qa" => "test",
        _ => "feat",
    }
}

/// A task's merge commit message: `parallel.mergeMessage`, else `{type}({product}): {name} ({id})`.
fn merge_message(env: &Session, task: &Task, branch: &str) -> String {
    let template = env.ctx.repo.settings.merge_message();
    template
        .replace("{type}", merge_type(task))
        .replace("{product}", &env.product)
        .replace("{name}", &crate::taskgraph::display::safe(&task.name))
        .replace("{id}", &task.id)
        .replace("{branch}", short_branch(branch))
}

/// Merges the candidates one after the other onto the target, writing only objects.
pub(crate) fn merge_all(env: &Session, candidates: &[Candidate]) -> Result<Merged> {
    let mut acc = env.target_tip;
    let mut merged = Vec::new();
    let mut conflicts = Vec::new();
    let mut last = None;
    let progress = crate::progress::Progress::new(candidates.len(), "finish");
    for c in candidates {
        progress.show(&format!("merge {}", c.id));
        let task = &env.tf.graph.tasks[c.idx];
        if c.commits == 0 {
            // Nothing of its own to merge (a task that produces no files): only completed.
            merged.push((c.idx, acc));
            continue;
        }
        match env.ctx.repo.merge_in_memory(acc, c.tip)? {
            Merge::Clean(tree) => {
                let message = merge_message(env, task, &c.branch);
                let commit = env.ctx.repo.commit_tree(tree, &[acc, c.tip], &message)?;
                last = Some(([acc, c.tip], message));
                acc = commit;
                merged.push((c.idx, commit));
            }
            Merge::Conflicts(files) => conflicts.push((c.idx, files)),
        }
    }
    Ok(Merged {
        tip: acc,
        merged,
        conflicts,
        last,
    })
}

/// How to reproduce a candidate's conflict in its worktree. It conflicts with the target, with
/// one of the tasks merged before it, or only with several of them together: the command names
/// what it conflicts with so that running it there produces the same conflict.
fn reproduce_hint(
    env: &Session,
    candidates: &[Candidate],
    merged: &Merged,
    c: &Candidate,
    wt: &str,
) -> String {
    let target = short_branch(&env.target);
    let conflicts_with = |ours: ObjectId| {
        matches!(
            env.ctx.repo.merge_in_memory(ours, c.tip),
            Ok(Merge::Conflicts(_))
        )
    };
    if merged.merged.is_empty() || conflicts_with(env.target_tip) {
        return format!("  reproduce and resolve it there: git -C {wt} merge {target}");
    }
    let earlier: Vec<&Candidate> = merged
        .merged
        .iter()
        .filter_map(|(i, _)| candidates.iter().find(|e| e.idx == *i))
        .collect();
    if let Some(e) = earlier.iter().find(|e| conflicts_with(e.tip)) {
        return format!(
            "  it conflicts with {} (merged before it); reproduce and resolve it there: git -C {wt} merge {}",
            e.id,
            short_branch(&e.branch)
        );
    }
    let ids: Vec<&str> = earlier.iter().map(|e| e.id.as_str()).collect();
    let chain: Vec<String> = std::iter::once(target)
        .chain(earlier.iter().map(|e| short_branch(&e.branch)))
        .map(|b| format!("git -C {wt} merge {b}"))
        .collect();
    format!(
        "  it conflicts with {} together (merged before it); reproduce and resolve it there: {}",
        ids.join(", "),
        chain.join(" && ")
    )
}

/// Refuses for the conflicts of `merged` (printing the `--json` document of them first): each
/// task with its conflicting paths and how to reproduce the conflict in its worktree.
pub(crate) fn refuse_conflicts(env: &Session, candidates: &[Candidate], merged: &Merged) -> Error {
    let mut lines = Vec::new();
    for (idx, files) in &merged.conflicts {
        let Some(c) = candidates.iter().find(|c| c.idx == *idx) else {
            continue;
        };
        lines.push(format!(
            "{} ({}) conflicts in:",
            c.id,
            short_branch(&c.branch)
        ));
        for f in files {
            lines.push(format!("    {}", safe(f)));
        }
        let wt = c
            .worktree
            .as_ref()
            .map(|w| w.to_string())
            .unwrap_or_else(|| "<worktree>".into());
        lines.push(reproduce_hint(env, candidates, merged, c, &wt));
    }
    let doc = Conflicted {
        merged: [],
        conflicts: merged.conflict_list(env),
    };
    report::emit(&env.ctx.out, "finish", &doc);
    let help = if merged.merged.is_empty() {
        "nothing was changed; resolve the conflicts in the task worktrees, commit, and finish again"
            .to_string()
    } else {
        let ids = |v: &mut dyn Iterator<Item = usize>| -> String {
            v.map(|i| env.tf.graph.tasks[i].id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "nothing was changed; resolve the conflicts in the task worktrees (or pass --partial to merge the others: {} now, leaving {} running)",
            ids(&mut merged.merged.iter().map(|(i, _)| *i)),
            ids(&mut merged.conflicts.iter().map(|(i, _)| *i))
        )
    };
    Error::Refused(miette::miette!(
        help = help,
        "merge conflicts:\n  {}",
        lines.join("\n  ")
    ))
    .with_code(crate::error::Code::Conflicts)
}
