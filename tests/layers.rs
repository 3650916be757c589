//! The layers of src/ (see src/main.rs): each imports only the layers below it. A source scan:
//! no module of a lower layer names a higher one (`crate::commands`, `crate::workflow`, …).

use std::path::Path;

/// (folder or file under src/, the layers it must not name).
const RULES: &[(&str, &[&str])] = &[
    ("workflow", &["crate::commands"]),
    ("txn", &["crate::commands", "crate::workflow"]),
    (
        "git",
        &[
            "crate::commands",
            "crate::workflow",
            "crate::txn",
            "crate::taskgraph",
            "crate::cli",
        ],
    ),
    (
        "taskgraph",
        &[
            "crate::commands",
            "crate::workflow",
            "crate::txn",
            "crate::git",
            "crate::cli",
        ],
    ),
    (
        "cli",
        &[
            "crate::commands",
            "crate::workflow",
            "crate::txn",
            "crate::taskgraph",
        ],
    ),
    (
        "output.rs",
        &["crate::commands", "crate::workflow", "crate::txn"],
    ),
    (
        "error.rs",
        &[
            "crate::commands",
            "crate::workflow",
            "crate::txn",
            "crate::git",
        ],
    ),
];

fn rust_files(p: &Path, out: &mut Vec<std::path::PathBuf>) {
    if p.is_file() {
        out.push(p.to_path_buf());
        return;
    }
    for e in std::fs::read_dir(p).expect("read src") {
        let path = e.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_layer_imports_one_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut bad = Vec::new();
    for (dir, banned) in RULES {
        let mut files = Vec::new();
        rust_files(&src.join(dir), &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).expect("read");
            // Unit tests may reach across layers to build their fixtures.
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            for (n, line) in code.lines().enumerate() {
                if line.trim_start().starts_with("//") {
                    continue;
                }
                for b in *banned {
                    if line.contains(&format!("{b}::")) || line.contains(&format!("{b};")) {
                        bad.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
                    }
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "imports of a higher layer:\n{}",
        bad.join("\n")
    );
}

#[test]
fn commands_holds_only_command_modules() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/commands");
    let text = std::fs::read_to_string(dir.join("mod.rs")).expect("read");
    let modules: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod ")?.strip_suffix(';'))
        .collect();
    let defs = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/cli/defs/commands.rs"),
    )
    .expect("read");
    for m in modules {
        // `help` is `git parallel help CMD` / `--help`, parsed before the table's commands.
        if m == "help" {
            continue;
        }
        let name = m.replace('_', "-");
        assert!(
            defs.contains(&format!("name: \"{name}\""))
                || defs.contains(&format!("name: \"__{name}\"")),
            "src/commands/{m} is not a command of the table in src/cli/defs/commands.rs"
        );
    }
}
