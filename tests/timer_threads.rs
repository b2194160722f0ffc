//! Timers made, awaited and dropped on several threads at once, racing with
//! the passes that fire them: none is early, none hangs, cancelled ones are
//! never woken.
#![cfg(feature = "linux")]

mod common;

use common::Counter;
use pasts::linux::Timer;
use std::future::Future;
use std::pin::Pin;
use std::task::Context;
use std::time::{Duration, Instant};

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn racing_threads() {
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            std::thread::spawn(move || {
                let mut seed = 0x9E37_79B9_7F4A_7C15 ^ (t + 1);
                let mut rng = move || {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed
                };
                // Cancelled timers dropped before their deadline: their
                // wakers must never be called.
                let mut cancelled = Vec::new();
                for _ in 0..300 {
                    let d = Duration::from_micros(rng() % 300);
                    let start = Instant::now();
                    // One awaited to the end...
                    pasts::block_on(Timer::new(d).unwrap());
                    assert!(start.elapsed() >= d, "early");
                    // ...and one cancelled while queued, near its deadline.
                    let d = Duration::from_micros(200 + rng() % 300);
                    let deadline = Instant::now() + d;
                    let mut dropped = Timer::new(d).unwrap();
                    let (counter, waker) = Counter::unparking();
                    let _ = Pin::new(&mut dropped).poll(&mut Context::from_waker(&waker));
                    std::thread::sleep(Duration::from_micros(rng() % 150));
                    drop(dropped);
                    // A drop that ended after the deadline may race with the
                    // expiry (documented); one that ended before may not.
                    if Instant::now() < deadline {
                        cancelled.push(counter);
                    }
                }
                std::thread::sleep(Duration::from_millis(2));
                assert!(cancelled.iter().all(|c| c.wakes() == 0), "woken after drop");
                cancelled.len()
            })
        })
        .collect();
    let checked: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(checked > 0, "no timer was dropped before its deadline");
}
