//! What to tell a person who named a task wrongly or cannot act on it: the ids close to an
//! unknown one, and advice by a task's status.

use crate::taskgraph::{Status, Task, TaskFile};

/// Task ids like `id`, for "did you mean": those equal to it ignoring case, else those within
/// edit distance 2 ignoring case (less than half its length, so short ids are not guessed),
/// nearest first, at most three.
pub fn similar_ids<'a>(id: &str, ids: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let want = id.to_lowercase();
    let mut exact = Vec::new();
    let mut near: Vec<(usize, &str)> = Vec::new();
    for cand in ids {
        let d = strsim::levenshtein(&want, &cand.to_lowercase());
        if d == 0 {
            exact.push(cand);
        } else if d <= 2 && d * 2 < want.chars().count().max(1) {
            near.push((d, cand));
        }
    }
    if !exact.is_empty() {
        return exact;
    }
    near.sort();
    near.dedup();
    near.into_iter().take(3).map(|(_, c)| c).collect()
}

/// The hint for an id the task file does not have: the ids it may have meant, else where to
/// look them up.
pub fn unknown_id_hint(tf: &TaskFile, id: &str) -> String {
    let similar = similar_ids(id, tf.graph.tasks.iter().map(|t| t.id.as_str()));
    match similar.as_slice() {
        [] => "see 'git parallel status' for the task ids".to_string(),
        [one] => format!("did you mean {one}?"),
        many => format!("did you mean one of {}?", many.join(", ")),
    }
}

/// What can be done with a task in its status, as a short phrase naming the command.
pub fn status_advice(task: &Task) -> String {
    let id = task.id.as_str();
    match task.status {
        Status::Pending | Status::Ready => format!(
            "it has not been started: git parallel start {id} once it is ready (see git parallel status)"
        ),
        Status::InProgress => format!(
            "it is in progress: git parallel finish {id} when its work is done, git parallel fail {id} if it failed"
        ),
        Status::Completed if task.checkpoint && task.approved_at.is_none() => {
            format!("it is done and awaits approval: git parallel approve {id}")
        }
        Status::Completed => "it is done; there is nothing to do".to_string(),
        Status::Failed => format!("it failed: git parallel retry {id}"),
        Status::Blocked => {
            "it is blocked (retries used up); see git parallel status".to_string()
        }
        Status::Skipped => "it was skipped; there is nothing to do".to_string(),
    }
}

#[cfg(test)]
mod suggest_tests {
    use super::*;

    const IDS: [&str; 5] = [
        "BACKEND-01",
        "BACKEND-02",
        "FRONTEND-01",
        "QA-01",
        "ARCH-01",
    ];

    #[test]
    fn case_insensitive_match_comes_first() {
        assert_eq!(similar_ids("backend-01", IDS), vec!["BACKEND-01"]);
        assert_eq!(similar_ids("Arch-01", IDS), vec!["ARCH-01"]);
    }

    #[test]
    fn near_ids_within_two_edits_nearest_first() {
        assert_eq!(
            similar_ids("BACKEND-1", IDS),
            vec!["BACKEND-01", "BACKEND-02"]
        );
        assert_eq!(similar_ids("frontend01", IDS), vec!["FRONTEND-01"]);
        assert!(similar_ids("DEPLOY-07", IDS).is_empty());
        // Short ids are not guessed from little.
        assert!(similar_ids("QB", ["QA"]).is_empty());
        assert!(similar_ids("", IDS).is_empty());
    }
}
