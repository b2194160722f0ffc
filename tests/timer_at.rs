//! `Timer::at`: ready at (not before) an `Instant`, at once for one that has
//! passed.
#![cfg(feature = "linux")]

mod common;

use common::park_block_on;
use pasts::linux::Timer;
use std::time::{Duration, Instant};

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn ready_at_the_instant() {
    let deadline = Instant::now() + Duration::from_millis(20);
    let timer = Timer::at(deadline).unwrap();
    let ((), polls, _) = park_block_on(timer);
    assert!(Instant::now() >= deadline);
    // One poll to register, one after the wake (a spurious unpark may add
    // one; a busy loop would add thousands).
    assert!(polls <= 4, "{polls} polls");
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn past_instant_is_ready_at_once() {
    let past = Instant::now() - Duration::from_millis(5);
    let ((), polls, _) = park_block_on(Timer::at(past).unwrap());
    assert_eq!(polls, 1);
    let ((), polls, _) = park_block_on(Timer::at(Instant::now()).unwrap());
    assert_eq!(polls, 1);
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn at_and_new_agree() {
    // A timer made with `at` for the same instant as a `new` one is ready in
    // the same pass, and neither before the instant.
    let start = Instant::now();
    let d = Duration::from_millis(15);
    let (a, b) = (Timer::at(start + d).unwrap(), Timer::new(d).unwrap());
    park_block_on(a);
    park_block_on(b);
    assert!(start.elapsed() >= d);
}

/// Pending once, waking itself: lets the other half of a join run.
struct YieldOnce(bool);

impl std::future::Future for YieldOnce {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if std::mem::replace(&mut self.0, true) {
            return std::task::Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn past_instant_is_ready_at_once_while_passes_run_late() {
    use common::{poll, Counter};
    use pasts::prelude::*;

    // Deadlines 5 µs apart come due for 10 ms while this thread stays busy
    // (its passes run late, `armed` is in the past or left due); meanwhile a
    // timer for an instant just passed is made and polled once, again and
    // again: it must be ready on that first poll.
    let base = Instant::now() + Duration::from_millis(20);
    let dense = (0..2000u64)
        .map(|i| Timer::at(base + Duration::from_micros(5 * i)).unwrap())
        .collect::<Vec<_>>()
        .join();
    let (_, waker) = Counter::new();
    let probe = async {
        let mut pending = 0;
        while Instant::now() < base + Duration::from_millis(10) {
            let mut timer = Timer::at(Instant::now()).unwrap();
            if poll(std::pin::Pin::new(&mut timer), &waker).is_pending() {
                pending += 1;
            }
            // Let the dense timers' passes run between probes.
            YieldOnce(false).await;
        }
        pending
    };
    let (_, pending) = pasts::block_on((dense, probe).join());
    assert_eq!(pending, 0, "a past instant was not ready at its first poll");
}
