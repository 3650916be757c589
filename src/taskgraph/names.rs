//! What a task id, an agent and a product may look like. They become parts of branch names,
//! directory names and shell commands, so they are restricted to a safe character set:
//! ASCII letters, digits, `-`, `_` and `.`; not starting with `-` or `.` (no option-like
//! arguments, no hidden or relative path components), no `..`, not ending with `.` or `.lock`
//! (git ref rules), and bounded in length so `feature/{product}/{role}-{id}` and the worktree
//! directory stay well under the 255-byte file-name limit:
//!
//! | name    | max chars |
//! |---------|-----------|
//! | id      | 100       |
//! | agent   | 64        |
//! | product | 64        |

use super::display;

/// Longest task id (characters).
pub const ID_MAX: usize = 100;
/// Longest agent and product (characters).
pub const AGENT_MAX: usize = 64;
pub const PRODUCT_MAX: usize = 64;

/// Which name is checked (for limits and wording).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    Id,
    Agent,
    Product,
}

impl NameKind {
    pub fn max(self) -> usize {
        match self {
            NameKind::Id => ID_MAX,
            NameKind::Agent => AGENT_MAX,
            NameKind::Product => PRODUCT_MAX,
        }
    }
}

/// ASCII letters and digits, `-`, `_`, `.`: safe in refs, paths and shell words everywhere.
fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// Why `name` is not a safe id / agent / product, in words; `None` when it is.
pub fn problem(kind: NameKind, name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("it is empty".into());
    }
    let len = name.chars().count();
    if len > kind.max() {
        return Some(format!(
            "it is {len} characters long (at most {} allowed)",
            kind.max()
        ));
    }
    if let Some(c) = name.chars().find(|&c| !allowed(c)) {
        let what = if display::is_unsafe_char(c) {
            format!("the invisible or control character \\u{{{:x}}}", c as u32)
        } else if c == ' ' {
            "a space".to_string()
        } else if c.is_ascii() {
            format!("`{c}`")
        } else {
            format!("the non-ASCII character `{c}` (\\u{{{:x}}})", c as u32)
        };
        return Some(format!(
            "it contains {what}; only letters, digits, `-`, `_` and `.` are allowed"
        ));
    }
    if name.starts_with('-') {
        return Some("it starts with `-` (it would read as a command-line option)".into());
    }
    if name.starts_with('.') {
        return Some("it starts with `.`".into());
    }
    if name.contains("..") {
        return Some("it contains `..`".into());
    }
    if name.ends_with('.') || name.ends_with(".lock") {
        return Some("it ends with `.` or `.lock` (not allowed in git branch names)".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_usual_names() {
        for ok in ["API-01", "T1", "a.b_c-d", "backend-engineer", "v1.2", "x"] {
            assert_eq!(problem(NameKind::Id, ok), None, "{ok}");
        }
        assert_eq!(problem(NameKind::Id, &"a".repeat(ID_MAX)), None);
    }

    #[test]
    fn refuses_unsafe_names() {
        for bad in [
            "",
            "a b",
            "a..b",
            "-a",
            ".a",
            "a.",
            "a.lock",
            "a/b",
            "a~",
            "a^",
            "a:b",
            "a?",
            "a*",
            "a[",
            "a\\b",
            "a@{b",
            "T1;touch${IFS}PWNED;#",
            "a|b>c$(x)`y`",
            "T\u{202e}1gpj.exe",
            "a\u{200b}b",
            "dev\x1b]0;owned\x07",
            "é",
            "a\u{7f}",
            "a'b",
            "a\"b",
        ] {
            assert!(problem(NameKind::Id, bad).is_some(), "{bad:?}");
        }
        assert!(problem(NameKind::Product, "prodé").is_some());
        for bad in [
            "a\u{202e}b",
            "a\u{200b}",
            "x\x1b[2J",
            "a b",
            "a;b",
            "-x",
            "../x",
            "a\u{301}",
        ] {
            assert!(problem(NameKind::Agent, bad).is_some(), "{bad:?}");
        }
        let long = problem(NameKind::Agent, &"a".repeat(10_000)).unwrap();
        assert_eq!(long, "it is 10000 characters long (at most 64 allowed)");
        let m = problem(NameKind::Id, "T\u{202e}1").unwrap();
        assert!(m.contains("\\u{202e}") && !m.contains('\u{202e}'), "{m}");
    }
}
