//! Help text and the roff man page, rendered from the command table in `defs`.
//!
//! `-h` prints a git-style short usage (`short_usage`). The long help (`long_help`) and the
//! man page (`man_page`) are built from one small document model (`Section`, `Block`, `Span`)
//! and rendered either as plain text wrapped at 80 columns or as roff, so the two never say
//! different things.

mod plain;
mod roff;
#[cfg(test)]
mod tests;

use super::defs::{self, Arity, Command, Flag, Positionals};
use plain::{render_plain, spans_text};
use roff::render_roff;

/// Width of plain-text output.
const WIDTH: usize = 80;
/// Column where a flag's help starts in `-h` output (git's USAGE_OPTS_WIDTH + USAGE_GAP).
const HELP_COLUMN: usize = 26;

/// What the program is, for NAME.
const NAME_LINE: &str = "git-parallel - run a task graph's parallel work in git worktrees";

/// DESCRIPTION of the whole program.
const ABOUT: &str = include_str!("about.txt");

/// The TASK FILE section: introduction.
const TASK_FILE: &str = include_str!("task-file.txt");

/// The TASK FILE section: the keys of a task.
const TASK_KEYS: &str = include_str!("task-keys.txt");

/// RUNNING AGENTS: how `run` runs agents (the man page, and `run --help`).
const RUNNING_AGENTS: &str = include_str!("run.txt");

/// SANDBOX: what the commands started in a worktree may write (the man page, run --help).
const SANDBOX: &str = include_str!("sandbox.txt");

/// ENVIRONMENT.
const ENVIRONMENT: &str = include_str!("environment.txt");

/// FILES.
const FILES: &str = include_str!("files.txt");

/// SHARED REMOTE (the man page).
const REMOTE: &str = include_str!("remote.txt");

/// HOOKS (the man page): which git hooks run, which do not.
const HOOKS: &str = include_str!("hooks.txt");

/// EXIT STATUS.
const EXIT_STATUS: &str = include_str!("exit-status.txt");

// ---- the document model ------------------------------------------------------------------------

/// A run of text with a style.
#[derive(Clone, Debug)]
pub(crate) enum Span {
    Plain(String),
    /// Literal text to type: commands and flags.
    Bold(String),
    /// A placeholder: `<PATH>` in plain text, italic in roff.
    Ital(String),
}

/// A unit of a section.
#[derive(Clone, Debug)]
pub(crate) enum Block {
    /// A filled paragraph.
    Para(Vec<Span>),
    /// A tagged paragraph: the tag, then the indented body.
    Item(Vec<Span>, Vec<Span>),
    /// Lines kept as they are (synopses).
    Lines(Vec<Vec<Span>>),
    /// A subsection heading.
    Sub(String),
}

/// A titled section.
#[derive(Clone, Debug)]
pub(crate) struct Section {
    pub title: &'static str,
    pub blocks: Vec<Block>,
}

fn plain(s: &str) -> Vec<Span> {
    vec![Span::Plain(s.to_string())]
}

fn bold(s: &str) -> Vec<Span> {
    vec![Span::Bold(s.to_string())]
}

// ---- pieces rendered from the table ------------------------------------------------------------

/// `-n, --dry-run` / `--tasks <PATH>` as spans.
fn flag_spans(f: &Flag) -> Vec<Span> {
    let mut v = Vec::new();
    if let Some(c) = f.short {
        v.push(Span::Bold(format!("-{c}")));
        v.push(Span::Plain(", ".into()));
    }
    v.push(Span::Bold(format!("--{}", f.long)));
    if let Arity::Value(name) = f.arity {
        v.push(Span::Plain(" ".into()));
        v.push(Span::Ital(name.into()));
    }
    v
}

/// A flag's long text, with the configuration key that sets its default.
fn flag_doc(f: &Flag) -> String {
    let mut s = if f.doc.is_empty() {
        f.help.to_string()
    } else {
        f.doc.to_string()
    };
    if !s.ends_with('.') {
        s.push('.');
    }
    if let Some(key) = f.config {
        s.push_str(&format!(" The default can be set with git config {key}."));
    }
    s
}

