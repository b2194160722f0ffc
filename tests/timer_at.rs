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
