//! Everything a command needs about where it runs: the repository, the task file it acts on
//! (and how it was found), the configuration, and how to print (text/JSON, colour, quiet).

use camino::{Utf8Path, Utf8PathBuf};
use std::io::IsTerminal;

use crate::cli::{defs, Args};
use crate::error::{Error, Result};
use crate::git::Repo;
use crate::taskgraph::{Severity, TaskFile};

/// How output is written.
#[derive(Clone, Copy, Debug)]
pub struct Output {
    pub json: bool,
    pub quiet: bool,
    /// Colour on stdout (decided once by [`crate::output::set_color`]).
    pub color: bool,
    /// Colour on stderr.
    pub color_err: bool,
}

impl Output {
    pub fn from_args(args: &Args) -> Output {
        let json = args.on(&defs::JSON);
        let quiet = args.on(&defs::QUIET);
        let (color, color_err) = crate::output::color();
        Output {
            json,
            quiet,
            color,
            color_err,
        }
    }

    /// Whether escape sequences may go to stderr (NO_COLOR and TERM=dumb say no).
    pub fn color_err_allowed(&self) -> bool {
        self.color_err
    }

    /// Wraps `s` in an ANSI colour when colour is on.
    pub fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

/// The repository and the settings a command runs with.
pub struct Context {
    pub repo: Repo,
    /// The repository lock, held from a mutating command's planning to its transaction.
    pub lock: crate::txn::lock::Slot,
    pub args: Args,
    pub out: Output,
    pub cwd: Utf8PathBuf,
    /// What `run` measured of the tasks it hands to this command (their `result` metrics);
    /// empty for a command run by hand.
    pub metrics: crate::workflow::metrics::MetricsByTask,
    /// A test gate's verdict `run` reached in the background on the landing it hands to
    /// `finish` (reused when it covers what finish lands); `None` for a command run by hand.
    pub tested: Option<crate::workflow::tested::Tested>,
    /// `start` called by `run` without a remote: the task file's start records are written to
    /// the main worktree uncommitted, for the next landing's merge commit (or the next commit
    /// of the task file) to carry (src/workflow/session.rs); false for a command run by hand.
    pub fold_start: bool,
    /// `finish` called by `run --executor ssh|command`: the tip each task branch must be at
    /// on the remote for it to land (the one its attempt's outcome published); empty for a
    /// command run by hand.
    pub expected_tips: std::collections::BTreeMap<String, gix::ObjectId>,
}

impl Context {
    pub fn open(args: Args) -> Result<Context> {
        let cwd = std::env::current_dir()?;
        let cwd = Utf8PathBuf::from_path_buf(cwd)
            .map_err(|p| crate::fatal!("current directory is not UTF-8: {}", p.display()))?;
        let mut repo = Repo::discover(&cwd)?;
        let dry_run = &defs::DRY_RUN;
        repo.plan_only =
            args.command.flags.iter().any(|f| std::ptr::eq(*f, dry_run)) && args.on(dry_run);
        let when = args.color();
        crate::output::set_color(
            when,
            &[repo.config("color.parallel"), repo.config("color.ui")],
        );
        let out = Output::from_args(&args);
        crate::output::set_quiet(out.quiet);
        crate::progress::enable(
            !out.quiet && !out.json && std::io::stderr().is_terminal() && out.color_err_allowed(),
        );
        Ok(Context {
            repo,
            lock: Default::default(),
            args,
            out,
            cwd,
            metrics: Default::default(),
            tested: None,
            fold_start: false,
            expected_tips: Default::default(),
        })
    }

    /// The context of a command `run` calls in-process with `args`: the same repository
    /// (opened anew: refs and config as they are now), its own lock slot, and no output of its
    /// own (its report is handed back typed; notes stay off the live display).
    pub fn for_command(&self, args: Args) -> Result<Context> {
        Ok(Context {
            repo: Repo::discover(&self.cwd)?,
            lock: Default::default(),
            args,
            out: Output {
                json: false,
                quiet: true,
                color: false,
                color_err: false,
            },
            cwd: self.cwd.clone(),
            metrics: Default::default(),
            tested: None,
            fold_start: false,
            expected_tips: Default::default(),
        })
    }

    /// A flag's value, else its `git config` key's value.
    pub fn flag_or_config(&self, flag: &'static defs::Flag) -> Option<String> {
        self.args.value(flag).map(str::to_string).or_else(|| {
            flag.config
                .and_then(|k| self.repo.settings.get(k).map(str::to_string))
        })
    }

