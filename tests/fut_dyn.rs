//! `.fut()` boxes futures of different types (also `!Unpin` ones) so they
//! fit one array, slice or `Selector`.
#![cfg(feature = "std")]

use pasts::prelude::*;
use std::future::{pending, ready, Future};
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future that must not move once polled.
struct Pinned {
    _pin: PhantomPinned,
    value: u32,
}

impl Future for Pinned {
    type Output = u32;

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<u32> {
        Poll::Ready(self.value)
    }
}

async fn three() -> u32 {
    3
}

#[test]
fn different_types_fit_one_array() {
    let (i, v) = pasts::block_on([pending().fut(), three().fut(), pending().fut()].select());
    assert_eq!((i, v), (1, 3));
    let all = pasts::block_on([ready(1).fut(), three().fut()].join());
    assert_eq!(all, [1, 3]);
}

#[test]
fn unpin_boxes_work_with_slices_and_selectors() {
    let pinned = Pinned {
        _pin: PhantomPinned,
        value: 9,
    };
    let mut sources = vec![pending().fut(), pinned.fut()];
    assert_eq!(pasts::block_on(sources.as_mut_slice().select()), (1, 9));
    let mut selector = pasts::Selector::new([pending().fut(), three().fut()]);
    assert_eq!(pasts::block_on(&mut selector), (1, 3));
}

#[test]
fn fut_send_is_send() {
    fn assert_send<T: Send>(t: T) -> T {
        t
    }
    let fut = assert_send(async { 5 }.fut_send());
    assert_eq!(
        std::thread::spawn(move || pasts::block_on(fut))
            .join()
            .unwrap(),
        5
    );
}
