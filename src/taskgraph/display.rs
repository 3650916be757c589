//! Showing task-file text safely: the one place that decides how untrusted text (names,
//! descriptions, ids, paths, values echoed in messages, and every file name any command prints:
//! those of the agents' commits, conflicts, worktree listings) reaches a terminal, and the shell quoting
//! of values substituted into command templates (`parallel.launch`).
//!
//! - [`safe`] escapes control characters (C0, DEL, C1 — so no ESC/OSC/BEL sequences), Unicode
//!   bidi controls and zero-width / invisible format characters as `\u{…}`.
//! - [`short`] does the same and truncates long text with `…` (messages never carry 20 KB).
//! - [`mask_source`] replaces the same characters by printable ones of equal UTF-8 length, for
//!   the source snippets diagnostics print (spans and columns stay valid).
//! - [`shell_quote`] and [`fill_template`]: single-pass `{key}` substitution with every value
//!   quoted for `sh`.

use std::borrow::Cow;

/// Characters that must never reach a terminal raw: controls, bidi controls, zero-width and
/// other invisible format characters, line/paragraph separators.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061C}'              // Arabic letter mark
            | '\u{200B}'..='\u{200F}' // zero-width space/joiners, LRM, RLM
            | '\u{2028}'..='\u{202E}' // line/paragraph separators, bidi embeddings/overrides
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{FEFF}'              // zero-width no-break space (BOM)
            | '\u{FFF9}'..='\u{FFFB}' // interlinear annotations
        )
}

/// The text with every unsafe character escaped: `\n`, `\t`, `\r` as such, others as `\u{…}`.
/// Borrowed when there is nothing to escape.
pub fn safe(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if is_unsafe_char(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Longest text (in characters, after escaping) that messages show of a value.
pub const SHOWN_MAX: usize = 80;

/// [`safe`], then cut to [`SHOWN_MAX`] characters with `…` and the full length.
pub fn short(s: &str) -> Cow<'_, str> {
    truncate(safe(s), SHOWN_MAX)
}

/// `s` cut to at most `max` characters, ending in `… (N chars)` when cut.
pub fn truncate(s: Cow<'_, str>, max: usize) -> Cow<'_, str> {
    let total = s.chars().count();
    if total <= max {
        return s;
    }
    let keep = max.saturating_sub(1).max(1);
    let head: String = s.chars().take(keep).collect();
    Cow::Owned(format!("{head}… ({total} chars)"))
}

/// The source with unsafe characters replaced by printable ones of the same UTF-8 length (so
/// byte spans and character columns still point at the same places): 1-byte controls → `?`,
/// C1 controls → `¿`, 3-byte format characters → `�`. Tabs and line breaks are kept; a lone
/// CR (old Mac line end) becomes LF so snippets show one line per line.
pub fn mask_source(src: &str) -> Cow<'_, str> {
    let bad = |c: char| is_unsafe_char(c) && !matches!(c, '\t' | '\n' | '\r');
    let lone_cr = |i: usize| src.as_bytes().get(i + 1) != Some(&b'\n');
    if !src
        .char_indices()
        .any(|(i, c)| bad(c) || (c == '\r' && lone_cr(i)))
    {
        return Cow::Borrowed(src);
    }
    let mut out = String::with_capacity(src.len());
    for (i, c) in src.char_indices() {
        if c == '\r' && lone_cr(i) {
            out.push('\n');
            continue;
        }
        if !bad(c) {
            out.push(c);
            continue;
        }
        match c.len_utf8() {
            1 => out.push('?'),
            2 => out.push('¿'),
            3 => out.push('\u{FFFD}'),
            // No 4-byte character is unsafe today; keep the length anyway.
            _ => out.push_str("????"),
        }
    }
    debug_assert_eq!(out.len(), src.len());
    Cow::Owned(out)
}

/// `s` as one `sh` word: unchanged when it only holds characters no shell treats specially,
/// else in single quotes (a `'` inside written as `'\''`). Empty → `''`.
pub fn shell_quote(s: &str) -> Cow<'_, str> {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%,=".contains(c))
        && !s.starts_with(['-', '='])
    {
        return Cow::Borrowed(s);
    }
    Cow::Owned(format!("'{}'", s.replace('\'', "'\\''")))
}

