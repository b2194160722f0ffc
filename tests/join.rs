//! `join` over arrays, tuples and `Vec`: every output in order, each
//! future dropped as it finishes, O(1) polls per wake (a relay of 1,024
//! futures polls each about twice), wakes that reach the task polling last,
//! and a destructor that panics never wedges the join.
#![cfg(feature = "std")]

mod common;
mod select_util;

use common::{poll, Counter};
use pasts::prelude::*;
use select_util::{size, Board};
use std::cell::{Cell, RefCell};
use std::future::{ready, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

#[test]
fn tuple_join_gives_outputs_of_different_types() {
    let out = pasts::block_on((ready(1u8), async { "two" }, ready(3.0f32)).join());
    assert_eq!(out, (1, "two", 3.0));
}

#[test]
fn array_and_vec_joins_keep_order() {
    assert_eq!(
        pasts::block_on([ready(1), ready(2), ready(3)].join()),
        [1, 2, 3]
    );
    assert_eq!(
        pasts::block_on(vec![ready('a'), ready('b')].join()),
        ['a', 'b']
    );
    assert_eq!(
        pasts::block_on(Vec::<std::future::Ready<()>>::new().join()),
        []
    );
}

#[test]
fn finished_futures_are_dropped_at_once() {
    let board = Board::new(3);
    let (parent, waker) = Counter::new();
    let mut fut = pin!(board.children::<3>().join());
    assert!(poll(fut.as_mut(), &waker).is_pending());
    board.fire(1);
    assert_eq!(parent.wakes(), 1);
    assert!(poll(fut.as_mut(), &waker).is_pending());
    assert_eq!(
        board.drops(),
        1,
        "the finished future is dropped while the join runs"
    );
    assert_eq!(board.polls(0), 1, "an unwoken future is not re-polled");
    board.fire(0);
    board.fire(2);
    assert_eq!(poll(fut.as_mut(), &waker), Poll::Ready([0, 1, 2]));
    assert_eq!(board.drops(), 3);
}

#[test]
fn a_stale_wake_of_a_finished_future_does_not_finish_the_join() {
    let board = Board::new(2);
    let (_parent, waker) = Counter::new();
    let mut fut = pin!(board.children::<2>().join());
    assert!(poll(fut.as_mut(), &waker).is_pending());
    let stale = board.waker(0).expect("registered");
    board.fire(0);
    assert!(poll(fut.as_mut(), &waker).is_pending());
    stale.wake();
    assert!(
        poll(fut.as_mut(), &waker).is_pending(),
        "future 1 still runs"
    );
    board.fire(1);
    assert_eq!(poll(fut.as_mut(), &waker), Poll::Ready([0, 1]));
}

#[test]
#[should_panic(expected = "a join was polled after it completed")]
fn a_join_polled_after_it_completed_panics() {
    let (_parent, waker) = Counter::new();
    let mut fut = pin!((ready(1), ready('a')).join());
    assert!(poll(fut.as_mut(), &waker).is_ready());
    let _ = poll(fut.as_mut(), &waker);
}

#[test]
fn tuple_join_re_polls_only_the_woken_future() {
    let board = Board::new(2);
    let (_parent, waker) = Counter::new();
    let mut fut = pin!((board.child(0), board.child(1)).join());
    assert!(poll(fut.as_mut(), &waker).is_pending());
    board.fire(0);
    assert!(poll(fut.as_mut(), &waker).is_pending());
    assert_eq!((board.polls(0), board.polls(1)), (2, 1));
    board.fire(1);
    assert_eq!(poll(fut.as_mut(), &waker), Poll::Ready((0, 1)));
}

struct Relay {
    i: usize,
    turn: Rc<Cell<usize>>,
    wakers: Rc<RefCell<Vec<Option<Waker>>>>,
    polls: Rc<Cell<usize>>,
}

impl Future for Relay {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        self.polls.set(self.polls.get() + 1);
        if self.turn.get() == self.i {
            if self.i > 0 {
                self.turn.set(self.i - 1);
                if let Some(w) = self.wakers.borrow_mut()[self.i - 1].take() {
                    w.wake();
                }
            }
            return Poll::Ready(self.i);
        }
        self.wakers.borrow_mut()[self.i] = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// Run a relay of `n` futures through `join`; returns (outputs, polls).
fn relay<J: Future>(n: usize, join: impl FnOnce(Vec<Relay>) -> J) -> (J::Output, usize) {
    let turn = Rc::new(Cell::new(usize::MAX));
    let wakers = Rc::new(RefCell::new(vec![None; n]));
    let polls = Rc::new(Cell::new(0));
    let futures = (0..n)
        .map(|i| Relay {
            i,
            turn: turn.clone(),
            wakers: wakers.clone(),
            polls: polls.clone(),
        })
        .collect();
    let mut fut = pin!(join(futures));
    let (_, waker) = Counter::new();
    let mut cx = Context::from_waker(&waker);
    assert!(fut.as_mut().poll(&mut cx).is_pending());
    turn.set(n - 1);
    let last = wakers.borrow_mut()[n - 1].take();
    last.expect("the last future registered").wake();
    for _ in 0..2 * n {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return (out, polls.get());
        }
    }
    panic!("relay did not finish");
}

#[test]
fn vec_join_relay_polls_each_future_about_twice() {
    let n = size(1024);
    let (out, polls) = relay(n, |v| v.join());
    assert_eq!(out, (0..n).collect::<Vec<_>>());
    assert!(polls <= 2 * n + 2, "{polls} polls for {n} futures");
}

#[test]
fn array_join_relay_polls_each_future_about_twice() {
    const N: usize = size(1024);
    let (out, polls) = relay(N, |v| {
        let array: [Relay; N] = v.try_into().ok().expect("N futures");
        array.join()
    });
    assert_eq!(out, std::array::from_fn::<usize, N, _>(|i| i));
    assert!(polls <= 2 * N + 2, "{polls} polls for {N} futures");
}

/// Pending until its flag is set; keeps the waker it was polled with.
struct Gate {
    open: Arc<AtomicBool>,
    waker: Arc<Mutex<Option<Waker>>>,
}

impl Future for Gate {
    type Output = ();
    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        *self.waker.lock().unwrap() = Some(cx.waker().clone());
        if self.open.load(Ordering::SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// Tells the owner it was woken, then (the first time) takes long to return.
struct SlowParent {
    wakes: AtomicUsize,
    tx: Mutex<mpsc::Sender<()>>,
}

impl Wake for SlowParent {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        let first = self.wakes.fetch_add(1, Ordering::SeqCst) == 0;
        let _ = self.tx.lock().unwrap().send(());
        if first {
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

#[test]
#[cfg_attr(miri, ignore = "sleeps")]
fn wake_during_slow_parent_wake_is_not_lost() {
    let gates: Vec<_> = (0..2)
        .map(|_| {
            (
                Arc::new(AtomicBool::new(false)),
                Arc::new(Mutex::new(None::<Waker>)),
            )
        })
        .collect();
    let futures = [0, 1].map(|i| Gate {
        open: Arc::clone(&gates[i].0),
        waker: Arc::clone(&gates[i].1),
    });
    let (tx, rx) = mpsc::channel();
    let parent = Arc::new(SlowParent {
        wakes: AtomicUsize::new(0),
        tx: Mutex::new(tx),
    });
    let waker = Waker::from(Arc::clone(&parent));
    let mut cx = Context::from_waker(&waker);
    let mut join = pin!(futures.join());
    assert!(join.as_mut().poll(&mut cx).is_pending());
    // Branch 0 is woken (it stays pending); its parent wake is slow.
    let w0 = gates[0].1.lock().unwrap().clone().unwrap();
    let a = std::thread::spawn(move || w0.wake());
    rx.recv().unwrap();
    assert!(join.as_mut().poll(&mut cx).is_pending());
    // Now branch 1 becomes ready and is woken, while the first parent wake
    // has not returned yet.
    gates[1].0.store(true, Ordering::SeqCst);
    let w1 = gates[1].1.lock().unwrap().clone().unwrap();
    w1.wake();
    a.join().unwrap();
    rx.recv_timeout(Duration::from_secs(2))
        .expect("lost wake-up: branch 1 was woken but the parent never was");
}

// Wakers the branches were given before the move: kept, as a branch that
/// stored its waker elsewhere would.
fn kept(board: &Board, n: usize) -> Vec<Waker> {
    (0..n)
        .map(|i| board.waker(i).expect("registered"))
        .collect()
}

#[test]
fn join_wakes_the_new_task() {
    let board = Board::new(2);
    let (_first, a) = Counter::new();
    let (second, b) = Counter::new();
    let mut fut = pin!(board.children::<2>().join());
    assert!(poll(fut.as_mut(), &a).is_pending());
    let _old = kept(&board, 2);
    assert!(poll(fut.as_mut(), &b).is_pending());
    assert!(board.fire(0));
    assert!(second.wakes() >= 1, "the wake must reach the new task");
    assert!(poll(fut.as_mut(), &b).is_pending());
    let before = second.wakes();
    assert!(board.fire(1));
    assert!(second.wakes() > before, "the wake must reach the new task");
    assert_eq!(poll(fut.as_mut(), &b), Poll::Ready([0, 1]));
}

/// Ready once its flag is set (woken then); its destructor panics.
struct Bomb {
    open: Arc<AtomicBool>,
    waker: Arc<Mutex<Option<Waker>>>,
}

impl Future for Bomb {
    type Output = u8;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u8> {
        if self.open.load(Ordering::SeqCst) {
            return Poll::Ready(1);
        }
        *self.waker.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("drop panics (on purpose)");
    }
}

/// A join of a `Bomb` and `other`: poll, open the bomb, poll (its drop
/// panics, caught), then poll again: the join must finish, not wait forever.
fn join_survives_a_panicking_destructor<J: Future>(make: impl FnOnce(Bomb) -> J) -> J::Output {
    let open = Arc::new(AtomicBool::new(false));
    let waker = Arc::new(Mutex::new(None));
    let bomb = Bomb {
        open: open.clone(),
        waker: waker.clone(),
    };
    let (_parent, parent) = Counter::new();
    let mut join = Box::pin(make(bomb));
    assert!(poll(join.as_mut(), &parent).is_pending());
    open.store(true, Ordering::SeqCst);
    let kept = waker.lock().unwrap().take();
    kept.expect("registered").wake();
    let caught = catch_unwind(AssertUnwindSafe(|| poll(join.as_mut(), &parent)));
    assert!(caught.is_err(), "the destructor's panic goes on");
    match poll(join.as_mut(), &parent) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the join waits for a future that finished"),
    }
}

#[test]
fn array_join_survives_a_panicking_destructor() {
    let out = join_survives_a_panicking_destructor(|bomb| [bomb.fut(), ready(2).fut()].join());
    assert_eq!(out, [1, 2]);
}

#[test]
fn tuple_join_survives_a_panicking_destructor() {
    let out = join_survives_a_panicking_destructor(|bomb| (bomb, ready('b')).join());
    assert_eq!(out, (1, 'b'));
}

#[test]
fn vec_join_survives_a_panicking_destructor() {
    let out = join_survives_a_panicking_destructor(|bomb| vec![bomb.fut(), ready(3).fut()].join());
    assert_eq!(out, [1, 3]);
}

#[test]
fn joins_are_send_and_unpin() {
    fn assert_send_unpin<T: Send + Unpin>(_: &T) {}
    let fut = (ready(1), ready('a')).join();
    assert_send_unpin(&fut);
    assert_eq!(pasts::block_on(fut), (1, 'a'));
    let fut = vec![ready(1)].join();
    assert_send_unpin(&fut);
    assert_eq!(pasts::block_on(fut), [1]);
}
