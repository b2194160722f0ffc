//! `Tasks`: a growing set of one-shot futures. Outputs as futures finish,
//! O(1) polls per wake, an empty set that a push wakes, and futures that
//! panic (in `poll` or in `drop`) leave the set whole.
#![cfg(feature = "std")]

mod common;
mod select_util;

use common::{poll, within, Counter};
use pasts::prelude::*;
use pasts::Tasks;
use select_util::{size, Board};
use std::future::{pending, ready, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

#[test]
fn each_await_yields_one_output_and_drops_its_future() {
    let board = Board::new(3);
    let (parent, waker) = Counter::new();
    let mut tasks: Tasks<_> = (0..3).map(|i| board.child(i)).collect();
    assert_eq!(tasks.len(), 3);
    assert!(poll(Pin::new(&mut tasks), &waker).is_pending());
    board.fire(2);
    board.fire(0);
    assert_eq!(parent.wakes(), 1);
    let mut got = vec![];
    for _ in 0..2 {
        match poll(Pin::new(&mut tasks), &waker) {
            Poll::Ready(i) => got.push(i),
            Poll::Pending => panic!("a finished future was not reported"),
        }
    }
    got.sort_unstable();
    assert_eq!(got, [0, 2]);
    assert_eq!(
        (tasks.len(), board.drops()),
        (1, 2),
        "finished futures dropped"
    );
    assert!(poll(Pin::new(&mut tasks), &waker).is_pending());
    assert_eq!(
        board.total_polls(),
        5,
        "only woken futures are polled again"
    );
}

#[test]
fn empty_set_is_pending_and_push_wakes_it() {
    let (parent, waker) = Counter::new();
    let mut tasks = Tasks::default();
    assert!(tasks.is_empty());
    assert!(poll(Pin::new(&mut tasks), &waker).is_pending());
    tasks.push(ready(4));
    assert_eq!(parent.wakes(), 1, "push must wake the task");
    assert_eq!(poll(Pin::new(&mut tasks), &waker), Poll::Ready(4));
    assert!(poll(Pin::new(&mut tasks), &waker).is_pending());
}

#[test]
fn async_fn_futures_that_are_not_unpin() {
    async fn twice(x: u32) -> u32 {
        // Suspended once: the future holds a borrow of its own state.
        let local = [x; 4];
        let borrowed = &local;
        common::yield_now().await;
        2 * borrowed[3]
    }
    let mut tasks = Tasks::new();
    for x in 0..10 {
        tasks.push(twice(x));
    }
    let sum: u32 = pasts::block_on(async {
        let mut sum = 0;
        while !tasks.is_empty() {
            sum += (&mut tasks).await;
        }
        sum
    });
    assert_eq!(sum, 90);
    assert!(format!("{tasks:?}").contains("len: 0"));
}

/// Pending until its shared flag is set; keeps its waker where a thread
/// can find it.
struct OneShot {
    i: usize,
    wakers: Arc<Mutex<Vec<Option<Waker>>>>,
    done: Arc<Vec<std::sync::atomic::AtomicBool>>,
}

impl Future for OneShot {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        use std::sync::atomic::Ordering;
        let mut wakers = self.wakers.lock().unwrap();
        if self.done[self.i].load(Ordering::SeqCst) {
            return Poll::Ready(self.i);
        }
        wakers[self.i] = Some(cx.waker().clone());
        Poll::Pending
    }
}

#[test]
fn ten_thousand_futures_woken_from_other_threads() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let n = if cfg!(miri) { 200 } else { 10_000 };
    within(Duration::from_secs(120), move || {
        let wakers = Arc::new(Mutex::new(vec![None; n]));
        let done: Arc<Vec<AtomicBool>> = Arc::new((0..n).map(|_| AtomicBool::new(false)).collect());
        let polls = Arc::new(AtomicUsize::new(0));
        /// Counts the polls of the future it wraps.
        struct Counted<F>(F, Arc<AtomicUsize>);
        impl<F: Future + Unpin> Future for Counted<F> {
            type Output = F::Output;
            fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
                self.1.fetch_add(1, Ordering::SeqCst);
                Pin::new(&mut self.0).poll(cx)
            }
        }
        let mut tasks: Tasks<_> = (0..n)
            .map(|i| {
                let shot = OneShot {
                    i,
                    wakers: wakers.clone(),
                    done: done.clone(),
                };
                Counted(shot, polls.clone()).fut_send()
            })
            .collect();
        // One more, which panics after a few polls.
        let drops = Arc::new(Mutex::new(0));
        tasks.push(PanicsAfter(3, drops.clone()).fut_send());
        let (_parent, waker) = Counter::unparking();
        assert!(poll(Pin::new(&mut tasks), &waker).is_pending());
        assert_eq!(polls.load(Ordering::SeqCst), n);
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let (wakers, done) = (wakers.clone(), done.clone());
                std::thread::spawn(move || {
                    for i in (t..n).step_by(4) {
                        let waker = {
                            let mut wakers = wakers.lock().unwrap();
                            done[i].store(true, Ordering::SeqCst);
                            wakers[i].take()
                        };
                        waker.expect("registered").wake();
                    }
                })
            })
            .collect();
        let mut seen = vec![false; n];
        let (mut outputs, mut panics) = (0, 0);
        while outputs < n || panics == 0 {
            match catch_unwind(AssertUnwindSafe(|| poll(Pin::new(&mut tasks), &waker))) {
                Ok(Poll::Ready(i)) => {
                    assert!(!std::mem::replace(&mut seen[i], true), "{i} twice");
                    outputs += 1;
                }
                Ok(Poll::Pending) => std::thread::park_timeout(Duration::from_millis(10)),
                Err(_) => panics += 1,
            }
        }
        assert_eq!(
            (panics, *drops.lock().unwrap()),
            (1, 1),
            "the panicking future is gone"
        );
        for t in threads {
            t.join().unwrap();
        }
        assert!(tasks.is_empty());
        // The first poll ran each once; then each was polled once more when
        // woken (a future woken while being polled may be polled once more).
        let polls = polls.load(Ordering::SeqCst);
        assert!(polls <= 3 * n, "{polls} polls for {n} futures");
    });
}

