//! The waker core behind select, join, `Selector` and `Tasks`: branch
//! wakers are sound however they are used (kept after the combinator is
//! gone, cloned and dropped in any order, woken from other threads, after
//! their thread ended, while the owner is dropped and remade) and no wake is
//! lost, also one from a signal handler on the polling thread. Meant for
//! Miri too (except the signal test).
#![cfg(feature = "std")]

mod common;
mod select_util;

use common::{poll, within, Counter};
use pasts::prelude::*;
use select_util::{size, Board};
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Poll, Waker};
use std::thread;
use std::time::Duration;

#[test]
fn wakers_outlive_the_select() {
    let board = Board::new(3);
    let (parent, waker) = Counter::new();
    let kept: Vec<Waker>;
    {
        let mut fut = Box::pin(board.children::<3>().select());
        assert!(poll(fut.as_mut(), &waker).is_pending());
        kept = (0..3)
            .map(|i| board.waker(i).expect("registered"))
            .collect();
    }
    // The select (and its handle on the shared allocation) is gone; the
    // wakers keep the allocation alive. Waking them is harmless.
    let copies = kept.to_vec();
    for w in &kept {
        w.wake_by_ref();
    }
    for w in &kept {
        w.wake_by_ref();
    }
    assert!(
        parent.wakes() <= 3,
        "a dead select wakes its task at most once per branch"
    );
    drop(kept);
    for w in copies {
        w.wake();
    }
    // The board still holds the registered wakers: dropped last, with it.
}

#[test]
fn clones_drop_in_any_order() {
    let board = Board::new(2);
    let (_parent, waker) = Counter::new();
    let mut fut = pin!(board.children::<2>().select());
    assert!(poll(fut.as_mut(), &waker).is_pending());
    let a = board.waker(0).expect("registered");
    let b = a.clone();
    let c = board.waker(1).expect("registered");
    assert!(a.will_wake(&b));
    assert!(!a.will_wake(&c));
    drop(a);
    c.wake_by_ref();
    drop(c);
    board.fire(0);
    b.wake();
    assert!(matches!(
        poll(fut.as_mut(), &waker),
        Poll::Ready((0 | 1, _))
    ));
}

#[test]
fn branch_woken_from_another_thread() {
    let board = Board::new(4);
    let (tx, rx) = mpsc::channel::<Waker>();
    let (i, v) = pasts::block_on(async {
        let mut children = board.children::<4>();
        let mut fut = pin!(children.as_mut_slice().select());
        // First poll registers every branch; hand branch 3's waker over.
        let first = std::future::poll_fn(|cx| {
            let out = fut.as_mut().poll(cx);
            if out.is_pending() {
                tx.send(board.waker(3).expect("registered")).unwrap();
            }
            Poll::Ready(out)
        })
        .await;
        assert!(first.is_pending());
        let board = board.clone();
        let waker = rx.recv().unwrap();
        let t = thread::spawn(move || {
            board.fire(3);
            waker.wake();
        });
        let out = fut.await;
        t.join().unwrap();
        out
    });
    assert_eq!((i, v), (3, 3));
}

