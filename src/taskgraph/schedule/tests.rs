//! Unit tests of `schedule`.

use super::*;
use crate::taskgraph::model::{Artifact, Priority};
use crate::taskgraph::{fixtures, TaskFile};

/// The waves of a full run with no cap.
fn waves(graph: &Graph) -> Vec<Vec<usize>> {
    waves_capped(graph, None)
}

#[test]
fn containment_for_task_boundaries() {
    assert!(path_contains("products/x/api/", "products/x/api/src/a.ts"));
    assert!(path_contains("./docs/guide.md", "docs/guide.md"));
    assert!(path_contains(
        "e2e/tests/*.spec.ts",
        "e2e/tests/login.spec.ts"
    ));
    assert!(!path_contains("src/a", "src/ab"));
    assert!(!path_contains("src/a/b.rs", "src/a"));
}

fn task(id: &str, deps: &[&str], paths: &[&str]) -> Task {
    Task {
        id: id.into(),
        depends_on: deps.iter().map(|s| s.to_string()).collect(),
        produces: paths
            .iter()
            .map(|p| Artifact {
                path: Some(p.to_string()),
                ..Artifact::default()
            })
            .collect(),
        parallel_ok: true,
        estimated_time_minutes: Some(10),
        ..Task::default()
    }
}

fn graph(tasks: Vec<Task>) -> Graph {
    Graph {
        tasks,
        ..Graph::default()
    }
}

#[test]
fn overlap_rules() {
    assert!(paths_overlap("src/a.rs", "src/a.rs"));
    assert!(paths_overlap("src/", "src/a.rs"));
    assert!(paths_overlap("src", "src/x/a.rs"));
    assert!(paths_overlap("./src//x", "src/x/"));
    assert!(!paths_overlap("src/a", "src/ab"));
    assert!(!paths_overlap("docs/PRD.md", "docs/PRD.md.bak"));
    assert!(paths_overlap("src/**/*.rs", "src/lib.rs"));
    assert!(paths_overlap("#{PR_NUMBER}", "#{PR_NUMBER}"));
    let a = Task {
        shared_files: vec!["package.json".into()],
        ..task("A", &[], &["api/"])
    };
    let b = Task {
        shared_files: vec!["package.json".into()],
        ..task("B", &[], &["web/"])
    };
    assert_eq!(conflict(&a, &b).as_deref(), Some("package.json"));
    assert_eq!(
        conflict(&a, &task("C", &[], &["api/x.ts"])).as_deref(),
        Some("api/x.ts")
    );
    assert_eq!(conflict(&a, &task("D", &[], &["apix"])), None);
}

#[test]
fn readiness_and_checkpoints() {
    let mut cp = task("CP", &[], &[]);
    cp.checkpoint = true;
    cp.status = Status::Completed;
    let mut g = graph(vec![
        cp,
        task("A", &["CP"], &[]),
        task("B", &["A", "ZZ"], &[]),
    ]);
    assert_eq!(blockers(&g, 1), [Blocker::Checkpoint { dep: "CP".into() }]);
    assert_eq!(
        blockers(&g, 2),
        [
            Blocker::Dependency {
                dep: "A".into(),
                status: Status::Pending
            },
            Blocker::UnknownDependency("ZZ".into())
        ]
    );
    assert_eq!(blockers(&g, 0), [Blocker::Status(Status::Completed)]);
    g.tasks[0].approved_at = Some("now".into());
    assert!(is_ready(&g, 1));
    // A started dependent also approves the checkpoint.
    g.tasks[0].approved_at = None;
    let mut c = task("C", &["CP"], &[]);
    c.started_at = Some("t".into());
    g.tasks.push(c);
    assert!(is_ready(&g, 1));
    assert!(!is_ready(&g, 99));
}

