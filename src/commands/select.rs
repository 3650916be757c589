//! Which tasks a command acts on, as named on its command line.

use super::common::{self, Env};
use crate::error::Result;
use crate::taskgraph::Task;

/// The one task named on the command line, checked to exist.
pub(crate) fn named_task<'e>(env: &'e Env, command: &str) -> Result<&'e Task> {
    let id = env
        .ctx
        .args
        .positionals
        .first()
        .map(String::as_str)
        .unwrap_or_default();
    env.tf.task(id).ok_or_else(|| {
        crate::refused!(
            help = common::unknown_id_hint(&env.tf, id),
            "cannot {command} {id}: no such task in {}",
            env.tf.path
        )
    })
}
