//! A one-line progress display on stderr (`[3/16] add worktree …`) for work that can take more
//! than a moment. Shown only when stderr is a terminal and neither `--quiet` nor `--json` is
//! given; otherwise every call is a no-op. Safe to use from several threads.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

static ENABLED: AtomicBool = AtomicBool::new(false);
static LINE: Mutex<()> = Mutex::new(());

/// Turns progress on for this process (decided once, from the output settings).
pub fn enable(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Progress over a known number of items.
pub struct Progress {
    total: usize,
    done: AtomicUsize,
    label: String,
    on: bool,
}

impl Progress {
    pub fn new(total: usize, label: &str) -> Progress {
        Progress {
            total,
            done: AtomicUsize::new(0),
            label: label.to_string(),
            on: ENABLED.load(Ordering::Relaxed) && total > 1,
        }
    }

    /// Shows that `what` is under way.
    pub fn show(&self, what: &str) {
        if !self.on {
            return;
        }
        let done = self.done.load(Ordering::Relaxed);
        let _guard = LINE.lock();
        let mut err = std::io::stderr().lock();
        let mut text = format!("{} [{}/{}] {what}", self.label, done + 1, self.total);
        if text.chars().count() > 100 {
            text = text.chars().take(99).collect::<String>() + "…";
        }
        let _ = write!(err, "\r\x1b[K{text}");
        let _ = err.flush();
    }

    /// Counts one item as done.
    pub fn tick(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
    }

    /// Clears the line (before other output, and at the end).
    pub fn clear(&self) {
        if !self.on {
            return;
        }
        let _guard = LINE.lock();
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[K");
        let _ = err.flush();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}
