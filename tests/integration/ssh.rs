//! The sshd harness (support/sshd.rs) itself: a real sshd on 127.0.0.1, reached as `ssh build1`
//! from PATH with the test's HOME, runs the test's git-parallel and serves git over ssh. Skipped
//! with a message where sshd cannot be found or started.

use super::support::sshd::{Sshd, HOSTS};
use super::support::*;

#[test]
fn ssh_to_each_alias_runs_the_tests_git_parallel_with_the_tests_home() {
    let r = TestRepo::new();
    let Some(sshd) = Sshd::start(&r.home()) else {
        return;
    };
    for host in HOSTS {
        let out = sshd.ssh(host, "git parallel --version && echo \"home=$HOME\" && git config --global --list; echo \"author=$GIT_AUTHOR_NAME\"");
        let text = stdout(&out);
        assert!(
            out.status.success(),
            "ssh {host}: {}\nsshd log:\n{}",
            all_output(&out),
            sshd.log()
        );
        assert!(text.starts_with("git-parallel "), "{text}");
        assert!(
            text.contains(&format!("home={}", r.home().display())),
            "{text}"
        );
        assert!(text.contains("author=Agent Smith"), "{text}");
    }
}

#[test]
fn git_clones_and_pushes_over_ssh_from_both_aliases() {
    let r = TestRepo::new();
    let Some(sshd) = Sshd::start(&r.home()) else {
        return;
    };
    let bare = r.home().join("srv/bare.git");
    r.git(&[
        "clone",
        "-q",
        "--bare",
        r.root.to_str().unwrap(),
        bare.to_str().unwrap(),
    ]);
    let url = format!("ssh://build1{}", bare.display());
    let scp = format!("build2:{}", bare.display());

    // A clone on this machine through ssh, and a push back.
    let here = r.home().join("here");
    let mut c = r.git_cmd(&r.home());
    sshd.apply(&mut c);
    let out = c
        .args(["clone", "-q", &url, here.to_str().unwrap()])
        .output()
        .unwrap();
    assert_ok(&out, &["git clone", &url]);
    assert_eq!(
        r.git_in(&here, &["rev-parse", "HEAD"]),
        r.git(&["rev-parse", "HEAD"])
    );
    std::fs::write(here.join("new.txt"), "new\n").unwrap();
    r.git_in(&here, &["add", "new.txt"]);
    r.git_in(&here, &["commit", "-q", "-m", "new"]);
    let mut c = r.git_cmd(&here);
    sshd.apply(&mut c);
    let out = c.args(["push", "-q", "origin", "main"]).output().unwrap();
    assert_ok(&out, &["git push over ssh"]);
    let tip = r.git_in(&here, &["rev-parse", "HEAD"]);
    assert_eq!(r.git_in(&bare, &["rev-parse", "main"]), tip);

    // A clone made on "build2" (run over ssh there) from the scp-style URL: git over ssh on the
    // host side too, with the test's identity for its commit.
    let there = r.home().join("there");
    let out = sshd.ssh(
        "build2",
        &format!(
            "git clone -q '{scp}' '{dir}' && cd '{dir}' && git commit -q --allow-empty -m remote && git log -1 --format=%an",
            dir = there.display()
        ),
    );
    assert!(out.status.success(), "{}\n{}", all_output(&out), sshd.log());
    assert_eq!(stdout(&out).trim(), "Agent Smith");
    assert_eq!(r.git_in(&there, &["rev-parse", "HEAD~1"]), tip);
    r.git_in(&bare, &["fsck", "--no-progress"]);
}

#[test]
fn dropping_the_server_ends_it_and_its_sessions() {
    let r = TestRepo::new();
    let Some(sshd) = Sshd::start(&r.home()) else {
        return;
    };
    let mut c = std::process::Command::new("ssh");
    isolate(&mut c, &r.home());
    sshd.apply(&mut c);
    let marker = r.home().join("session.pid");
    let mut session = c
        .arg("build1")
        .arg(format!("echo $$ > '{}'; exec sleep 300", marker.display()))
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while !marker.exists() || std::fs::read_to_string(&marker).unwrap().trim().is_empty() {
        assert!(start.elapsed().as_secs() < 20, "no session: {}", sshd.log());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let remote_pid: i32 = std::fs::read_to_string(&marker)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let daemon = sshd.pid() as i32;
    drop(sshd);
    let _ = session.wait();
    let start = std::time::Instant::now();
    // SAFETY: signal 0 only checks whether the processes still exist.
    while unsafe { libc::kill(remote_pid, 0) == 0 || libc::kill(daemon, 0) == 0 } {
        assert!(
            start.elapsed().as_secs() < 10,
            "sshd or its session outlived the drop"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
