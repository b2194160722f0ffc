//! Without `alloc`, select and join poll every unfinished branch with the
//! parent's waker, and still give the right answers.
//! (Run with `cargo test --no-default-features --test select_no_alloc`.)
#![cfg(not(feature = "alloc"))]

use core::future::{pending, ready, Future};
use core::pin::pin;
use core::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use pasts::prelude::*;

fn noop_raw(_: *const ()) -> RawWaker {
    RawWaker::new(core::ptr::null(), &VTABLE)
}
fn noop(_: *const ()) {}
static VTABLE: RawWakerVTable = RawWakerVTable::new(noop_raw, noop, noop, noop);

/// Poll `fut` up to 10 times with a no-op waker.
fn run<F: Future>(fut: F) -> Option<F::Output> {
    // SAFETY: the vtable ignores the data pointer.
    let waker = unsafe { Waker::from_raw(noop_raw(core::ptr::null())) };
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    (0..10).find_map(|_| match fut.as_mut().poll(&mut cx) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    })
}

#[test]
fn select_and_join_work_without_alloc() {
    assert_eq!(run((pending(), ready(4)).select()), Some((1, 4)));
    let mut sources = [ready(1), ready(2)];
    let (i, v) = run(sources.as_mut_slice().select()).unwrap();
    assert_eq!(v, i + 1);
    assert_eq!(run([ready(1), ready(2)].join()), Some([1, 2]));
    assert_eq!(run((ready('a'), async { 2 }).join()), Some(('a', 2)));
    assert_eq!(run([pending::<()>()].join()), None);
}
