//! `git parallel exec [ID…] -- CMD…`: run a command in the worktree of every in-progress task
//! (or the named ones), at most `-j N` at a time. Output lines are prefixed with the task id as
//! they arrive; a summary of exit statuses follows. Exits 1 when any command failed.

use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use camino::Utf8PathBuf;
use serde::Serialize;

use crate::cli::defs;
use crate::error::{Error, Result};
use crate::git::short_branch;
use crate::output;
use crate::taskgraph::{Status, Task};
use crate::workflow::agent_env::{self, AgentEnv};
use crate::workflow::context::{Context, Output};
use crate::workflow::failure;
use crate::workflow::report::{self, Report};
use crate::workflow::select::ids_or_in_progress;
use crate::workflow::session::Session;

/// One command to run: a task and its worktree, with the variables `run` gives its agent.
struct Job {
    id: String,
    worktree: Utf8PathBuf,
    env: AgentEnv,
}

/// How one command ended.
struct Outcome {
    /// `Err`: the command could not be started.
    status: std::result::Result<ExitStatus, String>,
    /// Captured output (only with --json; otherwise it was streamed).
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    elapsed: Duration,
    /// The program was not found.
    not_found: bool,
}

impl Outcome {
    fn ok(&self) -> bool {
        matches!(&self.status, Ok(s) if s.success())
    }

    fn exit_code(&self) -> Option<i32> {
        self.status.as_ref().ok().and_then(|s| s.code())
    }

    fn signal(&self) -> Option<i32> {
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            self.status.as_ref().ok().and_then(|s| s.signal())
        }
        #[cfg(not(unix))]
        {
            None
        }
    }

    /// `ok`, `exit 2`, `killed by signal 9 (SIGKILL)`, `cannot run: …`.
    fn describe(&self) -> String {
        match &self.status {
            Err(e) => format!("cannot run: {e}"),
            Ok(s) if s.success() => "ok".into(),
            Ok(_) => match (self.exit_code(), self.signal()) {
                (Some(c), _) => format!("exit {c}"),
                (None, Some(sig)) => match signal_name(sig) {
                    Some(name) => format!("killed by signal {sig} ({name})"),
                    None => format!("killed by signal {sig}"),
                },
                (None, None) => "failed".into(),
            },
        }
    }
}

fn signal_name(sig: i32) -> Option<&'static str> {
    Some(match sig {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        6 => "SIGABRT",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        _ => return None,
    })
}

pub fn run(ctx: &Context) -> Result<()> {
    let argv = &ctx.args.trailing;
    if argv.is_empty() {
        return Err(Error::usage(
            "missing command after `--'",
            Some(ctx.args.command.name),
        ));
    }
    let jobs_max = jobs_limit(ctx)?;
    let env = Session::load_readonly(ctx)?;
    let jobs = select(&env)?;
    let sandbox = Sandbox {
        policy: crate::sandbox::Policy::load(
            &ctx.repo,
            ctx.args.value(&defs::SANDBOX),
            // By hand, commands are confined only when asked (--sandbox, parallel.sandbox).
            crate::sandbox::Mode::Off,
        )?,
        tmp: crate::txn::state_dir(&ctx.repo).join("exec").join("tmp"),
    };
    let outcomes = if jobs.is_empty() {
        Vec::new()
    } else {
        if sandbox.policy.active() {
            report::text_note(
                &ctx.out,
                format_args!("{}", sandbox.policy.describe("commands")),
            );
        } else if sandbox.policy.mode != crate::sandbox::Mode::Off {
            output::warning(format_args!("{}", sandbox.policy.describe("commands")));
        }
        run_all(&jobs, argv, jobs_max, ctx.out, &sandbox)
    };
    let report = Executed::new(&jobs, &outcomes, argv, ctx.out);
    report::emit(&ctx.out, "exec", &report);
    if !ctx.out.json {
        report.after_summary(outcomes.iter().any(|o| o.not_found));
    }
    if outcomes.iter().any(|o| !o.ok()) {
        return Err(crate::error::Error::Failed);
    }
    Ok(())
}

/// `-j N`, else the number of CPUs.
fn jobs_limit(ctx: &Context) -> Result<usize> {
    match ctx.args.value(&defs::JOBS) {
        None => Ok(crate::parallel_map::cpus_or(1)),
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(Error::usage(
                format!("-j/--jobs needs a positive number (got '{v}')"),
                Some(ctx.args.command.name),
            )),
        },
    }
}

