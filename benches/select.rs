//! Criterion benches of `select`, `Selector` and `join`: N re-pollable
//! children, one woken per round (select), or a relay where each completion
//! wakes the next child (join).
//!
//! The side-by-side comparison with other crates is `../shared/bench/run
//! core:select,join selector`.

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

fn benches(c: &mut Criterion) {
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
