//! Criterion benches of `select`, `Selector` and `join`: N re-pollable
//! children, one woken per round (select), or a relay where each completion
//! wakes the next child (join).
//!
//! The side-by-side comparison with other crates is `../shared/bench/run
//! core:select,join selector`.
//!
//! `floor/*` puts `select_array/2` next to two hand-written selects of two
//! branches, the least each way can cost: `poll_all` polls every branch with
//! the task's own waker (as futures-concurrency's `race` does: no
//! bookkeeping, but a wake re-polls 1.5 branches on average), and
//! `per_branch` gives each branch its own waker from one set made once per
//! thread, with no atomics, no pooling and no moves between threads (a wake
//! re-polls only the woken branch). What separates `per_branch` from
//! `poll_all` is the price of re-polling only what woke at N = 2.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use pasts::prelude::*;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// State shared by the children of one bench.
struct Shared {
    /// The child whose next poll completes (`usize::MAX`: none).
    fire: Cell<usize>,
    wakers: RefCell<Vec<Option<Waker>>>,
}

impl Shared {
    fn new(n: usize) -> Rc<Self> {
        Rc::new(Self {
            fire: Cell::new(usize::MAX),
            wakers: RefCell::new(vec![None; n]),
        })
    }

    fn fire(&self, i: usize) {
        self.fire.set(i);
        if let Some(w) = self.wakers.borrow_mut()[i].take() {
            w.wake();
        }
    }
}

/// Ready when fired; otherwise registers its waker.
struct Child {
    id: usize,
    sh: Rc<Shared>,
}

impl Future for Child {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        if self.sh.fire.get() == self.id {
            self.sh.fire.set(usize::MAX);
            return Poll::Ready(self.id);
        }
        let mut ws = self.sh.wakers.borrow_mut();
        match &mut ws[self.id] {
            Some(w) if w.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

/// Poll, wake child `i`, poll until done.
fn drive<F: Future>(fut: F, sh: &Shared, i: usize, waker: &Waker) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(waker);
    assert!(fut.as_mut().poll(&mut cx).is_pending());
    sh.fire(i);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

fn select_array<const N: usize>(c: &mut Criterion) {
    let sh = Shared::new(N);
    let waker = Waker::from(Arc::new(Noop));
    let mut round = 0;
    c.bench_with_input(BenchmarkId::new("select_array", N), &N, |b, _| {
        b.iter(|| {
            round = (round + 7) % N;
            let children: [Child; N] = std::array::from_fn(|id| Child { id, sh: sh.clone() });
            black_box(drive(children.select(), &sh, round, &waker))
        })
    });
}

fn select_slice(c: &mut Criterion, n: usize) {
    let sh = Shared::new(n);
    let waker = Waker::from(Arc::new(Noop));
    let mut children: Vec<Child> = (0..n).map(|id| Child { id, sh: sh.clone() }).collect();
    let mut round = 0;
    c.bench_with_input(BenchmarkId::new("select_slice", n), &n, |b, _| {
        b.iter(|| {
            round = (round + 7) % n;
            black_box(drive(children.as_mut_slice().select(), &sh, round, &waker))
        })
    });
}

fn selector(c: &mut Criterion, n: usize) {
    let sh = Shared::new(n);
    let waker = Waker::from(Arc::new(Noop));
    let mut selector = pasts::Selector::new((0..n).map(|id| Child { id, sh: sh.clone() }));
    let mut round = 0;
    c.bench_with_input(BenchmarkId::new("selector", n), &n, |b, _| {
        b.iter(|| {
            round = (round + 7) % n;
            black_box(drive(&mut selector, &sh, round, &waker))
        })
    });
}

/// Relay child: completes on its turn, then hands the turn down and wakes.
struct Relay {
    i: usize,
    turn: Rc<Cell<usize>>,
    wakers: Rc<RefCell<Vec<Option<Waker>>>>,
}

impl Future for Relay {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        if self.turn.get() == self.i {
            self.turn.set(self.i.wrapping_sub(1));
            if self.i > 0 {
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

fn join_relay(c: &mut Criterion, n: usize) {
    let waker = Waker::from(Arc::new(Noop));
    c.bench_with_input(BenchmarkId::new("join_vec_relay", n), &n, |b, &n| {
        b.iter(|| {
            let turn = Rc::new(Cell::new(usize::MAX));
            let wakers = Rc::new(RefCell::new(vec![None; n]));
            let relays: Vec<Relay> = (0..n)
                .map(|i| Relay {
                    i,
                    turn: turn.clone(),
                    wakers: wakers.clone(),
                })
                .collect();
            let mut fut = pin!(relays.join());
            let mut cx = Context::from_waker(&waker);
            assert!(fut.as_mut().poll(&mut cx).is_pending());
            turn.set(n - 1);
            let last = wakers.borrow_mut()[n - 1].take();
            if let Some(w) = last {
                w.wake();
            }
            loop {
                if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                    break black_box(out);
                }
            }
        })
    });
}

/// The hand-written two-branch selects of `floor/*`.
#[allow(unsafe_code)]
mod floor {
    use std::cell::{Cell, UnsafeCell};
    use std::future::Future;
    use std::mem::ManuallyDrop;
    use std::pin::Pin;
    use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

    /// Polls both branches with the task's waker, from a rotating start.
    pub struct PollAll<F> {
        pub branches: [F; 2],
        pub start: usize,
    }

    impl<F: Future + Unpin> Future for PollAll<F> {
        type Output = (usize, F::Output);

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            for k in 0..2 {
                let i = self.start ^ k;
                if let Poll::Ready(out) = Pin::new(&mut self.branches[i]).poll(cx) {
                    return Poll::Ready((i, out));
                }
            }
            Poll::Pending
        }
    }

    /// One thread's wake set: woken bits, the task's waker, and an entry per
    /// branch for the branch wakers to point at.
    pub struct Set {
        woken: Cell<u8>,
        parent: UnsafeCell<Option<Waker>>,
        entries: [u8; 2],
    }

    std::thread_local! {
        static SET: &'static Set = Box::leak(Box::new(Set {
            woken: Cell::new(0),
            parent: UnsafeCell::new(None),
            entries: [0, 1],
        }));
    }

    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake, drop);

    unsafe fn clone(entry: *const ()) -> RawWaker {
        RawWaker::new(entry, &VTABLE)
    }

    unsafe fn drop(_: *const ()) {}

    /// # Safety
    ///
    /// `entry` points at `entries[j]` of a leaked `Set`, woken on the thread
    /// that owns it (the bench's only thread).
    unsafe fn wake(entry: *const ()) {
        let entry = entry.cast::<u8>();
        // SAFETY: `entry` is `entries[j]` of a live (leaked) set.
        let j = unsafe { entry.read() };
        // SAFETY: back from `entries[j]` to the start of its `Set`.
        let set = unsafe {
            &*entry
                .sub(usize::from(j) + std::mem::offset_of!(Set, entries))
                .cast::<Set>()
        };
        let old = set.woken.replace(set.woken.get() | 1 << j);
        if old == 0 {
            // SAFETY: one thread: nobody writes `parent` during this read.
            if let Some(parent) = unsafe { &*set.parent.get() } {
                parent.wake_by_ref();
            }
        }
    }

    /// Each branch with its own waker; a wake re-polls only the woken.
    pub struct PerBranch<F> {
        pub branches: [F; 2],
        pub set: Option<&'static Set>,
    }

    impl<F: Future + Unpin> Future for PerBranch<F> {
        type Output = (usize, F::Output);

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            let (set, woken) = match self.set {
                Some(set) => (set, set.woken.replace(0)),
                None => {
                    let set = SET.with(|set| *set);
                    set.woken.set(0);
                    self.set = Some(set);
                    (set, 0b11)
                }
            };
            // SAFETY: one thread, and no waker runs during this write.
            let parent = unsafe { &mut *set.parent.get() };
            if !parent.as_ref().is_some_and(|p| p.will_wake(cx.waker())) {
                *parent = Some(cx.waker().clone());
            }
            for i in (0..2).filter(|i| woken & 1 << i != 0) {
                let entry: *const u8 = &set.entries[i];
                let raw = RawWaker::new(entry.cast(), &VTABLE);
                // SAFETY: the vtable keeps the RawWaker contract for a
                // leaked set used on one thread.
                let waker = ManuallyDrop::new(unsafe { Waker::from_raw(raw) });
                let mut cx = Context::from_waker(&waker);
                if let Poll::Ready(out) = Pin::new(&mut self.branches[i]).poll(&mut cx) {
                    return Poll::Ready((i, out));
                }
            }
            Poll::Pending
        }
    }
}