/// The named tasks (each must have a worktree) or every in-progress task that has one.
fn select(env: &Session) -> Result<Vec<Job>> {
    let worktrees = env.ctx.repo.worktrees()?;
    let worktree_for = |i: usize| {
        let branch = env.branch_of(&env.tf.graph.tasks[i]);
        worktrees
            .iter()
            .find(|w| w.branch.as_deref() == Some(branch.as_str()))
            .map(|w| w.path.clone())
    };
    let tasks = &env.tf.graph.tasks;
    let file = env.show(&env.task_path);
    let selection = ids_or_in_progress(env, &file, |i| match worktree_for(i) {
        Some(_) => Ok(None),
        None => no_worktree_problem(env, &tasks[i]).map(Some),
    })?;
    if !selection.problems.is_empty() {
        return Err(crate::refused!(
            help = "see 'git parallel status' for the started tasks and their worktrees",
            "cannot run the command; nothing was run:\n  {}",
            selection.problems.join("\n  ")
        ));
    }
    let named = !env.ctx.args.positionals.is_empty();
    let mut jobs: Vec<Job> = Vec::new();
    for i in selection.idx {
        let t = &tasks[i];
        if jobs.iter().any(|j| j.id == t.id) {
            continue;
        }
        match worktree_for(i) {
            Some(worktree) => jobs.push(Job {
                id: t.id.clone(),
                env: task_env(env, t, &worktree),
                worktree,
            }),
            None if named || env.ctx.out.quiet || env.ctx.out.json => {}
            None => skipped(env, t)?,
        }
    }
    Ok(jobs)
}

/// The `GIT_PARALLEL_*` variables of `t` as `run` sets them for its next attempt (the brief
/// written, best effort: exec changes nothing else).
fn task_env(env: &Session, t: &Task, worktree: &Utf8PathBuf) -> AgentEnv {
    let dir = agent_env::run_dir(&env.ctx.repo);
    let last = failure::last(&dir, &t.id);
    let brief = agent_env::brief_path(&dir, &t.id);
    let _ = agent_env::write_brief(&brief, t, last.as_ref());
    AgentEnv {
        id: t.id.clone(),
        name: t.name.clone(),
        product: env.product.clone(),
        agent: t.agent.clone(),
        branch: short_branch(&env.branch_of(t)).to_string(),
        worktree: worktree.clone(),
        task_file: env.task_path.clone(),
        brief,
        attempt: last.as_ref().map_or(1, |f| f.attempt + 1),
        last_failure: last.map(|_| failure::text_path(&dir, &t.id)),
    }
}

/// Why the named task `t` has no worktree to run in.
fn no_worktree_problem(env: &Session, t: &Task) -> Result<String> {
    if crate::workflow::worktrees::in_progress_elsewhere(env, t)? {
        return Ok(format!(
            "{}; it has no worktree here",
            crate::workflow::worktrees::elsewhere_note(env, t)
        ));
    }
    let id = &t.id;
    Ok(match t.status {
        Status::Pending | Status::Ready => {
            format!("{id}: has no worktree; it is {} (not started)", t.status)
        }
        Status::InProgress | Status::Failed => format!(
            "{id}: is {} but no worktree has its branch {} checked out",
            t.status,
            short_branch(&env.branch_of(t))
        ),
        s => format!("{id}: has no worktree; it is {s}"),
    })
}

/// Says why the in-progress task `t`, which no worktree here has checked out, is skipped.
fn skipped(env: &Session, t: &Task) -> Result<()> {
    if crate::workflow::worktrees::in_progress_elsewhere(env, t)? {
        output::eprint(format_args!(
            "note: {}; skipped (reset it with: git parallel abort {})\n",
            crate::workflow::worktrees::elsewhere_note(env, t),
            t.id
        ));
    } else {
        output::warning_always(format_args!(
            "{} is in_progress but no worktree has its branch {} checked out; skipped",
            t.id,
            short_branch(&env.branch_of(t))
        ));
    }
    Ok(())
}

/// Whether the commands run confined, and where their private TMPDIRs go (`<tmp>/<ID>`).
struct Sandbox {
    policy: crate::sandbox::Policy,
    tmp: Utf8PathBuf,
}

/// Colours cycled over the task prefixes.
const PREFIX_COLORS: [&str; 6] = ["36", "33", "32", "35", "34", "31"];

