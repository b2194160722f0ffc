//! Helpers shared by the `timer_*` tests: a waker that counts its wakes and
//! unparks a thread, and a minimal executor built on it.
#![allow(dead_code)] // each test file uses a part

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;

/// Counts wakes and unparks the thread that made it.
pub struct Counter {
    pub wakes: AtomicUsize,
    thread: Thread,
}

impl Counter {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            wakes: AtomicUsize::new(0),
            thread: std::thread::current(),
        })
    }

    pub fn wakes(&self) -> usize {
        self.wakes.load(Ordering::SeqCst)
    }
}

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.thread.unpark();
    }
}

/// The smallest executor there is: poll, park until woken, repeat. Returns
/// the output and how many times the future was polled.
pub fn park_block_on<F: Future>(fut: F) -> (F::Output, usize) {
    let counter = Counter::new();
    let waker = Waker::from(Arc::clone(&counter));
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    let mut polls = 0;
    loop {
        polls += 1;
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return (out, polls);
        }
        std::thread::park();
    }
}

/// Open file descriptors of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}
