//! A preset agent's command line (claude, codex, …: src/workflow/presets.rs) for one attempt,
//! as `run` and `work` make it: a new session with the prompt, or on a retry the last session
//! resumed with the failure as the message; its output file, history files and the state the
//! sandbox must let it write.

use camino::Utf8Path;

use super::agent::{Invocation, Spec};
use crate::error::Result;
use crate::taskgraph::display::shell_quote;
use crate::workflow::presets::{fill, Preset};

/// Makes `spec` run `preset`: a new session with the prompt (`prompt`: `parallel.prompt`, else
/// the preset's), or on a retry the last attempt's `session` resumed with its `failure` as the
/// message. `git_dir`: the repository's common git directory.
pub fn apply(
    preset: &Preset,
    spec: &mut Spec,
    prompt: Option<&str>,
    git_dir: &Utf8Path,
    session: Option<String>,
    failure: Option<String>,
) -> Result<()> {
    let brief = std::fs::read_to_string(&spec.task.brief)
        .map_err(|e| crate::fatal!("cannot read the task brief {}: {e}", spec.task.brief))?;
    let template = prompt.unwrap_or(preset.prompt);
    let prompt = fill(
        template,
        &[
            ("id", &spec.task.id),
            ("name", &spec.task.name),
            ("brief", &brief),
            ("brief_file", spec.task.brief.as_str()),
            ("branch", &spec.task.branch),
            ("worktree", spec.task.worktree.as_str()),
            ("product", &spec.task.product),
        ],
    );
    let retry = spec.task.attempt > 1;
    let failure = failure
        .filter(|_| retry)
        .unwrap_or_else(|| "it was stopped before it ended".into());
    // A retry resumes when the CLI can: with the session it reported, or (aider) without
    // one.
    let needs_id = preset.resume.iter().any(|a| a.contains("{session}"));
    let resume = retry && !preset.resume.is_empty() && (session.is_some() || !needs_id);
    let (args, message) = match resume {
        true => (
            preset.resume,
            format!(
                "The last attempt at task {} failed: {failure}. Continue in this worktree: \
                 fix that, and commit your work on the current branch.",
                spec.task.id
            ),
        ),
        false if retry => (
            preset.args,
            format!("{prompt}\n\nA previous attempt at this task failed: {failure}."),
        ),
        false => (preset.args, prompt),
    };
    let history = spec
        .log
        .with_file_name(format!("{}.{}-history", spec.task.id, preset.name));
    let values = [
        ("history", history.as_str()),
        ("prompt", message.as_str()),
        ("session", session.as_deref().unwrap_or_default()),
        ("gitdir", git_dir.as_str()),
    ];
    let args: Vec<String> = args.iter().map(|a| fill(a, &values)).collect();
    spec.command = std::iter::once(preset.program)
        .chain(args.iter().map(String::as_str))
        .map(|a| shell_quote(a).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
        + &format!(
            "  (preset {}, checked against {})",
            preset.name, preset.checked
        );
    // Sandboxed, the CLI may write its own state, and its history files (made here, so
    // that only they, not the directory of the logs, need be writable).
    if let Ok(home) = std::env::var("HOME") {
        let home = camino::Utf8PathBuf::from(home);
        spec.writable
            .extend(preset.state.iter().map(|p| home.join(p)));
    }
    let history_arg = (preset.args.iter().chain(preset.resume)).any(|a| a.contains("{history}"));
    if spec.sandbox.active() && history_arg {
        for h in [history.clone(), format!("{history}.input").into()] {
            if !h.exists() {
                std::fs::write(&h, "")
                    .map_err(|e| crate::fatal!("cannot create the history file {h}: {e}"))?;
            }
            spec.writable.push(h);
        }
    }
    let out_file = spec.log.with_file_name(format!(
        "{}.attempt-{}.out",
        spec.task.id, spec.task.attempt
    ));
    spec.invocation = Some(Invocation {
        program: preset.program.into(),
        args,
        env: preset
            .env
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
        output: preset.output,
        out_file,
    });
    Ok(())
}
