//! Reading `git config`: gix's snapshot holds every level, the GIT_CONFIG_COUNT/KEY_n/VALUE_n
//! environment (gix reads it) and `git -c` overrides (GIT_CONFIG_PARAMETERS, which git sets for
//! the subcommand; parsed here and handed to gix when the repository is opened). The
//! `parallel.*` settings are read once into [`Settings`] when the repository is opened, and each
//! is parsed (gix's boolean and integer rules) when a command asks for it, so a bad value of one
//! key does not stop commands that do not use it. The numeric defaults are written here once;
//! the flag table's prose uses them too.

use super::{Error, Repo, Result};

/// `parallel.maxRetries` when unset: how many retries a task gets before it is blocked.
/// A macro so that the help texts can `concat!` it.
#[macro_export]
macro_rules! default_max_retries {
    () => {
        3
    };
}

/// `parallel.keepBackups` when unset: days before `gc` deletes a backup.
#[macro_export]
macro_rules! default_keep_backups {
    () => {
        30
    };
}

/// `parallel.poolSize` when unset: how many finished worktrees are kept for reuse.
#[macro_export]
macro_rules! default_pool_size {
    () => {
        8
    };
}

/// `parallel.keepIgnoredMax` when unset, in MiB: the cap on kept ignored files beyond which
/// regenerable content is deleted (1 GiB).
#[macro_export]
macro_rules! default_keep_ignored_max_mib {
    () => {
        1024
    };
}

/// The default of `parallel.keepIgnoredMax` in bytes (see [`default_keep_ignored_max_mib!`]).
pub const KEEP_IGNORED_MAX: u64 = default_keep_ignored_max_mib!() * 1024 * 1024;
/// The default of `parallel.poolSize` (see [`default_pool_size!`]).
pub const POOL_SIZE: i64 = default_pool_size!();
/// The default of `parallel.maxRetries` (see [`default_max_retries!`]).
pub const MAX_RETRIES: i64 = default_max_retries!();
/// The default of `parallel.portBase`: the first port of the blocks of `parallel.ports`.
pub const PORT_BASE: i64 = 20000;
/// The default of `parallel.keepBackups` (see [`default_keep_backups!`]).
pub const KEEP_BACKUPS_DAYS: i64 = default_keep_backups!();

/// Finds the repository from `dir` as git does, with `git -c` overrides applied to its config.
pub(super) fn discover(dir: &std::path::Path) -> std::result::Result<gix::Repository, gix::Error> {
    let overrides = cli_overrides();
    let mut trust = gix::sec::trust::Mapping::<gix::open::Options>::default();
    trust.full = trust.full.cli_overrides(overrides.clone());
    trust.reduced = trust.reduced.cli_overrides(overrides);
    gix::ThreadSafeRepository::discover_with_environment_overrides_opts(
        dir,
        Default::default(),
        trust,
    )
    .map(Into::into)
}

/// The `parallel.*` keys git-parallel reads, as git config spells them.
pub const KEYS: &[&str] = &[
    "parallel.agent",
    "parallel.boundaries",
    "parallel.branchTemplate",
    "parallel.dispatch",
    "parallel.envFile",
    "parallel.envTemplate",
    "parallel.executor",
    "parallel.foldStatus",
    "parallel.gateWorktree",
    "parallel.hosts",
    "parallel.keepBackups",
    "parallel.keepIgnored",
    "parallel.keepIgnoredMax",
    "parallel.launch",
    "parallel.leaseInterval",
    "parallel.leaseTimeout",
    "parallel.maxCost",
    "parallel.maxRetries",
    "parallel.maxTasks",
    "parallel.mergeMessage",
    "parallel.onConflict",
    "parallel.pollInterval",
    "parallel.poolSize",
    "parallel.portBase",
    "parallel.ports",
    "parallel.postStart",
    "parallel.product",
    "parallel.prompt",
    "parallel.radar",
    "parallel.remote",
    "parallel.remoteDir",
    "parallel.reuseWorktrees",
    "parallel.sandbox",
    "parallel.target",
    "parallel.taskMaxCost",
    "parallel.tasks",
    "parallel.test",
    "parallel.worktreeTemplate",
];

/// The `parallel.*` settings of one command run: every key's value read once from the
/// repository's configuration (the last value wins; `git -c` included), parsed on demand by the
/// typed accessors below. Multi-valued keys (`parallel.copy`, `parallel.sandboxWritable`, `parallel.regenerable`) keep
/// every value.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    values: std::collections::BTreeMap<&'static str, String>,
    /// `parallel.copy`: include globs added to `.worktreeinclude`.
    pub copy: Vec<String>,
    /// `parallel.setupKey`: the files whose contents decide whether postStart runs again in a
    /// reused worktree.
    pub setup_key: Vec<String>,
    /// `parallel.sandboxWritable`: more paths a sandboxed command may write.
    pub sandbox_writable: Vec<String>,
    /// `parallel.regenerable`: globs of ignored paths that are regenerable build output (not
    /// kept when a task lands), added to the built-in list.
    pub regenerable: Vec<String>,
}

