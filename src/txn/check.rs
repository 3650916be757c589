//! The checks around a transaction: before it (every ref at the value the plan expects, the
//! steps after the commit point able to run) and after it (the repository in the state the
//! journal says it should be in).

use crate::taskgraph::display::safe;
use crate::txn::steps::{AddWorktree, Push, Refs, RemoveWorktree, SyncMain, TestGate, WriteFile};
use std::collections::BTreeMap;

use camino::Utf8Path;

use super::steps::shared as step;
use super::{syncmain, worktree, Error, Journal, JournalStep, Plan, StepState};
use crate::error::Result;
use crate::git::Repo;
use crate::txn::{Result as TxnResult, Step};

/// Checks, before anything changes, that every ref update will find the value it expects
/// (following the plan's own earlier updates), so a plan that would fail half-way is refused up
/// front. (Commands check the worktrees they remove themselves, listing every problem.)
pub(super) fn preflight(repo: &Repo, plan: &Plan) -> TxnResult<()> {
    let mut refs: std::collections::HashMap<String, Option<gix::ObjectId>> = Default::default();
    let mut problems = Vec::new();
    let updates = plan.steps.iter().flat_map(|s| match s {
        Step::Refs(Refs { updates, .. }) => updates.as_slice(),
        _ => &[],
    });
    for u in updates {
        let cur = match refs.get(&u.name) {
            Some(v) => *v,
            None => repo.ref_id(&u.name)?,
        };
        if cur != u.old {
            problems.push(match (&cur, &u.old) {
                (Some(c), None) => format!("{} exists (at {})", u.name, step::short(c)),
                (None, Some(_)) => format!("{} does not exist any more", u.name),
                (Some(c), Some(o)) => format!(
                    "{} is at {}, expected {}",
                    u.name,
                    step::short(c),
                    step::short(o)
                ),
                (None, None) => continue,
            });
        }
        refs.insert(u.name.clone(), u.new);
    }
    problems.extend(post_commit_problems(repo, plan.commit_point, &plan.steps)?);
    if !problems.is_empty() {
        return Err(Error::Stale {
            summary: plan.summary.clone(),
            problems,
        });
    }
    Ok(())
}

/// What would make a step after the commit point fail (see [`Step::precheck`]): checked up
/// front and again just before the commit point, so that an operation is refused while
/// nothing has taken effect rather than left half-done after it.
pub(super) fn post_commit_problems(
    repo: &Repo,
    commit_point: Option<usize>,
    steps: &[Step],
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    if let Some(cp) = commit_point {
        for s in steps.iter().skip(cp + 1) {
            problems.extend(s.precheck(repo)?);
        }
    }
    Ok(problems)
}

/// The state a journal leaves when all its steps are applied (or all rolled back), and the
/// values its ref updates went through (to tell our leftovers from someone else's changes).
#[derive(Default)]
struct Expected<'a> {
    /// Ref name → (value it should have, every value the operation gave it).
    refs: BTreeMap<&'a str, (Option<&'a gix::ObjectId>, Vec<&'a Option<gix::ObjectId>>)>,
    /// Worktree → whether it should be there.
    worktrees: BTreeMap<&'a Utf8Path, bool>,
    /// File → (content it should have, the content the other way round).
    files: BTreeMap<&'a Utf8Path, (&'a str, &'a str)>,
    /// Main worktree syncs (from, to, branch), in the order walked.
    syncs: Vec<(&'a gix::ObjectId, &'a gix::ObjectId, &'a Option<String>)>,
}

