//! `select` over arrays, tuples, slices and `Vec`: the first to finish
//! wins, losers are dropped, every form is fair, per-branch wakes reach the
//! task that polled last (also one that polls inline or whose wake panics),
//! and `.fut()` boxes futures of different types into one array.
#![cfg(feature = "std")]

mod common;
mod select_util;

use common::{poll, Counter};
use pasts::prelude::*;
use select_util::{next_below, size, Board};
use std::future::{pending, ready, Future, Ready};
use std::marker::PhantomPinned;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Wake, Waker};

#[test]
#[should_panic(expected = "give it at least one future")]
fn empty_array_panics() {
    let empty: [Ready<()>; 0] = [];
    let _fut = empty.select();
}

#[test]
#[should_panic(expected = "give it at least one future")]
fn empty_slice_panics() {
    let empty: &mut [Ready<()>] = &mut [];
    let _fut = empty.select();
}

#[test]
#[should_panic(expected = "a select was polled after it completed")]
fn a_select_polled_after_it_completed_panics() {
    let (_parent, waker) = Counter::new();
    let mut fut = pin!([ready(1), ready(2)].select());
    assert!(poll(fut.as_mut(), &waker).is_ready());
    let _ = poll(fut.as_mut(), &waker);
}

/// Rounds each test runs; each side must win at least a third of them.
/// (Starts are pseudo-random: 200 rounds keep a 1/3 floor safe.)
fn rounds() -> usize {
    if cfg!(miri) {
        200
    } else {
        1000
    }
}

fn assert_fair(wins: [usize; 2]) {
    let floor = rounds() / 3;
    assert!(
        wins[0] >= floor && wins[1] >= floor,
        "unfair split {wins:?}"
    );
}

#[test]
fn array_select_is_fair() {
    let board = Board::new(2);
    board.set_always(0);
    board.set_always(1);
    let mut wins = [0; 2];
    for _ in 0..rounds() {
        let (i, _) = pasts::block_on(board.children::<2>().select());
        wins[i] += 1;
    }
    assert_fair(wins);
}

#[test]
fn tuple_select_is_fair() {
    let board = Board::new(2);
    board.set_always(0);
    board.set_always(1);
    let mut wins = [0; 2];
    for _ in 0..rounds() {
        let (i, _) = pasts::block_on((board.child(0), board.child(1)).select());
        wins[i] += 1;
    }
    assert_fair(wins);
}

#[test]
fn slice_select_is_fair() {
    let board = Board::new(2);
    board.set_always(0);
    board.set_always(1);
    let mut children = board.children::<2>();
    let mut wins = [0; 2];
    for _ in 0..rounds() {
        let (i, _) = pasts::block_on(children.as_mut_slice().select());
        wins[i] += 1;
    }
    assert_fair(wins);
}

#[test]
fn array_reports_the_woken_branch() {
    let board = Board::new(4);
    let (parent, waker) = Counter::new();
    let mut fut = pin!(board.children::<4>().select());
    assert!(poll(fut.as_mut(), &waker).is_pending());
    assert!(board.fire(2));
    assert_eq!(parent.wakes(), 1, "the branch's wake must wake the parent");
    assert_eq!(poll(fut.as_mut(), &waker), Poll::Ready((2, 2)));
}

#[test]
fn tuple_of_different_types_reports_the_woken_branch() {
    let board = Board::new(3);
    let (_parent, waker) = Counter::new();
    let boxed = async { 99 };
    let mut fut = pin!((board.child(0), boxed, board.child(2)).select());
    // The async block is ready at once: it wins with its own index.
    assert_eq!(poll(fut.as_mut(), &waker), Poll::Ready((1, 99)));

    let mut fut = pin!((board.child(0), std::future::pending(), board.child(2)).select());
    assert!(poll(fut.as_mut(), &waker).is_pending());
    assert!(board.fire(0));
    assert_eq!(poll(fut.as_mut(), &waker), Poll::Ready((0, 0)));
}

#[test]
fn slice_reports_the_woken_branch() {
    let board = Board::new(5);
    let (_parent, waker) = Counter::new();
    let mut children = board.children::<5>();
    let mut fut = pin!(children.as_mut_slice().select());
    assert!(poll(fut.as_mut(), &waker).is_pending());
    assert!(board.fire(4));
    assert_eq!(poll(fut.as_mut(), &waker), Poll::Ready((4, 4)));
}

