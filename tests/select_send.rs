//! Select and join futures, and `Selector`, are `Send` (and `Unpin`) when
//! their futures are: they run on any executor, also multi-threaded ones.
#![cfg(feature = "std")]

use pasts::prelude::*;
use std::future::{ready, Ready};

fn assert_send<T: Send>(t: T) -> T {
    t
}

fn assert_unpin<T: Unpin>(t: T) -> T {
    t
}

#[test]
fn combinators_are_send_and_unpin() {
    let mut sources = [ready(1), ready(2)];
    let fut = assert_unpin(assert_send([ready(1), ready(2)].select()));
    assert!(pasts::block_on(fut).1 > 0);
    assert_send(assert_unpin(sources.as_mut_slice().select()));
    assert_send(assert_unpin((ready(1), ready(2)).select()));
    assert_send(assert_unpin([ready(1)].join()));
    assert_send(assert_unpin((ready(1), ready('a')).join()));
    assert_send(assert_unpin(vec![ready(1)].join()));
    let selector: pasts::Selector<Ready<u8>> = pasts::Selector::new([ready(1)]);
    assert_send(assert_unpin(selector));
    let fut = assert_send(async { 1 }.fut_send());
    assert_eq!(pasts::block_on(fut), 1);
}
