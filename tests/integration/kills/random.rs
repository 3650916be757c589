//! Randomized crash test: `start` and `finish` on a repository of 5,000 files with 8 tasks,
//! their whole process group SIGKILLed after a random delay (fixed seed) spread over the
//! command's run, so kills land inside `git worktree add`, checkouts, `read-tree` and the
//! removals too. After each kill: `status` exits 0 and explains the state, `recover
//! --continue` or `--abort` (alternating) settles it, `git fsck` is clean, no lock file is
//! left, every task tip recorded before is still reachable, and the state is exactly the one
//! before or the one after the command.

use std::time::{Duration, Instant};

use std::os::unix::process::CommandExt;

use crate::support::kill::{
    assert_settled, assert_status_explains, demo_repo, kill_group, state, work, State,
};
use crate::support::{all_output, TestRepo};

const TASKS: usize = 8;
const FILES: usize = 5000;
const KILLS: usize = 30;

/// xorshift64*: a fixed sequence for a fixed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A delay in 0..=max.
    fn delay(&mut self, max: Duration) -> Duration {
        let ms = max.as_millis().max(1) as u64;
        Duration::from_millis(self.next() % (ms + 1))
    }
}

fn started() -> TestRepo {
    let r = demo_repo(TASKS, FILES);
    r.ok(&["start", "-q"]);
    for i in 1..=TASKS {
        work(&r, i, 3);
    }
    r
}

fn timed(r: &TestRepo, args: &[&str]) -> Duration {
    let t = Instant::now();
    r.ok(args);
    t.elapsed()
}

/// When a kill lands: a delay from the spawn, or from the moment the journal appears (so
/// that many land inside the transaction, where the git children write).
#[derive(Clone, Copy, Debug)]
enum At {
    Spawn(Duration),
    Journal(Duration),
}

/// The measured durations a series draws its delays from: the whole run, and the transaction
/// (journal written to exit); each is lowered to what a run that ended before its kill took.
struct Timing {
    total: Duration,
    txn: Duration,
}

impl Timing {
    fn pick(&self, rng: &mut Rng) -> At {
        if rng.next().is_multiple_of(3) {
            At::Spawn(rng.delay(self.total))
        } else {
            At::Journal(rng.delay(self.txn))
        }
    }
}

/// One kill of `args` at `at`, then the checks; returns whether the command had taken effect
/// (the state is `after`) and a word for the tally; lowers `timing` when the run ended first.
#[allow(clippy::too_many_arguments)]
fn kill_once(
    r: &TestRepo,
    args: &[&str],
    at: At,
    timing: &mut Timing,
    how: &str,
    before: &State,
    after: &State,
    tips: &[String],
    what: &str,
) -> (bool, &'static str) {
    let journal = r.path(".git/parallel/journal");
    let t = Instant::now();
    let log = r.base().join("killed.stderr");
    let mut child = r
        .cmd()
        .args(args)
        .process_group(0)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).expect("create the log"))
        .spawn()
        .expect("spawn git-parallel");
    let mut journal_seen: Option<Instant> = None;
    let mut exited_first = false;
    loop {
        if child.try_wait().ok().flatten().is_some() {
            exited_first = true;
            timing.total = timing.total.min(t.elapsed());
            if let Some(j) = journal_seen {
                timing.txn = timing.txn.min(j.elapsed());
            }
            break;
        }
        if journal_seen.is_none() && journal.exists() {
            journal_seen = Some(Instant::now());
        }
        let due = match at {
            At::Spawn(d) => t.elapsed() >= d,
            At::Journal(d) => journal_seen.is_some_and(|j| j.elapsed() >= d),
        };
        if due {
            break;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    kill_group(&mut child, libc::SIGKILL);
    if exited_first {
        let status = child.wait().expect("wait");
        assert!(
            status.success(),
            "{what}: the run that was not killed failed: {status}"
        );
    }
    assert_status_explains(r, what);
    let pending = journal.exists();
    if pending {
        let out = r.run(&["recover", how]);
        assert!(
            out.status.success(),
            "{what}: recover {how} failed:\n{}",
            all_output(&out)
        );
    }
    assert_settled(r, what);
    let all = r.git(&["rev-list", "--all"]);
    for t in tips {
        assert!(all.contains(t.as_str()), "{what}: tip {t} is lost");
    }
    let now = state(r);
    let took_effect = if &now == after {
        true
    } else {
        assert_eq!(&now, before, "{what}: neither the state before nor after");
        false
    };
    let word = match (exited_first, pending) {
        (true, _) => "ended before the kill",
        (false, false) if took_effect => "killed after the end",
        (false, false) => "killed before its journal",
        (false, true) if how == "--abort" => "killed in the transaction; recover --abort",
        (false, true) => "killed in the transaction; recover --continue",
    };
    (took_effect, word)
}

/// `kills` kills of `args` on `r` (each followed by `undo` when the command took effect, to
/// return to `before`); the tally of outcomes.
#[allow(clippy::too_many_arguments)]
fn series(
    name: &str,
    r: &TestRepo,
    args: &[&str],
    kills: usize,
    seed: u64,
    mut timing: Timing,
    before: &State,
    after: &State,
    tips: &[String],
) -> Vec<String> {
    let mut rng = Rng(seed);
    let mut tally = Vec::new();
    for k in 0..kills {
        let how = if k % 2 == 0 { "--continue" } else { "--abort" };
        let at = timing.pick(&mut rng);
        let what = format!("{name} kill {k} at {at:?}");
        let (took, word) = kill_once(r, args, at, &mut timing, how, before, after, tips, &what);
        tally.push(format!("{name}: {word}"));
        if took {
            // Back to the state before (checked by the next round's comparison).
            r.ok(&["undo", "-q"]);
        }
    }
    assert_eq!(&state(r), before, "{name}: the last undo");
    tally
}

#[test]
fn random_process_group_kills_of_start_and_finish_always_settle() {
    // Two series side by side, each with its reference run (uninterrupted, also timed).
    let (start_tally, finish_tally) = std::thread::scope(|scope| {
        let starts = scope.spawn(|| {
            let reference = demo_repo(TASKS, FILES);
            let total = timed(&reference, &["start", "-q"]);
            let after = state(&reference);
            drop(reference);
            let r = demo_repo(TASKS, FILES);
            let before = state(&r);
            let timing = Timing { total, txn: total };
            let args = ["start", "-q"];
            series(
                "start",
                &r,
                &args,
                KILLS / 2,
                0x9e37_79b9_7f4a_7c15,
                timing,
                &before,
                &after,
                &[],
            )
        });
        let finishes = scope.spawn(|| {
            let reference = started();
            let total = timed(&reference, &["finish", "-q"]);
            let after = state(&reference);
            drop(reference);
            let r = started();
            let before = state(&r);
            let tips: Vec<String> = (1..=TASKS)
                .map(|i| r.rev(&format!("feature/demo/backend-T{i}")))
                .collect();
            let timing = Timing { total, txn: total };
            let args = ["finish", "-q"];
            series(
                "finish",
                &r,
                &args,
                KILLS - KILLS / 2,
                0x2545_f491_4f6c_dd1d,
                timing,
                &before,
                &after,
                &tips,
            )
        });
        (starts.join().unwrap(), finishes.join().unwrap())
    });
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for w in start_tally.into_iter().chain(finish_tally) {
        *counts.entry(w).or_default() += 1;
    }
    eprintln!("{KILLS} process-group kills: {counts:#?}");
}
