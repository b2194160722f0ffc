//! Sequential jobs reuse the pool's threads instead of starting one each.
#![cfg(feature = "std")]

#[path = "support/sys.rs"]
mod sys;

#[test]
#[cfg_attr(miri, ignore = "counts threads through /proc")]
fn sequential_jobs_stay_on_few_threads() {
    let mut ids = std::collections::HashSet::new();
    let mut peak = 0;
    for i in 0..200u32 {
        let (out, id) = pasts::block_on(pasts::spawn_blocking(move || {
            (i * 2, std::thread::current().id())
        }));
        assert_eq!(out, i * 2);
        ids.insert(id);
        peak = peak.max(sys::pool_threads());
    }
    assert!(peak >= 1, "no pool thread seen");
    assert!(peak <= 4, "200 sequential jobs used {peak} threads at once");
    assert!(
        ids.len() <= 4,
        "200 sequential jobs ran on {} threads",
        ids.len()
    );
}