#[test]
fn an_already_ready_branch_wins_on_the_first_poll() {
    let board = Board::new(3);
    board.fire(1);
    let (_parent, waker) = Counter::new();
    let mut fut = pin!(board.children::<3>().select());
    assert_eq!(poll(fut.as_mut(), &waker), Poll::Ready((1, 1)));
}

#[test]
fn seed_program_runs_under_block_on() {
    async fn async_identity_fn(arg: usize) -> usize {
        arg
    }
    let (i, res) = pasts::block_on([async_identity_fn(1), async_identity_fn(2)].select());
    assert_eq!(res, i + 1);
}

#[test]
fn array_drops_losers_on_completion() {
    let board = Board::new(3);
    let (_parent, waker) = Counter::new();
    let mut fut = pin!(board.children::<3>().select());
    assert!(poll(fut.as_mut(), &waker).is_pending());
    board.fire(1);
    assert_eq!(poll(fut.as_mut(), &waker), Poll::Ready((1, 1)));
    assert_eq!(board.drops(), 3, "winner and losers dropped at completion");
}

#[test]
fn tuple_drops_losers_on_completion() {
    let board = Board::new(2);
    let (_parent, waker) = Counter::new();
    let mut fut = pin!((board.child(0), board.child(1)).select());
    assert!(poll(fut.as_mut(), &waker).is_pending());
    board.fire(0);
    assert_eq!(poll(fut.as_mut(), &waker), Poll::Ready((0, 0)));
    assert_eq!(board.drops(), 2);
}

#[test]
fn dropping_an_unfinished_select_drops_every_future() {
    let board = Board::new(3);
    let (_parent, waker) = Counter::new();
    {
        let mut fut = Box::pin(board.children::<3>().select());
        assert!(poll(fut.as_mut(), &waker).is_pending());
        assert_eq!(board.drops(), 0);
    }
    assert_eq!(board.drops(), 3);
}

#[test]
fn slice_select_leaves_every_future_in_place() {
    let board = Board::new(3);
    let mut children = board.children::<3>();
    board.fire(2);
    let (i, _) = pasts::block_on(children.as_mut_slice().select());
    assert_eq!(i, 2);
    assert_eq!(board.drops(), 0);
}

fn assert_send_unpin<T: Send + Unpin>(_: &T) {}

#[test]
fn combinators_are_send_and_unpin() {
    let mut sources = [ready(1), ready(2)];
    let fut = [ready(1), ready(2)].select();
    assert_send_unpin(&fut);
    assert!(pasts::block_on(fut).1 > 0);
    let fut = sources.as_mut_slice().select();
    assert_send_unpin(&fut);
    assert!(pasts::block_on(fut).1 > 0);
    let fut = (ready(1), ready(2)).select();
    assert_send_unpin(&fut);
    assert!(pasts::block_on(fut).1 > 0);
    let fut = (ready(1), ready('a')).join();
    assert_send_unpin(&fut);
    assert_eq!(pasts::block_on(fut), (1, 'a'));
    let fut = [ready(1)].join();
    assert_send_unpin(&fut);
    assert_eq!(pasts::block_on(fut), [1]);
    let fut = vec![ready(1)].join();
    assert_send_unpin(&fut);
    assert_eq!(pasts::block_on(fut), [1]);
    let selector: pasts::Selector<Ready<u8>> = pasts::Selector::new([ready(1)]);
    assert_send_unpin(&selector);
    let fut = async { 1 }.fut_send();
    assert_send_unpin(&fut);
    assert_eq!(pasts::block_on(fut), 1);
}

#[test]
fn slice_select_is_reusable_for_many_rounds() {
    const N: usize = 8;
    let rounds = size(1000);
    let board = Board::new(N);
    let (_parent, waker) = Counter::new();
    let mut children = board.children::<N>();
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..rounds {
        let i = next_below(&mut rng, N);
        let mut fut = pin!(children.as_mut_slice().select());
        assert!(poll(fut.as_mut(), &waker).is_pending());
        let before = board.total_polls();
        assert!(board.fire(i), "branch {i} registered no waker");
        assert_eq!(poll(fut.as_mut(), &waker), Poll::Ready((i, i)));
        assert_eq!(
            board.total_polls() - before,
            1,
            "only the woken branch is re-polled"
        );
    }
    assert_eq!(board.drops(), 0);
    assert_eq!(board.total_polls(), rounds * (N + 1));
}

