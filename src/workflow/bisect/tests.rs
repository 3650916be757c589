//! Unit tests of the search: fake tests over sets of positions, counting the runs.

use super::*;

/// The search over `n` tasks with `fails(set)` as the test's verdict; also every set tested.
fn search(n: usize, fails: impl Fn(&[usize]) -> bool) -> (Outcome, Vec<Vec<usize>>) {
    let mut tested = Vec::new();
    let out = bisect(n, &mut |set: &[usize]| {
        tested.push(set.to_vec());
        Ok(!fails(set))
    })
    .unwrap();
    assert_eq!(out.runs, tested.len());
    (out, tested)
}

fn culprits(o: &Outcome) -> Vec<usize> {
    o.rejected.iter().map(|r| r.task).collect()
}

#[test]
fn one_culprit_costs_about_log2_n_runs() {
    for n in [2usize, 4, 8, 16, 32] {
        for bad in 0..n {
            let (o, tested) = search(n, |s| s.contains(&bad));
            assert_eq!(culprits(&o), [bad], "n={n} bad={bad}");
            let want: Vec<usize> = (0..n).filter(|&i| i != bad).collect();
            assert_eq!(o.accepted, want);
            // What lands is a set the test passed on.
            assert!(tested.contains(&o.accepted) || o.accepted.is_empty());
            let log = n.trailing_zeros() as usize;
            assert!(o.runs <= log + 1, "n={n} bad={bad}: {} runs", o.runs);
            assert_eq!(o.rejected[0].after, (0..bad).collect::<Vec<_>>());
            assert!(!o.target_fails);
        }
    }
}

#[test]
fn the_runs_for_four_tasks() {
    // Position 2 breaks it: {0,1} passes, {0,1,2} fails, {0,1,3} passes and lands.
    let (o, tested) = search(4, |s| s.contains(&2));
    assert_eq!(tested, [vec![0, 1], vec![0, 1, 2], vec![0, 1, 3]]);
    assert_eq!(o.accepted, [0, 1, 3]);
    // The last one: two runs, the second is what lands.
    let (o, tested) = search(4, |s| s.contains(&3));
    assert_eq!(tested, [vec![0, 1], vec![0, 1, 2]]);
    assert_eq!(o.accepted, [0, 1, 2]);
}

#[test]
fn two_culprits() {
    let (o, tested) = search(8, |s| s.contains(&1) || s.contains(&6));
    assert_eq!(culprits(&o), [1, 6]);
    assert_eq!(o.accepted, [0, 2, 3, 4, 5, 7]);
    assert_eq!(o.rejected[1].after, [0, 2, 3, 4, 5]);
    assert!(tested.contains(&o.accepted));
    assert!(o.runs <= 8, "{} runs", o.runs);
}

#[test]
fn a_pair_that_only_fails_together_leaves_the_later_one_out() {
    let (o, _) = search(4, |s| s.contains(&1) && s.contains(&3));
    assert_eq!(culprits(&o), [3]);
    assert_eq!(o.rejected[0].after, [0, 1, 2]);
    assert_eq!(o.accepted, [0, 1, 2]);
}

#[test]
fn every_task_failing_rejects_them_all() {
    let (o, tested) = search(4, |s| !s.is_empty());
    assert_eq!(culprits(&o), [0, 1, 2, 3]);
    assert!(o.accepted.is_empty());
    assert!(!o.target_fails);
    assert!(
        tested.contains(&vec![]),
        "the target was tested: {tested:?}"
    );
    assert!(o.runs <= 9, "{} runs", o.runs);
}

#[test]
fn a_test_failing_on_the_target_stops_at_once() {
    let (o, tested) = search(16, |_| true);
    assert!(o.target_fails);
    assert!(o.accepted.is_empty());
    assert_eq!(culprits(&o), (0..16).collect::<Vec<_>>());
    assert_eq!(tested.last(), Some(&vec![]));
    assert!(o.runs <= 4 + 1 + 4 + 1, "{} runs", o.runs);
}

#[test]
fn two_tasks() {
    let (o, tested) = search(2, |s| s.contains(&0));
    assert_eq!((culprits(&o), o.accepted.clone()), (vec![0], vec![1]));
    assert_eq!(tested, [vec![0], vec![1]]);
    let (o, tested) = search(2, |s| s.contains(&1));
    assert_eq!((culprits(&o), o.accepted), (vec![1], vec![0]));
    assert_eq!(tested, [vec![0]]);
}

#[test]
fn no_set_is_tested_twice() {
    for mask in 0u32..256 {
        let (_, tested) = search(8, |s| s.iter().any(|&i| mask & (1 << i) != 0));
        let mut seen = tested.clone();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), tested.len(), "mask {mask:08b}");
    }
}

#[test]
fn an_error_of_the_test_stops_the_search() {
    let r = bisect(4, &mut |_: &[usize]| Err(crate::refused!("boom")));
    assert!(r.is_err());
}

#[test]
fn reproduce_quotes_what_the_shell_needs() {
    assert_eq!(
        reproduce(Some("/w/a b"), &["main"], "T1", "make test"),
        "git -C '/w/a b' merge main && git parallel exec T1 -- sh -c 'make test'"
    );
    assert_eq!(
        reproduce(None, &["main", "feature/x"], "T2", "true"),
        "git -C <worktree> merge main && git -C <worktree> merge feature/x && git parallel exec T2 -- sh -c true"
    );
}