impl Settings {
    /// Reads every key of [`KEYS`] (and the multi-valued ones) from `snapshot`.
    pub(super) fn read(repo: &gix::Repository) -> Settings {
        let snapshot = repo.config_snapshot();
        let values = KEYS
            .iter()
            .filter_map(|k| snapshot.string(*k).map(|v| (*k, v.to_string())))
            .collect();
        let all = |key: &str| {
            snapshot
                .strings(key)
                .unwrap_or_default()
                .into_iter()
                .map(|s| s.to_string())
                .collect()
        };
        Settings {
            values,
            copy: all("parallel.copy"),
            setup_key: all("parallel.setupKey"),
            sandbox_writable: all("parallel.sandboxWritable"),
            regenerable: all("parallel.regenerable"),
        }
    }

    /// The raw value of `key` (one of [`KEYS`]).
    pub fn get(&self, key: &str) -> Option<&str> {
        debug_assert!(KEYS.contains(&key), "{key} is not in config::KEYS");
        self.values.get(key).map(String::as_str)
    }

    /// Sets `key` (one of [`KEYS`]) for this process only, as `git -c key=value` would: how
    /// `run` hands its own choices (its sandbox mode) to the commands it calls in-process.
    pub fn set(&mut self, key: &'static str, value: &str) {
        debug_assert!(KEYS.contains(&key), "{key} is not in config::KEYS");
        self.values.insert(key, value.to_string());
    }

    /// A boolean key by git's rules (true/yes/on/1, false/no/off/0, empty is false); `None`
    /// when unset or not a boolean.
    fn boolean(&self, key: &str) -> Option<bool> {
        let v = self.get(key)?;
        gix::config::Boolean::try_from(gix::bstr::BStr::new(v.trim()))
            .ok()
            .map(|b| b.0)
    }

    fn int(&self, key: &str) -> Result<Option<i64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => gix::config::Integer::try_from(gix::bstr::BStr::new(v.trim()))
                .ok()
                .and_then(|i| i.to_decimal())
                .map(Some)
                .ok_or_else(|| Error::BadNumber {
                    key: key.to_string(),
                    value: v.to_string(),
                }),
        }
    }

    /// `parallel.maxRetries`, or its default; never below 0.
    pub fn max_retries(&self) -> Result<i64> {
        Ok(self
            .int("parallel.maxRetries")?
            .unwrap_or(MAX_RETRIES)
            .max(0))
    }

    /// `parallel.keepBackups` in days, or its default (as configured: may be negative).
    pub fn keep_backups(&self) -> Result<i64> {
        Ok(self
            .int("parallel.keepBackups")?
            .unwrap_or(KEEP_BACKUPS_DAYS))
    }

    /// `parallel.reuseWorktrees` (default false): finish parks clean task worktrees in a pool
    /// and start takes them, keeping their ignored files (build caches).
    pub fn reuse_worktrees(&self) -> bool {
        self.boolean("parallel.reuseWorktrees").unwrap_or(false)
    }

    /// `parallel.poolSize`: at most this many parked worktrees (default 8; 0 keeps none).
    pub fn pool_size(&self) -> Result<usize> {
        let n = self.int("parallel.poolSize")?.unwrap_or(POOL_SIZE);
        usize::try_from(n).map_err(|_| Error::BadNumber {
            key: "parallel.poolSize".into(),
            value: n.to_string(),
        })
    }

    /// `parallel.foldStatus` (default false): finish folds the task file's status change into
    /// its last merge commit instead of a separate `chore(...)` commit.
    pub fn fold_status(&self) -> bool {
        self.boolean("parallel.foldStatus").unwrap_or(false)
    }

    /// `parallel.gateWorktree`: `keep` (the default) tests in the kept gate worktree, whose
    /// ignored files (build output) survive from one gate to the next; `temp` in a temporary
    /// worktree per gate, removed after it. Any other value counts as `keep`.
    pub fn gate_worktree_kept(&self) -> bool {
        !self
            .get("parallel.gateWorktree")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("temp"))
    }

    /// `parallel.keepIgnored` (default true): ignored files of a removed worktree are kept.
    pub fn keep_ignored(&self) -> bool {
        self.boolean("parallel.keepIgnored").unwrap_or(true)
    }

    /// `parallel.keepIgnoredMax` in bytes (git's integer rules: `500m`, `2g`; default 1 GiB);
    /// `None` for `unlimited` (no cap). `0`: regenerable content is never kept.
    pub fn keep_ignored_max(&self) -> Result<Option<u64>> {
        const KEY: &str = "parallel.keepIgnoredMax";
        if self
            .get(KEY)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("unlimited"))
        {
            return Ok(None);
        }
        let n = self.int(KEY)?;
        match n {
            None => Ok(Some(KEEP_IGNORED_MAX)),
            Some(n) => u64::try_from(n).map(Some).map_err(|_| Error::BadNumber {
                key: KEY.into(),
                value: n.to_string(),
            }),
        }
    }

    /// `parallel.radar` (default true): status runs the conflict radar.
    pub fn radar(&self) -> bool {
        self.boolean("parallel.radar").unwrap_or(true)
    }

    /// `parallel.boundaries warn`: files outside a task's paths warn instead of refusing.
    pub fn boundaries_warn(&self) -> bool {
        self.get("parallel.boundaries")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("warn"))
    }

    /// `parallel.postStart`: the command run in each new worktree.
    pub fn post_start(&self) -> Option<String> {
        self.get("parallel.postStart").map(str::to_string)
    }

    /// `parallel.branchTemplate`, or the default.
    pub fn branch_template(&self) -> String {
        self.get("parallel.branchTemplate")
            .unwrap_or("feature/{product}/{role}-{id}")
            .to_string()
    }

    /// `parallel.worktreeTemplate`, when set.
    pub fn worktree_template(&self) -> Option<&str> {
        self.get("parallel.worktreeTemplate")
    }

    /// `parallel.ports`: how many ports each started task gets (0: none, the default).
    pub fn ports(&self) -> Result<i64> {
        Ok(self.int("parallel.ports")?.unwrap_or(0))
    }

    /// `parallel.portBase`, or [`PORT_BASE`].
    pub fn port_base(&self) -> Result<i64> {
        Ok(self.int("parallel.portBase")?.unwrap_or(PORT_BASE))
    }

    /// `parallel.launch`, or the default hand-off line.
    pub fn launch(&self) -> String {
        self.get("parallel.launch")
            .unwrap_or("cd {worktree}")
            .to_string()
    }

    /// `parallel.mergeMessage`, or the default conventional-commit subject.
    pub fn merge_message(&self) -> String {
        self.get("parallel.mergeMessage")
            .unwrap_or("{type}({product}): {name} ({id})")
            .to_string()
    }
}

