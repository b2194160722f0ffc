//! Many jobs queued at once all complete, including jobs that can only
//! finish together (the pool must grow for them).
#![cfg(feature = "std")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

#[test]
fn thousand_concurrent_jobs_complete() {
    let n = if cfg!(miri) { 50 } else { 1000 };
    let ran = Arc::new(AtomicUsize::new(0));
    let jobs: Vec<_> = (0..n)
        .map(|i| {
            let ran = Arc::clone(&ran);
            pasts::spawn_blocking(move || {
                ran.fetch_add(1, Ordering::Relaxed);
                i
            })
        })
        .collect();
    let outs: Vec<usize> = jobs.into_iter().map(pasts::block_on).collect();
    assert_eq!(outs, (0..n).collect::<Vec<_>>());
    assert_eq!(ran.load(Ordering::Relaxed), n);
}

#[test]
fn jobs_waiting_for_each_other_get_threads() {
    let n = if cfg!(miri) { 4 } else { 16 };
    let barrier = Arc::new(Barrier::new(n));
    let jobs: Vec<_> = (0..n)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            pasts::spawn_blocking(move || {
                barrier.wait();
                i
            })
        })
        .collect();
    let outs: Vec<usize> = jobs.into_iter().map(pasts::block_on).collect();
    assert_eq!(outs, (0..n).collect::<Vec<_>>());
}