fn floor(c: &mut Criterion) {
    let sh = Shared::new(2);
    let waker = Waker::from(Arc::new(Noop));
    let children = || std::array::from_fn(|id| Child { id, sh: sh.clone() });
    // Which branch is woken, and (for `poll_all`) where a poll starts:
    // pseudo-random bits, so neither is always the one polled first.
    let mut state = 0x9E37_79B9_u32;
    let mut bits = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state as usize & 1, (state >> 16) as usize & 1)
    };
    let mut group = c.benchmark_group("floor");
    group.bench_function("pasts_select", |b| {
        b.iter(|| {
            let (i, _) = bits();
            let branches: [Child; 2] = children();
            black_box(drive(branches.select(), &sh, i, &waker))
        })
    });
    group.bench_function("poll_all", |b| {
        b.iter(|| {
            let (i, start) = bits();
            let fut = floor::PollAll {
                branches: children(),
                start,
            };
            black_box(drive(fut, &sh, i, &waker))
        })
    });
    group.bench_function("per_branch", |b| {
        b.iter(|| {
            let (i, _) = bits();
            let fut = floor::PerBranch {
                branches: children(),
                set: None,
            };
            black_box(drive(fut, &sh, i, &waker))
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    floor(c);
    select_array::<2>(c);
    select_array::<64>(c);
    select_array::<1024>(c);
    select_slice(c, 2);
    select_slice(c, 1024);
    selector(c, 2);
    selector(c, 1024);
    join_relay(c, 10_000);
}

criterion_group!(select, benches);
criterion_main!(select);
