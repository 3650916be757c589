//! What a task's worktree is made ready with beyond its include files: its port block, its
//! rendered environment file, and the setup key that lets a reused worktree skip postStart.
//!
//! The port block is recorded in the worktree's own git admin directory
//! (`$GIT_COMMON_DIR/worktrees/<name>/parallel-ports`, `FIRST COUNT`), so it lives exactly as
//! long as the task's worktree: the same block for every retry in it, released when finish or
//! abort removes (or parks) the worktree. The block is chosen when `start` plans (a pure
//! function of the blocks taken and the ports found free, see [`allocate`]) and journaled in
//! the worktree step, which writes the record and gives the ports to postStart.
//!
//! The test gate gets a block too ([`gate_ports`]), chosen when it runs.
//!
//! The setup key: after postStart succeeded, a hash of the `parallel.setupKey` files (lockfiles)
//! is kept in the admin directory (`parallel-setup-key`); a reused worktree whose key files
//! hash the same when it is taken again does not run postStart again.

use std::hash::Hasher;

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// A block of consecutive TCP ports.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Ports {
    pub first: u16,
    pub count: u16,
}

impl Ports {
    /// Whether the two blocks share a port.
    pub fn overlaps(&self, other: &Ports) -> bool {
        let end = |p: &Ports| u32::from(p.first) + u32::from(p.count);
        u32::from(self.first) < end(other) && u32::from(other.first) < end(self)
    }

    /// The ports, space-separated (`GIT_PARALLEL_PORTS`).
    pub fn list(&self) -> String {
        (0..self.count)
            .map(|i| (u32::from(self.first) + u32::from(i)).to_string())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `GIT_PARALLEL_PORT` (the first) and `GIT_PARALLEL_PORTS` (all).
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("GIT_PARALLEL_PORT".into(), self.first.to_string()),
            ("GIT_PARALLEL_PORTS".into(), self.list()),
        ]
    }
}

/// A file written into the task's worktree (the rendered `parallel.envTemplate`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct EnvFile {
    /// Relative to the worktree.
    pub rel: String,
    pub text: String,
}

/// Everything of a task's worktree that is made for that task.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct TaskEnv {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Ports>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_file: Option<EnvFile>,
    /// `parallel.setupKey`: files (relative) whose contents decide whether postStart runs again
    /// in a reused worktree.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub setup_key: Vec<String>,
}

impl TaskEnv {
    pub fn is_empty(&self) -> bool {
        *self == TaskEnv::default()
    }
}

/// The first free block of `count` ports from `base` on: overlapping none of `taken`, and every
/// port of it `free` (checked when assigned). `None` when the port range runs out.
pub fn allocate(
    base: u16,
    count: u16,
    taken: &[Ports],
    free: impl Fn(u16) -> bool,
) -> Option<Ports> {
    if count == 0 {
        return None;
    }
    let mut first = u32::from(base);
    while first + u32::from(count) <= 65536 {
        let block = Ports {
            first: u16::try_from(first).ok()?,
            count,
        };
        let clash = taken.iter().find(|t| t.overlaps(&block));
        if let Some(t) = clash {
            first = u32::from(t.first) + u32::from(t.count);
            continue;
        }
        match (0..count).find(|i| !free(block.first + i)) {
            Some(busy) => first += u32::from(busy) + 1,
            None => return Some(block),
        }
    }
    None
}

/// A block for the test gate's temporary worktree (`parallel.ports` on): free now and no task
/// worktree's; recorded nowhere, as the worktree lives only while the test runs.
pub fn gate_ports(repo: &crate::git::Repo) -> Option<Ports> {
    let count = u16::try_from(repo.settings.ports().ok()?).ok()?;
    let base = u16::try_from(repo.settings.port_base().ok()?).ok()?;
    allocate(base, count, &taken(&repo.common_dir), port_free)
}

/// Whether nothing listens on `port` of the loopback interface (a bind succeeds).
pub fn port_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// The git admin directory of the worktree at `path` (from its `.git` file).
pub fn admin_dir(path: &Utf8Path) -> Option<Utf8PathBuf> {
    let text = std::fs::read_to_string(path.join(".git")).ok()?;
    let dir = text.strip_prefix("gitdir:")?.trim();
    let dir = Utf8PathBuf::from(dir);
    Some(if dir.is_absolute() {
        dir
    } else {
        path.join(dir)
    })
}

