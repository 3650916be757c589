//! The bash completion script: a template with the command table filled in.

use super::{
    file_flags, flags_of, joined_patterns, statuses, value_flags, visible_commands, word_names,
};
use crate::cli::defs::{self, Arity, Command, Complete, Flag, Positionals};

const BASH_TEMPLATE: &str = include_str!("template.bash");

/// `--dry-run`, or `--tasks=` for a flag that takes a value.
pub(super) fn bash_flag_word(f: &Flag) -> String {
    match f.arity {
        Arity::Switch => format!("--{}", f.long),
        Arity::Value(_) => format!("--{}=", f.long),
    }
}

pub(super) fn bash_flags_case() -> String {
    let line = |pat: &str, cmd: Option<&Command>| {
        let words: Vec<String> = flags_of(cmd).iter().map(|f| bash_flag_word(f)).collect();
        format!("\t{pat}) echo \"{}\" ;;\n", words.join(" "))
    };
    let mut s = line("\"\"", None);
    for c in visible_commands().filter(|c| !c.flags.is_empty()) {
        s.push_str(&line(c.name, Some(c)));
    }
    let globals: Vec<String> = defs::GLOBAL_FLAGS
        .iter()
        .map(|f| bash_flag_word(f))
        .collect();
    s.push_str(&format!("\t*) echo \"{}\" ;;", globals.join(" ")));
    s
}

/// The shell code completing `complete` from the word in `$word`, for bash.
pub(super) fn bash_action(complete: Complete, word: &str) -> String {
    match complete {
        Complete::Nothing => "__git_parallel_nothing".into(),
        Complete::File => format!("__git_parallel_files -f \"{word}\""),
        Complete::Dir => format!("__git_parallel_files -d \"{word}\""),
        Complete::Choices(c) => format!("__git_parallel_reply \"{}\" \"{word}\"", c.join(" ")),
        Complete::Tasks(s) => format!("__git_parallel_tasks {}", statuses(s))
            .trim_end()
            .into(),
        Complete::Command => format!("__git_parallel_commands_reply \"{word}\""),
    }
}

pub(super) fn bash_values_case() -> String {
    let mut lines = Vec::new();
    for f in defs::GLOBAL_FLAGS
        .iter()
        .filter(|f| matches!(f.arity, Arity::Value(_)))
    {
        let pats: Vec<String> = word_names(f).iter().map(|n| format!("*:{n}")).collect();
        lines.push(format!(
            "\t{}) {} ;;",
            pats.join("|"),
            bash_action(f.complete, "$3")
        ));
    }
    for c in visible_commands() {
        for f in c
            .flags
            .iter()
            .filter(|f| matches!(f.arity, Arity::Value(_)))
        {
            let pats: Vec<String> = word_names(f)
                .iter()
                .map(|n| format!("{}:{n}", c.name))
                .collect();
            lines.push(format!(
                "\t{}) {} ;;",
                pats.join("|"),
                bash_action(f.complete, "$3")
            ));
        }
    }
    lines.join("\n")
}

pub(super) fn bash_positionals_case() -> String {
    let mut lines = Vec::new();
    for c in visible_commands() {
        let action = bash_action(c.complete_positionals, "$cur");
        let line = match c.positionals {
            Positionals::None => continue,
            Positionals::One(_) => format!(
                "\t{}) if (( $2 < 1 )); then {action}; else __git_parallel_nothing; fi ;;",
                c.name
            ),
            Positionals::Many(_) | Positionals::IdsThenCommand => {
                format!("\t{}) {action} ;;", c.name)
            }
        };
        lines.push(line);
    }
    lines.join("\n")
}

/// The bash completion script.
pub fn bash() -> String {
    let names: Vec<&str> = visible_commands().map(|c| c.name).collect();
    let file_flags: Vec<String> = file_flags().iter().flat_map(|f| word_names(f)).collect();
    let value_flags: Vec<String> = value_flags().iter().flat_map(|f| word_names(f)).collect();
    let dashdash: Vec<&str> = visible_commands()
        .filter(|c| c.positionals == Positionals::IdsThenCommand)
        .map(|c| c.name)
        .collect();
    BASH_TEMPLATE
        .replace("@COMMANDS@", &names.join(" "))
        .replace("@FILE_FLAGS@", &file_flags.join("|"))
        .replace("@FILE_FLAGS_JOINED@", &joined_patterns().join("|"))
        .replace("@FLAGS@", &bash_flags_case())
        .replace("@VALUES@", &bash_values_case())
        .replace("@POSITIONALS@", &bash_positionals_case())
        .replace("@VALUE_FLAGS@", &value_flags.join("|"))
        .replace("@AFTER_DASHDASH@", &or_never(&dashdash))
}

/// `a|b` for a case pattern; a pattern no command matches when empty.
pub(super) fn or_never(names: &[&str]) -> String {
    if names.is_empty() {
        "__none__".into()
    } else {
        names.join("|")
    }
}
