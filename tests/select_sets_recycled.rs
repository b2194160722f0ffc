//! Wake sets are never freed but reused: threads that start and end, each
//! running selects (some moved to another thread and dropped there), leave
//! the live heap where it was. The only test in this binary: the count of
//! live bytes is global.
#![cfg(feature = "std")]

mod common;
mod select_util;

use common::{poll, Counter};
use pasts::prelude::*;
use select_util::{size, Board};
use std::alloc::{GlobalAlloc, Layout, System};
use std::future::ready;
use std::sync::atomic::{AtomicIsize, Ordering};

/// Counts the bytes allocated and not yet freed, on every thread.
struct Live;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments, so
// `System`'s guarantees are passed through unchanged.
unsafe impl GlobalAlloc for Live {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::SeqCst);
        // SAFETY: forwarded from our caller, who upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::SeqCst);
        // SAFETY: `ptr` was allocated by `System` with `layout` (see `alloc`).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        LIVE.fetch_add(size as isize - layout.size() as isize, Ordering::SeqCst);
        // SAFETY: forwarded from our caller, who upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, size) }
    }
}

#[global_allocator]
static GLOBAL: Live = Live;

/// One short-lived thread: selects of a few sizes, one select polled here
/// and dropped on another thread (its set goes back to this thread's id).
fn churn() {
    std::thread::spawn(|| {
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
        let board = Board::new(2);
        let (_parent, waker) = Counter::new();
        let mut fut = Box::pin(board.children::<2>().select());
        assert!(poll(fut.as_mut(), &waker).is_pending());
        std::thread::spawn(move || drop(fut)).join().unwrap();
    })
    .join()
    .unwrap();
}

#[test]
fn threads_that_come_and_go_leave_the_heap_as_it_was() {
    for _ in 0..size(20) {
        churn();
    }
    let before = LIVE.load(Ordering::SeqCst);
    for _ in 0..size(200) {
        churn();
    }
    let grown = LIVE.load(Ordering::SeqCst) - before;
    // A set kept per thread would be over 100 bytes each: 20 KB here.
    assert!(grown < 2_048, "the heap grew by {grown} bytes");
}
