//! Help text and the roff man page, rendered from the command table.

use super::defs::{self, Command};

/// `-h`: short usage, git style.
pub fn short_usage(cmd: Option<&Command>) -> String {
    match cmd {
        None => {
            let mut s = String::from("usage: git parallel [-C <path>] [--tasks <path>] <command> [<args>]\n\n");
            for c in defs::COMMANDS.iter().filter(|c| !c.hidden) {
                s.push_str(&format!("   {:<10} {}\n", c.name, c.summary));
            }
            s
        }
        Some(c) => format!("usage: git parallel {}\n", c.name),
    }
}

/// `--help` without a man page: the long help.
pub fn long_help(cmd: Option<&Command>) -> String {
    short_usage(cmd)
}

/// The whole man page, roff.
pub fn man_page() -> String {
    String::new()
}