/// Runs every job with at most `limit` at once; outcomes in job order.
fn run_all(
    jobs: &[Job],
    argv: &[String],
    limit: usize,
    out: Output,
    sandbox: &Sandbox,
) -> Vec<Outcome> {
    let width = jobs.iter().map(|j| j.id.len()).max().unwrap_or(0) + 2;
    let indexed: Vec<(usize, &Job)> = jobs.iter().enumerate().collect();
    crate::parallel_map::map_bounded(&indexed, limit, |&(i, job)| {
        let prefix = format!("{:<width$} ", format!("[{}]", job.id));
        let color = PREFIX_COLORS[i % PREFIX_COLORS.len()];
        let sink = Sink {
            capture: out.json,
            out_prefix: paint(out.color, color, &prefix),
            err_prefix: paint(out.color_err, color, &prefix),
        };
        run_one(job, argv, &sink, sandbox)
    })
}

fn paint(on: bool, code: &str, s: &str) -> Vec<u8> {
    if on {
        format!("\x1b[{code}m{s}\x1b[0m").into_bytes()
    } else {
        s.as_bytes().to_vec()
    }
}

/// Where one job's output goes: captured, or streamed line by line with a prefix.
struct Sink {
    capture: bool,
    out_prefix: Vec<u8>,
    err_prefix: Vec<u8>,
}

#[derive(Clone, Copy)]
enum Stream {
    Out,
    Err,
}

impl Sink {
    /// Reads `from` to the end; returns what was read when capturing, else streams it.
    fn pump(&self, from: impl Read, stream: Stream) -> Vec<u8> {
        let mut reader = BufReader::new(from);
        let mut captured = Vec::new();
        if self.capture {
            let _ = reader.read_to_end(&mut captured);
            return captured;
        }
        let prefix = match stream {
            Stream::Out => &self.out_prefix,
            Stream::Err => &self.err_prefix,
        };
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            if !line.ends_with(b"\n") {
                line.push(b'\n');
            }
            let mut buf = Vec::with_capacity(prefix.len() + line.len());
            buf.extend_from_slice(prefix);
            buf.extend_from_slice(&line);
            // A closed stdout (`| head`) must not stop the draining of the child's pipe.
            match stream {
                Stream::Out => {
                    let _ = output::stream_out(&buf);
                }
                Stream::Err => output::stream_err(&buf),
            }
        }
        captured
    }
}

fn run_one(job: &Job, argv: &[String], sink: &Sink, sandbox: &Sandbox) -> Outcome {
    let started = Instant::now();
    let tmp = sandbox.tmp.join(&job.id);
    let outcome = run_confined(job, argv, sink, &sandbox.policy, &tmp, started);
    crate::sandbox::remove_tmp(&tmp);
    outcome
}

fn run_confined(
    job: &Job,
    argv: &[String],
    sink: &Sink,
    policy: &crate::sandbox::Policy,
    tmp: &camino::Utf8Path,
    started: Instant,
) -> Outcome {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .current_dir(job.worktree.as_std_path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // git run by the command must find the worktree's repository, not one from our environment.
    for var in crate::git::cli::REPO_ENV {
        cmd.env_remove(var);
    }
    job.env.apply(&mut cmd);
    // The task's port block (parallel.ports), as its agent and postStart see it.
    if let Some(p) = crate::txn::taskenv::ports_of(&job.worktree) {
        cmd.envs(p.env());
    }
    if let Err(e) = policy.confine(&mut cmd, &job.worktree, tmp, &[]) {
        return Outcome {
            status: Err(format!("cannot sandbox it: {e:?}")),
            stdout: Vec::new(),
            stderr: Vec::new(),
            elapsed: started.elapsed(),
            not_found: false,
        };
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Outcome {
                status: Err(format!("{}: {e}", argv[0])),
                stdout: Vec::new(),
                stderr: Vec::new(),
                elapsed: started.elapsed(),
                not_found: e.kind() == std::io::ErrorKind::NotFound,
            }
        }
    };
    let child_out = child.stdout.take();
    let child_err = child.stderr.take();
    let (stdout, stderr) = std::thread::scope(|s| {
        let o = s.spawn(|| {
            child_out
                .map(|r| sink.pump(r, Stream::Out))
                .unwrap_or_default()
        });
        let e = s.spawn(|| {
            child_err
                .map(|r| sink.pump(r, Stream::Err))
                .unwrap_or_default()
        });
        (o.join().unwrap_or_default(), e.join().unwrap_or_default())
    });
    let status = child.wait().map_err(|e| format!("{}: {e}", argv[0]));
    Outcome {
        status,
        stdout,
        stderr,
        elapsed: started.elapsed(),
        not_found: false,
    }
}

