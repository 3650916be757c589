//! The zsh completion script: a template with the command table filled in.

use super::{file_flags, joined_patterns, statuses, visible_commands, word_names};
use crate::cli::defs::{self, Arity, Command, Complete, Flag, Positionals};

const ZSH_TEMPLATE: &str = include_str!("template.zsh");

/// Quotes `s` for a single-quoted zsh word.
pub(super) fn zsh_quote(s: &str) -> String {
    s.replace('\'', "'\\''")
}

/// Escapes the text in brackets of an `_arguments` spec.
pub(super) fn zsh_describe(s: &str) -> String {
    zsh_quote(
        &s.replace('\\', "\\\\")
            .replace('[', "\\[")
            .replace(']', "\\]"),
    )
}

pub(super) fn zsh_action(complete: Complete) -> String {
    match complete {
        Complete::Nothing => " ".into(),
        Complete::File => "_files".into(),
        Complete::Dir => "_directories".into(),
        Complete::Choices(c) => format!("({})", c.join(" ")),
        // A leading space: call it as written, without compadd options inserted.
        Complete::Tasks(s) => format!(" _git-parallel_tasks {}", statuses(s))
            .trim_end()
            .into(),
        Complete::Command => "_cmdstring".into(),
    }
}

/// One `_arguments` spec (or two, brace-expanded, for a short and a long name).
pub(super) fn zsh_flag_spec(f: &Flag) -> String {
    let help = zsh_describe(f.help);
    let value = match f.arity {
        Arity::Switch => String::new(),
        Arity::Value(name) => format!(":{}:{}", name.to_lowercase(), zsh_action(f.complete)),
    };
    let (short_suffix, long_suffix) = match f.arity {
        Arity::Switch => ("", ""),
        Arity::Value(_) => ("+", "="),
    };
    match f.short {
        Some(c) => format!(
            "'(-{c} --{l})'{{-{c}{short_suffix},--{l}{long_suffix}}}'[{help}]{value}'",
            l = f.long
        ),
        None => format!("'--{}{long_suffix}[{help}]{value}'", f.long),
    }
}

pub(super) fn zsh_command_case(c: &Command) -> String {
    let mut specs: Vec<String> = c.flags.iter().map(|f| zsh_flag_spec(f)).collect();
    let action = zsh_action(c.complete_positionals);
    match c.positionals {
        Positionals::None => {}
        Positionals::One(n) => {
            specs.push(format!("'1:{}:{}'", n.to_lowercase(), zsh_quote(&action)))
        }
        Positionals::Many(n) => {
            specs.push(format!("'*:{}:{}'", n.to_lowercase(), zsh_quote(&action)))
        }
        Positionals::IdsThenCommand => specs.push(format!("'*:id:{}'", zsh_quote(&action))),
    }
    let args: String = specs
        .iter()
        .map(|s| format!(" \\\n            {s}"))
        .collect();
    let call = format!("_arguments -s : $globals{args} && ret=0");
    let body = if c.positionals == Positionals::IdsThenCommand {
        format!("_git-parallel_command_line && return 0\n          {call}")
    } else {
        call
    };
    format!("        ({})\n          {body}\n          ;;\n", c.name)
}

/// The zsh completion script (`_git-parallel`).
pub fn zsh() -> String {
    let globals: String = defs::GLOBAL_FLAGS
        .iter()
        .map(|f| format!("    {}\n", zsh_flag_spec(f)))
        .collect();
    let top = format!(
        "    {} \\\n",
        zsh_flag_spec(&defs::VERSION).replacen("'(-V --version)'", "'(- :)'", 1)
    );
    let commands: String = visible_commands().map(zsh_command_case).collect();
    let list: String = visible_commands()
        .map(|c| format!("    '{}:{}'\n", c.name, zsh_quote(c.summary)))
        .collect();
    let file_flags: Vec<String> = file_flags().iter().flat_map(|f| word_names(f)).collect();
    ZSH_TEMPLATE
        .replace("@GLOBALS@\n", &globals)
        .replace("@TOP_FLAGS@\n", &top)
        .replace("@COMMANDS@\n", &commands)
        .replace("@COMMAND_LIST@\n", &list)
        .replace("@FILE_FLAGS@", &file_flags.join("|"))
        .replace("@FILE_FLAGS_JOINED@", &joined_patterns().join("|"))
}
