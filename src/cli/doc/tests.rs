//! Unit tests of the help text and the man page.

use super::plain::wrap;
use super::roff::{roff_escape, roff_spans};
use super::*;

fn all_flags() -> Vec<&'static Flag> {
    let mut v: Vec<&Flag> = global_flags().collect();
    v.extend(
        defs::COMMANDS
            .iter()
            .filter(|c| !c.hidden)
            .flat_map(|c| c.flags.iter().copied()),
    );
    v
}

#[test]
fn man_page_names_every_command_flag_and_config_key() {
    let man = man_page();
    for c in visible_commands() {
        assert!(
            man.contains(&format!(".SS \"{}\"", roff_escape(c.name))),
            "{}",
            c.name
        );
    }
    for f in all_flags() {
        assert!(
            man.contains(&format!("\\fB\\-\\-{}\\fR", roff_escape(f.long))),
            "--{}",
            f.long
        );
    }
    for (k, _) in defs::CONFIG_KEYS {
        assert!(man.contains(&roff_escape(k)), "{k}");
    }
    assert!(!man.contains("__complete"));
}

#[test]
fn roff_text_lines_never_start_with_a_control_character() {
    for line in man_page().lines() {
        assert!(!line.starts_with('\''), "{line}");
        assert!(!line.starts_with(' '), "{line:?}");
        if let Some(rest) = line.strip_prefix('.') {
            let req: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
            let known = [
                "\\\"", "TH", "nh", "ad", "SH", "SS", "PP", "TP", "nf", "fi", "br",
            ];
            assert!(known.contains(&req.as_str()), "unexpected request: {line}");
        }
    }
    assert_eq!(roff_spans(&plain(".hidden")), "\\&.hidden");
    assert_eq!(roff_escape("a-b 'c' \\"), "a\\-b \\(aqc\\(aq \\(rs");
}

#[test]
fn short_usage_aligns_like_git() {
    let s = short_usage(defs::find("start"));
    assert!(
        s.starts_with("usage: git parallel start [<options>] [<ID>...]\n\n"),
        "{s}"
    );
    assert!(
        s.contains("\n    -n, --dry-run         print the plan and change nothing\n"),
        "{s}"
    );
    assert!(
        s.contains("\n    -C, --directory <PATH>\n                          run as if"),
        "{s}"
    );
    assert!(s.contains("Global options\n"));
    let top = short_usage(None);
    assert!(top.contains("   start      create a branch"), "{top}");
    assert!(!top.contains("__complete"));
    assert!(short_usage(defs::find("exec"))
        .starts_with("usage: git parallel exec [<options>] [<ID>...] -- <command>...\n"));
}

#[test]
fn long_help_fits_in_80_columns_where_words_allow() {
    let mut texts = vec![long_help(None)];
    texts.extend(visible_commands().map(|c| long_help(Some(c))));
    for t in &texts {
        for line in t.lines() {
            let long_word = line.split_whitespace().any(|w| w.len() > 40);
            assert!(line.len() <= WIDTH || long_word, "too long: {line}");
        }
    }
    let start = long_help(defs::find("start"));
    for title in [
        "NAME\n",
        "SYNOPSIS\n",
        "DESCRIPTION\n",
        "OPTIONS\n",
        "EXAMPLES\n",
    ] {
        assert!(start.contains(title), "{title}");
    }
    assert!(start.contains("    git parallel start --dry-run\n        Show what would be done.\n"));
}

#[test]
fn wrap_breaks_at_the_width() {
    let text = "word ".repeat(40);
    for line in wrap(&text, 8).lines() {
        assert!(line.len() <= WIDTH);
        assert!(line.starts_with("        word"));
    }
}
