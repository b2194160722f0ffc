//! 10,000 concurrent timers all complete, with a handful of fds open.
#![cfg(feature = "linux")]

mod common;
#[path = "support/sys.rs"]
mod sys;

use common::Counter;
use pasts::linux::Timer;
use std::future::Future;
use std::pin::Pin;
use std::task::Context;
use std::time::{Duration, Instant};
use sys::open_fds;

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn ten_thousand_timers_few_fds() {
    const N: usize = 10_000;
    // Start the driver (its timerfd, the reactor's epoll) before counting.
    drop(Timer::new(Duration::ZERO).unwrap());
    let fds_before = open_fds();
    let start = Instant::now();
    let (counter, waker) = Counter::unparking();
    let mut cx = Context::from_waker(&waker);
    let mut timers: Vec<Pin<Box<Timer>>> = (0..N)
        .map(|i| {
            let d = Duration::from_micros(20_000 + (i as u64 * 7919) % 80_000);
            Box::pin(Timer::new(d).unwrap())
        })
        .collect();
    let mut pending: Vec<usize> = (0..N).collect();
    let mut peak_fds = 0;
    while !pending.is_empty() {
        pending.retain(|&i| timers[i].as_mut().poll(&mut cx).is_pending());
        peak_fds = peak_fds.max(open_fds());
        if !pending.is_empty() {
            std::thread::park_timeout(Duration::from_millis(50));
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{} never fired",
            pending.len()
        );
    }
    assert!(start.elapsed() >= Duration::from_millis(20));
    assert!(peak_fds < 100, "{peak_fds} fds open");
    assert!(
        peak_fds <= fds_before + 1,
        "{fds_before} fds before, {peak_fds} while waiting"
    );
    // Woken at least once, and not once per timer per pass: batched.
    assert!(counter.wakes() >= 1);
}
