//! A parent waker may poll its task from inside its own wake (an executor
//! that runs a woken task inline), with a new waker each poll. When that
//! wake comes from a branch woken on the select's home thread, the inline
//! poll must not replace, and so drop, the parent waker whose wake is still
//! running (a use-after-free in safe code). Runs under Miri.
#![cfg(feature = "std")]

mod select_util;

use pasts::prelude::*;
use select_util::Board;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Wake, Waker};

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