impl<'a> Expected<'a> {
    fn of(journal: &'a Journal, applied: bool) -> Expected<'a> {
        let mut x = Expected::default();
        let order: Vec<&JournalStep> = if applied {
            journal.steps.iter().collect()
        } else {
            journal.steps.iter().rev().collect()
        };
        for s in order {
            x.add(&s.step, applied);
        }
        x
    }

    fn add(&mut self, step: &'a Step, applied: bool) {
        match step {
            Step::Refs(Refs { updates, .. }) => {
                for u in updates {
                    let e = self.refs.entry(u.name.as_str()).or_default();
                    e.0 = if applied {
                        u.new.as_ref()
                    } else {
                        u.old.as_ref()
                    };
                    e.1.push(&u.old);
                    e.1.push(&u.new);
                }
            }
            Step::AddWorktree(AddWorktree { path, .. }) => {
                self.worktrees.insert(path, applied);
            }
            Step::RemoveWorktree(RemoveWorktree { path, .. }) => {
                self.worktrees.insert(path, !applied);
            }
            Step::TestGate(TestGate { dir, .. }) => {
                self.worktrees.insert(dir, false);
            }
            Step::WriteFile(WriteFile { path, old, new }) => {
                let (want, other) = if applied { (new, old) } else { (old, new) };
                self.files.insert(path, (want, other));
            }
            Step::SyncMain(SyncMain { from, to, branch }) => self.syncs.push((from, to, branch)),
            Step::Keep(_) | Step::Push(Push { .. }) => {}
            Step::Pool(p) => self.worktrees.extend(p.presence(applied)),
        }
    }
}

/// What differs between the repository and what a journal's steps leave: see [`verify`].
#[derive(Default)]
struct Differences {
    /// What this operation should have changed and did not.
    ours: Vec<String>,
    /// What someone else changed meanwhile.
    foreign: Vec<String>,
}

impl Differences {
    fn refs(&mut self, repo: &Repo, x: &Expected) -> Result<()> {
        for (name, (want, seen)) in &x.refs {
            let cur = repo.ref_id(name)?;
            if cur.as_ref() == *want {
                continue;
            }
            let shown = |v: Option<&gix::ObjectId>| {
                v.map_or("absent".into(), |v| format!("at {}", step::short(v)))
            };
            let text = format!(
                "{name} is {}, expected {}",
                shown(cur.as_ref()),
                shown(*want)
            );
            if seen.contains(&&cur) {
                self.ours.push(text);
            } else {
                self.foreign.push(text);
            }
        }
        Ok(())
    }

    fn worktrees(&mut self, repo: &Repo, x: &Expected) -> Result<()> {
        for (path, present) in &x.worktrees {
            if *present && !worktree::is_complete(repo, path)? {
                self.ours
                    .push(format!("worktree {path} is not (fully) there"));
            } else if !present && !worktree::is_absent(repo, path)? {
                self.ours.push(format!("worktree {path} is still there"));
            }
        }
        Ok(())
    }

    fn files(&mut self, x: &Expected) {
        for (path, (want, other)) in &x.files {
            let cur = std::fs::read_to_string(path).unwrap_or_default();
            if cur == *other && want != other {
                self.ours
                    .push(format!("{} was not restored", safe(path.as_str())));
            } else if cur != *want {
                self.foreign
                    .push(format!("{} was changed meanwhile", safe(path.as_str())));
            }
        }
    }

    fn main_index(&mut self, repo: &Repo, x: &Expected, applied: bool) -> Result<()> {
        // The one that decides the final state: the last walked (last applied, first undone).
        if let Some((from, to, branch)) = x.syncs.last() {
            let (want, other) = if applied { (*to, *from) } else { (*from, *to) };
            if let Some(false) = syncmain::index_at(repo, from, to, want, branch.as_deref())? {
                // Only the other side is this operation's doing (read-tree writes the index
                // at once); an index at neither side is someone else's commit or staging
                // meanwhile (repro round2 15: the user committed on the target during the
                // test gate), which neither direction may touch.
                let text = format!("the main worktree's index is not at {}", step::short(want));
                if syncmain::index_at(repo, from, to, other, branch.as_deref())? == Some(true) {
                    self.ours.push(text);
                } else {
                    self.foreign.push(text);
                }
            }
        }
        Ok(())
    }
}

/// What differs from the state the journal's steps leave when all are applied (`applied`) or
/// all rolled back: what this operation should have changed and did not (a reason not to
/// claim success), and what someone else changed meanwhile (to mention; nothing to undo).
fn verify(repo: &Repo, journal: &Journal, applied: bool) -> Result<Differences> {
    let x = Expected::of(journal, applied);
    let mut d = Differences::default();
    d.refs(repo, &x)?;
    d.worktrees(repo, &x)?;
    d.files(&x);
    d.main_index(repo, &x, applied)?;
    Ok(d)
}

/// Checks the result of a rollback (`applied` false) or completion: on a difference this
/// operation should not have left, the journal is kept with every step marked for another
/// try (apply and undo are idempotent) and an error says what differs; changes others made
/// meanwhile are only mentioned.
pub(super) fn check_result(
    repo: &Repo,
    dir: &Utf8Path,
    journal: &mut Journal,
    applied: bool,
) -> TxnResult<()> {
    let Differences { ours, foreign } = verify(repo, journal, applied)?;
    for f in &foreign {
        eprintln!("note: {f} (changed by someone else meanwhile; left as it is)");
    }
    if ours.is_empty() {
        return Ok(());
    }
    for s in &mut journal.steps {
        s.state = if applied {
            StepState::Started
        } else {
            StepState::Done
        };
    }
    journal.rolling_back = !applied;
    journal.save(dir)?;
    Err(Error::NotReached {
        summary: journal.summary.clone(),
        applied,
        problems: ours,
    })
}
