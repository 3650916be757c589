//! `generate github-workflow|gitlab-ci|k8s-job` in a real repository: filled from it (task file,
//! remote URL, parallel.agent), and k8s-job through the documented dispatch line run as
//! `run --executor command` runs it (`sh -c`, the id shell-quoted), with a stand-in `kubectl`.

use super::support::*;

const TASKS: &str = "products/muaththir/.claude/task-graph.yml";

fn yaml(text: &str) -> serde_yaml::Value {
    serde_yaml::from_str(text).unwrap_or_else(|e| panic!("not YAML: {e}\n{text}"))
}

fn env_of(container: &serde_yaml::Value, name: &str) -> String {
    container["env"]
        .as_sequence()
        .expect("env")
        .iter()
        .find(|e| e["name"].as_str() == Some(name))
        .and_then(|e| e["value"].as_str())
        .unwrap_or_else(|| panic!("no env {name}"))
        .to_string()
}

#[test]
fn k8s_job_from_the_dispatch_line_names_the_remote_task_file_agent_task_and_attempt() {
    let r = TestRepo::muaththir_approved();
    let bare = r.home().join("srv/bare.git");
    r.git(&[
        "clone",
        "-q",
        "--bare",
        r.root.to_str().unwrap(),
        bare.to_str().unwrap(),
    ]);
    r.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    r.git(&[
        "config",
        "parallel.agent",
        "my-agent --brief \"$GIT_PARALLEL_BRIEF\"",
    ]);
    // kubectl stand-in: keeps what it was given to create.
    let bin = r.home().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let created = r.home().join("created.yml");
    let kubectl = bin.join("kubectl");
    std::fs::write(
        &kubectl,
        format!(
            "#!/bin/sh\n[ \"$1 $2 $3\" = 'create -f -' ] || exit 3\ncat > '{}'\n",
            created.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&kubectl, std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin_dir = std::path::Path::new(BIN).parent().unwrap();
    let path = format!(
        "{}:{}:{}",
        bin.display(),
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // parallel.dispatch as documented, {id} and {attempt} replaced shell-quoted.
    let line =
        "git parallel generate k8s-job --task 'BACKEND-01' --attempt '2' | kubectl create -f -";
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(line)
        .current_dir(&r.root)
        .env("PATH", path)
        .env("HOME", r.home())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert_ok(&out, &[line]);
    let job = yaml(&std::fs::read_to_string(&created).unwrap());
    assert_eq!(job["kind"].as_str(), Some("Job"));
    assert_eq!(
        job["metadata"]["generateName"].as_str(),
        Some("git-parallel-backend-01-a2-")
    );
    let c = &job["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(env_of(c, "TASK"), "BACKEND-01");
    assert_eq!(env_of(c, "ATTEMPT"), "2");
    assert_eq!(env_of(c, "REMOTE"), bare.to_str().unwrap());
    assert_eq!(env_of(c, "GIT_PARALLEL_TASKS"), TASKS);
    assert_eq!(
        env_of(c, "AGENT"),
        "my-agent --brief \"$GIT_PARALLEL_BRIEF\""
    );
    let script = c["command"][2].as_str().unwrap();
    assert!(
        script.contains(r#"exec git parallel work "$TASK" --attempt "$ATTEMPT""#),
        "{script}"
    );
}

#[test]
fn github_workflow_and_gitlab_ci_written_in_a_repository_name_its_task_file() {
    let r = TestRepo::muaththir_approved();
    let before = r.snapshot();
    let out = r.home().join("out");
    for (kind, file) in [
        ("github-workflow", "git-parallel.yml"),
        ("gitlab-ci", "gitlab.yml"),
    ] {
        let path = out.join(file);
        r.ok(&["generate", kind, "-o", path.to_str().unwrap()]);
        let y = yaml(&std::fs::read_to_string(&path).unwrap());
        let tasks = match kind {
            "github-workflow" => {
                assert!(y["on"]["workflow_dispatch"]["inputs"]["task"].is_mapping());
                y["jobs"]["work"]["env"]["GIT_PARALLEL_TASKS"].clone()
            }
            _ => y["git-parallel"]["variables"]["GIT_PARALLEL_TASKS"].clone(),
        };
        assert_eq!(tasks.as_str(), Some(TASKS), "{kind}");
    }
    // Generating writes nothing in the repository.
    assert_same(&before, &r.snapshot(), "generate in a repository");
}

#[test]
fn templates_outside_a_repository_keep_their_variables_and_task_is_for_k8s_only() {
    let r = TestRepo::new();
    let outside = tempfile::tempdir().unwrap();
    let out = r
        .cmd_in(outside.path())
        .args(["generate", "k8s-job"])
        .output()
        .unwrap();
    assert_ok(&out, &["generate k8s-job outside a repository"]);
    let job = yaml(&stdout(&out));
    let c = &job["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(env_of(c, "TASK"), "<task id>");
    assert_eq!(env_of(c, "REMOTE"), "<URL of the shared remote>");
    assert_eq!(env_of(c, "GIT_PARALLEL_TASKS"), "");

    let out = r.run(&["generate", "github-workflow", "--task", "X"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--task and --attempt apply to k8s-job only"),
        "{}",
        stderr(&out)
    );
    let out = r.run(&["generate", "k8s-job", "--attempt", "zero"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--attempt takes a number from 1 up"),
        "{}",
        stderr(&out)
    );
}
