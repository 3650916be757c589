//! Unit tests of run's pure parts: durations, the summary text, the event lines and JSON, and
//! the attempt records.

use std::time::Duration;

use super::events::{Event, Summary, Waiting};
use super::state::{Last, Records};
use super::summary_text;
use crate::time::parse_duration;

#[test]
fn durations_take_a_unit_or_mean_seconds() {
    assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
    assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
    assert_eq!(parse_duration("30m"), Some(Duration::from_secs(1800)));
    assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
    assert_eq!(parse_duration("0.5s"), Some(Duration::from_millis(500)));
    assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
    for bad in ["", "s", "-1", "5 years", "1e999", "NaN"] {
        assert_eq!(parse_duration(bad), None, "{bad}");
    }
}

#[test]
fn durations_also_take_the_friendly_forms_and_minutes_spelled_out() {
    assert_eq!(parse_duration("30min"), Some(Duration::from_secs(1800)));
    assert_eq!(parse_duration("1h 30m"), Some(Duration::from_secs(5400)));
    assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
    assert_eq!(parse_duration("1.5h"), Some(Duration::from_secs(5400)));
    assert_eq!(
        parse_duration(" 2 minutes "),
        Some(Duration::from_secs(120))
    );
    for bad in ["-5s", "inf", "5 parsecs", "2 weeks"] {
        assert_eq!(parse_duration(bad), None, "{bad}");
    }
}

#[test]
fn the_summary_names_what_waits_for_whose_approval() {
    let s = Summary {
        completed: vec!["A".into(), "B".into()],
        failed: vec!["C".into()],
        waiting_for_approval: vec![Waiting {
            id: "D".into(),
            approve: vec!["A".into()],
        }],
        attempts: 5,
        wall_seconds: 75,
        sequential_minutes: 90,
        critical_path_minutes: 40,
        ..Summary::default()
    };
    assert_eq!(
        summary_text(&s),
        "Completed: A, B\nFailed: C (branches and worktrees kept)\n\
         Waiting for approval: D (git parallel approve A)\n\
         5 agent attempts in 1m15s (plan: 90 min sequential, 40 min critical path).\n"
    );
}

#[test]
fn events_are_tagged_objects_and_one_line_of_text() {
    let e = Event::AttemptFailed {
        id: "A".into(),
        attempt: 2,
        kind: crate::workflow::failure::Kind::Exit,
        reason: "the agent exited with 3".into(),
        files: vec![],
        last_output: Some("cannot find foo".into()),
        log: "/x/A.log".into(),
    };
    let doc = crate::workflow::report::envelope("run", &e);
    assert_eq!(
        doc.to_string(),
        r#"{"version":1,"command":"run","event":"attempt_failed","id":"A","attempt":2,"kind":"exit","reason":"the agent exited with 3","files":[],"last_output":"cannot find foo","log":"/x/A.log"}"#
    );
    assert_eq!(
        e.line(),
        "A: attempt 2 failed: the agent exited with 3; its last output: \"cannot find foo\" (log: /x/A.log)"
    );
}

#[test]
fn records_count_attempts_and_failures_and_survive_a_reload() {
    let dir = std::env::temp_dir().join(format!("gp-run-records-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dir = camino::Utf8PathBuf::from_path_buf(dir).unwrap();
    let mut r = Records::load(&dir);
    assert_eq!(r.begin("A", "unconfined".into()), 1);
    assert_eq!(r.failed("A", "exit 1"), 1);
    assert_eq!(r.begin("A", "unconfined".into()), 2);
    r.interrupted("A");
    assert_eq!(r.begin("A", "unconfined".into()), 2);
    r.succeeded("A");
    r.save().unwrap();
    let again = Records::load(&dir);
    let rec = again.get("A").unwrap();
    assert_eq!(
        (rec.attempts, rec.failures, rec.last),
        (2, 1, Last::Succeeded)
    );
    let mut again = again;
    again.forget("A");
    assert!(again.get("A").is_none());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_estimates_the_summary_compares_with_no_plan() {
    let s = Summary {
        completed: vec!["A".into()],
        attempts: 1,
        wall_seconds: 5,
        ..Summary::default()
    };
    assert_eq!(
        summary_text(&s),
        "Completed: A\n1 agent attempt in 0m05s.\n"
    );
}
