//! The transactions `run` orchestrates, each run as a subprocess of this same binary (`start`,
//! `finish`, `recover`) with the same repository and task-file context and `--json`: each is
//! its own journaled transaction under the repository lock, so a `run` killed at any moment
//! leaves at most one interrupted operation, which the next `run` (or `recover`) settles.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::cli::defs;
use crate::error::Result;
use crate::workflow::context::Context;

/// How to call ourselves.
pub struct Sub {
    exe: PathBuf,
    global: Vec<String>,
    /// GIT_CONFIG_PARAMETERS for the subprocesses: run's sandbox mode reaches the test gate of
    /// the finishes it makes (as `git -c parallel.sandbox=…` would).
    config: String,
}

/// What one subprocess did.
pub struct Outcome {
    /// Its exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    /// Its `--json` document, when it printed one.
    pub json: Option<serde_json::Value>,
    /// Its standard error (the refusal, for a log).
    pub stderr: String,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// Refused (exit 1): nothing was changed.
    pub fn refused(&self) -> bool {
        self.code == Some(1)
    }

    /// The first `error:` line of its standard error, for an event's reason.
    pub fn error_line(&self) -> String {
        self.stderr
            .lines()
            .find(|l| l.starts_with("error:") || l.starts_with("fatal:"))
            .or_else(|| self.stderr.lines().find(|l| !l.trim().is_empty()))
            .map(|l| l.trim_start_matches("error: ").trim().to_string())
            .unwrap_or_else(|| format!("exit code {:?}", self.code))
    }
}

impl Sub {
    /// Our own binary, with `--tasks` and `--product` as given to `run`, and its sandbox mode.
    pub fn new(ctx: &Context, sandbox: crate::sandbox::Mode) -> Result<Sub> {
        let exe = std::env::current_exe()
            .map_err(|e| crate::fatal!("cannot find this program's own path: {e}"))?;
        let mut global = vec!["--color".to_string(), "never".to_string()];
        for flag in [&defs::TASKS, &defs::PRODUCT] {
            if let Some(v) = ctx.args.value(flag) {
                global.push(format!("--{}", flag.long));
                global.push(v.to_string());
            }
        }
        let given = std::env::var("GIT_CONFIG_PARAMETERS").unwrap_or_default();
        let config = format!("{given} 'parallel.sandbox'='{}'", sandbox.name())
            .trim()
            .to_string();
        Ok(Sub {
            exe,
            global,
            config,
        })
    }

    /// Runs `git parallel <args…>` and waits for it.
    pub fn call(&self, args: &[String]) -> Result<Outcome> {
        let mut cmd = Command::new(&self.exe);
        cmd.env("GIT_CONFIG_PARAMETERS", &self.config);
        let out = cmd
            .args(&self.global)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| crate::fatal!("cannot run {}: {e}", self.exe.display()))?;
        Ok(Outcome {
            code: out.status.code(),
            json: serde_json::from_slice(&out.stdout).ok(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// Settles an operation a killed `run` (or any command) left behind: rolled back, else
    /// completed (past its commit point). `Ok(None)`: there was none.
    pub fn settle(&self, ctx: &Context) -> Result<Option<String>> {
        let Err(pending) = crate::txn::ensure_no_pending(&ctx.repo) else {
            return Ok(None);
        };
        for way in ["--abort", "--continue"] {
            let out = self.call(&["recover".into(), way.into(), "--json".into()])?;
            if out.ok() {
                let op = out
                    .json
                    .as_ref()
                    .and_then(|j| j["operation"].as_str())
                    .unwrap_or("the interrupted operation")
                    .to_string();
                return Ok(Some(op));
            }
        }
        Err(pending.into())
    }
}
