//! Watching the remote attempts of `run --executor ssh|command`: one thread reads every lease
//! and outcome on the remote (one `ls-remote`, a fetch only for new blobs) every
//! `parallel.pollInterval` while attempts are out, and ends each attempt with the same
//! [`Done`] a local agent sends, its [`Verdict`] kept for the scheduler: the worker's outcome
//! (landable when ok and the remote branch is at the outcome's tip), a lease not renewed within
//! `parallel.leaseTimeout` (a failed attempt of kind `lease-expired`), or a dispatch that ended
//! without an outcome (the ssh session, a dispatch command that failed).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::git::Location;
use crate::workflow::attempt::agent::{Done, Exit};
use crate::workflow::failure::{Failure, Kind};
use crate::workflow::remote::attempts::{self, Board};

/// How a remote attempt ended, as the scheduler acts on it.
#[derive(Clone, Debug)]
pub enum Verdict {
    /// Outcome ok and the remote branch at its tip (`None`: nothing committed, nothing to
    /// check): to be landed, from that tip only.
    Landable {
        commits: usize,
        tip: Option<gix::ObjectId>,
    },
    /// The attempt failed.
    Failed(Failure),
    /// Someone else (another run on the same remote) dispatched the task: theirs to land.
    TakenOver(String),
}

/// One attempt out on another machine.
struct Out {
    attempt: u32,
    /// The task branch (full ref name).
    branch: String,
    dispatched: Instant,
    /// The dispatch (ssh session) ended without an outcome yet: when, and what to say.
    ended: Option<(Instant, String)>,
}

#[derive(Default)]
struct State {
    out: BTreeMap<String, Out>,
    verdicts: BTreeMap<String, (u32, Verdict)>,
    /// The last read of the remote, and when.
    last: Option<(Instant, Board)>,
}

/// The watcher: its thread and what it shares with the scheduler.
pub struct Watch {
    state: Arc<Mutex<State>>,
    tx: Sender<Done>,
    poll: Duration,
}

/// What the watcher thread needs.
pub struct Setup {
    pub loc: Location,
    pub remote: String,
    pub poll: Duration,
    pub lease_timeout: Duration,
    pub tx: Sender<Done>,
    pub stop: Arc<AtomicBool>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

impl Watch {
    /// Starts the thread.
    pub fn start(setup: Setup) -> Watch {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let tx = setup.tx.clone();
        let poll = setup.poll;
        std::thread::spawn(move || run(&setup, &shared));
        Watch { state, tx, poll }
    }

    /// Attempt `attempt` of `id` (on `branch`) was dispatched.
    pub fn add(&self, id: &str, attempt: u32, branch: &str) {
        lock(&self.state).out.insert(
            id.to_string(),
            Out {
                attempt,
                branch: branch.to_string(),
                dispatched: Instant::now(),
                ended: None,
            },
        );
    }

    /// The dispatch of `id`'s `attempt` ended (`how`, in words); the next read of the remote
    /// decides (an outcome published just before is not lost).
    pub fn ended(&self, id: &str, attempt: u32, how: String) {
        if let Some(o) = lock(&self.state)
            .out
            .get_mut(id)
            .filter(|o| o.attempt == attempt)
        {
            o.ended = Some((Instant::now(), how));
        }
    }

    /// `id`'s `attempt` failed before it reached the remote: reported at once.
    pub fn fail_now(&self, id: &str, attempt: u32, f: Failure) {
        self.end_now(id, attempt, Verdict::Failed(f));
    }

    /// `id`'s `attempt` ended with `v` before it reached the remote: reported at once.
    pub fn end_now(&self, id: &str, attempt: u32, v: Verdict) {
        let mut s = lock(&self.state);
        if s.out.get(id).is_some_and(|o| o.attempt == attempt) {
            s.out.remove(id);
            s.verdicts.insert(id.to_string(), (attempt, v));
            let _ = self.tx.send(done(id, attempt, Exit::Code(1), 0.0));
        }
    }