/// Pending `n` times (waking itself), then panics in `poll`; counts drops.
struct PanicsAfter(u32, Arc<Mutex<u32>>);

impl Future for PanicsAfter {
    type Output = usize;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        if self.0 == 0 {
            panic!("this future panics (on purpose)");
        }
        self.0 -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl Drop for PanicsAfter {
    fn drop(&mut self) {
        *self.1.lock().unwrap() += 1;
    }
}

#[test]
fn a_future_that_panics_is_dropped_and_the_set_goes_on() {
    let drops = Arc::new(Mutex::new(0));
    let (_parent, waker) = Counter::new();
    let mut tasks = Tasks::new();
    tasks.push(PanicsAfter(1, drops.clone()).fut());
    tasks.push(pending().fut());
    tasks.push(ready(7).fut());
    let mut outputs = vec![];
    let mut panics = 0;
    for _ in 0..10 {
        match catch_unwind(AssertUnwindSafe(|| poll(Pin::new(&mut tasks), &waker))) {
            Ok(Poll::Ready(v)) => outputs.push(v),
            Ok(Poll::Pending) => {}
            Err(_) => panics += 1,
        }
    }
    assert_eq!((outputs, panics), (vec![7], 1));
    assert_eq!(*drops.lock().unwrap(), 1, "the panicking future is gone");
    assert_eq!(tasks.len(), 1);
    tasks.push(ready(8).fut());
    assert_eq!(poll(Pin::new(&mut tasks), &waker), Poll::Ready(8));
}

#[test]
fn a_finished_future_whose_drop_panics_leaves_the_set_whole() {
    /// Ready at once; its destructor panics.
    struct Bomb;
    impl Future for Bomb {
        type Output = usize;
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<usize> {
            Poll::Ready(1)
        }
    }
    impl Drop for Bomb {
        fn drop(&mut self) {
            panic!("drop panics (on purpose)");
        }
    }
    let (_parent, waker) = Counter::new();
    let mut tasks = Tasks::new();
    tasks.push(Bomb.fut());
    let caught = catch_unwind(AssertUnwindSafe(|| poll(Pin::new(&mut tasks), &waker)));
    assert!(caught.is_err());
    assert!(tasks.is_empty(), "the finished future is counted off");
    assert!(poll(Pin::new(&mut tasks), &waker).is_pending());
    tasks.push(ready(2).fut());
    assert_eq!(poll(Pin::new(&mut tasks), &waker), Poll::Ready(2));
}

#[test]
fn churn_reuses_slots_and_polls_constant() {
    let n = size(1000);
    let board = Board::new(n);
    let (_parent, waker) = Counter::new();
    let mut tasks: Tasks<_> = (0..n).map(|i| board.child(i)).collect();
    assert!(poll(Pin::new(&mut tasks), &waker).is_pending());
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..size(2000) {
        let i = select_util::next_below(&mut rng, n);
        let before = board.total_polls();
        assert!(board.fire(i));
        assert_eq!(poll(Pin::new(&mut tasks), &waker), Poll::Ready(i));
        tasks.push(board.child(i));
        assert!(poll(Pin::new(&mut tasks), &waker).is_pending());
        let polls = board.total_polls() - before;
        assert!(polls <= 2, "{polls} polls for one wake and one push");
    }
    assert_eq!(tasks.len(), n);
}

#[test]
fn tasks_is_send_and_unpin() {
    fn assert_send_unpin<T: Send + Unpin>(_: &T) {}
    let tasks: Tasks<std::future::Ready<u8>> = Tasks::new();
    assert_send_unpin(&tasks);
}
