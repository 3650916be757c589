//! `git parallel install-docs`: put the man page and the bash, zsh and fish completions where
//! a fresh machine's man and shells look for them, and say what (if anything) is left to do.
//!
//! - man: `<dir of this binary>/../share/man/man1/` — man-db maps every `X/bin` on PATH to
//!   `X/share/man`, so `git parallel --help` and `git help parallel` find the page wherever the
//!   binary was installed (`$CARGO_HOME/bin`, `~/.local/bin`, `/usr/local/bin`).
//! - bash: bash-completion's per-user directory; git's completion loads `git-parallel` from
//!   there lazily for `git parallel <TAB>`.
//! - zsh: `$ZDOTDIR/.zfunc` (or `~/.zfunc`), and the `fpath` line to add before `compinit`
//!   when `.zshrc` has none (nothing is written outside the user's own directories).
//! - fish: `completions/` plus a `conf.d/` loader, so `git parallel <TAB>` works on fish < 3.7
//!   too without editing config.fish.
//!
//! Needs no repository.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cli::{complete, defs, doc, Args};
use crate::error::Result;
use crate::workflow::context::Output;
use crate::workflow::report::{self, Report};

/// One file to write.
struct Target {
    what: &'static str,
    path: PathBuf,
    text: String,
}

pub fn run(args: &Args) -> Result<()> {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .ok_or_else(|| crate::fatal!("HOME is not set; cannot tell where to install"))?;
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let data = env("XDG_DATA_HOME").unwrap_or_else(|| home.join(".local/share"));
    let config = env("XDG_CONFIG_HOME").unwrap_or_else(|| home.join(".config"));
    let (targets, notes) = plan(&Dirs {
        exe_dir: std::env::current_exe()
            .ok()
            .and_then(|e| e.canonicalize().ok())
            .and_then(|e| e.parent().map(Path::to_path_buf)),
        data,
        config,
        bash_user_dir: env("BASH_COMPLETION_USER_DIR"),
        zdotdir: env("ZDOTDIR").unwrap_or_else(|| home.clone()),
        home,
    });
    let mut done = Installed {
        dry_run: args.on(&defs::DRY_RUN),
        files: Vec::new(),
    };
    // No JSON form: the list is text with --json too; -q silences it.
    let out = Output {
        json: false,
        ..Output::from_args(args)
    };
    for t in &targets {
        if !done.dry_run {
            if let Err(e) = write(&t.path, &t.text) {
                report::emit(&out, "install-docs", &done);
                return Err(e);
            }
        }
        done.files.push(Written {
            what: t.what,
            path: t.path.display().to_string(),
        });
    }
    report::emit(&out, "install-docs", &done);
    for n in notes {
        crate::output::eprint(format_args!("note: {n}\n"));
    }
    Ok(())
}

/// The files written (or, with `--dry-run`, that would be).
#[derive(Serialize, schemars::JsonSchema)]
struct Installed {
    /// Nothing was written (`--dry-run`).
    dry_run: bool,
    /// The files, in the order written.
    files: Vec<Written>,
}

/// One file of `install-docs`.
#[derive(Serialize, schemars::JsonSchema)]
struct Written {
    /// What it is: `man`, `bash`, `zsh` or `fish`.
    what: &'static str,
    /// Where it was written.
    path: String,
}

impl fmt::Display for Installed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.dry_run { "would write" } else { "wrote" };
        for w in &self.files {
            writeln!(f, "{verb} {:<5} {}", w.what, w.path)?;
        }
        Ok(())
    }
}

impl Report for Installed {}

/// Where things go, read from the environment (a struct so the choice is testable).
struct Dirs {
    exe_dir: Option<PathBuf>,
    home: PathBuf,
    data: PathBuf,
    config: PathBuf,
    bash_user_dir: Option<PathBuf>,
    zdotdir: PathBuf,
}

