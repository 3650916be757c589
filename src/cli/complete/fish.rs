//! The fish completion script: a template with the command table filled in.

use super::{file_flags, joined_patterns, statuses, value_flags, visible_commands, word_names};
use crate::cli::defs::{self, Arity, Complete, Flag, Positionals};

const FISH_TEMPLATE: &str = include_str!("template.fish");

/// Quotes `s` as a single-quoted fish word.
pub(super) fn fish_quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

pub(super) fn fish_action(complete: Complete) -> String {
    match complete {
        Complete::Nothing => "-f".into(),
        Complete::File => "-F".into(),
        Complete::Dir => "-f -a '(__fish_complete_directories (commandline -ct))'".into(),
        Complete::Choices(c) => format!("-f -a {}", fish_quote(&c.join(" "))),
        Complete::Tasks(s) => format!(
            "-f -a {}",
            fish_quote(&format!("(__git_parallel_tasks {})", statuses(s)))
        ),
        Complete::Command => "-f -a '(__fish_complete_command)'".into(),
    }
}

pub(super) fn fish_flag(f: &Flag) -> String {
    let mut s = String::new();
    if let Some(c) = f.short {
        s.push_str(&format!(" -s {c}"));
    }
    s.push_str(&format!(" -l {}", f.long));
    if matches!(f.arity, Arity::Value(_)) {
        s.push_str(&format!(" -r {}", fish_action(f.complete)));
    }
    s.push_str(&format!(" -d {}", fish_quote(f.help)));
    s
}

/// `complete` lines for one program; `cond` wraps a condition for it.
pub(super) fn fish_lines(prog: &str, cond: &dyn Fn(&str) -> String) -> String {
    let mut out = String::new();
    let mut line = |c: &str, rest: &str| {
        out.push_str(&format!(
            "complete -c {prog} -n {}{rest}\n",
            fish_quote(&cond(c))
        ))
    };
    for c in visible_commands() {
        line(
            "__git_parallel_needs_command",
            &format!(" -f -a {} -d {}", c.name, fish_quote(c.summary)),
        );
    }
    line("__git_parallel_needs_command", &fish_flag(&defs::VERSION));
    for f in defs::GLOBAL_FLAGS.iter() {
        line("true", &fish_flag(f));
    }
    for c in visible_commands() {
        for f in c.flags.iter() {
            line(&format!("__git_parallel_using {}", c.name), &fish_flag(f));
        }
        let max = match c.positionals {
            Positionals::None => continue,
            Positionals::One(_) => "1",
            Positionals::Many(_) | Positionals::IdsThenCommand => "'*'",
        };
        let action = fish_action(c.complete_positionals);
        line(
            &format!("__git_parallel_positional {} {max}", c.name),
            &format!(" {action}"),
        );
        if c.positionals == Positionals::IdsThenCommand {
            line(
                &format!("__git_parallel_after_dashdash {} 0", c.name),
                " -f -a '(__fish_complete_command)'",
            );
            line(
                &format!("__git_parallel_after_dashdash {} '*'", c.name),
                " -F",
            );
        }
    }
    out
}

/// The fish completion script, for `git-parallel` and for `git parallel`.
pub fn fish() -> String {
    let own = fish_lines("git-parallel", &|c| c.to_string());
    let git = fish_lines("git", &|c| {
        if c == "true" {
            "__fish_git_using_command parallel".to_string()
        } else {
            format!("__fish_git_using_command parallel; and {c}")
        }
    });
    let value_flags: Vec<String> = value_flags().iter().flat_map(|f| word_names(f)).collect();
    let file_flags: Vec<String> = file_flags().iter().flat_map(|f| word_names(f)).collect();
    let joined: Vec<String> = joined_patterns().iter().map(|p| fish_quote(p)).collect();
    FISH_TEMPLATE
        .replace("@VALUE_FLAGS@", &value_flags.join(" "))
        .replace("@FILE_FLAGS@", &file_flags.join(" "))
        .replace("@FILE_FLAGS_JOINED@", &joined.join(" "))
        .replace(
            "@COMPLETIONS@",
            &format!("\n# git-parallel ...\n{own}\n# git parallel ...\n{git}"),
        )
}