impl Repo {
    /// A boolean `git config` value by git's rules (None: unset or not a boolean).
    pub fn config_bool(&self, key: &str) -> Option<bool> {
        self.gix.config_snapshot().boolean(key)
    }

    /// A `git config` value (the last one wins), including `git -c` overrides.
    pub fn config(&self, key: &str) -> Option<String> {
        self.gix
            .config_snapshot()
            .string(key)
            .map(|v| v.to_string())
    }
}

/// `key=value` overrides given with `git -c` (GIT_CONFIG_PARAMETERS).
fn cli_overrides() -> Vec<String> {
    std::env::var("GIT_CONFIG_PARAMETERS")
        .map(|p| {
            parse_config_parameters(&p)
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect()
        })
        .unwrap_or_default()
}

/// Parses git's `'key'='value' 'key2'='value2'` (shell single-quoted) encoding.
fn parse_config_parameters(s: &str) -> Vec<(String, String)> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_quote = false;
    let mut chars = s.chars().peekable();
    let mut have = false;
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_quote = !in_quote;
                have = true;
            }
            '\\' if !in_quote => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            ' ' if !in_quote => {
                if have {
                    words.push(std::mem::take(&mut cur));
                    have = false;
                }
            }
            c => {
                cur.push(c);
                have = true;
            }
        }
    }
    if have {
        words.push(cur);
    }
    words
        .into_iter()
        .map(|w| {
            let (k, v) = w.split_once('=').unwrap_or((w.as_str(), "true"));
            (k.to_string(), v.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    /// Every key read is documented (the man page's CONFIGURATION: `CONFIG_KEYS` or a flag's
    /// config fallback), and every documented `parallel.*` key is read here.
    #[test]
    fn settings_keys_are_the_documented_ones() {
        use crate::cli::defs;
        let documented: Vec<&str> = defs::CONFIG_KEYS
            .iter()
            .map(|(k, _)| *k)
            .chain(
                defs::GLOBAL_FLAGS
                    .iter()
                    .chain(defs::COMMANDS.iter().flat_map(|c| c.flags.iter()))
                    .filter_map(|f| f.config),
            )
            .filter(|k| k.starts_with("parallel."))
            .collect();
        let multi = [
            "parallel.copy",
            "parallel.setupKey",
            "parallel.sandboxWritable",
            "parallel.regenerable",
        ];
        for k in super::KEYS.iter().chain(&multi) {
            assert!(documented.contains(k), "{k} is read but not documented");
        }
        for k in &documented {
            assert!(
                super::KEYS.contains(k) || multi.contains(k),
                "{k} is documented but not read into Settings"
            );
        }
    }

    #[test]
    fn config_parameters() {
        let p = super::parse_config_parameters("'parallel.target'='dev' 'core.x'='a b'");
        assert_eq!(p[0], ("parallel.target".into(), "dev".into()));
        assert_eq!(p[1], ("core.x".into(), "a b".into()));
    }
}