/// The files to write and the notes on what is left for the user to do.
fn plan(d: &Dirs) -> (Vec<Target>, Vec<String>) {
    let mut notes = Vec::new();
    let man_dir = match d.exe_dir.as_deref() {
        Some(bin) if bin.file_name().is_some_and(|n| n == "bin") => bin
            .parent()
            .map(|p| p.join("share/man/man1"))
            .unwrap_or_else(|| d.data.join("man/man1")),
        _ => {
            let dir = d.data.join("man/man1");
            notes.push(format!(
                "this binary is not in a bin/ directory, so man may not find {}: add {} to MANPATH",
                dir.display(),
                d.data.join("man").display()
            ));
            dir
        }
    };
    let bash_dir = d
        .bash_user_dir
        .clone()
        .unwrap_or_else(|| d.data.join("bash-completion"))
        .join("completions");
    let zsh_dir = d.zdotdir.join(".zfunc");
    let zshrc = d.zdotdir.join(".zshrc");
    if !std::fs::read_to_string(&zshrc).is_ok_and(|t| t.contains(".zfunc")) {
        notes.push(format!(
            "zsh: add `fpath=({} $fpath)` to {} before `compinit` (once)",
            tilde(&zsh_dir, &d.home),
            tilde(&zshrc, &d.home)
        ));
    }
    let fish_completions = d.config.join("fish/completions/git-parallel.fish");
    let targets = vec![
        Target {
            what: "man",
            path: man_dir.join("git-parallel.1"),
            text: doc::man_page(),
        },
        Target {
            what: "bash",
            path: bash_dir.join("git-parallel"),
            text: complete::bash(),
        },
        Target {
            what: "zsh",
            path: zsh_dir.join("_git-parallel"),
            text: complete::zsh(),
        },
        Target {
            what: "fish",
            path: fish_completions.clone(),
            text: complete::fish(),
        },
        Target {
            what: "fish",
            path: d.config.join("fish/conf.d/git-parallel.fish"),
            // fish before 3.7 does not hand `git parallel` to git-parallel's completions; load
            // them at startup so both spellings complete.
            text: format!(
                "# Written by `git parallel install-docs`: lets `git parallel <TAB>` complete.\n\
                 test -f {0}; and source {0}\n",
                fish_quote(&fish_completions)
            ),
        },
    ];
    (targets, notes)
}

fn tilde(p: &Path, home: &Path) -> String {
    match p.strip_prefix(home) {
        Ok(rest) => format!("~/{}", rest.display()),
        Err(_) => p.display().to_string(),
    }
}

fn fish_quote(p: &Path) -> String {
    format!(
        "'{}'",
        p.display()
            .to_string()
            .replace('\\', "\\\\")
            .replace('\'', "\\'")
    )
}

/// Writes `text` to `path`, creating missing parent directories, replacing the file atomically.
fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| crate::fatal!("cannot create {}: {e}", parent.display()))?;
    }
    crate::atomic::write(path, text.as_bytes())
        .map_err(|e| crate::fatal!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs(exe: &str) -> Dirs {
        Dirs {
            exe_dir: Some(PathBuf::from(exe)),
            home: PathBuf::from("/h"),
            data: PathBuf::from("/h/.local/share"),
            config: PathBuf::from("/h/.config"),
            bash_user_dir: None,
            zdotdir: PathBuf::from("/h"),
        }
    }

    #[test]
    fn man_page_goes_beside_the_binary_where_man_db_looks() {
        let (t, _) = plan(&dirs("/h/.cargo/bin"));
        assert_eq!(
            t[0].path,
            Path::new("/h/.cargo/share/man/man1/git-parallel.1")
        );
        assert_eq!(
            t[1].path,
            Path::new("/h/.local/share/bash-completion/completions/git-parallel")
        );
        let (t, notes) = plan(&dirs("/opt/tools"));
        assert_eq!(
            t[0].path,
            Path::new("/h/.local/share/man/man1/git-parallel.1")
        );
        assert!(notes.iter().any(|n| n.contains("MANPATH")), "{notes:?}");
    }
}
