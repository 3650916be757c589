//! SIGINT, SIGTERM and SIGHUP during a transaction: the handler only records the signal (and
//! passes it on to the test gate's process group); the engine checks between steps and, before
//! the commit point, stops and rolls back by itself. After the commit point the operation is
//! completed (its remaining steps are quick cleanup).

use std::sync::atomic::{AtomicI32, Ordering};

/// The signal received (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);
/// The process group of the running test command (0: none).
static TEST_GROUP: AtomicI32 = AtomicI32::new(0);

const SIGNALS: [i32; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

extern "C" fn on_signal(sig: i32) {
    RECEIVED.store(sig, Ordering::SeqCst);
    let group = TEST_GROUP.load(Ordering::SeqCst);
    if group > 0 {
        // SAFETY: kill(2) is async-signal-safe.
        unsafe {
            libc::kill(-group, sig);
        }
    }
}

/// Installs the handlers for the time of a transaction.
pub fn install() {
    for sig in SIGNALS {
        // SAFETY: the handler only does atomic stores/loads and kill(2), all async-signal-safe.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as *const () as usize;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
}

/// The signal received since the handlers were installed, if any.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// The name of a signal, for messages.
pub fn name(sig: i32) -> &'static str {
    match sig {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}

/// Records the process group of the test command while it runs (0 when it ended).
pub fn set_test_group(pgid: i32) {
    TEST_GROUP.store(pgid, Ordering::SeqCst);
}