#[test]
fn select_orders_by_priority_and_conflicts() {
    let mut a = task("A", &[], &["src/a.rs"]);
    a.priority = Priority::Low;
    let mut b = task("B", &[], &["src/"]);
    b.priority = Priority::Critical;
    let c = task("C", &[], &["docs/x.md"]);
    let d = task("D", &["C"], &[]);
    let g = graph(vec![a, b, c, d]);
    let s = select(&g);
    assert_eq!(s.run, [1, 2]);
    assert_eq!(
        s.waiting,
        [
            (
                3,
                Wait::Blocked(vec![Blocker::Dependency {
                    dep: "C".into(),
                    status: Status::Pending
                }])
            ),
            (
                0,
                Wait::Conflict {
                    with: "B".into(),
                    path: "src/a.rs".into()
                }
            ),
        ]
    );
    assert_eq!(waves(&g), [vec![1, 2], vec![3, 0]]);
    assert_eq!(parallel_minutes(&g, &waves(&g)), 20);
    assert_eq!(sequential_minutes(&g), 40);
}

#[test]
fn runs_alone_and_busy() {
    let mut solo = task("S", &[], &[]);
    solo.parallel_ok = false;
    let g = graph(vec![solo.clone(), task("A", &[], &[]), task("B", &[], &[])]);
    let s = select(&g);
    assert_eq!(s.run, [0]);
    assert_eq!(s.waiting, [(1, Wait::Busy), (2, Wait::Busy)]);
    // Something else running: the solo task waits, others join.
    let mut running = task("R", &[], &["x"]);
    running.status = Status::InProgress;
    let g = graph(vec![
        solo,
        task("A", &[], &["x/y"]),
        task("B", &[], &[]),
        running,
    ]);
    let s = select(&g);
    assert_eq!(s.run, [2]);
    assert_eq!(
        s.waiting,
        [
            (0, Wait::RunsAlone),
            (
                1,
                Wait::Conflict {
                    with: "R".into(),
                    path: "x/y".into()
                }
            )
        ]
    );
    assert_eq!(waves(&g), [vec![3, 2], vec![0], vec![1]]);
    assert_eq!(
        check_explicit(&g, &[1, 2, 0]),
        [
            (
                1,
                Wait::Conflict {
                    with: "R".into(),
                    path: "x/y".into()
                }
            ),
            (0, Wait::RunsAlone)
        ]
    );
    assert_eq!(check_explicit(&g, &[2]), []);
    assert!(matches!(check_explicit(&g, &[3])[0].1, Wait::Blocked(_)));
}

#[test]
fn critical_path_and_cycles() {
    let mut g = graph(vec![
        task("A", &[], &[]),
        task("B", &["A"], &[]),
        task("C", &["A"], &[]),
        task("D", &["B", "C"], &[]),
    ]);
    g.tasks[2].estimated_time_minutes = Some(50);
    let cp = critical_path(&g);
    assert_eq!(
        cp,
        CriticalPath {
            tasks: vec![0, 2, 3],
            minutes: 70
        }
    );
    // A cycle: no panic, no infinite loop; cyclic tasks never run.
    let g = graph(vec![
        task("X", &["Y"], &[]),
        task("Y", &["X"], &[]),
        task("Z", &[], &[]),
    ]);
    assert_eq!(critical_path(&g).tasks, [2]);
    assert_eq!(waves(&g), [vec![2]]);
}

#[test]
fn fixture_waves_cover_remaining_tasks() {
    for (p, s) in fixtures::graphs() {
        let f = TaskFile::parse(&p, s).unwrap();
        let g = &f.graph;
        let w = waves(g);
        let mut seen: Vec<usize> = w.iter().flatten().copied().collect();
        seen.sort_unstable();
        let expected: Vec<usize> = (0..g.tasks.len())
            .filter(|&i| !g.tasks[i].status.is_done())
            .collect();
        assert_eq!(seen, expected, "{p}: {w:?}");
        let cp = critical_path(g);
        assert!(
            cp.minutes <= parallel_minutes(g, &w)
                && parallel_minutes(g, &w) <= sequential_minutes(g),
            "{p}"
        );
        for pair in cp.tasks.windows(2) {
            assert!(
                g.tasks[pair[1]].depends_on.contains(&g.tasks[pair[0]].id),
                "{p}"
            );
        }
    }
}
