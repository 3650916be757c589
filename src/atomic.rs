//! Replacing a file (or a directory) atomically, the one way every tmp-then-rename in the crate
//! does it: made under a temporary name beside it (`<name>.git-parallel.tmp`, a leftover of a
//! killed run removed first), a file fsynced, renamed over the old one, the directory fsynced.
//! After a crash the path holds the old or the new content, never a part.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The temporary name beside `path` a replacement is made under.
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".git-parallel.tmp");
    PathBuf::from(name)
}

/// Replaces `path` with what `fill` makes at the temporary path it is given (a file or a
/// directory). On failure the temporary is removed and `path` is untouched.
pub fn replace(
    path: &Path,
    fill: impl FnOnce(&Path) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let tmp = tmp_path(path);
    remove_leftover(&tmp)?;
    let done = fill(&tmp)
        .and_then(|()| sync_if_file(&tmp))
        .and_then(|()| std::fs::rename(&tmp, path));
    if done.is_err() {
        let _ = remove_leftover(&tmp);
        return done;
    }
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically; the new file keeps the permissions of the one it
/// replaces.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    replace(path, |tmp| {
        let mut f = std::fs::File::create(tmp)?;
        f.write_all(bytes)?;
        if let Ok(meta) = std::fs::metadata(path) {
            f.set_permissions(meta.permissions())?;
        }
        Ok(())
    })
}

fn sync_if_file(p: &Path) -> std::io::Result<()> {
    if std::fs::symlink_metadata(p)?.is_file() {
        std::fs::File::open(p)?.sync_all()?;
    }
    Ok(())
}

fn remove_leftover(p: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
        Ok(_) => std::fs::remove_file(p),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_whole_and_keeps_the_mode() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("f");
        std::fs::write(&p, "old").expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o750)).expect("chmod");
        // A leftover of a killed run is no obstacle.
        std::fs::create_dir_all(super::tmp_path(&p).join("x")).expect("leftover");
        super::write(&p, b"new").expect("atomic write");
        assert_eq!(std::fs::read_to_string(&p).expect("read"), "new");
        let mode = std::fs::metadata(&p).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o750);
        assert!(!super::tmp_path(&p).exists());
    }

    #[test]
    fn a_failed_fill_leaves_the_old_file() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("f");
        std::fs::write(&p, "old").expect("write");
        let r = super::replace(&p, |tmp| {
            std::fs::write(tmp, "part")?;
            Err(std::io::Error::other("cut short"))
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read_to_string(&p).expect("read"), "old");
        assert!(!super::tmp_path(&p).exists());
    }
}
