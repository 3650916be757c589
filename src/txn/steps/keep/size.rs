//! Disk sizes of kept ignored files: measured (not following links) and written like
//! `du --si`.

use std::path::Path;

/// The size of everything under `p` (not following links; unreadable parts count as 0).
pub fn size_of(p: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(p) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    let Ok(entries) = std::fs::read_dir(p) else {
        return 0;
    };
    entries.flatten().map(|e| size_of(&e.path())).sum()
}

/// `512 B`, `3.4 KB`, `2.2 GB` (powers of 1000, like `du --si`).
pub fn human(bytes: u64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < units.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_read_like_du_si() {
        assert_eq!(super::human(512), "512 B");
        assert_eq!(super::human(3_400), "3.4 KB");
        assert_eq!(super::human(2_200_000_000), "2.2 GB");
    }
}
