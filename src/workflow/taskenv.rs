//! What `start` prepares per task beyond its worktree (see src/txn/taskenv.rs): a block of
//! `parallel.ports` consecutive ports from `parallel.portBase`, distinct from every other
//! task worktree's and free when assigned; the tracked `parallel.envTemplate` rendered into the
//! worktree as `parallel.envFile` (default `.env`), `{port}`, `{ports}`, `{id}`, `{branch}`,
//! `{worktree}`, `{product}` replaced as text (no shell); and the `parallel.setupKey` files.

use camino::Utf8Path;

use super::session::Session;
use crate::error::Result;
use crate::git::short_branch;
use crate::txn::taskenv::{self, EnvFile, Ports, TaskEnv};

/// The [`TaskEnv`] of each new task worktree `(id, branch, path)`, in order.
pub(crate) fn plan(env: &Session, new: &[(&str, &str, &Utf8Path)]) -> Result<Vec<TaskEnv>> {
    let repo = &env.ctx.repo;
    let count = repo.settings.ports()?;
    let base = repo.settings.port_base()?;
    let (Ok(count), Ok(base)) = (u16::try_from(count), u16::try_from(base)) else {
        return Err(crate::refused!(
            help = "git config parallel.ports N (0 turns it off) and parallel.portBase PORT",
            "parallel.ports ({count}) or parallel.portBase ({base}) is not a port count or number"
        ));
    };
    let template = match repo.settings.get("parallel.envTemplate") {
        Some(rel) => {
            let at = env.main.join(rel);
            let text = std::fs::read_to_string(&at).map_err(|e| {
                crate::refused!(
                    help = "commit the template, or unset parallel.envTemplate",
                    "cannot read parallel.envTemplate {at}: {e}"
                )
            })?;
            Some(text)
        }
        None => None,
    };
    let env_name = repo
        .settings
        .get("parallel.envFile")
        .unwrap_or(".env")
        .to_string();
    let setup_key = repo.settings.setup_key.clone();
    let mut taken = taskenv::taken(&repo.common_dir);
    let mut out = Vec::new();
    for (id, branch, path) in new {
        let ports = if count == 0 {
            None
        } else {
            let p =
                taskenv::allocate(base, count, &taken, taskenv::port_free).ok_or_else(|| {
                    crate::refused!(
                        help = "lower parallel.ports or parallel.portBase, or finish some tasks",
                        "no block of {count} free ports from {base} on for {id}"
                    )
                })?;
            taken.push(p);
            Some(p)
        };
        let env_file = template.as_ref().map(|t| EnvFile {
            rel: env_name.clone(),
            text: render(t, ports, id, branch, path, &env.product),
        });
        out.push(TaskEnv {
            ports,
            env_file,
            setup_key: setup_key.clone(),
        });
    }
    Ok(out)
}

/// The template with the task's values put in as text.
fn render(
    t: &str,
    ports: Option<Ports>,
    id: &str,
    branch: &str,
    path: &Utf8Path,
    product: &str,
) -> String {
    let port = ports.map(|p| p.first.to_string()).unwrap_or_default();
    let list = ports.map(|p| p.list()).unwrap_or_default();
    crate::taskgraph::display::substitute(
        t,
        &[
            ("port", &port),
            ("ports", &list),
            ("id", id),
            ("branch", short_branch(branch)),
            ("worktree", path.as_str()),
            ("product", product),
        ],
    )
}