#[test]
fn wakers_woken_on_other_threads_after_the_select_is_gone() {
    let board = Board::new(2);
    let (_parent, waker) = Counter::new();
    let wakers: Vec<Waker> = {
        let mut fut = Box::pin((board.child(0), board.child(1)).join());
        assert!(poll(fut.as_mut(), &waker).is_pending());
        (0..2)
            .map(|i| board.waker(i).expect("registered"))
            .collect()
    };
    let threads: Vec<_> = wakers
        .into_iter()
        .map(|w| {
            thread::spawn(move || {
                w.wake_by_ref();
                w.wake();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn old_wakers_survive_a_selector_that_grows() {
    let board = Board::new(12);
    let (_parent, waker) = Counter::new();
    let mut selector = pasts::Selector::new([board.child(0)]);
    assert!(poll(Pin::new(&mut selector), &waker).is_pending());
    let old = board.waker(0).expect("registered");
    for i in 1..12 {
        selector.push(board.child(i));
    }
    // The set grew by new segments: the old nodes stay where they were.
    old.wake_by_ref();
    board.fire(0);
    assert_eq!(poll(Pin::new(&mut selector), &waker), Poll::Ready((0, 0)));
    drop(old);
    drop(selector);
}

#[test]
fn a_set_reused_by_the_next_select_sees_only_its_own_wakes() {
    let board = Board::new(3);
    let (_parent, waker) = Counter::new();
    for round in 0..3 {
        let mut fut = pin!(board.children::<3>().select());
        assert!(poll(fut.as_mut(), &waker).is_pending());
        let i = round % 3;
        board.fire(i);
        assert_eq!(poll(fut.as_mut(), &waker), Poll::Ready((i, i)));
    }
}

#[test]
fn waker_outlives_its_thread_and_its_kept_set() {
    let (kept, parent) = std::thread::spawn(|| {
        let board = Board::new(2);
        let (parent, waker) = Counter::new();
        {
            let mut fut = pin!(board.children::<2>().select());
            assert!(poll(fut.as_mut(), &waker).is_pending());
            assert!(board.fire(0));
            assert_eq!(poll(fut.as_mut(), &waker), Poll::Ready((0, 0)));
        }
        // The select is gone: its set is the thread's spare, released when
        // the thread ends; the waker keeps it alive.
        (board.waker(1).expect("registered"), parent)
    })
    .join()
    .unwrap();
    let before = parent.wakes();
    let clone = kept.clone();
    kept.wake();
    assert_eq!(parent.wakes(), before, "the spare dropped its parent waker");
    clone.wake_by_ref();
    drop(clone);
}

#[test]
fn a_waker_of_an_ended_thread_stays_sound_while_its_set_is_reused() {
    let mut kept = Vec::new();
    for _ in 0..size(50) {
        let waker = std::thread::spawn(|| {
            let board = Board::new(2);
            let (_parent, waker) = Counter::new();
            let mut fut = Box::pin(board.children::<2>().select());
            assert!(poll(fut.as_mut(), &waker).is_pending());
            assert!(board.fire(1));
            assert_eq!(poll(fut.as_mut(), &waker), Poll::Ready((1, 1)));
            board.waker(0).expect("branch 0 registered")
        })
        .join()
        .unwrap();
        // Woken while the next thread may be reusing the set: at most a
        // spurious wake there.
        waker.wake_by_ref();
        kept.push(waker);
    }
    for waker in kept {
        let clone = waker.clone();
        drop(waker);
        clone.wake();
    }
}

#[test]
fn a_select_moved_to_another_thread_polls_only_the_woken_branch() {
    let board = Board::new(3);
    let (parent, waker) = Counter::new();
    let mut fut = Box::pin(board.children::<3>().select());
    assert!(poll(fut.as_mut(), &waker).is_pending());
    let (moved_tx, moved_rx) = mpsc::channel();
    let (fired_tx, fired_rx) = mpsc::channel();
    let worker = {
        let board = board.clone();
        thread::spawn(move || {
            assert!(poll(fut.as_mut(), &waker).is_pending());
            moved_tx.send(()).unwrap();
            fired_rx.recv().unwrap();
            assert_eq!(poll(fut.as_mut(), &waker), Poll::Ready((1, 1)));
            let polls: Vec<_> = (0..3).map(|i| board.polls(i)).collect();
            assert_eq!(polls, [1, 2, 1], "only the woken branch is polled again");
        })
    };
    moved_rx.recv().unwrap();
    let before = parent.wakes();
    assert!(board.fire(1));
    assert_eq!(parent.wakes(), before + 1, "the wake reached the task");
    fired_tx.send(()).unwrap();
    worker.join().unwrap();
}

/// Wait until the task was woken: by this thread's wake, or by a stale
/// wake of the same branch (or of another: a push onto a non-empty queue)
/// that is still on its way to the task (a hang here is a lost wake).
fn wait_for_a_wake(parent: &Counter) {
    while parent.wakes() == 0 {
        thread::yield_now();
    }
}

/// Rounds of a select made, polled, won and dropped while other threads
/// wake, clone and drop wakers of earlier rounds (whose sets are freed or
/// kept for reuse meanwhile): every round must see its own wake.
#[test]
fn wakes_from_many_threads_while_the_owner_is_dropped_and_remade() {
    let rounds = if cfg!(miri) {
        30
    } else if std::env::var_os("PASTS_GUEST").is_some() {
        300
    } else {
        3_000
    };
    within(Duration::from_secs(120), move || {
        let stale: Arc<Mutex<Vec<Waker>>> = Arc::default();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let wakers: Vec<_> = (0..3)
            .map(|t| {
                let (stale, stop) = (stale.clone(), stop.clone());
                thread::spawn(move || {
                    use std::sync::atomic::Ordering;
                    while !stop.load(Ordering::SeqCst) {
                        let picked = {
                            let stale = stale.lock().unwrap();
                            stale.get(t % stale.len().max(1)).cloned()
                        };
                        match picked {
                            Some(w) if t == 0 => w.wake(),
                            Some(w) => {
                                w.wake_by_ref();
                                drop(w.clone());
                            }
                            None => thread::yield_now(),
                        }
                    }
                })
            })
            .collect();
        for round in 0..rounds {
            let board = Board::new(3);
            let (parent, waker) = Counter::new();
            let i = round % 3;
            let done = if round % 2 == 0 {
                let mut fut = pin!(board.children::<3>().select());
                assert!(poll(fut.as_mut(), &waker).is_pending());
                *stale.lock().unwrap() = (0..3).filter_map(|k| board.waker(k)).collect();
                assert!(board.fire(i));
                wait_for_a_wake(&parent);
                loop {
                    match poll(fut.as_mut(), &waker) {
                        Poll::Ready(out) => break out.0,
                        Poll::Pending => {}
                    }
                }
            } else {
                let mut selector = pasts::Selector::new(board.children::<3>());
                assert!(poll(Pin::new(&mut selector), &waker).is_pending());
                *stale.lock().unwrap() = (0..3).filter_map(|k| board.waker(k)).collect();
                assert!(board.fire(i));
                wait_for_a_wake(&parent);
                loop {
                    match poll(Pin::new(&mut selector), &waker) {
                        Poll::Ready(out) => break out.0,
                        Poll::Pending => {}
                    }
                }
            };
            assert_eq!(done, i);
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        for t in wakers {
            t.join().unwrap();
        }
    });
}

/// A wake from a real signal handler, which interrupts the thread that
/// polls at any point (in the middle of registering its waker, of taking
/// the woken queue, of another wake), is never lost.
#[cfg(target_os = "linux")]
mod signal {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
    use std::task::{Context, Wake};

    extern "C" {
        fn pthread_self() -> usize;
        fn pthread_kill(thread: usize, sig: i32) -> i32;
        fn signal(sig: i32, handler: extern "C" fn(i32)) -> usize;
    }

    /// `SIGUSR1` on x86, Arm and RISC-V Linux.
    const SIGUSR1: i32 = 10;

    /// Signals handled so far.
    static HANDLED: AtomicUsize = AtomicUsize::new(0);
    /// Events the polling thread took so far.
    static SEEN: AtomicUsize = AtomicUsize::new(0);
    /// The branch waker the handler wakes (a leaked box while set).
    static WAKER: AtomicPtr<Waker> = AtomicPtr::new(std::ptr::null_mut());

    extern "C" fn handler(_: i32) {
        HANDLED.fetch_add(1, Ordering::SeqCst);
        let waker = WAKER.load(Ordering::SeqCst);
        // SAFETY: set from a leaked box, freed only after the last signal
        // was handled.
        if let Some(waker) = unsafe { waker.as_ref() } {
            waker.wake_by_ref();
        }
    }

    /// Ready when a signal came since its last output.
    struct Signalled;

    impl Future for Signalled {
        type Output = usize;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
            if WAKER.load(Ordering::SeqCst).is_null() {
                let waker = Box::into_raw(Box::new(cx.waker().clone()));
                WAKER.store(waker, Ordering::SeqCst);
            }
            let handled = HANDLED.load(Ordering::SeqCst);
            if handled > SEEN.load(Ordering::SeqCst) {
                SEEN.store(handled, Ordering::SeqCst);
                return Poll::Ready(handled);
            }
            Poll::Pending
        }
    }

    /// Pending; wakes itself on every poll (keeps the owner busy polling,
    /// registering and taking while signals come).
    struct Busy(bool);

    impl Future for Busy {
        type Output = usize;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
            if self.0 {
                cx.waker().wake_by_ref();
            }
            Poll::Pending
        }
    }

    /// An executor's waker that only sets a flag: async-signal-safe.
    struct Flag(AtomicBool);

    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "signals are foreign calls")]
    fn wakes_from_a_signal_handler_on_the_polling_thread_are_never_lost() {
        let signals = if std::env::var_os("PASTS_GUEST").is_some() {
            2_000
        } else {
            10_000
        };
        within(Duration::from_secs(120), move || {
            // SAFETY: installs a handler that only uses atomics and a
            // lock-free wake.
            unsafe { signal(SIGUSR1, handler) };
            // SAFETY: no preconditions.
            let me = unsafe { pthread_self() };
            let sender = thread::spawn(move || {
                for k in 0..signals {
                    // SAFETY: `me` runs until every signal was seen.
                    assert_eq!(unsafe { pthread_kill(me, SIGUSR1) }, 0);
                    // The next signal only once this one was taken: a
                    // lost wake leaves `SEEN` behind, and the test hangs.
                    while SEEN.load(Ordering::SeqCst) <= k {
                        thread::yield_now();
                    }
                }
            });
            let flag = Arc::new(Flag(AtomicBool::new(false)));
            let waker = Waker::from(flag.clone());
            let sources = [Signalled.fut(), Busy(false).fut(), Busy(false).fut()];
            let mut selector = pasts::Selector::new(sources);
            let mut busy = false;
            while SEEN.load(Ordering::SeqCst) < signals {
                // Every other 1,000 signals, a busy source keeps the
                // owner polling all the time.
                let phase = SEEN.load(Ordering::SeqCst) / 1_000 % 2 == 1;
                if phase != busy {
                    busy = phase;
                    selector.replace(1, Busy(busy).fut());
                }
                if poll(Pin::new(&mut selector), &waker).is_pending() {
                    while !flag.0.swap(false, Ordering::SeqCst) {
                        std::hint::spin_loop();
                    }
                }
            }
            sender.join().unwrap();
            let waker = WAKER.swap(std::ptr::null_mut(), Ordering::SeqCst);
            // SAFETY: the leaked box; every signal was handled.
            drop(unsafe { Box::from_raw(waker) });
            assert_eq!(HANDLED.load(Ordering::SeqCst), signals);
        });
    }
}

/// A set dropped while a branch wake is inside its parent's `wake` is not
/// kept as the thread's spare with that parent still in it (it would pin
/// the parent, a foreign task say, until the thread's next select).
#[test]
#[cfg_attr(miri, ignore = "a 50 ms sleep inside a wake")]
fn a_set_dropped_during_a_parent_wake_keeps_no_parent() {
    use std::task::{Context, Wake};

    /// A parent whose wake says it started, then takes a while.
    struct Slow(Mutex<mpsc::Sender<()>>);
    impl Wake for Slow {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            let _ = self.0.lock().unwrap().send(()); // the test may be gone
            thread::sleep(Duration::from_millis(50));
        }
    }
    /// Pending for ever; hands out its waker.
    struct Grab(Arc<Mutex<Option<Waker>>>);
    impl Future for Grab {
        type Output = ();
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            *self.0.lock().unwrap() = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    let (entered, wait) = mpsc::channel();
    let parent = Arc::new(Slow(Mutex::new(entered)));
    let slot = Arc::new(Mutex::new(None));
    let mut select = Box::pin([Grab(slot.clone()), Grab(slot.clone())].select());
    let waker = Waker::from(parent.clone());
    assert!(select
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    drop(waker);
    let branch = slot.lock().unwrap().take().unwrap();
    let waking = thread::spawn(move || branch.wake());
    wait.recv().unwrap(); // the wake is inside the parent's `wake` now
    drop(select);
    waking.join().unwrap();
    assert_eq!(Arc::strong_count(&parent), 1, "the spare kept the parent");
}
