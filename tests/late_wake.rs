//! Wakers that outlive `block_on` — kept, sent to another thread, leaked —
//! stay sound to use; waking them is a no-op for the finished executor.
//! Runs under Miri.

#![cfg(feature = "std")]

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// Ready at once, leaving a clone of its waker in `slot`.
struct Leave(Arc<Mutex<Option<Waker>>>);

impl Future for Leave {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(cx.waker().clone());
        }
        Poll::Ready(())
    }
}

fn kept_waker(run: impl FnOnce(Leave)) -> Waker {
    let slot = Arc::new(Mutex::new(None));
    run(Leave(Arc::clone(&slot)));
    let waker = slot.lock().unwrap().take();
    waker.expect("the future stored its waker")
}

#[test]
fn waker_woken_after_block_on_returned() {
    let waker = kept_waker(pasts::block_on);
    waker.wake_by_ref();
    let clone = waker.clone();
    clone.wake();
    drop(waker);
    // The thread still works, and the stale wake-up does no harm.
    assert_eq!(pasts::block_on(async { 3 }), 3);
}

#[test]
fn waker_woken_from_another_thread_after_the_thread_ended() {
    let waker = std::thread::spawn(|| kept_waker(pasts::block_on))
        .join()
        .unwrap();
    // The executor's thread and its thread-local state are gone.
    let other = std::thread::spawn(move || {
        waker.wake_by_ref();
        waker.wake();
    });
    other.join().unwrap();
}

#[test]
#[cfg_attr(miri, ignore = "leaks a waker on purpose, which Miri reports")]
fn waker_leaked() {
    let waker = kept_waker(pasts::block_on);
    std::mem::forget(waker.clone());
    waker.wake();
}

#[test]
fn static_interrupt_waker_outlives_block_on() {
    use pasts::prelude::*;
    static INTERRUPT: pasts::ThreadInterrupt = pasts::ThreadInterrupt::new();

    let waker = kept_waker(|f| INTERRUPT.block_on(f));
    std::thread::spawn(move || waker.wake()).join().unwrap();
    // The remembered wake-up makes one extra poll at most; still correct.
    assert_eq!(INTERRUPT.block_on(async { 4 }), 4);
}
