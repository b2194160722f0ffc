//! `block_on` inside a future polled by `block_on`, ten deep, with wake-ups
//! from other threads at every level: no deadlock, no panic, no lost wake-up.

#![cfg(feature = "std")]

mod common;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Pending once; a helper thread wakes it.
struct WokenElsewhere {
    sent: bool,
}

impl Future for WokenElsewhere {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.sent {
            return Poll::Ready(());
        }
        self.sent = true;
        let waker = cx.waker().clone();
        std::thread::spawn(move || waker.wake());
        Poll::Pending
    }
}

fn nest(depth: u32) -> u32 {
    if depth == 0 {
        return 0;
    }
    pasts::block_on(async move {
        WokenElsewhere { sent: false }.await;
        let inner = nest(depth - 1);
        WokenElsewhere { sent: false }.await;
        inner + 1
    })
}

#[test]
fn nested_ten_deep() {
    assert_eq!(nest(10), 10);
}

/// How a test runs a future to completion: `pasts::block_on`, or the
/// trait's `block_on` on a static interrupt.
type BlockOn = fn(&mut dyn FnMut(&mut Context<'_>) -> Poll<()>);

/// Pending once; its first poll runs an inner `block_on` whose future is
/// woken from a thread that first wakes the outer future, then the inner one.
struct Outer {
    step: u8,
    block_on: BlockOn,
}

impl Future for Outer {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.step {
            0 => {
                self.step = 1;
                let outer = cx.waker().clone();
                let block_on = self.block_on;
                block_on(&mut |inner_cx| {
                    if self.step == 2 {
                        return Poll::Ready(());
                    }
                    self.step = 2;
                    let outer = outer.clone();
                    let inner = inner_cx.waker().clone();
                    std::thread::spawn(move || {
                        outer.wake();
                        inner.wake();
                    });
                    Poll::Pending
                });
                Poll::Pending
            }
            _ => Poll::Ready(()),
        }
    }
}

/// The outer future is woken while the inner `block_on` runs: the inner call
/// must not swallow the outer wake-up.
#[test]
fn outer_wake_during_inner_block_on() {
    for _ in 0..100 {
        pasts::block_on(Outer {
            step: 0,
            block_on: |f| pasts::block_on(std::future::poll_fn(f)),
        });
    }
}

/// The same with the trait's `block_on` on one `static` interrupt, which
/// both levels share.
#[test]
fn static_interrupt_outer_wake_during_inner_block_on() {
    use pasts::prelude::*;
    use std::time::Duration;

    static INTERRUPT: pasts::ThreadInterrupt = pasts::ThreadInterrupt::new();

    // A timeout: a lost wake-up, the outer block_on never woke.
    let limit = Duration::from_secs(if cfg!(miri) { 600 } else { 20 });
    common::within(limit, || {
        for _ in 0..100 {
            INTERRUPT.block_on(Outer {
                step: 0,
                block_on: |f| INTERRUPT.block_on(std::future::poll_fn(f)),
            });
        }
    });
}