    /// The verdict on `id`'s `attempt`, once (None: it did not run remotely).
    pub fn verdict(&self, id: &str, attempt: u32) -> Option<Verdict> {
        let mut s = lock(&self.state);
        match s.verdicts.get(id) {
            Some((n, _)) if *n == attempt => s.verdicts.remove(id).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The remote's leases and outcomes as read less than a poll interval ago, if they were.
    pub fn recent(&self) -> Option<Board> {
        let s = lock(&self.state);
        s.last
            .as_ref()
            .filter(|(at, _)| at.elapsed() < self.poll)
            .map(|(_, a)| a.clone())
    }

    /// The remote's leases and outcomes as last read, however long ago.
    pub fn last(&self) -> Option<Board> {
        lock(&self.state).last.as_ref().map(|(_, b)| b.clone())
    }

    /// A read of the remote made by the scheduler, for the next dispatches to reuse.
    pub fn seen(&self, a: &Board) {
        lock(&self.state).last = Some((Instant::now(), a.clone()));
    }
}

fn run(setup: &Setup, state: &Mutex<State>) {
    let mut warned = false;
    loop {
        let until = Instant::now() + setup.poll;
        while Instant::now() < until {
            if setup.stop.load(Ordering::SeqCst) {
                return stop_all(setup, state);
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        if lock(state).out.is_empty() {
            continue;
        }
        let read_at = Instant::now();
        let seen = match attempts::read_all(&setup.loc, &setup.remote) {
            Ok(seen) => {
                warned = false;
                seen
            }
            Err(e) => {
                if !warned {
                    crate::output::warning(format_args!(
                        "cannot read the attempts on {}: {e}; trying again every {:?}",
                        setup.remote, setup.poll
                    ));
                    warned = true;
                }
                continue;
            }
        };
        let mut s = lock(state);
        let ids: Vec<String> = s.out.keys().cloned().collect();
        for id in ids {
            let Some(out) = s.out.get(&id) else { continue };
            let Some(verdict) = judge(setup, &id, out, &seen, read_at) else {
                continue;
            };
            let attempt = out.attempt;
            let seconds = seen
                .outcome(&id, attempt)
                .map_or(out.dispatched.elapsed().as_secs_f64(), |o| o.value.seconds);
            s.out.remove(&id);
            let exit = match &verdict {
                Verdict::Landable { .. } => Exit::Code(0),
                Verdict::Failed(_) | Verdict::TakenOver(_) => Exit::Code(1),
            };
            s.verdicts.insert(id.clone(), (attempt, verdict));
            let _ = setup.tx.send(done(&id, attempt, exit, seconds));
        }
        s.last = Some((read_at, seen));
    }
}

fn done(id: &str, attempt: u32, exit: Exit, seconds: f64) -> Done {
    Done {
        id: id.to_string(),
        attempt,
        exit,
        denied: None,
        usage: Default::default(),
        seconds,
    }
}

/// Run was interrupted: every attempt out is reported stopped (the workers go on; their
/// leases expire unless the next run dispatches again).
fn stop_all(setup: &Setup, state: &Mutex<State>) {
    let mut s = lock(state);
    for (id, out) in std::mem::take(&mut s.out) {
        let _ = setup.tx.send(done(&id, out.attempt, Exit::Stopped, 0.0));
    }
}

/// What the remote says of `out` (None: still running).
fn judge(setup: &Setup, id: &str, out: &Out, seen: &Board, read_at: Instant) -> Option<Verdict> {
    let n = out.attempt;
    if let Some(o) = seen.outcome(id, n).map(|o| &o.value) {
        if !o.ok {
            let f = match &o.failure {
                Some(f) => Failure::new(f.kind, format!("on {}: {}", o.host, f.message), n),
                None => Failure::new(
                    Kind::Exit,
                    match (o.exit, o.signal) {
                        (_, Some(sig)) => {
                            format!("on {}: the agent was killed by signal {sig}", o.host)
                        }
                        (Some(c), _) => format!("on {}: the agent exited with {c}", o.host),
                        _ => format!("on {}: the attempt failed", o.host),
                    },
                    n,
                ),
            };
            return Some(Verdict::Failed(f));
        }
        return Some(landable(setup, id, out, o));
    }
    let lease = seen.lease(id).map(|l| &l.value);
    match lease {
        Some(l) if l.attempt > n => {
            return Some(Verdict::TakenOver(format!(
                "attempt {} of {id} was dispatched by someone else ({}, another run on this remote?) while attempt {n} ran",
                l.attempt, l.executor
            )))
        }
        Some(l) if l.attempt == n => {
            let now = crate::time::now_secs();
            if l.expired(now, setup.lease_timeout) {
                return Some(expired(
                    setup,
                    n,
                    &format!("held by {}, last renewed {}s ago", l.holder, l.age(now)),
                ));
            }
        }
        // The lease written before the dispatch is gone: someone dropped the task.
        _ if out.dispatched.elapsed() > setup.lease_timeout => {
            return Some(expired(setup, n, "its lease is gone from the remote"));
        }
        _ => {}
    }
    match &out.ended {
        Some((at, how)) if *at <= read_at => Some(Verdict::Failed(Failure::new(
            Kind::Exit,
            format!("{how}, and no outcome of attempt {n} was published"),
            n,
        ))),
        _ => None,
    }
}

fn expired(setup: &Setup, n: u32, detail: &str) -> Verdict {
    Verdict::Failed(Failure::new(
        Kind::LeaseExpired,
        format!(
            "the lease of attempt {n} expired (parallel.leaseTimeout {}s; {detail}): the worker is gone or cut off",
            setup.lease_timeout.as_secs()
        ),
        n,
    ))
}

/// An ok outcome: landable when the remote branch is at its tip (one `ls-remote`).
fn landable(setup: &Setup, id: &str, out: &Out, o: &attempts::Outcome) -> Verdict {
    let n = out.attempt;
    let tips = crate::git::remote::ls_remote(&setup.loc, &setup.remote, &[out.branch.as_str()]);
    let at = match tips {
        Ok(t) => t.get(&out.branch).map(|o| o.to_string()),
        Err(e) => {
            return Verdict::Failed(Failure::new(
                Kind::Refused,
                format!("cannot read {} on {}: {e}", out.branch, setup.remote),
                n,
            ))
        }
    };
    match (&o.tip, at) {
        (Some(tip), Some(at)) if *tip == at => Verdict::Landable {
            commits: o.commits as usize,
            tip: at.parse().ok(),
        },
        (None, _) if o.commits == 0 => Verdict::Landable {
            commits: 0,
            tip: None,
        },
        (tip, at) => Verdict::Failed(Failure::new(
            Kind::Refused,
            format!(
                "{id}'s branch on {} is at {}, not at the tip attempt {n} published ({}): not landed",
                setup.remote,
                at.as_deref().unwrap_or("nothing"),
                tip.as_deref().unwrap_or("none")
            ),
            n,
        )),
    }
}