/// `git parallel start [<options>] [<ID>...]` as spans.
pub(crate) fn synopsis(cmd: Option<&Command>) -> Vec<Span> {
    let Some(c) = cmd else {
        return vec![
            Span::Bold("git parallel".into()),
            Span::Plain(" [".into()),
            Span::Ital("options".into()),
            Span::Plain("] [".into()),
            Span::Ital("command".into()),
            Span::Plain("] [".into()),
            Span::Ital("args".into()),
            Span::Plain("]".into()),
        ];
    };
    let mut v = vec![
        Span::Bold(format!("git parallel {}", c.name)),
        Span::Plain(" [".into()),
        Span::Ital("options".into()),
        Span::Plain("]".into()),
    ];
    match c.positionals {
        Positionals::None => {}
        Positionals::One(n) => {
            v.push(Span::Plain(" ".into()));
            v.push(Span::Ital(n.into()));
        }
        Positionals::Many(n) => {
            v.push(Span::Plain(" [".into()));
            v.push(Span::Ital(n.into()));
            v.push(Span::Plain("...]".into()));
        }
        Positionals::IdsThenCommand => {
            v.push(Span::Plain(" [".into()));
            v.push(Span::Ital("ID".into()));
            v.push(Span::Plain("...] ".into()));
            v.push(Span::Bold("--".into()));
            v.push(Span::Plain(" ".into()));
            v.push(Span::Ital("command".into()));
            v.push(Span::Plain("...".into()));
        }
    }
    v
}

/// The flags listed as global options: the global flags, and `--version`.
fn global_flags() -> impl Iterator<Item = &'static Flag> {
    defs::GLOBAL_FLAGS
        .iter()
        .copied()
        .chain(std::iter::once(&defs::VERSION))
}

fn visible_commands() -> impl Iterator<Item = &'static Command> {
    defs::COMMANDS.iter().copied().filter(|c| !c.hidden)
}

fn flag_items<'a>(flags: impl Iterator<Item = &'a Flag>) -> Vec<Block> {
    flags
        .map(|f| Block::Item(flag_spans(f), plain(&flag_doc(f))))
        .collect()
}

fn example_items(cmd: &Command) -> Vec<Block> {
    cmd.examples
        .iter()
        .map(|(code, what)| Block::Item(bold(code), plain(&sentence(what))))
        .collect()
}

fn table_items(rows: &[(String, String)], tag_bold: bool) -> Vec<Block> {
    rows.iter()
        .map(|(k, v)| {
            let tag = if tag_bold { bold(k) } else { plain(k) };
            Block::Item(tag, plain(v))
        })
        .collect()
}

/// Ends `s` with a period.
fn period(s: &str) -> String {
    if s.ends_with('.') {
        s.to_string()
    } else {
        format!("{s}.")
    }
}

/// Capitalises the first letter and ends with a period.
fn sentence(s: &str) -> String {
    let mut chars = s.chars();
    let mut out: String = match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

fn paras(text: &str) -> Vec<Block> {
    paragraphs(text)
        .iter()
        .map(|t| Block::Para(plain(t)))
        .collect()
}

/// The paragraphs of a prose file: blank lines separate them; the lines of one are joined by
/// a space.
fn paragraphs(text: &str) -> Vec<String> {
    text.split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect()
}

/// The entries of a definition-list file: a term on an unindented line, then its description
/// on indented lines (joined by a space); blank lines between entries.
fn definitions(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match out.last_mut() {
            Some((_, desc)) if line.starts_with(' ') => {
                if !desc.is_empty() {
                    desc.push(' ');
                }
                desc.push_str(line.trim());
            }
            _ => out.push((line.to_string(), String::new())),
        }
    }
    out
}

// ---- sections ----------------------------------------------------------------------------------

