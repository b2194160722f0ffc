//! A global allocator that counts the allocations made on each thread, for
//! tests that check a path allocates nothing, and the bytes live on the
//! threads that ask to be tracked. A test binary installs it:
//!
//! ```ignore
//! #[global_allocator]
//! static GLOBAL: support::counting::Counting = support::counting::Counting;
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};

/// Forwards to `System`, counting `alloc` and `realloc` per thread.
pub struct Counting;

std::thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
    /// Bytes allocated and freed on this thread go to `LIVE`.
    static TRACKED: Cell<bool> = const { Cell::new(false) };
}

/// Bytes allocated and not yet freed by tracked threads.
static LIVE: AtomicIsize = AtomicIsize::new(0);

fn count(bytes: isize) {
    // `try_with`: allocations during thread teardown are not counted.
    let _ = ALLOCS.try_with(|n| n.set(n.get() + 1));
    live(bytes);
}

/// Adds `bytes` to `LIVE` on a tracked thread.
fn live(bytes: isize) {
    if TRACKED.try_with(Cell::get).unwrap_or(false) {
        LIVE.fetch_add(bytes, Ordering::SeqCst);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments, so
// `System`'s guarantees are passed through unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        // SAFETY: forwarded from our caller, who upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        live(-(layout.size() as isize));
        // SAFETY: `ptr` was allocated by `System` with `layout` (see `alloc`).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        count(size as isize - layout.size() as isize);
        // SAFETY: forwarded from our caller, who upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, size) }
    }
}

/// Allocations made on this thread so far.
pub fn allocs() -> u64 {
    ALLOCS.with(Cell::get)
}

/// From now on this thread's allocations and frees count in [`live_bytes`].
pub fn track_this_thread() {
    TRACKED.with(|t| t.set(true));
}

/// Bytes allocated and not yet freed by tracked threads.
pub fn live_bytes() -> isize {
    LIVE.load(Ordering::SeqCst)
}