fn read_ports(admin: &Utf8Path) -> Option<Ports> {
    let text = std::fs::read_to_string(admin.join("parallel-ports")).ok()?;
    let mut it = text.split_whitespace().map(str::parse::<u16>);
    let (Some(Ok(first)), Some(Ok(count))) = (it.next(), it.next()) else {
        return None;
    };
    Some(Ports { first, count })
}

/// The port block of the task worktree at `path`, if it has one.
pub fn ports_of(path: &Utf8Path) -> Option<Ports> {
    read_ports(&admin_dir(path)?)
}

/// The port blocks of every worktree of the repository at `common_dir`, parked ones left out.
pub fn taken(common_dir: &Utf8Path) -> Vec<Ports> {
    let Ok(dirs) = std::fs::read_dir(common_dir.join("worktrees")) else {
        return Vec::new();
    };
    dirs.filter_map(|d| Utf8PathBuf::from_path_buf(d.ok()?.path()).ok())
        .filter(|admin| {
            let at = std::fs::read_to_string(admin.join("gitdir")).unwrap_or_default();
            !at.contains(&format!("/{}/", super::steps::shared::POOL_DIR))
        })
        .filter_map(|admin| read_ports(&admin))
        .collect()
}

/// Writes what `env` makes of the worktree at `path` (its port record, its env file) and says
/// whether postStart must run: not when `env` has a setup key whose files hash as they did
/// after the worktree's last successful postStart. Returns the variables for postStart.
pub(super) fn prepare(path: &Utf8Path, env: &TaskEnv) -> Result<(Vec<(String, String)>, bool)> {
    let admin = admin_dir(path);
    if let Some(admin) = &admin {
        let record = admin.join("parallel-ports");
        match env.ports {
            Some(p) => std::fs::write(&record, format!("{} {}\n", p.first, p.count))
                .map_err(|e| crate::fatal!("cannot record the port block in {record}: {e}"))?,
            None => {
                let _ = std::fs::remove_file(&record);
            }
        }
    }
    if let Some(f) = &env.env_file {
        let dest = path.join(&f.rel);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&dest, &f.text)
            .map_err(|e| crate::fatal!("cannot write the environment file {dest}: {e}"))?;
    }
    let vars = env.ports.map(|p| p.env()).unwrap_or_default();
    let unchanged = !env.setup_key.is_empty()
        && admin.as_ref().is_some_and(|a| {
            std::fs::read_to_string(a.join("parallel-setup-key"))
                .is_ok_and(|old| old.trim() == key_hash(path, &env.setup_key))
        });
    Ok((vars, !unchanged))
}

/// After postStart succeeded: the setup key's hash kept for the next take of the worktree.
pub(super) fn set_up(path: &Utf8Path, env: &TaskEnv) {
    if env.setup_key.is_empty() {
        return;
    }
    if let Some(admin) = admin_dir(path) {
        let _ = std::fs::write(
            admin.join("parallel-setup-key"),
            key_hash(path, &env.setup_key) + "\n",
        );
    }
}

/// A hash of the names and contents of the key files (a missing file counts as such).
fn key_hash(path: &Utf8Path, files: &[String]) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for f in files {
        h.write(f.as_bytes());
        h.write_u8(0);
        match std::fs::read(path.join(f)) {
            Ok(bytes) => {
                h.write_u8(1);
                h.write(&bytes);
            }
            Err(_) => h.write_u8(2),
        }
    }
    format!("{:016x}", h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocate_skips_taken_blocks_and_busy_ports() {
        let taken = [Ports {
            first: 3000,
            count: 3,
        }];
        let got = allocate(3000, 3, &taken, |_| true);
        assert_eq!(
            got,
            Some(Ports {
                first: 3003,
                count: 3
            })
        );
        let got = allocate(3000, 3, &taken, |p| p != 3004);
        assert_eq!(
            got,
            Some(Ports {
                first: 3005,
                count: 3
            })
        );
        assert_eq!(allocate(65534, 3, &[], |_| true), None);
        assert_eq!(allocate(3000, 0, &[], |_| true), None);
        assert_eq!(Ports { first: 7, count: 2 }.list(), "7 8");
    }
}