    /// Where the task file is, by the documented precedence. Returns the absolute path.
    pub fn locate_task_file(&self) -> Result<Utf8PathBuf> {
        let base = self.repo.workdir()?;
        if let Some(p) = self.args.value(&defs::TASKS) {
            return Ok(absolutize(&self.cwd, p));
        }
        if let Ok(p) = std::env::var("GIT_PARALLEL_TASKS") {
            if !p.is_empty() {
                return Ok(absolutize(&self.cwd, &p));
            }
        }
        if let Some(p) = self.repo.settings.get("parallel.tasks") {
            return Ok(absolutize(base, p));
        }
        if let Some(product) = self.flag_or_config(&defs::PRODUCT) {
            let p = base.join(format!("products/{product}/.claude/task-graph.yml"));
            if !p.is_file() {
                return Err(crate::refused!(
                    help = "check the product name: ls products/",
                    "no task graph for product '{product}': {} does not exist",
                    p
                ));
            }
            return Ok(p);
        }
        let root = base.join(".claude/task-graph.yml");
        if root.is_file() {
            return Ok(root);
        }
        let mut found = Vec::new();
        if let Ok(entries) = std::fs::read_dir(base.join("products")) {
            for e in entries.flatten() {
                let p = e.path().join(".claude/task-graph.yml");
                if p.is_file() {
                    if let Ok(p) = Utf8PathBuf::from_path_buf(p) {
                        found.push(p);
                    }
                }
            }
        }
        found.sort();
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => Err(crate::refused!(
                help = "name one with --tasks PATH, or: git config parallel.tasks PATH",
                "no task graph found (looked for .claude/task-graph.yml and products/*/.claude/task-graph.yml)"
            )),
            _ => {
                let list: Vec<String> = found
                    .iter()
                    .map(|p| format!("  {}", p.strip_prefix(base).unwrap_or(p)))
                    .collect();
                let products: Vec<String> = found
                    .iter()
                    .filter_map(|p| p.strip_prefix(base.join("products")).ok())
                    .filter_map(|p| p.components().next().map(|c| c.as_str().to_string()))
                    .collect();
                Err(crate::refused!(
                    help = format!(
                        "choose one with --product NAME (one of: {}), or set it once: git config parallel.product NAME",
                        products.join(", ")
                    ),
                    "several task graphs found:\n{}",
                    list.join("\n")
                ))
            }
        }
    }

    /// Loads and validates the task file. Errors are printed in full; warnings too, unless quiet.
    pub fn load_tasks(&self) -> Result<TaskFile> {
        self.load_tasks_at(&self.locate_task_file()?)
    }

    /// `load_tasks` for a task file already located.
    pub fn load_tasks_at(&self, path: &Utf8Path) -> Result<TaskFile> {
        let bytes = std::fs::read(path).map_err(|e| {
            crate::refused!(
                help = "check --tasks / parallel.tasks",
                "cannot read task file {path}: {e}"
            )
        })?;
        self.load_tasks_from(path, bytes)
    }

    /// `load_tasks_at` for the task file `path`'s text `bytes`, wherever they were read.
    pub fn load_tasks_from(&self, path: &Utf8Path, bytes: Vec<u8>) -> Result<TaskFile> {
        let shown = self.display_path(path);
        let text = TaskFile::decode(Utf8Path::new(&shown), bytes).map_err(Error::Refused)?;
        let tf = TaskFile::parse(Utf8Path::new(&shown), text).map_err(Error::Refused)?;
        let findings = tf.validate();
        let mut errors = 0;
        for f in &findings {
            match f.severity {
                Severity::Error => {
                    errors += 1;
                    eprint!(
                        "{}",
                        crate::error::render("error", &f.report, self.out.color_err)
                    );
                }
                Severity::Note => {} // shown by `validate` only
                Severity::Warning => {
                    if !self.out.quiet && !self.out.json {
                        eprint!(
                            "{}",
                            crate::error::render("warning", &f.report, self.out.color_err)
                        );
                    }
                }
            }
        }
        if errors > 0 {
            return Err(crate::refused!(
                "{shown}: {errors} error{} in the task graph; fix {} and run again (git parallel validate)",
                if errors == 1 { "" } else { "s" },
                if errors == 1 { "it" } else { "them" }
            ));
        }
        Ok(tf)
    }

    /// A path relative to the current directory when it is below it, else absolute.
    pub fn display_path(&self, p: &Utf8Path) -> String {
        match p.strip_prefix(&self.cwd) {
            Ok(rel) if !rel.as_str().is_empty() => rel.to_string(),
            _ => p.to_string(),
        }
    }

    /// The task file's path relative to the main worktree (its path in commits), if inside it.
    pub fn repo_relative(&self, p: &Utf8Path) -> Option<String> {
        let base = self.repo.main_worktree.as_deref()?;
        p.strip_prefix(base).ok().map(|r| r.as_str().to_string())
    }
}

fn absolutize(base: &Utf8Path, p: &str) -> Utf8PathBuf {
    let p = Utf8Path::new(p);
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    };
    // Resolve symlinks and `..` when the file exists, so it compares with the worktree path.
    match joined.canonicalize_utf8() {
        Ok(c) => c,
        Err(_) => joined,
    }
}
