//! The same timer code runs on `pasts::block_on` and on a hand-written
//! executor (the reactor thread wakes whatever waker it was given); the
//! futures are `Send`, `Sync`, `Unpin` and `Debug`.
#![cfg(feature = "linux")]

mod common;

use common::park_block_on;
use pasts::linux::{Interval, Timer};
use std::time::{Duration, Instant};

async fn work() -> Duration {
    let start = Instant::now();
    Timer::new(Duration::from_millis(3)).unwrap().await;
    let mut interval = Interval::new(Duration::from_millis(2)).unwrap();
    for _ in 0..3 {
        (&mut interval).await;
    }
    start.elapsed()
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn pasts_block_on() {
    assert!(pasts::block_on(work()) >= Duration::from_millis(9));
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn hand_written_executor() {
    let (elapsed, polls, _) = park_block_on(work());
    assert!(elapsed >= Duration::from_millis(9));
    // Registered and woken, not spun: a handful of polls per await.
    assert!(polls < 40, "{polls} polls");
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn from_another_thread() {
    // Made on one thread, awaited on another.
    let timer = Timer::new(Duration::from_millis(5)).unwrap();
    let start = Instant::now();
    std::thread::spawn(move || pasts::block_on(timer))
        .join()
        .unwrap();
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn traits() {
    fn check<T: Send + Sync + Unpin + std::fmt::Debug>() {}
    check::<Timer>();
    check::<Interval>();
}
