//! `--help`: open the man page like git does, or print the long help when there is none.

use crate::cli::{doc, Command};
use crate::error::Result;

pub fn open_manual(cmd: Option<&'static Command>) -> Result<()> {
    print!("{}", doc::long_help(cmd));
    Ok(())
}
