//! The worker templates of `generate github-workflow|gitlab-ci|k8s-job`: files (in templates/)
//! for engines that start `git parallel work` themselves, for `run --executor command`. Their
//! `@@NAME@@` placeholders are filled from the repository when generate runs inside one (the
//! remote's URL, the task file, parallel.agent) and from `--task`/`--attempt` (k8s-job); what is
//! not known stays an engine variable or a `<...>` the file's header explains. Values are
//! written as YAML double-quoted scalars, never spliced into a script's text.

use crate::git::remote;
use crate::workflow::context::Context;

const GITHUB_WORKFLOW: &str = include_str!("templates/github-workflow.yml");
const GITLAB_CI: &str = include_str!("templates/gitlab-ci.yml");
const K8S_JOB: &str = include_str!("templates/k8s-job.yml");

/// Where `cargo install --git` takes git-parallel from: the package's repository when it names
/// one, else each template's variable `GIT_PARALLEL_SOURCE`.
const SOURCE: &str = env!("CARGO_PKG_REPOSITORY");

/// What the templates are filled with; None: not known.
#[derive(Clone, Debug, Default)]
pub struct Vars {
    /// The shared remote's URL (parallel.remote, else the only remote).
    pub remote_url: Option<String>,
    /// The task file, relative to the repository's top.
    pub tasks: Option<String>,
    /// parallel.agent.
    pub agent: Option<String>,
    /// `--task`, `--attempt` (k8s-job).
    pub task: Option<String>,
    pub attempt: Option<u32>,
}

impl Vars {
    /// What the repository of `ctx` tells; nothing for what it cannot (no remote, several
    /// remotes and no parallel.remote, several task graphs).
    pub fn from_repo(ctx: &Context) -> Vars {
        let settings = &ctx.repo.settings;
        let remote_name = settings
            .get("parallel.remote")
            .map(str::to_string)
            .filter(|n| !n.trim().is_empty())
            .or_else(|| {
                let names = remote::names(&ctx.repo.loc);
                (names.len() == 1).then(|| names[0].clone())
            });
        let remote_url = remote_name
            .and_then(|n| remote::url(&ctx.repo.loc, &n).ok())
            .filter(|u| !u.is_empty());
        let tasks = ctx.locate_task_file().ok().and_then(|p| {
            let top = ctx.repo.workdir().ok()?;
            p.strip_prefix(top).ok().map(|r| r.to_string())
        });
        Vars {
            remote_url,
            tasks,
            agent: settings.get("parallel.agent").map(str::to_string),
            task: None,
            attempt: None,
        }
    }
}

fn source() -> Option<&'static str> {
    Some(SOURCE).filter(|s| !s.is_empty())
}

/// `.github/workflows/git-parallel.yml`.
pub fn github_workflow(v: &Vars) -> String {
    let source = source().map_or("${{ vars.GIT_PARALLEL_SOURCE }}".to_string(), quote);
    fill(GITHUB_WORKFLOW, &[("TASKS", tasks(v)), ("SOURCE", source)])
}

/// `.gitlab/git-parallel.yml`, included from `.gitlab-ci.yml`.
pub fn gitlab_ci(v: &Vars) -> String {
    fill(
        GITLAB_CI,
        &[
            ("TASKS", tasks(v)),
            ("SOURCE", quote(source().unwrap_or(""))),
        ],
    )
}

/// A Job for one attempt of one task.
pub fn k8s_job(v: &Vars) -> String {
    let name = match &v.task {
        Some(id) => {
            let attempt = v.attempt.map_or(String::new(), |n| format!("a{n}-"));
            let mut name = format!("git-parallel-{}-{attempt}", dns_label(id));
            // The API server appends 5 characters to at most 58 (a Job's name: 63).
            name.truncate(58);
            name
        }
        None => "git-parallel-".to_string(),
    };
    let unknown = |what: &str| quote(&format!("<{what}>"));
    fill(
        K8S_JOB,
        &[
            ("NAME", name),
            (
                "TASK",
                v.task.as_deref().map_or_else(|| unknown("task id"), quote),
            ),
            (
                "ATTEMPT",
                v.attempt
                    .map_or_else(|| unknown("attempt"), |n| quote(&n.to_string())),
            ),
            (
                "REMOTE",
                v.remote_url
                    .as_deref()
                    .map_or_else(|| unknown("URL of the shared remote"), quote),
            ),
            (
                "AGENT",
                v.agent
                    .as_deref()
                    .map_or_else(|| unknown("agent command"), quote),
            ),
            ("SOURCE", quote(source().unwrap_or(""))),
            ("TASKS", tasks(v)),
        ],
    )
}

/// The task file as a YAML value; empty (the worker finds it as on any clone) when unknown.
fn tasks(v: &Vars) -> String {
    quote(v.tasks.as_deref().unwrap_or(""))
}

/// Replaces each `@@NAME@@` of `template`.
fn fill(template: &str, values: &[(&str, String)]) -> String {
    let mut out = template.to_string();
    for (name, value) in values {
        out = out.replace(&format!("@@{name}@@"), value);
    }
    out
}

/// A YAML double-quoted scalar: JSON's string syntax, which YAML reads the same.
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// `id` as a DNS label part: lowercase letters, digits and single dashes, at most 40 characters.
fn dns_label(id: &str) -> String {
    let mut out = String::new();
    for c in id.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out: String = out.trim_matches('-').chars().take(40).collect();
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        out.push_str("task");
    }
    out
}

#[cfg(test)]
mod tests;