/// Wakers the branches were given before the move: kept, as a branch that
/// stored its waker elsewhere would.
fn kept(board: &Board, n: usize) -> Vec<Waker> {
    (0..n)
        .map(|i| board.waker(i).expect("registered"))
        .collect()
}

/// Poll `fut` with one task, then another, fire branch `i`: the second
/// task must be woken, and the select report `i`.
fn select_wakes_the_new_task<F>(board: &Board, n: usize, mut fut: Pin<&mut F>, i: usize)
where
    F: Future<Output = (usize, usize)> + ?Sized,
{
    let (_first, a) = Counter::new();
    let (second, b) = Counter::new();
    assert!(poll(fut.as_mut(), &a).is_pending());
    let _old = kept(board, n);
    assert!(poll(fut.as_mut(), &b).is_pending());
    assert!(board.fire(i));
    assert!(second.wakes() >= 1, "the wake must reach the new task");
    assert_eq!(poll(fut.as_mut(), &b), Poll::Ready((i, i)));
}

#[test]
fn array_select_wakes_the_new_task() {
    let board = Board::new(3);
    let fut = pin!(board.children::<3>().select());
    select_wakes_the_new_task(&board, 3, fut, 1);
}

#[test]
fn slice_select_wakes_the_new_task() {
    let board = Board::new(2);
    let mut children = board.children::<2>();
    let fut = pin!(children.as_mut_slice().select());
    select_wakes_the_new_task(&board, 2, fut, 0);
}

type Task = Pin<Box<dyn Future<Output = (usize, usize)> + Send>>;

/// An executor of one task, which its wakers poll inline.
struct Exec {
    task: Mutex<Task>,
    output: Mutex<Option<(usize, usize)>>,
    /// Ids of the wakers whose wake is running.
    waking: Mutex<Vec<usize>>,
    /// Wakers dropped while their own wake was running.
    dropped_while_waking: AtomicUsize,
    next_id: AtomicUsize,
}

impl Exec {
    /// Poll the task once with a new waker, unless it is running already.
    fn run(self: &Arc<Self>) {
        let Ok(mut task) = self.task.try_lock() else {
            return;
        };
        let waker = Waker::from(Arc::new(Inline {
            id: self.next_id.fetch_add(1, Ordering::SeqCst),
            exec: Arc::downgrade(self),
        }));
        if let Poll::Ready(out) = task.as_mut().poll(&mut Context::from_waker(&waker)) {
            *self.output.lock().unwrap() = Some(out);
        }
    }
}

/// A waker that polls its task at once.
struct Inline {
    id: usize,
    exec: Weak<Exec>,
}

impl Wake for Inline {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Copied out first: `self` is not touched after the inline poll.
        let (id, Some(exec)) = (self.id, self.exec.upgrade()) else {
            return;
        };
        exec.waking.lock().unwrap().push(id);
        exec.run();
        exec.waking.lock().unwrap().retain(|&w| w != id);
    }
}

