//! A join of 1,024 futures where each completes only after the next one
//! did (a relay) polls each future about twice: a wake re-polls only the
//! woken future, never a sweep over all of them.
#![cfg(feature = "std")]

mod common;
mod select_util;

use common::Counter;
use pasts::prelude::*;
use select_util::size;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

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
