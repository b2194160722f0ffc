//! After the first call on a thread, `block_on` allocates nothing, and
//! neither do selects and joins after the first (the thread keeps one
//! spare wake set); threads that come and go leave the heap as it was.
//! Counted by a global allocator that tallies allocations per thread.

#![cfg(feature = "std")]

#[path = "support/counting.rs"]
mod counting;

use counting::{allocs, live_bytes, track_this_thread};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

/// Rounds after the warm-up (Miri is slow).
const ROUNDS: usize = if cfg!(miri) { 20 } else { 1_000 };

/// Pending `left` times, waking itself each time (by reference and through
/// a clone, which must not allocate either).
struct SelfWake {
    left: u32,
}

impl Future for SelfWake {
    type Output = u32;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        if self.left == 0 {
            return Poll::Ready(7);
        }
        self.left -= 1;
        if self.left % 2 == 0 {
            cx.waker().wake_by_ref();
        } else {
            let clone = cx.waker().clone();
            clone.wake();
        }
        Poll::Pending
    }
}

#[test]
fn block_on_allocates_nothing_after_warm_up() {
    // Warm-up: the thread's interrupt is made on the first call.
    assert_eq!(pasts::block_on(async { 1 }), 1);
    let before = allocs();
    for _ in 0..ROUNDS {
        assert_eq!(pasts::block_on(async { 2 }), 2);
        assert_eq!(pasts::block_on(SelfWake { left: 10 }), 7);
    }
    assert_eq!(allocs() - before, 0, "block_on allocated after warm-up");
}

#[test]
fn selects_and_joins_allocate_nothing_after_warm_up() {
    use pasts::prelude::*;
    use std::future::ready;

    let round = || {
        pasts::block_on(async {
            let (i, v) = [SelfWake { left: 2 }, SelfWake { left: 3 }].select().await;
            assert_eq!((i, v), (0, 7));
            let (a, b) = (SelfWake { left: 1 }, ready(7)).join().await;
            assert_eq!((a, b), (7, 7));
            let all: [u8; 100] = std::array::from_fn(|_| ready(1)).join().await;
            assert_eq!(all, [1; 100]);
        })
    };
    // Warm-up: the thread's interrupt and the sets are made the first time.
    round();
    let before = allocs();
    for _ in 0..ROUNDS {
        round();
    }
    assert_eq!(
        allocs() - before,
        0,
        "selects or joins allocated after warm-up"
    );
}

#[test]
fn counter_sees_allocations() {
    // The instrument works: a Box is counted.
    let before = allocs();
    let b = Box::new(5u64);
    assert_eq!(**std::hint::black_box(&b), 5);
    assert!(allocs() > before);
}

struct Noop;

impl std::task::Wake for Noop {
    fn wake(self: std::sync::Arc<Self>) {}
}

type Job = Pin<Box<dyn Future<Output = (usize, u32)> + Send>>;

/// A tracked thread: selects of a few sizes, one select polled here and
/// finished and dropped on another tracked thread (`worker`).
fn churn(worker: &std::sync::mpsc::Sender<Job>) {
    let worker = worker.clone();
    std::thread::spawn(move || {
        track_this_thread();
        use pasts::prelude::*;
        use std::future::ready;
        pasts::block_on(async {
            for _ in 0..3 {
                let (i, v) = [ready(0), ready(1)].select().await;
                assert_eq!(i, v);
                let (i, v) = (ready(0), ready(1), ready(2)).select().await;
                assert_eq!(i, v);
                let all: [u8; 70] = std::array::from_fn(|_| ready(1)).join().await;
                assert_eq!(all, [1; 70]);
            }
        });
        let mut fut = Box::pin([SelfWake { left: 3 }, SelfWake { left: 5 }].select());
        let waker = std::task::Waker::from(std::sync::Arc::new(Noop));
        assert!(fut
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
        worker.send(fut).unwrap();
    })
    .join()
    .unwrap();
}

#[test]
fn threads_that_come_and_go_leave_the_heap_as_it_was() {
    let rounds = if cfg!(miri) { 10 } else { 200 };
    let (tx, rx) = std::sync::mpsc::channel::<Job>();
    // The worker says when it has finished each job (a rendezvous channel:
    // no allocation), so no job is still alive when the heap is measured.
    let (done_tx, done) = std::sync::mpsc::sync_channel(0);
    let worker = std::thread::spawn(move || {
        track_this_thread();
        for job in rx {
            assert_eq!(pasts::block_on(job), (0, 7));
            done_tx.send(()).unwrap();
        }
    });
    for _ in 0..10 {
        churn(&tx);
        done.recv().unwrap();
    }
    let before = live_bytes();
    for _ in 0..rounds {
        churn(&tx);
        done.recv().unwrap();
    }
    let grown = live_bytes() - before;
    drop(tx);
    worker.join().unwrap();
    // A set kept per ended thread would be over 100 bytes each.
    assert!(grown < 2_048, "the heap grew by {grown} bytes");
}