fn name_section(cmd: Option<&Command>) -> Section {
    let line = match cmd {
        None => NAME_LINE.to_string(),
        Some(c) => format!("git-parallel-{} - {}", c.name, c.summary),
    };
    Section {
        title: "NAME",
        blocks: vec![Block::Para(plain(&line))],
    }
}

fn synopsis_section(cmd: Option<&Command>) -> Section {
    let mut lines = vec![synopsis(cmd)];
    if cmd.is_none() {
        lines.extend(visible_commands().map(|c| synopsis(Some(c))));
    }
    Section {
        title: "SYNOPSIS",
        blocks: vec![Block::Lines(lines)],
    }
}

fn commands_section(detailed: bool) -> Section {
    let mut blocks = Vec::new();
    for c in visible_commands() {
        if !detailed {
            blocks.push(Block::Item(bold(c.name), plain(&sentence(c.summary))));
            continue;
        }
        blocks.push(Block::Sub(c.name.to_string()));
        blocks.push(Block::Lines(vec![synopsis(Some(c))]));
        blocks.push(Block::Para(plain(c.doc)));
        blocks.extend(flag_items(c.flags.iter().copied()));
    }
    Section {
        title: "COMMANDS",
        blocks,
    }
}

fn configuration_section() -> Section {
    let mut blocks = vec![Block::Para(plain(
        "These git config keys are read (git config --get; the last value wins, and git -c \
         overrides them):",
    ))];
    blocks.extend(
        config_rows()
            .into_iter()
            .map(|(k, v)| Block::Item(bold(&k), plain(&v))),
    );
    Section {
        title: "CONFIGURATION",
        blocks,
    }
}

/// Every configuration key with its text: `CONFIG_KEYS`, then flag defaults not listed there.
#[allow(non_snake_case)]
fn config_rows() -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = defs::CONFIG_KEYS
        .iter()
        .map(|(k, v)| (k.to_string(), period(v)))
        .collect();
    let flags = global_flags().chain(defs::COMMANDS.iter().flat_map(|c| c.flags.iter().copied()));
    for f in flags {
        let Some(key) = f.config else { continue };
        let flag = format!("--{}", f.long);
        if let Some(row) = rows.iter_mut().find(|(k, _)| k == key) {
            if !row.1.contains(&flag) {
                row.1.push_str(&format!(" See {flag}."));
            }
        } else {
            rows.push((
                key.to_string(),
                format!("The default of --{}: {}", f.long, sentence(f.help)),
            ));
        }
    }
    rows
}

fn examples_section(cmd: Option<&Command>) -> Section {
    let blocks = match cmd {
        Some(c) => example_items(c),
        None => visible_commands().flat_map(example_items).collect(),
    };
    Section {
        title: "EXAMPLES",
        blocks,
    }
}

fn see_also(cmd: Option<&Command>) -> Section {
    let mut spans = Vec::new();
    if cmd.is_some() {
        spans.push(Span::Bold("git-parallel".into()));
        spans.push(Span::Plain("(1), ".into()));
    }
    spans.extend([
        Span::Bold("git-worktree".into()),
        Span::Plain("(1), ".into()),
        Span::Bold("git".into()),
        Span::Plain("(1)".into()),
    ]);
    Section {
        title: "SEE ALSO",
        blocks: vec![Block::Para(spans)],
    }
}

/// The sections of the long help of one command.
fn command_sections(c: &Command) -> Vec<Section> {
    let mut v = vec![
        name_section(Some(c)),
        synopsis_section(Some(c)),
        Section {
            title: "DESCRIPTION",
            blocks: vec![Block::Para(plain(c.doc))],
        },
    ];
    if c.id == defs::CommandId::Run {
        v.push(Section {
            title: "RUNNING AGENTS",
            blocks: paras(RUNNING_AGENTS),
        });
        v.push(Section {
            title: "SANDBOX",
            blocks: paras(SANDBOX),
        });
    }
    if !c.flags.is_empty() {
        v.push(Section {
            title: "OPTIONS",
            blocks: flag_items(c.flags.iter().copied()),
        });
    }
    v.push(Section {
        title: "GLOBAL OPTIONS",
        blocks: flag_items(defs::GLOBAL_FLAGS.iter().copied()),
    });
    if !c.examples.is_empty() {
        v.push(examples_section(Some(c)));
    }
    v.push(see_also(Some(c)));
    v
}

