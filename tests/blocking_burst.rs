//! A burst of many short jobs is drained by a few threads: the pool does not
//! start a thread per queued job.
#![cfg(feature = "std")]

#[path = "support/sys.rs"]
mod sys;

#[test]
#[cfg_attr(miri, ignore = "counts threads through /proc")]
fn burst_of_short_jobs_uses_few_threads() {
    let jobs: Vec<_> = (0..10_000u64)
        .map(|i| pasts::spawn_blocking(move || i.wrapping_mul(3)))
        .collect();
    let peak = sys::pool_threads();
    let sum: u64 = jobs.into_iter().map(pasts::block_on).sum();
    assert_eq!(sum, 3 * (0..10_000u64).sum::<u64>());
    let peak = peak.max(sys::pool_threads());
    // One worker per CPU but one and the watcher, plus a few more if the
    // machine is so busy that the pool looks stalled; never one per job.
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    assert!(peak <= cpus + 16, "10,000 short jobs left {peak} threads");
}
