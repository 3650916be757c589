//! Unit tests of the command table.

use super::*;

#[test]
fn no_command_defines_a_flag_twice_or_shadows_a_global() {
    for cmd in COMMANDS {
        let mut names: Vec<String> = GLOBAL_FLAGS
            .iter()
            .chain(cmd.flags.iter())
            .flat_map(|f| {
                let mut v = vec![format!("--{}", f.long)];
                if let Some(s) = f.short {
                    v.push(format!("-{s}"));
                }
                v
            })
            .collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(n, names.len(), "duplicate flag name in {}", cmd.name);
    }
}

#[test]
fn help_lines_are_short_and_lowercase() {
    for f in GLOBAL_FLAGS
        .iter()
        .chain(COMMANDS.iter().flat_map(|c| c.flags.iter()))
    {
        assert!(f.help.len() <= 72, "--{} help too long", f.long);
        assert!(
            !f.help.ends_with('.'),
            "--{} help ends with a period",
            f.long
        );
    }
}
