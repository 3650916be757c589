//! What a new user trips on in the first hour (issue 14): each point with the behaviour a
//! demanding user expects, on real repositories.

use crate::support::*;

/// Without a git identity, `approve --dry-run` still shows the plan, and `approve` refuses up
/// front with git's config commands, changing nothing.
#[test]
fn no_git_identity_dry_run_shows_the_plan_and_the_real_run_says_how_to_fix_it() {
    let r = TestRepo::muaththir();
    let before = r.snapshot();
    let no_identity = |args: &[&str]| {
        let mut c = r.cmd();
        for var in [
            "GIT_AUTHOR_NAME",
            "GIT_AUTHOR_EMAIL",
            "GIT_COMMITTER_NAME",
            "GIT_COMMITTER_EMAIL",
        ] {
            c.env_remove(var);
        }
        // No identity configured, and git told not to guess one from the host name.
        c.env_remove("EMAIL")
            .env("GIT_CONFIG_COUNT", "1")
            .env("GIT_CONFIG_KEY_0", "user.useConfigOnly")
            .env("GIT_CONFIG_VALUE_0", "true")
            .args(args)
            .output()
            .expect("run")
    };
    let out = no_identity(&["approve", "--dry-run", "ARCH-01"]);
    assert_ok(&out, &["approve", "--dry-run"]);
    assert!(
        stdout(&out).contains("plan: approve ARCH-01"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("the real run needs one"),
        "{}",
        stderr(&out)
    );
    let out = no_identity(&["approve", "ARCH-01"]);
    let err = refused(&out);
    assert!(err.contains("git needs your name and email"), "{err}");
    assert!(err.contains("git config --global user.email"), "{err}");
    assert_same(&before, &r.snapshot(), "approve without an identity");
}
