//! Which ignored paths are regenerable build output — the one list: a directory tagged with a
//! valid `CACHEDIR.TAG` (<https://bford.info/cachedir/>: cargo's `target/`, `.pytest_cache`,
//! `.mypy_cache`, `.ruff_cache` and many more write one), the directories in [`NAMES`], a
//! `.venv` holding `pyvenv.cfg`, and the globs of `parallel.regenerable`. Such output of a
//! landed task is not kept (src/txn/steps/keep/), and it is what the cap on kept ignored files
//! (`parallel.keepIgnoredMax`, [`super::cap`]) deletes first; anything else ignored (`.env`,
//! notes, editor state) could be someone's work and is never deleted by either.

use std::path::Path;

/// Directory names that only tools write, whatever they hold.
pub const NAMES: &[&str] = &[
    "node_modules",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".tox",
];

/// The first bytes of a valid `CACHEDIR.TAG`.
const CACHEDIR_SIGNATURE: &[u8] = b"Signature: 8a477f597d28d172789f06886806bc55";

/// How deep [`Rules::find`] looks into an ignored directory that is not itself regenerable.
const MAX_DEPTH: usize = 12;

/// The rules of one repository: the built-in list and `parallel.regenerable`.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    globs: Vec<String>,
}

impl Rules {
    pub fn of(repo: &crate::git::Repo) -> Rules {
        Rules {
            globs: repo.settings.regenerable.clone(),
        }
    }

    /// Whether the path `rel` (relative to a worktree or a directory of kept files, no trailing
    /// `/`) at `abs` is regenerable by itself (its parents not looked at).
    fn matches(&self, abs: &Path, rel: &str, is_dir: bool) -> bool {
        if self.glob_matches(rel) {
            return true;
        }
        if !is_dir {
            return false;
        }
        let name = rel.rsplit('/').next().unwrap_or(rel);
        NAMES.contains(&name)
            || has_cachedir_tag(abs)
            || (name == ".venv" && abs.join("pyvenv.cfg").is_file())
    }

    /// A glob without `/` matches a path's last component; one with `/` the whole path (a
    /// leading `/` anchors it, as in .gitignore; a trailing `/` is dropped).
    fn glob_matches(&self, rel: &str) -> bool {
        use gix::bstr::ByteSlice;
        let name = rel.rsplit('/').next().unwrap_or(rel);
        self.globs.iter().any(|g| {
            let g = g.trim();
            let g = g.strip_suffix('/').unwrap_or(g);
            if g.is_empty() {
                return false;
            }
            let (pattern, value) = match g.strip_prefix('/') {
                Some(anchored) => (anchored, rel),
                None if g.contains('/') => (g, rel),
                None => (g, name),
            };
            gix::glob::wildmatch(
                pattern.as_bytes().as_bstr(),
                value.as_bytes().as_bstr(),
                gix::glob::wildmatch::Mode::NO_MATCH_SLASH_LITERAL,
            )
        })
    }

    /// The regenerable paths in `rel` under `root` (relative to `root`, no trailing `/`):
    /// `[rel]` when it or a directory it is in is regenerable, else the regenerable paths found
    /// inside it (not following links). `rel` empty: everything under `root`.
    pub fn find(&self, root: &Path, rel: &str) -> Vec<String> {
        let rel = rel.trim_end_matches('/');
        let mut out = Vec::new();
        // A directory it is in (`pkg/__pycache__/x.pyc` listed on its own).
        let mut prefix = String::new();
        let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
        for p in parts.iter().take(parts.len().saturating_sub(1)) {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(p);
            if self.matches(&root.join(&prefix), &prefix, true) {
                return vec![rel.to_string()];
            }
        }
        self.walk(root, rel, 0, &mut out);
        out
    }

    fn walk(&self, root: &Path, rel: &str, depth: usize, out: &mut Vec<String>) {
        let abs = if rel.is_empty() {
            root.to_path_buf()
        } else {
            root.join(rel)
        };
        let Ok(meta) = std::fs::symlink_metadata(&abs) else {
            return;
        };
        if !rel.is_empty() && self.matches(&abs, rel, meta.is_dir()) {
            out.push(rel.to_string());
            return;
        }
        if !meta.is_dir() || depth >= MAX_DEPTH {
            return;
        }
        let Ok(entries) = std::fs::read_dir(&abs) else {
            return;
        };
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        for n in names {
            let child = if rel.is_empty() {
                n
            } else {
                format!("{rel}/{n}")
            };
            self.walk(root, &child, depth + 1, out);
        }
    }
}

/// Whether `dir` holds a `CACHEDIR.TAG` that starts with the standard's signature.
fn has_cachedir_tag(dir: &Path) -> bool {
    use std::io::Read;
    let Ok(f) = std::fs::File::open(dir.join("CACHEDIR.TAG")) else {
        return false;
    };
    let mut head = Vec::with_capacity(CACHEDIR_SIGNATURE.len());
    f.take(CACHEDIR_SIGNATURE.len() as u64)
        .read_to_end(&mut head)
        .is_ok_and(|_| head == CACHEDIR_SIGNATURE)
}

#[cfg(test)]
mod tests {
    use super::Rules;

    #[test]
    fn the_list_the_tag_and_the_globs() {
        let d = std::env::temp_dir().join(format!("git-parallel-regen-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let mk = |p: &str| std::fs::create_dir_all(d.join(p)).expect("mkdir");
        mk("target/debug");
        std::fs::write(
            d.join("target/CACHEDIR.TAG"),
            "Signature: 8a477f597d28d172789f06886806bc55\n# cargo\n",
        )
        .expect("write");
        mk("build/x");
        std::fs::write(d.join("build/CACHEDIR.TAG"), "not the signature\n").expect("write");
        mk("web/node_modules/left-pad");
        mk("pkg/__pycache__");
        mk(".venv/lib");
        std::fs::write(d.join(".venv/pyvenv.cfg"), "home = /usr\n").expect("write");
        mk("venv-not/lib");
        mk("out/gen");
        std::fs::write(d.join(".env"), "SECRET=1\n").expect("write");
        let rules = Rules {
            globs: vec!["/out/gen/".into(), "*.o".into()],
        };
        std::fs::write(d.join("build/x/a.o"), "o").expect("write");
        let found = rules.find(&d, "");
        assert_eq!(
            found,
            [
                ".venv",
                "build/x/a.o",
                "out/gen",
                "pkg/__pycache__",
                "target",
                "web/node_modules"
            ]
        );
        // A file listed inside a regenerable directory is regenerable.
        assert_eq!(
            rules.find(&d, "pkg/__pycache__/m.pyc"),
            ["pkg/__pycache__/m.pyc"]
        );
        assert!(rules.find(&d, ".env").is_empty());
        let _ = std::fs::remove_dir_all(&d);
    }
}