impl Drop for Inline {
    fn drop(&mut self) {
        if let Some(exec) = self.exec.upgrade() {
            if exec.waking.lock().unwrap().contains(&self.id) {
                exec.dropped_while_waking.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

#[test]
fn an_inline_poll_keeps_the_parent_waker_that_is_waking() {
    let board = Board::new(2);
    let exec = Arc::new(Exec {
        task: Mutex::new(Box::pin(board.children::<2>().select())),
        output: Mutex::new(None),
        waking: Mutex::new(Vec::new()),
        dropped_while_waking: AtomicUsize::new(0),
        next_id: AtomicUsize::new(0),
    });
    // The first poll stores waker 0 in the select, its only owner now.
    exec.run();
    assert_eq!(*exec.output.lock().unwrap(), None);
    // Woken on this thread (the select's home): the wake of waker 0 polls
    // the task, with waker 1, before it returns.
    assert!(board.fire(1));
    assert_eq!(
        exec.dropped_while_waking.load(Ordering::SeqCst),
        0,
        "the select dropped the parent waker in the middle of its wake"
    );
    assert_eq!(*exec.output.lock().unwrap(), Some((1, 1)));
}

/// A parent waker whose first wake panics; it counts the later ones.
#[derive(Default)]
struct Panicky(AtomicUsize);

impl Wake for Panicky {
    fn wake(self: Arc<Self>) {
        if self.0.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("the parent waker panics");
        }
    }
}

/// Poll a select with a panicking parent, let `wake` (a kept branch waker)
/// panic in it, then poll with another task: the next wake must reach that
/// task.
fn another_task_takes_over(wake: impl FnOnce(Waker)) {
    let board = Board::new(2);
    let first = Waker::from(Arc::new(Panicky::default()));
    let (second, b) = Counter::new();
    let mut fut = pin!(board.children::<2>().select());
    assert!(poll(fut.as_mut(), &first).is_pending());
    let kept = board.waker(1).expect("registered");
    assert!(catch_unwind(AssertUnwindSafe(|| wake(kept))).is_err());
    // Polled twice: the first may still find the old parent in use.
    assert!(poll(fut.as_mut(), &b).is_pending());
    assert!(poll(fut.as_mut(), &b).is_pending());
    let before = second.wakes();
    assert!(board.fire(0));
    assert!(second.wakes() > before, "the wake must reach the new task");
    assert_eq!(poll(fut.as_mut(), &b), Poll::Ready((0, 0)));
}

#[test]
fn panicking_parent_wake_does_not_stick() {
    another_task_takes_over(|kept| kept.wake_by_ref());
}

/// The same through a wake by value: the consumed waker's count is still
/// given up (under Miri, a leaked set fails the run).
#[test]
fn panicking_parent_wake_by_value_releases_the_waker() {
    another_task_takes_over(Waker::wake);
}

/// A future that must not move once polled.
struct Pinned {
    _pin: PhantomPinned,
    value: u32,
}

impl Future for Pinned {
    type Output = u32;

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<u32> {
        Poll::Ready(self.value)
    }
}

async fn three() -> u32 {
    3
}

#[test]
fn different_types_fit_one_array() {
    let (i, v) = pasts::block_on([pending().fut(), three().fut(), pending().fut()].select());
    assert_eq!((i, v), (1, 3));
    let all = pasts::block_on([ready(1).fut(), three().fut()].join());
    assert_eq!(all, [1, 3]);
}

#[test]
fn unpin_boxes_work_with_slices_and_selectors() {
    let pinned = Pinned {
        _pin: PhantomPinned,
        value: 9,
    };
    let mut sources = vec![pending().fut(), pinned.fut()];
    assert_eq!(pasts::block_on(sources.as_mut_slice().select()), (1, 9));
    let mut selector = pasts::Selector::new([pending().fut(), three().fut()]);
    assert_eq!(pasts::block_on(&mut selector), (1, 3));
}

#[test]
fn fut_send_is_send() {
    fn assert_send<T: Send>(t: T) -> T {
        t
    }
    let fut = assert_send(async { 5 }.fut_send());
    assert_eq!(
        std::thread::spawn(move || pasts::block_on(fut))
            .join()
            .unwrap(),
        5
    );
}

#[test]
fn vec_select_of_async_fn_futures() {
    async fn after(yields: u32, value: usize) -> usize {
        for _ in 0..yields {
            common::yield_now().await;
        }
        value
    }
    let futures = vec![after(5, 0), after(1, 1), after(9, 2)];
    assert_eq!(pasts::block_on(futures.select()), (1, 1));
}

#[test]
fn vec_select_drops_every_future_at_completion() {
    let board = Board::new(3);
    let (_parent, waker) = Counter::new();
    let mut fut = pin!((0..3).map(|i| board.child(i)).collect::<Vec<_>>().select());
    assert!(poll(fut.as_mut(), &waker).is_pending());
    board.fire(2);
    assert_eq!(poll(fut.as_mut(), &waker), Poll::Ready((2, 2)));
    assert_eq!(board.drops(), 3);
}

#[test]
#[should_panic(expected = "give it at least one future")]
fn empty_vec_panics() {
    let _fut = Vec::<Ready<()>>::new().select();
}
