//! `git parallel generate KIND [-o PATH]`: print or write the man page, a shell completion
//! script, or a worker template for `run --executor command` (github-workflow, gitlab-ci,
//! k8s-job: templates.rs), and, hidden, `json-doc` (docs/json.md from the report types). The
//! templates are filled from the repository when run inside one; nothing else needs one.

pub mod json_doc;
pub mod templates;

use std::path::Path;

use crate::cli::{complete, defs, doc, Args};
use crate::error::{Error, Result};
use crate::workflow::context::Context;

/// Renders one kind of file.
type Render = fn() -> String;

/// Renders one worker template from what is known of the repository.
type RenderTemplate = fn(&templates::Vars) -> String;

/// The kinds `generate` knows, each with the function that renders it.
const KINDS: &[(&str, Render)] = &[
    ("man", doc::man_page),
    ("bash", complete::bash),
    ("zsh", complete::zsh),
    ("fish", complete::fish),
];

/// The worker templates; `--task`/`--attempt` apply to k8s-job only (one Job per attempt).
const TEMPLATES: &[(&str, RenderTemplate)] = &[
    ("github-workflow", templates::github_workflow),
    ("gitlab-ci", templates::gitlab_ci),
    ("k8s-job", templates::k8s_job),
];

/// Kinds for the maintainers, not offered to users: docs/json.md from the report types.
const HIDDEN_KINDS: &[(&str, Render)] = &[("json-doc", json_doc::render)];

pub fn run(args: Args) -> Result<()> {
    let kind = args.positionals.first().cloned().unwrap_or_default();
    let output = args.value(&defs::OUTPUT).map(str::to_string);
    let task = args.value(&defs::GENERATE_TASK).map(str::to_string);
    let attempt = args.value(&defs::GENERATE_ATTEMPT).map(str::to_string);
    if kind != "k8s-job" && (task.is_some() || attempt.is_some()) {
        return Err(Error::usage(
            "--task and --attempt apply to k8s-job only",
            Some(defs::GENERATE.name),
        ));
    }
    let attempt = match attempt {
        None => None,
        Some(n) => match n.parse::<u32>() {
            Ok(n) if n >= 1 => Some(n),
            _ => {
                return Err(Error::usage(
                    format!("--attempt takes a number from 1 up, not '{n}'"),
                    Some(defs::GENERATE.name),
                ))
            }
        },
    };
    let text = if let Some((_, render)) = KINDS
        .iter()
        .chain(HIDDEN_KINDS)
        .find(|(name, _)| *name == kind)
    {
        render()
    } else if let Some((_, render)) = TEMPLATES.iter().find(|(name, _)| *name == kind) {
        // Outside a repository (or a bare one) the template keeps its variables.
        let mut vars = Context::open(args)
            .map(|ctx| templates::Vars::from_repo(&ctx))
            .unwrap_or_default();
        vars.task = task;
        vars.attempt = attempt;
        render(&vars)
    } else {
        let names: Vec<&str> = KINDS
            .iter()
            .map(|(name, _)| *name)
            .chain(TEMPLATES.iter().map(|(name, _)| *name))
            .collect();
        return Err(Error::usage(
            format!(
                "unknown kind '{kind}' (expected one of: {})",
                names.join(", ")
            ),
            Some(defs::GENERATE.name),
        ));
    };
    match output.as_deref() {
        Some(path) if path != "-" => write_file(Path::new(path), &text),
        _ => {
            crate::workflow::render::print_document("generate", text);
            Ok(())
        }
    }
}

/// Writes `text` to `path`, creating missing parent directories.
fn write_file(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| crate::fatal!("cannot create {}: {e}", parent.display()))?;
    }
    std::fs::write(path, text).map_err(|e| crate::fatal!("cannot write {}: {e}", path.display()))
}
