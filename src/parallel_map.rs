//! One bounded parallel map: runs a function over a slice on at most N scoped threads and
//! returns the results in input order. Used wherever work fans out per worktree or per step
//! (the engine's worktree step groups, `status` of many worktrees, `exec` jobs).

use std::sync::atomic::{AtomicUsize, Ordering};

/// The number of CPUs, or `fallback` when it cannot be told.
pub fn cpus_or(fallback: usize) -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(fallback)
}

/// `f` over every item, at most `max` at once (0 counts as 1); results in input order.
/// Items are handed out one at a time, so a slow item does not hold back the others. A panic
/// in `f` is passed on to the caller once the other workers have stopped.
pub fn map_bounded<T: Sync, R: Send>(
    items: &[T],
    max: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let workers = max.max(1).min(items.len());
    let next = AtomicUsize::new(0);
    let (next, f) = (&next, &f);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(move || {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(item) = items.get(i) else { break };
                        mine.push((i, f(item)));
                    }
                    mine
                })
            })
            .collect();
        let mut all = Vec::with_capacity(items.len());
        for h in handles {
            match h.join() {
                Ok(mine) => all.extend(mine),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        all
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn results_keep_input_order() {
        let items: Vec<u32> = (0..50).collect();
        let out = map_bounded(&items, 4, |n| n * 2);
        assert_eq!(out, (0..50).map(|n| n * 2).collect::<Vec<_>>());
    }

    #[test]
    fn zero_and_one_mean_one_at_a_time() {
        for max in [0, 1] {
            let running = AtomicUsize::new(0);
            let peak = AtomicUsize::new(0);
            let out = map_bounded(&[1, 2, 3, 4], max, |n| {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                std::thread::yield_now();
                running.fetch_sub(1, Ordering::SeqCst);
                n + 1
            });
            assert_eq!(out, vec![2, 3, 4, 5]);
            assert_eq!(peak.load(Ordering::SeqCst), 1);
        }
    }

    #[test]
    fn never_more_than_max_at_once() {
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let items: Vec<usize> = (0..40).collect();
        let out = map_bounded(&items, 3, |n| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(1));
            running.fetch_sub(1, Ordering::SeqCst);
            *n
        });
        assert_eq!(out, items);
        assert!(peak.load(Ordering::SeqCst) <= 3);
    }

    #[test]
    fn empty_input_gives_empty_output() {
        let out: Vec<u8> = map_bounded(&[] as &[u8], 8, |n| *n);
        assert!(out.is_empty());
    }

    #[test]
    fn every_item_runs_exactly_once() {
        let calls = AtomicUsize::new(0);
        let items = vec![(); 100];
        let out = map_bounded(&items, 7, |_| calls.fetch_add(1, Ordering::SeqCst));
        assert_eq!(out.len(), 100);
        assert_eq!(calls.load(Ordering::SeqCst), 100);
    }

    #[test]
    fn cpus_is_positive() {
        assert!(cpus_or(2) >= 1);
    }
}
