//! Unit tests of the completion scripts.

use super::fish::fish_quote;
use super::zsh::zsh_describe;
use super::*;

fn all_flags() -> Vec<&'static Flag> {
    let mut v = flags_of(None);
    v.extend(visible_commands().flat_map(|c| c.flags.iter().copied()));
    v
}

/// `@NAME@` placeholders left in a script.
fn placeholders(script: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (i, _) in script.match_indices('@') {
        let rest = &script[i + 1..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || *c == '_')
            .collect();
        if !name.is_empty() && rest[name.len()..].starts_with('@') {
            found.push(name);
        }
    }
    found
}

#[test]
fn every_command_and_flag_is_in_every_script() {
    for (shell, script) in [("bash", bash()), ("zsh", zsh()), ("fish", fish())] {
        for c in visible_commands() {
            assert!(script.contains(c.name), "{shell}: command {}", c.name);
        }
        for f in all_flags() {
            let long = format!("--{}", f.long);
            let fish = format!("-l {}", f.long);
            assert!(
                script.contains(&long) || script.contains(&fish),
                "{shell}: --{}",
                f.long
            );
        }
        assert_eq!(placeholders(&script), Vec::<String>::new(), "{shell}");
    }
    let bash = bash();
    let list = bash
        .lines()
        .find(|l| l.starts_with("__git_parallel_commands="))
        .unwrap();
    assert!(
        !list.contains("__complete"),
        "hidden command listed: {list}"
    );
    assert!(!zsh().contains("'__complete:"));
    assert!(!fish().contains("-a __complete"));
}

#[test]
fn a_flag_name_takes_a_value_everywhere_or_nowhere() {
    // The scripts skip the value of any value-taking flag by name, whatever the command.
    let all = defs::GLOBAL_FLAGS
        .iter()
        .chain(defs::COMMANDS.iter().flat_map(|c| c.flags.iter()));
    for f in all {
        for g in value_flags() {
            let same = f.long == g.long || (f.short.is_some() && f.short == g.short);
            assert!(
                !same || matches!(f.arity, Arity::Value(_)),
                "--{} / -{:?}",
                f.long,
                f.short
            );
        }
    }
}

#[test]
fn zsh_specs_escape_brackets_and_quotes() {
    assert_eq!(zsh_describe("a [b] 'c'"), "a \\[b\\] '\\''c'\\''");
    assert_eq!(fish_quote("it's \\"), "'it\\'s \\\\'");
}