/// `template` with each `{key}` of `values` replaced by the shell-quoted value, in one pass (a
/// value containing `{id}` is not substituted again). Unknown `{…}` stay as written.
pub fn fill_template(template: &str, values: &[(&str, &str)]) -> String {
    substitute_with(template, values, shell_quote)
}

/// `template` with each `{key}` of `values` replaced by the value as it is, in one pass (for
/// names that are not shell commands: branch and worktree templates).
pub fn substitute(template: &str, values: &[(&str, &str)]) -> String {
    substitute_with(template, values, |v| Cow::Borrowed(v))
}

fn substitute_with(
    template: &str,
    values: &[(&str, &str)],
    quote: for<'v> fn(&'v str) -> Cow<'v, str>,
) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let hit = after.find('}').and_then(|close| {
            let key = &after[..close];
            values
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (close, *v))
        });
        match hit {
            Some((close, v)) => {
                out.push_str(&quote(v));
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_escapes_terminal_controls_and_invisibles() {
        assert_eq!(safe("plain é ✅"), "plain é ✅");
        assert!(matches!(safe("plain"), Cow::Borrowed(_)));
        assert_eq!(safe("dev\x1b]0;owned\x07"), "dev\\u{1b}]0;owned\\u{7}");
        assert_eq!(safe("demo\x1b[2J"), "demo\\u{1b}[2J");
        assert_eq!(safe("T\u{202e}1gpj.exe"), "T\\u{202e}1gpj.exe");
        assert_eq!(safe("a\u{200b}b\u{feff}"), "a\\u{200b}b\\u{feff}");
        assert_eq!(safe("c1\u{9b}x"), "c1\\u{9b}x");
        assert_eq!(safe("l1\nl2\t"), "l1\\nl2\\t");
        assert_eq!(safe("a\\b"), "a\\b");
    }

    #[test]
    fn short_truncates_with_ellipsis() {
        assert_eq!(short("abc"), "abc");
        let long = "a".repeat(10_000);
        let s = short(&long);
        assert!(s.chars().count() < 100, "{s}");
        assert!(s.ends_with("… (10000 chars)"), "{s}");
    }

    #[test]
    fn mask_keeps_lengths() {
        let src = "a: \"x\x1b[2J\u{9b}\u{202e}\u{200b}\"\n\tb\r\n";
        let m = mask_source(src);
        assert_eq!(m.len(), src.len());
        assert_eq!(m.chars().count(), src.chars().count());
        assert!(!m
            .chars()
            .any(|c| is_unsafe_char(c) && !"\t\n\r".contains(c)));
        assert!(m.contains("\n\tb\r\n"));
        assert!(!m.contains('\x1b'));
        assert!(matches!(mask_source("ok\r\n"), Cow::Borrowed(_)));
        assert_eq!(mask_source("a\rb\r\nc\r"), "a\nb\r\nc\n");
    }

    #[test]
    fn shell_quote_is_one_word() {
        assert_eq!(shell_quote("T1"), "T1");
        assert_eq!(shell_quote("/tmp/w/dev-T1"), "/tmp/w/dev-T1");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("-rf"), "'-rf'");
        assert_eq!(
            shell_quote("T1;touch${IFS}PWNED;#"),
            "'T1;touch${IFS}PWNED;#'"
        );
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("$(x)`y`|>&"), "'$(x)`y`|>&'");
    }

    #[test]
    fn shell_quote_round_trips_through_sh() {
        for v in [
            "T1;touch${IFS}PWNED;#",
            "it's",
            "a'b'c''",
            "$(id)`id`",
            "x\ny",
            "-n",
            "",
            "\\",
        ] {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", shell_quote(v)))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout), v, "{v:?}");
        }
    }

    #[test]
    fn fill_template_single_pass() {
        let t = "cd {worktree} && claude --task {id} --b {branch} {unknown} {";
        let out = fill_template(
            t,
            &[
                ("worktree", "/w/a b"),
                ("id", "T1;rm -rf /"),
                ("branch", "{id}"),
            ],
        );
        assert_eq!(
            out,
            "cd '/w/a b' && claude --task 'T1;rm -rf /' --b '{id}' {unknown} {"
        );
        assert_eq!(
            substitute(
                "f/{product}/{role}-{id}",
                &[("product", "{id}"), ("id", "A"), ("role", "r")]
            ),
            "f/{id}/r-A"
        );
    }
}
