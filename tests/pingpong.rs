//! Lost-wake-up stress: two threads each `block_on` a future that waits for
//! the other's message, 100,000 round trips. A lost wake-up hangs the test.

#![cfg(feature = "std")]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// A one-slot channel: a flag and the waiter's waker.
#[derive(Default)]
struct Slot {
    full: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Slot {
    fn send(&self) {
        self.full.store(true, Ordering::Release);
        let waker = self.waker.lock().unwrap().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn recv(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx: &mut Context<'_>| {
            if self.full.swap(false, Ordering::Acquire) {
                return Poll::Ready(());
            }
            *self.waker.lock().unwrap() = Some(cx.waker().clone());
            // Re-check: a send between the swap and the store would
            // otherwise find no waker.
            if self.full.swap(false, Ordering::Acquire) {
                return Poll::Ready(());
            }
            Poll::Pending
        })
    }
}

fn rounds() -> u32 {
    if cfg!(miri) {
        200
    } else {
        100_000
    }
}

fn ping_pong(run: fn(Pin<&mut (dyn Future<Output = ()> + Send)>)) {
    let ping = Arc::new(Slot::default());
    let pong = Arc::new(Slot::default());
    let (ping2, pong2) = (Arc::clone(&ping), Arc::clone(&pong));
    let n = rounds();
    let other = std::thread::spawn(move || {
        let fut = async move {
            for _ in 0..n {
                ping2.recv().await;
                pong2.send();
            }
        };
        run(std::pin::pin!(fut));
    });
    let fut = async move {
        for _ in 0..n {
            ping.send();
            pong.recv().await;
        }
    };
    run(std::pin::pin!(fut));
    other.join().unwrap();
}

#[test]
fn ping_pong_thread_block_on() {
    ping_pong(|f| pasts::block_on(f));
}

#[test]
fn ping_pong_static_interrupts() {
    use pasts::prelude::*;
    static A: pasts::ThreadInterrupt = pasts::ThreadInterrupt::new();
    static B: pasts::ThreadInterrupt = pasts::ThreadInterrupt::new();
    // Each side needs its own interrupt: only one thread waits on one.
    fn side(f: Pin<&mut (dyn Future<Output = ()> + Send)>) {
        let name = std::thread::current().name().map(str::to_owned);
        if name.as_deref() == Some("ping_pong_static_interrupts") {
            A.block_on(f)
        } else {
            B.block_on(f)
        }
    }
    ping_pong(side);
}
