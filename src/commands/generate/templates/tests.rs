//! The templates parse as YAML and run `git parallel work` with the task and the attempt.

use super::*;
use serde_yaml::Value;

fn parse(text: &str) -> Value {
    assert!(!text.contains("@@"), "a placeholder is left:\n{text}");
    serde_yaml::from_str(text).unwrap_or_else(|e| panic!("not YAML: {e}\n{text}"))
}

fn filled() -> Vars {
    Vars {
        remote_url: Some("https://git.example.com/team/product.git".into()),
        tasks: Some("products/shop/.claude/task-graph.yml".into()),
        agent: Some("claude -p \"$GIT_PARALLEL_BRIEF\"".into()),
        task: Some("BACKEND-01".into()),
        attempt: Some(2),
    }
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for key in path {
        cur = &cur[*key];
    }
    cur.as_str()
        .unwrap_or_else(|| panic!("{path:?} is no string: {cur:?}"))
}

/// The `name: value` pairs of a Kubernetes env list.
fn k8s_env(container: &Value) -> Vec<(String, String)> {
    container["env"]
        .as_sequence()
        .expect("env list")
        .iter()
        .map(|e| {
            (
                str_at(e, &["name"]).to_string(),
                e["value"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

const WORK: &str = r#"git parallel work "$TASK" --attempt "$ATTEMPT""#;

#[test]
fn github_workflow_is_a_dispatch_with_task_and_attempt_that_runs_work() {
    for vars in [Vars::default(), filled()] {
        let y = parse(&github_workflow(&vars));
        let inputs = &y["on"]["workflow_dispatch"]["inputs"];
        assert_eq!(inputs["task"]["required"], Value::Bool(true));
        assert_eq!(inputs["attempt"]["required"], Value::Bool(true));
        assert_eq!(str_at(&y, &["permissions", "contents"]), "write");
        let jobs = y["jobs"].as_mapping().expect("jobs");
        assert_eq!(jobs.len(), 1, "one job");
        let job = &y["jobs"]["work"];
        let steps = job["steps"].as_sequence().expect("steps");
        // Checkout with the whole history, install git-parallel (only that), work.
        assert_eq!(steps.len(), 3, "{steps:?}");
        assert!(str_at(&steps[0], &["uses"]).starts_with("actions/checkout@"));
        assert_eq!(steps[0]["with"]["fetch-depth"], Value::from(0));
        let install = str_at(&steps[1], &["run"]);
        assert!(
            install.starts_with("cargo install --locked --git "),
            "{install}"
        );
        assert!(
            !install.contains("&&") && !install.contains(';'),
            "{install}"
        );
        let run = str_at(&steps[2], &["run"]);
        assert!(run.starts_with(WORK), "{run}");
        assert_eq!(str_at(&steps[2], &["env", "TASK"]), "${{ inputs.task }}");
        assert_eq!(
            str_at(&steps[2], &["env", "ATTEMPT"]),
            "${{ inputs.attempt }}"
        );
        assert_eq!(
            str_at(&steps[2], &["env", "AGENT"]),
            "${{ vars.GIT_PARALLEL_AGENT }}"
        );
        // No input is spliced into a script.
        for step in steps {
            if let Some(script) = step["run"].as_str() {
                assert!(!script.contains("${{"), "{script}");
            }
        }
        let tasks = str_at(job, &["env", "GIT_PARALLEL_TASKS"]);
        assert_eq!(tasks, vars.tasks.as_deref().unwrap_or(""));
    }
}

#[test]
fn gitlab_ci_job_runs_when_task_is_set_and_runs_work() {
    for vars in [Vars::default(), filled()] {
        let y = parse(&gitlab_ci(&vars));
        let job = &y["git-parallel"];
        assert_eq!(str_at(&job["rules"][0], &["if"]), "$TASK");
        assert_eq!(str_at(job, &["variables", "GIT_DEPTH"]), "0");
        let script: Vec<&str> = job["script"]
            .as_sequence()
            .expect("script")
            .iter()
            .map(|l| l.as_str().expect("script line"))
            .collect();
        let last = script.last().expect("a script");
        assert!(last.starts_with(WORK), "{last}");
        assert!(last.contains(r#"--agent "$GIT_PARALLEL_AGENT""#), "{last}");
        assert!(script
            .iter()
            .any(|l| l.starts_with("cargo install --locked --git ")));
        assert_eq!(
            str_at(job, &["variables", "GIT_PARALLEL_TASKS"]),
            vars.tasks.as_deref().unwrap_or("")
        );
    }
}

#[test]
fn k8s_job_clones_the_remote_and_runs_work_for_its_task_and_attempt() {
    let y = parse(&k8s_job(&filled()));
    assert_eq!(str_at(&y, &["apiVersion"]), "batch/v1");
    assert_eq!(str_at(&y, &["kind"]), "Job");
    assert_eq!(
        str_at(&y, &["metadata", "generateName"]),
        "git-parallel-backend-01-a2-"
    );
    assert_eq!(y["spec"]["backoffLimit"], Value::from(0));
    let pod = &y["spec"]["template"]["spec"];
    assert_eq!(str_at(pod, &["restartPolicy"]), "Never");
    let c = &pod["containers"][0];
    let command: Vec<&str> = c["command"]
        .as_sequence()
        .expect("command")
        .iter()
        .map(|a| a.as_str().expect("argument"))
        .collect();
    assert_eq!(&command[..2], ["sh", "-c"]);
    let script = command[2];
    assert!(script.contains(r#"git clone "$REMOTE" repo"#), "{script}");
    assert!(script.contains(&format!("exec {WORK}")), "{script}");
    let env = k8s_env(c);
    let get = |k: &str| {
        env.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no env {k}"))
    };
    assert_eq!(get("TASK"), "BACKEND-01");
    assert_eq!(get("ATTEMPT"), "2");
    assert_eq!(get("REMOTE"), "https://git.example.com/team/product.git");
    assert_eq!(get("AGENT"), "claude -p \"$GIT_PARALLEL_BRIEF\"");
    assert_eq!(
        get("GIT_PARALLEL_TASKS"),
        "products/shop/.claude/task-graph.yml"
    );
    // The git credentials: the documented secret, mounted where the script's helper reads it.
    assert_eq!(
        str_at(&pod["volumes"][0], &["secret", "secretName"]),
        "git-parallel-git"
    );
    assert_eq!(
        str_at(&c["volumeMounts"][0], &["mountPath"]),
        "/etc/git-parallel"
    );
    assert!(script.contains("/etc/git-parallel/git-credentials"));
}

#[test]
fn k8s_job_keeps_odd_ids_as_data_and_leaves_unknowns_marked() {
    let odd = "a\"b'$(touch x)\nc: d";
    let vars = Vars {
        task: Some(odd.into()),
        attempt: Some(1),
        ..Vars::default()
    };
    let y = parse(&k8s_job(&vars));
    let env = k8s_env(&y["spec"]["template"]["spec"]["containers"][0]);
    assert!(env.contains(&("TASK".into(), odd.into())), "{env:?}");
    assert!(env.contains(&("REMOTE".into(), "<URL of the shared remote>".into())));
    assert!(env.contains(&("AGENT".into(), "<agent command>".into())));
    assert_eq!(
        str_at(&y, &["metadata", "annotations", "git-parallel/task"]),
        odd
    );
    let name = str_at(&y, &["metadata", "generateName"]);
    assert_eq!(name, "git-parallel-a-b-touch-x-c-d-a1-");

    let y = parse(&k8s_job(&Vars::default()));
    assert_eq!(str_at(&y, &["metadata", "generateName"]), "git-parallel-");
    let env = k8s_env(&y["spec"]["template"]["spec"]["containers"][0]);
    assert!(env.contains(&("TASK".into(), "<task id>".into())));
    assert!(env.contains(&("ATTEMPT".into(), "<attempt>".into())));
}

#[test]
fn dns_labels_are_short_lowercase_and_never_empty() {
    assert_eq!(dns_label("BACKEND-01"), "backend-01");
    assert_eq!(dns_label("--Ünï code__id--"), "n-code-id");
    assert_eq!(dns_label("..."), "task");
    let long = dns_label(&"X-".repeat(100));
    assert!(long.len() <= 40 && !long.ends_with('-'), "{long}");
}
