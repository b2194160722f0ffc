//! `Interrupt` and `block_on`: a user's `static` interrupt with no
//! allocator, select and join without `alloc`, wakers that outlive
//! `block_on`, nested calls, panics, and a cross-thread ping-pong. Parts run
//! with `--no-default-features` (the `cfg` of each module says which).

mod common;

// A user's own `static` interrupt — an `AtomicBool` spin, as on a
// microcontroller — drives `block_on` with no allocator and no `std`
// features: run it with `cargo test --no-default-features --test
// static_interrupt`.
mod static_interrupt {
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
}

/// Polls a future by hand with a no-op waker (no `std` executor).
#[cfg(not(feature = "std"))]
mod by_hand {
    use core::future::Future;
    use core::pin::pin;
    use core::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

    fn noop_raw(_: *const ()) -> RawWaker {
        RawWaker::new(core::ptr::null(), &VTABLE)
    }
    fn noop(_: *const ()) {}
    static VTABLE: RawWakerVTable = RawWakerVTable::new(noop_raw, noop, noop, noop);

    /// Poll `fut` up to 10 times with a no-op waker.
    pub fn run<F: Future>(fut: F) -> Option<F::Output> {
        // SAFETY: the vtable ignores the data pointer.
        let waker = unsafe { Waker::from_raw(noop_raw(core::ptr::null())) };
        let mut cx = Context::from_waker(&waker);
        let mut fut = pin!(fut);
        (0..10).find_map(|_| match fut.as_mut().poll(&mut cx) {
            Poll::Ready(v) => Some(v),
            Poll::Pending => None,
        })
    }
}

// With `alloc` but no `std` (no spare set per thread): select, join,
// `Selector` and `Tasks` on per-branch wakers.
// (Run with `cargo test --no-default-features --features alloc --test interrupt`.)
#[cfg(all(feature = "alloc", not(feature = "std")))]
mod alloc_only {
    use super::by_hand::run;
    use core::future::{pending, ready};
    use pasts::prelude::*;

    #[test]
    fn combinators_work_with_alloc_and_no_std() {
        for _ in 0..3 {
            assert_eq!(run((pending(), ready(4)).select()), Some((1, 4)));
            assert_eq!(run(vec![ready(1), ready(2)].join()), Some(vec![1, 2]));
        }
        let mut selector = pasts::Selector::new([pending().fut(), ready(7).fut()]);
        assert_eq!(run(&mut selector), Some((1, 7)));
        let mut tasks: pasts::Tasks<_> = (0..3).map(ready).collect();
        let mut sum = 0;
        while let Some(v) = run(&mut tasks) {
            sum += v;
        }
        assert_eq!((sum, tasks.len()), (3, 0));
    }
}

// Without `alloc`, select and join poll every unfinished branch with the
// parent's waker, and still give the right answers.
// (Run with `cargo test --no-default-features --test interrupt`.)
#[cfg(not(feature = "alloc"))]
mod no_alloc {
    use super::by_hand::run;
    use core::future::{pending, ready};
    use pasts::prelude::*;

    #[test]
    fn select_and_join_work_without_alloc() {
        assert_eq!(run((pending(), ready(4)).select()), Some((1, 4)));
        let mut sources = [ready(1), ready(2)];
        let (i, v) = run(sources.as_mut_slice().select()).unwrap();
        assert_eq!(v, i + 1);
        assert_eq!(run([ready(1), ready(2)].join()), Some([1, 2]));
        assert_eq!(run((ready('a'), async { 2 }).join()), Some(('a', 2)));
        assert_eq!(run([pending::<()>()].join()), None);
    }
}

// Wakers that outlive `block_on` — kept, sent to another thread, leaked —
// stay sound to use; waking them is a no-op for the finished executor.
// Runs under Miri.
#[cfg(feature = "std")]
mod late_wake {
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
}

// `block_on` inside a future polled by `block_on`, ten deep, with wake-ups
// from other threads at every level: no deadlock, no panic, no lost wake-up.
#[cfg(feature = "std")]
mod nested {
    use crate::common;
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
}

// A panic in the future unwinds out of `block_on`, with its payload, and the
// thread can `block_on` again — also from inside a nested call.
#[cfg(feature = "std")]
mod panic {
    use std::panic::{catch_unwind, AssertUnwindSafe};

    #[test]
    fn panic_unwinds_and_thread_recovers() {
        let caught = catch_unwind(|| pasts::block_on(async { panic!("boom") }));
        let payload = caught.expect_err("the panic must reach the caller");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
        assert_eq!(pasts::block_on(async { 5 }), 5);
    }

    #[test]
    fn panic_in_nested_block_on() {
        let out = pasts::block_on(async {
            let inner = catch_unwind(AssertUnwindSafe(|| {
                pasts::block_on(async { panic!("inner") })
            }));
            assert!(inner.is_err());
            pasts::block_on(async { 6 })
        });
        assert_eq!(out, 6);
        assert_eq!(pasts::block_on(async { 7 }), 7);
    }
}

// Lost-wake-up stress: two threads each `block_on` a future that waits for
// the other's message, 100,000 round trips. A lost wake-up hangs the test.
#[cfg(feature = "std")]
mod pingpong {
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

    /// Fewer under Miri and in the emulated guest (`PASTS_GUEST`).
    fn rounds() -> u32 {
        if cfg!(miri) {
            200
        } else if std::env::var_os("PASTS_GUEST").is_some() {
            10_000
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
        // The test's thread has a name, the other side's thread none.
        fn side(f: Pin<&mut (dyn Future<Output = ()> + Send)>) {
            if std::thread::current().name().is_some() {
                A.block_on(f)
            } else {
                B.block_on(f)
            }
        }
        ping_pong(side);
    }
}
