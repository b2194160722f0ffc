//! The pool starts no thread before the first job, and threads that stay
//! idle for the keep-alive time (shortened here through
//! `PASTS_BLOCKING_KEEP_ALIVE_MS`) exit.
#![cfg(feature = "std")]

mod common;
#[path = "support/sys.rs"]
mod sys;

use std::sync::{Arc, Barrier};

#[test]
#[cfg_attr(miri, ignore = "counts threads through /proc")]
fn idle_threads_exit() {
    // Before the first job: the only test in this file, so no job ran yet.
    std::env::set_var("PASTS_BLOCKING_KEEP_ALIVE_MS", "100");
    assert_eq!(
        sys::pool_threads(),
        0,
        "a thread started before the first job"
    );

    // Jobs that wait for each other force the pool to grow to 8 threads.
    let barrier = Arc::new(Barrier::new(8));
    let jobs: Vec<_> = (0..8)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            pasts::spawn_blocking(move || {
                barrier.wait();
            })
        })
        .collect();
    jobs.into_iter().for_each(pasts::block_on);
    assert!(sys::pool_threads() >= 8);

    common::eventually(30, "idle threads to exit", || sys::pool_threads() == 0);

    // The pool starts again after it emptied.
    assert_eq!(pasts::block_on(pasts::spawn_blocking(|| 3)), 3);
}
