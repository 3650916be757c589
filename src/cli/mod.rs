//! Command-line parsing with lexopt, driven entirely by the table in `defs`.
//!
//! Layer: a leaf (the one table of commands and flags; parsing, help, man page, completions).
//! May import `error` and `output`; never a command or the workflow layer.

pub mod complete;
pub mod defs;
pub mod doc;

use std::ffi::OsString;

pub use defs::{Arity, Choice, Command, CommandId, Flag, PlanFormat, Positionals};

use crate::error::{Error, Result};

/// The parsed command line of one invocation.
#[derive(Debug)]
pub struct Args {
    pub command: &'static Command,
    values: Vec<(&'static Flag, Option<String>)>,
    /// The typed values of the flags given whose value is one of a fixed set (the last one).
    choices: Vec<(&'static Flag, Choice)>,
    pub positionals: Vec<String>,
    /// What follows `--` for commands that run a command (`exec`).
    pub trailing: Vec<String>,
}

/// What the user asked for.
#[derive(Debug)]
pub enum Parsed {
    Run(Args),
    ShortHelp(Option<&'static Command>),
    LongHelp(Option<&'static Command>),
    Version,
}

impl Args {
    fn check(&self, flag: &'static Flag) {
        debug_assert!(
            defs::GLOBAL_FLAGS.iter().any(|f| std::ptr::eq(*f, flag))
                || self.command.flags.iter().any(|f| std::ptr::eq(*f, flag)),
            "--{} is not a flag of {}",
            flag.long,
            self.command.name
        );
    }

    /// Whether a switch was given.
    pub fn on(&self, flag: &'static Flag) -> bool {
        self.check(flag);
        self.values.iter().any(|(f, _)| std::ptr::eq(*f, flag))
    }

    /// The last value given for a flag.
    pub fn value(&self, flag: &'static Flag) -> Option<&str> {
        self.check(flag);
        self.values
            .iter()
            .rev()
            .find(|(f, _)| std::ptr::eq(*f, flag))
            .and_then(|(_, v)| v.as_deref())
    }

    /// The typed value of a flag whose value is one of a fixed set, when given.
    pub fn choice(&self, flag: &'static Flag) -> Option<Choice> {
        self.check(flag);
        self.choices
            .iter()
            .find(|(f, _)| std::ptr::eq(*f, flag))
            .map(|(_, c)| *c)
    }

    /// The arguments of another command called in-process (`run` calling `finish`…): the
    /// global flags that say which task file (`--tasks`, `--product`) as given here, then
    /// `flags` (each one `command` takes) and `positionals`.
    pub fn for_command(
        &self,
        command: &'static Command,
        flags: Vec<(&'static Flag, Option<String>)>,
        positionals: Vec<String>,
    ) -> Args {
        let mut values: Vec<(&'static Flag, Option<String>)> = self
            .values
            .iter()
            .filter(|(f, _)| {
                [&defs::TASKS, &defs::PRODUCT]
                    .iter()
                    .any(|g| std::ptr::eq(*f, *g))
            })
            .cloned()
            .collect();
        for (f, _) in &flags {
            debug_assert!(
                command.flags.iter().any(|c| std::ptr::eq(*c, *f)),
                "--{} is not a flag of {}",
                f.long,
                command.name
            );
        }
        values.extend(flags);
        Args {
            command,
            values,
            choices: Vec::new(),
            positionals,
            trailing: Vec::new(),
        }
    }

    /// `--color`, when given.
    pub fn color(&self) -> Option<crate::output::ColorWhen> {
        match self.choice(&defs::COLOR)? {
            Choice::Color(c) => Some(c),
            _ => None,
        }
    }

    /// `plan --format`, when given.
    pub fn plan_format(&self) -> Option<PlanFormat> {
        match self.choice(&defs::FORMAT)? {
            Choice::PlanFormat(f) => Some(f),
            _ => None,
        }
    }
}

fn lookup_long(cmd: Option<&'static Command>, name: &str) -> Option<&'static Flag> {
    defs::GLOBAL_FLAGS
        .iter()
        .chain(cmd.map(|c| c.flags).unwrap_or(&[]).iter())
        .copied()
        .find(|f| f.long == name)
}

fn lookup_short(cmd: Option<&'static Command>, c: char) -> Option<&'static Flag> {
    defs::GLOBAL_FLAGS
        .iter()
        .chain(cmd.map(|c| c.flags).unwrap_or(&[]).iter())
        .copied()
        .find(|f| f.short == Some(c))
}

/// Parses the arguments after the program name.
pub fn parse(argv: Vec<OsString>) -> Result<Parsed> {
    use lexopt::prelude::*;

    // Everything after the first `--` is either the command to run (exec) or plain positionals.
    let split = argv.iter().position(|a| a == "--");
    let (head, tail) = match split {
        Some(i) => (argv[..i].to_vec(), argv[i + 1..].to_vec()),
        None => (argv, Vec::new()),
    };
    let mut parser = lexopt::Parser::from_args(head);
    let mut command: Option<&'static Command> = None;
    let mut values = Vec::new();
    let mut positionals = Vec::new();
    let usage = |msg: String, cmd: Option<&'static Command>| Error::usage(msg, cmd.map(|c| c.name));

    loop {
        let arg = match parser.next() {
            Ok(Some(arg)) => arg,
            Ok(None) => break,
            Err(e) => return Err(usage(e.to_string(), command)),
        };
        let (flag, shown) = match arg {
            Short('h') => return Ok(Parsed::ShortHelp(command)),
            Long("help") => return Ok(Parsed::LongHelp(command)),
            Short('V') | Long("version") if command.is_none() => return Ok(Parsed::Version),
            Short(c) => match lookup_short(command, c) {
                Some(f) => (f, format!("-{c}")),
                None => return Err(usage(format!("unknown switch `{c}'"), command)),
            },
            Long(name) => match lookup_long(command, name) {
                Some(f) => (f, format!("--{name}")),
                None => return Err(usage(format!("unknown option `{name}'"), command)),
            },
            Value(v) => {
                let v = v
                    .into_string()
                    .map_err(|v| usage(format!("argument is not UTF-8: {v:?}"), command))?;
                if command.is_none() {
                    if v == "help" {
                        return help_command(&mut parser);
                    }
                    command = Some(defs::find(&v).ok_or_else(|| unknown_command(&v))?);
                } else {
                    positionals.push(v);
                }
                continue;
            }
        };
        let value = flag_value(&mut parser, flag, &shown, command)?;
        values.push((flag, value));
    }
    finish(command.unwrap_or(&defs::STATUS), values, positionals, tail)
}

/// The value of `flag` just read (`None` for a switch): a usage error when a switch is given a
/// value or a value flag has none.
fn flag_value(
    parser: &mut lexopt::Parser,
    flag: &'static Flag,
    shown: &str,
    command: Option<&'static Command>,
) -> Result<Option<String>> {
    use lexopt::prelude::*;

    let usage = |msg: String| Error::usage(msg, command.map(|c| c.name));
    match flag.arity {
        Arity::Switch => {
            if let Some(v) = parser.optional_value() {
                return Err(usage(format!(
                    "option `{}' takes no value (got {:?})",
                    flag.long, v
                )));
            }
            Ok(None)
        }
        Arity::Value(name) => {
            let v = parser
                .value()
                .map_err(|_| usage(format!("option `{shown}' requires a value ({name})")))?;
            Ok(Some(v.string().map_err(|e| usage(e.to_string()))?))
        }
    }
}

/// The typed values of the choice flags given (the last value of each; global flags first),
/// or a usage error naming a value not in the flag's set.
fn read_choices(
    command: &'static Command,
    values: &[(&'static Flag, Option<String>)],
) -> Result<Vec<(&'static Flag, Choice)>> {
    let mut out = Vec::new();
    for &flag in defs::GLOBAL_FLAGS.iter().chain(command.flags) {
        let Some(chooser) = flag.choose else { continue };
        let last = values.iter().rev().find(|(f, _)| std::ptr::eq(*f, flag));
        if let Some((_, Some(v))) = last {
            let choice = chooser
                .read(v)
                .map_err(|msg| Error::usage(msg, Some(command.name)))?;
            out.push((flag, choice));
        }
    }
    Ok(out)
}

/// The arguments of `command` once the flags are read: what follows `--` joins the positionals
/// (or is the command to run), and the number of positionals is checked.
fn finish(
    command: &'static Command,
    values: Vec<(&'static Flag, Option<String>)>,
    mut positionals: Vec<String>,
    tail: Vec<OsString>,
) -> Result<Parsed> {
    let usage = |msg: String, cmd: Option<&'static Command>| Error::usage(msg, cmd.map(|c| c.name));
    let tail: Vec<String> = tail
        .into_iter()
        .map(|a| {
            a.into_string()
                .map_err(|a| usage(format!("argument is not UTF-8: {a:?}"), Some(command)))
        })
        .collect::<Result<_>>()?;
    let mut trailing = Vec::new();
    match command.positionals {
        Positionals::IdsThenCommand => {
            if tail.is_empty() {
                return Err(usage("missing command after `--'".into(), Some(command)));
            }
            trailing = tail;
        }
        _ => positionals.extend(tail),
    }
    match command.positionals {
        Positionals::None if !positionals.is_empty() => {
            return Err(usage(
                format!("unexpected argument '{}'", positionals[0]),
                Some(command),
            ))
        }
        Positionals::One(name) if positionals.len() != 1 => {
            return Err(usage(
                if positionals.is_empty() {
                    format!("missing {name}")
                } else {
                    format!("expected one {name}, got {}", positionals.len())
                },
                Some(command),
            ))
        }
        _ => {}
    }
    let choices = read_choices(command, &values)?;
    Ok(Parsed::Run(Args {
        command,
        values,
        choices,
        positionals,
        trailing,
    }))
}

/// `git parallel help [CMD]`, like `git help CMD`: the manual (long help) of CMD.
fn help_command(parser: &mut lexopt::Parser) -> Result<Parsed> {
    use lexopt::prelude::*;
    match parser.next() {
        Ok(None) => Ok(Parsed::LongHelp(None)),
        Ok(Some(Value(v))) => {
            let name = v.to_string_lossy().into_owned();
            match defs::find(&name).filter(|c| !c.hidden) {
                Some(c) => Ok(Parsed::LongHelp(Some(c))),
                None => Err(unknown_command(&name)),
            }
        }
        Ok(Some(_)) | Err(_) => Err(Error::usage("usage: git parallel help [<command>]", None)),
    }
}

/// The error for an unknown command, with git's "The most similar command is" suggestion.
/// Exit 1 and no usage dump, as git does for `git stat`.
fn unknown_command(name: &str) -> Error {
    // The user's own input, but still never echoed with raw control characters.
    let shown: String = name
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect();
    let message = format!("'{shown}' is not a git-parallel command. See 'git parallel -h'.");
    let similar = similar_commands(name);
    match similar.len() {
        0 => crate::refused!("{message}"),
        1 => crate::refused!(
            help = format!("The most similar command is\n\t{}", similar[0]),
            "{message}"
        ),
        _ => crate::refused!(
            help = format!("The most similar commands are\n\t{}", similar.join("\n\t")),
            "{message}"
        ),
    }
}

/// Visible commands close to `name`: a prefix of it or it of them, or a small edit distance
/// (at most a third of the longer name, and at least one edit allowed).
fn similar_commands(name: &str) -> Vec<&'static str> {
    let lower = name.to_ascii_lowercase();
    let mut scored: Vec<(usize, &'static str)> = defs::COMMANDS
        .iter()
        .filter(|c| !c.hidden)
        .filter_map(|c| {
            // Adjacent transpositions count as one edit ("strat" → "start").
            let d = strsim::osa_distance(&lower, c.name);
            let limit = (lower.len().max(c.name.len()) / 3).max(1);
            let prefix =
                lower.len() >= 2 && (c.name.starts_with(&lower) || lower.starts_with(c.name));
            (d <= limit || prefix).then_some((if prefix { 0 } else { d }, c.name))
        })
        .collect();
    scored.sort();
    let best = scored.first().map(|(d, _)| *d);
    scored
        .into_iter()
        .filter(|(d, _)| Some(*d) == best)
        .map(|(_, n)| n)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Parsed> {
        parse(args.iter().map(OsString::from).collect())
    }

    #[test]
    fn default_command_is_status() {
        match run(&[]).unwrap() {
            Parsed::Run(a) => assert_eq!(a.command.name, "status"),
            p => panic!("{p:?}"),
        }
    }

    #[test]
    fn globals_anywhere_and_values() {
        match run(&["--json", "start", "A", "--tasks", "x.yml", "-n", "B"]).unwrap() {
            Parsed::Run(a) => {
                assert!(a.on(&defs::JSON));
                assert!(a.on(&defs::DRY_RUN));
                assert_eq!(a.value(&defs::TASKS), Some("x.yml"));
                assert_eq!(a.positionals, ["A", "B"]);
            }
            p => panic!("{p:?}"),
        }
    }

    #[test]
    fn exec_takes_a_command_after_dashdash() {
        match run(&["exec", "A", "-j", "2", "--", "cargo", "test", "--", "-q"]).unwrap() {
            Parsed::Run(a) => {
                assert_eq!(a.positionals, ["A"]);
                assert_eq!(a.trailing, ["cargo", "test", "--", "-q"]);
                assert_eq!(a.value(&defs::JOBS), Some("2"));
            }
            p => panic!("{p:?}"),
        }
    }

    #[test]
    fn usage_errors() {
        for bad in [
            &["start", "--bogus"][..],
            &["path"],
            &["status", "extra"],
            &["start", "--dry-run=yes"],
            &["finish", "--test"],
            &["exec", "A"],
        ] {
            match run(bad) {
                Err(Error::Usage { .. }) => {}
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn help_forms() {
        assert!(matches!(run(&["-h"]).unwrap(), Parsed::ShortHelp(None)));
        assert!(
            matches!(run(&["start", "-h"]).unwrap(), Parsed::ShortHelp(Some(c)) if c.name == "start")
        );
        assert!(matches!(
            run(&["finish", "--help"]).unwrap(),
            Parsed::LongHelp(Some(_))
        ));
        assert!(matches!(run(&["--version"]).unwrap(), Parsed::Version));
    }

    #[test]
    fn typos_get_git_style_suggestions() {
        assert_eq!(similar_commands("stat"), ["status"]);
        assert_eq!(similar_commands("strat"), ["start"]);
        assert_eq!(similar_commands("finsh"), ["finish"]);
        assert_eq!(similar_commands("Status"), ["status"]);
        assert!(similar_commands("xyzzy").is_empty());
        match run(&["stat"]) {
            Err(Error::Refused(r)) => {
                assert!(r
                    .to_string()
                    .contains("'stat' is not a git-parallel command"));
                assert!(r.help().unwrap().to_string().contains("\tstatus"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(run(&["nope"]), Err(Error::Refused(_))));
    }

    #[test]
    fn help_subcommand() {
        assert!(matches!(run(&["help"]).unwrap(), Parsed::LongHelp(None)));
        assert!(
            matches!(run(&["help", "start"]).unwrap(), Parsed::LongHelp(Some(c)) if c.name == "start")
        );
        assert!(matches!(run(&["help", "strat"]), Err(Error::Refused(_))));
    }
}
