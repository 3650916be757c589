//! Names git-parallel gives: the product of a task file, a task's branch and worktree (from
//! `parallel.branchTemplate` / `parallel.worktreeTemplate`), the worktree root, and the checks
//! that a name is a valid branch.

use camino::{Utf8Path, Utf8PathBuf};

use crate::taskgraph::{Task, TaskFile};
use crate::workflow::context::Context;

/// The product of a task file: `metadata.product`, else --product / parallel.product, else the
/// `products/<name>/` its path is in, else `product`.
pub fn product_name(ctx: &Context, tf: &TaskFile, task_rel: &Option<String>) -> String {
    tf.graph
        .product
        .clone()
        .or_else(|| ctx.flag_or_config(&crate::cli::defs::PRODUCT))
        .or_else(|| product_from_path(task_rel))
        .unwrap_or_else(|| "product".to_string())
}

fn fill(template: &str, product: &str, task: &Task) -> String {
    // One pass: a value is never substituted again.
    crate::taskgraph::display::substitute(
        template,
        &[
            ("product", product),
            ("role", &task.role()),
            ("agent", &task.agent),
            ("id", &task.id),
        ],
    )
}

const WORKTREE_TEMPLATE: &str = "../worktrees/{product}/{role}-{id}";

/// `refs/heads/…` of a new branch for `task` under parallel.branchTemplate.
pub fn new_branch_name(ctx: &Context, product: &str, task: &Task) -> String {
    let t = ctx.repo.settings.branch_template();
    format!("refs/heads/{}", fill(&t, product, task))
}

/// The absolute worktree path for `task` under parallel.worktreeTemplate (relative to `main`).
pub fn worktree_path(ctx: &Context, main: &Utf8Path, product: &str, task: &Task) -> Utf8PathBuf {
    let t = ctx
        .repo
        .settings
        .worktree_template()
        .unwrap_or(WORKTREE_TEMPLATE);
    normalize(&main.join(fill(t, product, task)))
}

/// The directory every task worktree must be inside: the worktree template's fixed part (up to
/// the last `/` before its first `{`), e.g. `<main>/../worktrees` for the default.
pub fn worktree_root(ctx: &Context, main: &Utf8Path) -> Utf8PathBuf {
    let t = ctx
        .repo
        .settings
        .worktree_template()
        .unwrap_or(WORKTREE_TEMPLATE);
    let fixed = &t[..t.find('{').unwrap_or(t.len())];
    let dir = &fixed[..fixed.rfind('/').unwrap_or(0)];
    normalize(&main.join(dir))
}

fn product_from_path(rel: &Option<String>) -> Option<String> {
    let rel = rel.as_deref()?;
    let rest = rel.strip_prefix("products/")?;
    rest.split('/').next().map(str::to_string)
}

/// Lexically resolves `.` and `..` (the path may not exist yet).
pub fn normalize(p: &Utf8Path) -> Utf8PathBuf {
    let mut out = Utf8PathBuf::new();
    for c in p.components() {
        match c {
            camino::Utf8Component::ParentDir => {
                out.pop();
            }
            camino::Utf8Component::CurDir => {}
            c => out.push(c.as_str()),
        }
    }
    out
}

/// Whether `name` (without refs/heads/) is a valid branch name.
pub fn valid_branch(name: &str) -> bool {
    let full = format!("refs/heads/{name}");
    gix::refs::FullName::try_from(full.as_str()).is_ok() && !name.starts_with('-')
}

// ---- help for a wrong task id or status ------------------------------------------------------
