//! A user's own `static` interrupt — an `AtomicBool` spin, as on a
//! microcontroller — drives `block_on` with no allocator and no `std`
//! features: run it with `cargo test --no-default-features --test
//! static_interrupt`.

use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use core::task::{Context, Poll};
use pasts::prelude::*;

struct Spin {
    flag: AtomicBool,
    waits: AtomicU32,
}

impl Interrupt for Spin {
    fn interrupt(&self) {
        self.flag.store(true, Ordering::Release);
    }

    fn wait_for(&self) {
        self.waits.fetch_add(1, Ordering::Relaxed);
        while !self.flag.swap(false, Ordering::Acquire) {
            core::hint::spin_loop();
        }
    }
}

static SPIN: Spin = Spin {
    flag: AtomicBool::new(false),
    waits: AtomicU32::new(0),
};

/// Pending `left` times, waking itself each time.
struct Countdown(u32);

impl Future for Countdown {
    type Output = &'static str;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        if self.0 == 0 {
            return Poll::Ready("liftoff");
        }
        self.0 -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn static_spin_interrupt_drives_block_on() {
    let before = SPIN.waits.load(Ordering::Relaxed);
    assert_eq!(SPIN.block_on(Countdown(50)), "liftoff");
    // One wait per pending poll: the executor slept exactly when it should.
    assert_eq!(SPIN.waits.load(Ordering::Relaxed) - before, 50);
}

#[test]
fn static_spin_interrupt_woken_from_another_thread() {
    struct Once(bool);
    impl Future for Once {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                return Poll::Ready(());
            }
            self.0 = true;
            let waker = cx.waker().clone();
            std::thread::spawn(move || waker.wake());
            Poll::Pending
        }
    }
    static OTHER: Spin = Spin {
        flag: AtomicBool::new(false),
        waits: AtomicU32::new(0),
    };
    OTHER.block_on(Once(false));
}