/// What `exec` did (`--json`: `results`).
#[derive(Serialize, schemars::JsonSchema)]
pub struct Executed {
    /// One per worktree, in file order (the named tasks: in the order named); `[]` when no
    /// task is in progress.
    results: Vec<ExecResult>,
    /// The command as it would be typed.
    #[serde(skip)]
    command: String,
    /// The first word of the command, when it is the only one.
    #[serde(skip)]
    single_word: Option<String>,
    #[serde(skip)]
    out: Output,
}

/// The outcome of the command in one worktree.
#[derive(Serialize, schemars::JsonSchema)]
struct ExecResult {
    /// The task.
    id: String,
    /// The worktree the command ran in.
    #[schemars(with = "String")]
    worktree: Utf8PathBuf,
    /// Its exit code; `null` when killed by a signal or not started.
    exit_code: Option<i32>,
    /// The signal that killed it (Unix), else `null`.
    signal: Option<i32>,
    /// Why the command could not be started (e.g. `"nosuchprog: No such file or directory (os
    /// error 2)"`), else `null`.
    error: Option<String>,
    /// Everything it wrote to stdout, with `--json` (invalid UTF-8 replaced by U+FFFD).
    stdout: String,
    /// Everything it wrote to stderr, with `--json`.
    stderr: String,
    /// Whether it exited 0.
    #[serde(skip)]
    ok: bool,
    /// Its summary line: id, how it ended, how long it took.
    #[serde(skip)]
    line: String,
}

impl Executed {
    fn new(jobs: &[Job], outcomes: &[Outcome], argv: &[String], out: Output) -> Executed {
        let width = jobs.iter().map(|j| j.id.len()).max().unwrap_or(0);
        let results = jobs
            .iter()
            .zip(outcomes)
            .map(|(j, o)| ExecResult {
                id: j.id.clone(),
                worktree: j.worktree.clone(),
                exit_code: o.exit_code(),
                signal: o.signal(),
                error: o.status.as_ref().err().cloned(),
                stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
                ok: o.ok(),
                line: format!(
                    "{:<width$}  {}  ({:.1}s)",
                    j.id,
                    o.describe(),
                    o.elapsed.as_secs_f64()
                ),
            })
            .collect();
        Executed {
            results,
            command: show_command(argv),
            single_word: match argv {
                [one] => Some(one.clone()),
                _ => None,
            },
            out,
        }
    }

    /// What follows the text summary on stderr: with `-q`, the failed commands (the summary is
    /// not printed); a hint when a one-word command with spaces was not found.
    fn after_summary(&self, not_found: bool) {
        if self.out.quiet {
            for r in self.results.iter().filter(|r| !r.ok) {
                output::eprint(format_args!("error: {}\n", r.line));
            }
        }
        if let (true, Some(word)) = (not_found, &self.single_word) {
            if word.contains(char::is_whitespace) {
                output::eprint(format_args!(
                    "hint: the command is run without a shell, so '{word}' is taken as one program name;\n\
                     hint: give the words separately (-- {word}) or use a shell: -- sh -c '{}'\n",
                    word.replace('\'', "'\\''")
                ));
            }
        }
    }
}

impl fmt::Display for Executed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.results.is_empty() {
            return writeln!(
                f,
                "No task is in progress; nothing to run (start tasks with 'git parallel start')."
            );
        }
        writeln!(f)?;
        writeln!(f, "Summary:")?;
        for r in &self.results {
            let color = if r.ok { "32" } else { "31" };
            writeln!(f, "  {}", self.out.paint(color, &r.line))?;
        }
        let n = self.results.len();
        let failed = self.results.iter().filter(|r| !r.ok).count();
        if failed == 0 {
            writeln!(
                f,
                "{} succeeded in {n} worktree{}.",
                self.command,
                if n == 1 { "" } else { "s" }
            )
        } else {
            writeln!(f, "{} failed in {failed} of {n} worktrees.", self.command)
        }
    }
}

impl Report for Executed {}

/// The command as it would be typed, for messages.
fn show_command(argv: &[String]) -> String {
    let words: Vec<String> = argv
        .iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/._-+:@=,".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect();
    format!("`{}`", words.join(" "))
}
