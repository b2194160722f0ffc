//! 100,000 create/drop cycles keep nothing: no open fd and no live
//! allocation more than before (counted by this test's global allocator).
#![cfg(feature = "linux")]

mod common;
#[path = "support/sys.rs"]
mod sys;

use common::{poll, Counter};
use pasts::linux::{Device, Watch};
use std::alloc::{GlobalAlloc, Layout, System};
use std::pin::Pin;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::task::Waker;
use std::time::Duration;
use sys::{new_eventfd, open_fds};

/// Counts live allocations and bytes.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards every call to `System` unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(1, Ordering::Relaxed);
        BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// One cycle: a device on a fresh eventfd, polled with a waker (so it holds
/// a waker clone) on even rounds, then dropped.
fn cycle(round: usize, waker: &Waker) {
    let mut device = Device::new(new_eventfd(), Watch::INPUT).unwrap();
    if round % 2 == 0 {
        let _ = poll(Pin::new(&mut device), waker);
    }
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn create_drop_cycles_keep_nothing() {
    // Runs on this thread (not `within`): the counts must see only this.
    let (_, waker) = Counter::unparking();
    // Warm up: the reactor, its thread and its slab exist after this.
    for round in 0..1_000 {
        cycle(round, &waker);
    }
    std::thread::sleep(Duration::from_millis(50));
    let (fds, live, bytes) = (
        open_fds(),
        LIVE.load(Ordering::SeqCst),
        BYTES.load(Ordering::SeqCst),
    );
    for round in 0..100_000 {
        cycle(round, &waker);
    }
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(open_fds(), fds, "open fds grew");
    let (live_after, bytes_after) = (LIVE.load(Ordering::SeqCst), BYTES.load(Ordering::SeqCst));
    assert!(
        live_after <= live,
        "live allocations grew: {live} -> {live_after}"
    );
    assert!(
        bytes_after <= bytes,
        "live bytes grew: {bytes} -> {bytes_after}"
    );
}
