//! `Interval`: one tick per period, no drift (deadline n = start + n *
//! period however long each tick's work takes), missed ticks skipped while
//! keeping the phase.
#![cfg(feature = "linux")]

mod common;

use pasts::linux::Interval;
use std::time::{Duration, Instant};

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn fifty_ticks_no_drift_no_missed_tick() {
    const TICKS: u32 = 50;
    let period = Duration::from_millis(10);
    let start = Instant::now();
    let mut interval = Interval::new(period).unwrap();
    pasts::block_on(async {
        for n in 1..=TICKS {
            (&mut interval).await;
            let elapsed = start.elapsed();
            assert!(elapsed >= period * n, "tick {n} early: {elapsed:?}");
            // Work that takes half the period: an interval that re-armed
            // "now + period" after each tick would drift by 5 ms a tick
            // (250 ms in all).
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    let elapsed = start.elapsed();
    // 500 ms of schedule; a drifting interval needs >= 750 ms, one that
    // misses every other tick >= 1 s. Loose bound for a busy machine.
    assert!(
        elapsed < period * TICKS + Duration::from_millis(220),
        "{elapsed:?}"
    );
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn missed_ticks_are_skipped_keeping_phase() {
    let period = Duration::from_millis(200);
    let start = Instant::now();
    let mut interval = Interval::new(period).unwrap();
    // Busy for 3.5 periods: the ticks due at 200, 400 and 600 ms are missed.
    std::thread::sleep(period * 7 / 2);
    pasts::block_on(&mut interval); // one tick for all of them, at once
    let late = start.elapsed();
    assert!(late < period * 4, "the late tick waited: {late:?}");
    // No burst: the next tick is the schedule's next one, at 800 ms (a
    // policy that restarted the schedule would wait until 900 ms).
    pasts::block_on(&mut interval);
    let next = start.elapsed();
    assert!(next >= period * 4, "burst or early: {next:?}");
    assert!(next < period * 4 + period * 2 / 5, "phase lost: {next:?}");
}

#[test]
fn zero_period_is_an_error() {
    let err = Interval::new(Duration::ZERO).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn one_tick_per_due_deadline_when_polled_late() {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::Context;

    let period = Duration::from_millis(200);
    let (counter, waker) = common::Counter::unparking();
    let mut cx = Context::from_waker(&waker);
    let mut interval = Interval::new(period).unwrap();
    let start = Instant::now();
    let mut poll = |i: &mut Interval| Pin::new(i).poll(&mut cx).is_ready();
    assert!(!poll(&mut interval)); // queued for the first tick
                                   // The first tick fires (and wakes) while the task is busy.
    std::thread::sleep(period * 5 / 4);
    while counter.wakes() == 0 {
        assert!(start.elapsed() < Duration::from_secs(10), "never woken");
        std::thread::park_timeout(period);
    }
    assert!(poll(&mut interval));
    // The fired slot must not count again: not ready before the second tick.
    for _ in 0..2 {
        let early = poll(&mut interval);
        assert!(!early || start.elapsed() >= period * 2, "double tick");
    }
    pasts::block_on(&mut interval);
    assert_eq!(counter.wakes(), 1);
}
