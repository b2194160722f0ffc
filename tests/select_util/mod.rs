//! Instrumented futures for the select/join/selector tests: children that
//! count their polls and drops and are made ready (and woken) on demand.
//! Their parent waker is `common::Counter`.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// Shared state of `n` children.
pub struct Board {
    /// Child `i` completes on its next poll (flag consumed).
    ready: Vec<AtomicBool>,
    /// Child `i` completes on every poll.
    always: Vec<AtomicBool>,
    wakers: Mutex<Vec<Option<Waker>>>,
    polls: Vec<AtomicUsize>,
    drops: AtomicUsize,
}

impl Board {
    pub fn new(n: usize) -> Arc<Board> {
        Arc::new(Board {
            ready: (0..n).map(|_| AtomicBool::new(false)).collect(),
            always: (0..n).map(|_| AtomicBool::new(false)).collect(),
            wakers: Mutex::new(vec![None; n]),
            polls: (0..n).map(|_| AtomicUsize::new(0)).collect(),
            drops: AtomicUsize::new(0),
        })
    }

    /// A re-pollable child: ready with `i` whenever made ready.
    pub fn child(self: &Arc<Self>, i: usize) -> Child {
        Child {
            i,
            board: self.clone(),
        }
    }

    /// Children `0..N` as an array.
    pub fn children<const N: usize>(self: &Arc<Self>) -> [Child; N] {
        std::array::from_fn(|i| self.child(i))
    }

    /// Make child `i` ready and wake the waker it registered; `false` if it
    /// had none.
    pub fn fire(&self, i: usize) -> bool {
        self.ready[i].store(true, Ordering::SeqCst);
        let waker = self.wakers.lock().unwrap()[i].take();
        waker.map(Waker::wake).is_some()
    }

    /// Make child `i` ready on every poll.
    pub fn set_always(&self, i: usize) {
        self.always[i].store(true, Ordering::SeqCst);
    }

    /// The waker child `i` registered last (a clone).
    pub fn waker(&self, i: usize) -> Option<Waker> {
        self.wakers.lock().unwrap()[i].clone()
    }

    pub fn polls(&self, i: usize) -> usize {
        self.polls[i].load(Ordering::SeqCst)
    }

    pub fn total_polls(&self) -> usize {
        (0..self.polls.len()).map(|i| self.polls(i)).sum()
    }

    pub fn drops(&self) -> usize {
        self.drops.load(Ordering::SeqCst)
    }
}

/// A child of a [`Board`].
pub struct Child {
    pub i: usize,
    board: Arc<Board>,
}

impl Future for Child {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let b = &*self.board;
        b.polls[self.i].fetch_add(1, Ordering::SeqCst);
        // Checked under the lock that `fire` takes the waker under: a fire
        // either comes before the check or finds the waker stored.
        let mut wakers = b.wakers.lock().unwrap();
        if b.always[self.i].load(Ordering::SeqCst) || b.ready[self.i].swap(false, Ordering::SeqCst)
        {
            return Poll::Ready(self.i);
        }
        match &mut wakers[self.i] {
            Some(w) if w.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.board.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// Sizes: full in native runs, small under Miri (it is slow).
pub const fn size(native: usize) -> usize {
    if cfg!(miri) {
        16
    } else {
        native
    }
}

/// A xorshift step: the next pseudo-random branch below `n`.
pub fn next_below(state: &mut u64, n: usize) -> usize {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    (*state % n as u64) as usize
}
