//! Reading `git config`: gix's snapshot holds every level, the GIT_CONFIG_COUNT/KEY_n/VALUE_n
//! environment (gix reads it) and `git -c` overrides (GIT_CONFIG_PARAMETERS, which git sets for
//! the subcommand; parsed here and handed to gix when the repository is opened). The numeric
//! `parallel.*` defaults are written here once; the flag table's prose uses them too. Each key
//! is read when a command needs it, so a bad value of one key does not stop other commands.

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

/// The default of `parallel.poolSize` (see [`default_pool_size!`]).
pub const POOL_SIZE: i64 = default_pool_size!();
/// The default of `parallel.maxRetries` (see [`default_max_retries!`]).
pub const MAX_RETRIES: i64 = default_max_retries!();
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

impl Repo {
    /// A `git config` value (the last one wins), including `git -c` overrides.
    pub fn config(&self, key: &str) -> Option<String> {
        self.gix
            .config_snapshot()
            .string(key)
            .map(|v| v.to_string())
    }

    /// Every value of a multi-valued `git config` key.
    pub fn config_all(&self, key: &str) -> Vec<String> {
        self.gix
            .config_snapshot()
            .strings(key)
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.to_string())
            .collect()
    }

    /// `parallel.maxRetries`, or its default; never below 0.
    pub fn max_retries(&self) -> Result<i64> {
        Ok(self
            .config_int("parallel.maxRetries")?
            .unwrap_or(MAX_RETRIES)
            .max(0))
    }

    /// `parallel.keepBackups` in days, or its default (as configured: may be negative).
    pub fn keep_backups(&self) -> Result<i64> {
        Ok(self
            .config_int("parallel.keepBackups")?
            .unwrap_or(KEEP_BACKUPS_DAYS))
    }

    /// `parallel.reuseWorktrees` (default false): finish parks clean task worktrees in a pool
    /// and start takes them, keeping their ignored files (build caches).
    pub fn reuse_worktrees(&self) -> bool {
        matches!(
            self.config("parallel.reuseWorktrees")
                .map(|v| v.trim().to_ascii_lowercase())
                .as_deref(),
            Some("true" | "yes" | "on" | "1")
        )
    }

    /// `parallel.poolSize`: at most this many parked worktrees (default 8; 0 keeps none).
    pub fn pool_size(&self) -> Result<usize> {
        let n = self.config_int("parallel.poolSize")?.unwrap_or(POOL_SIZE);
        usize::try_from(n).map_err(|_| Error::BadNumber {
            key: "parallel.poolSize".into(),
            value: n.to_string(),
        })
    }

    pub fn config_int(&self, key: &str) -> Result<Option<i64>> {
        match self.config(key) {
            None => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|_| Error::BadNumber {
                key: key.to_string(),
                value: v,
            }),
        }
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
    #[test]
    fn config_parameters() {
        let p = super::parse_config_parameters("'parallel.target'='dev' 'core.x'='a b'");
        assert_eq!(p[0], ("parallel.target".into(), "dev".into()));
        assert_eq!(p[1], ("core.x".into(), "a b".into()));
    }
}
