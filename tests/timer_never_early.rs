//! A timer is never ready before its deadline (strict lower bound), over
//! many runs and several durations, through `new` and `at`.
#![cfg(feature = "linux")]

mod common;

use pasts::linux::Timer;
use std::future::Future;
use std::pin::pin;
use std::task::Context;
use std::time::{Duration, Instant};

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn never_early_over_50_runs() {
    for i in 0..50u64 {
        // 50 µs .. 2.5 ms, with odd nanoseconds to catch rounding.
        let d = Duration::from_nanos(50_000 * (i % 50 + 1) + 777);
        let start = Instant::now();
        pasts::block_on(Timer::new(d).unwrap());
        let elapsed = start.elapsed();
        assert!(elapsed >= d, "run {i}: ready after {elapsed:?} < {d:?}");

        let deadline = Instant::now() + d;
        pasts::block_on(Timer::at(deadline).unwrap());
        let now = Instant::now();
        assert!(
            now >= deadline,
            "run {i}: at() ready {:?} early",
            deadline - now
        );
    }
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn zero_and_huge_durations() {
    // Zero: ready at the first poll, no registration needed.
    let (_, polls, _) = common::park_block_on(Timer::new(Duration::ZERO).unwrap());
    assert_eq!(polls, 1);
    // `Duration::MAX` saturates to "never" instead of overflowing.
    let never = Timer::new(Duration::MAX).unwrap();
    let (_, waker) = common::Counter::unparking();
    let mut cx = Context::from_waker(&waker);
    let mut never = pin!(never);
    assert!(never.as_mut().poll(&mut cx).is_pending());
}