/// The sections of the whole manual; `detailed` adds each command's options (the man page).
fn program_sections(detailed: bool) -> Vec<Section> {
    let mut v = vec![
        name_section(None),
        synopsis_section(None),
        Section {
            title: "DESCRIPTION",
            blocks: paras(ABOUT),
        },
        commands_section(detailed),
        Section {
            title: "GLOBAL OPTIONS",
            blocks: flag_items(global_flags()),
        },
    ];
    if detailed {
        let mut blocks = paras(TASK_FILE);
        blocks.extend(table_items(&definitions(TASK_KEYS), true));
        v.push(Section {
            title: "TASK FILE",
            blocks,
        });
        v.push(Section {
            title: "SHARED REMOTE",
            blocks: paras(REMOTE),
        });
    }
    if detailed {
        v.push(Section {
            title: "RUNNING AGENTS",
            blocks: paras(RUNNING_AGENTS),
        });
        v.push(Section {
            title: "SANDBOX",
            blocks: paras(SANDBOX),
        });
        v.push(Section {
            title: "HOOKS",
            blocks: paras(HOOKS),
        });
    }
    v.push(configuration_section());
    v.push(Section {
        title: "ENVIRONMENT",
        blocks: table_items(&definitions(ENVIRONMENT), true),
    });
    v.push(Section {
        title: "FILES",
        blocks: table_items(&definitions(FILES), false),
    });
    v.push(Section {
        title: "EXIT STATUS",
        blocks: table_items(&definitions(EXIT_STATUS), true),
    });
    v.push(examples_section(None));
    v.push(see_also(None));
    v
}

// ---- public entry points -----------------------------------------------------------------------

/// Formats one option line of `-h`: `    -n, --dry-run         help`, aligned like git.
fn usage_line(names: &str, help: &str) -> String {
    let left = format!("    {names}");
    if left.len() + 2 <= HELP_COLUMN {
        format!("{left:<HELP_COLUMN$}{help}\n")
    } else {
        format!("{left}\n{:HELP_COLUMN$}{help}\n", "")
    }
}

fn usage_flags<'a>(flags: impl Iterator<Item = &'a Flag>) -> String {
    flags
        .map(|f| usage_line(&spans_text(&flag_spans(f)), f.help))
        .collect()
}

/// `-h`: short usage, git parse-options style.
pub fn short_usage(cmd: Option<&Command>) -> String {
    let mut s = format!("usage: {}\n\n", spans_text(&synopsis(cmd)));
    match cmd {
        None => {
            s.push_str("These are the git parallel commands:\n");
            for c in visible_commands() {
                s.push_str(&format!("   {:<10} {}\n", c.name, c.summary));
            }
            s.push_str("\nGlobal options\n");
            s.push_str(&usage_flags(global_flags()));
            s.push_str(
                "\n'git parallel <command> -h' lists a command's options; \
                 'git parallel help' opens the manual.\n",
            );
        }
        Some(c) => {
            s.push_str(&usage_flags(c.flags.iter().copied()));
            if !c.flags.is_empty() {
                s.push('\n');
            }
            s.push_str("Global options\n");
            s.push_str(&usage_flags(defs::GLOBAL_FLAGS.iter().copied()));
        }
    }
    s
}

/// `--help` without a man page: NAME, SYNOPSIS, DESCRIPTION, OPTIONS, EXAMPLES as plain text.
pub fn long_help(cmd: Option<&Command>) -> String {
    match cmd {
        Some(c) => render_plain(&command_sections(c)),
        None => render_plain(&program_sections(false)),
    }
}

/// The whole man page git-parallel(1), roff.
pub fn man_page() -> String {
    render_roff(&program_sections(true))
}
