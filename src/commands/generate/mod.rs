//! `git parallel generate KIND [-o PATH]`: print or write the man page or a shell completion
//! script (and, hidden, `json-doc`: docs/json.md from the report types). Needs no repository.

pub mod json_doc;

use std::path::Path;

use crate::cli::{complete, defs, doc, Args};
use crate::error::{Error, Result};

/// Renders one kind of file.
type Render = fn() -> String;

/// The kinds `generate` knows, each with the function that renders it.
const KINDS: &[(&str, Render)] = &[
    ("man", doc::man_page),
    ("bash", complete::bash),
    ("zsh", complete::zsh),
    ("fish", complete::fish),
];

/// Kinds for the maintainers, not offered to users: docs/json.md from the report types.
const HIDDEN_KINDS: &[(&str, Render)] = &[("json-doc", json_doc::render)];

pub fn run(args: &Args) -> Result<()> {
    let kind = args
        .positionals
        .first()
        .map(String::as_str)
        .unwrap_or_default();
    let found = KINDS
        .iter()
        .chain(HIDDEN_KINDS)
        .find(|(name, _)| *name == kind);
    let Some((_, render)) = found else {
        let names: Vec<&str> = KINDS.iter().map(|(name, _)| *name).collect();
        return Err(Error::usage(
            format!(
                "unknown kind '{kind}' (expected one of: {})",
                names.join(", ")
            ),
            Some(defs::GENERATE.name),
        ));
    };
    let text = render();
    match args.value(&defs::OUTPUT) {
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
