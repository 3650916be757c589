//! Test-only fault injection: GIT_PARALLEL_FAILPOINT=`fail:N`, `kill:N` (before step N, 1-based,
//! is applied), `killafter:N` (after it is applied, before the journal records it) or
//! `run:N:CMD` (run CMD with sh before step N: another process changing the repository);
//! `killat:NAME` kills at a named point inside a step ([`at`]).
//! Compiled in only with the `failpoints` cargo feature (tests); otherwise `hit` does nothing.

use crate::error::Result;

#[cfg(feature = "failpoints")]
pub fn hit(when: &str, i: usize) -> Result<()> {
    let Ok(spec) = std::env::var("GIT_PARALLEL_FAILPOINT") else {
        return Ok(());
    };
    let Some((action, rest)) = spec.split_once(':') else {
        return Ok(());
    };
    let (n, command) = rest.split_once(':').unwrap_or((rest, ""));
    if n.parse::<usize>().ok() != Some(i + 1) {
        return Ok(());
    }
    match (action, when) {
        // Simulates another process acting between the plan and step N.
        ("run", "before") => {
            let _ = std::process::Command::new("sh")
                .arg("-c")
                .arg(command)
                .status();
            Ok(())
        }
        ("fail", "before") => Err(crate::fatal!("failpoint: step {} failed", i + 1)),
        ("kill", "before") | ("killafter", "after") => {
            let _ = std::process::Command::new("kill")
                .args(["-9", &std::process::id().to_string()])
                .status();
            std::process::abort()
        }
        _ => Ok(()),
    }
}

/// `killat:NAME`: the process killed at the named point inside a step (a half-done step).
#[cfg(feature = "failpoints")]
pub fn at(name: &str) {
    if std::env::var("GIT_PARALLEL_FAILPOINT")
        .is_ok_and(|s| s.strip_prefix("killat:") == Some(name))
    {
        let _ = std::process::Command::new("kill")
            .args(["-9", &std::process::id().to_string()])
            .status();
        std::process::abort()
    }
}

#[cfg(not(feature = "failpoints"))]
pub fn at(_name: &str) {}

#[cfg(not(feature = "failpoints"))]
pub fn hit(_when: &str, _i: usize) -> Result<()> {
    Ok(())
}
