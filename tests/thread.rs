//! `ThreadInterrupt` and `block_on` (feature `std`): misuse that would hang
//! is detected.
#![cfg(feature = "std")]

use pasts::prelude::*;
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::task::Poll;
use std::thread;
use std::time::Duration;

#[test]
fn two_threads_waiting_on_one_interrupt_panic_naming_the_fix() {
    static SHARED: pasts::ThreadInterrupt = pasts::ThreadInterrupt::new();
    static DONE: AtomicBool = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel();
    let waiters: Vec<_> = (0..2)
        .map(|_| {
            let tx = tx.clone();
            thread::spawn(move || {
                let out = std::panic::catch_unwind(|| {
                    SHARED.block_on(poll_fn(|_| {
                        if DONE.load(Ordering::Acquire) {
                            Poll::Ready(())
                        } else {
                            Poll::Pending
                        }
                    }))
                });
                tx.send(out.err()).unwrap();
            })
        })
        .collect();
    // The second to sleep finds the first asleep and panics.
    let first = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("no panic: a hang");
    let payload = first.expect("the first to return panicked");
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap();
    assert!(message.contains("two threads"), "{message}");
    assert!(message.contains("its own ThreadInterrupt"), "{message}");
    // The other one still finishes once woken.
    DONE.store(true, Ordering::Release);
    SHARED.interrupt();
    let second = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the sleeper hung");
    assert!(second.is_none(), "the sleeper panicked too");
    for waiter in waiters {
        waiter.join().unwrap();
    }
}
