//! Select and join futures, and `Selector`, are `Send` and `Unpin` when
//! their futures are: they run on any executor, also multi-threaded ones.
#![cfg(feature = "std")]

use pasts::prelude::*;
use std::future::{ready, Ready};

fn assert_send_unpin<T: Send + Unpin>(_: &T) {}

#[test]
fn combinators_are_send_and_unpin() {
    let mut sources = [ready(1), ready(2)];
    let fut = [ready(1), ready(2)].select();
    assert_send_unpin(&fut);
    assert!(pasts::block_on(fut).1 > 0);
    let fut = sources.as_mut_slice().select();
    assert_send_unpin(&fut);
    assert!(pasts::block_on(fut).1 > 0);
    let fut = (ready(1), ready(2)).select();
    assert_send_unpin(&fut);
    assert!(pasts::block_on(fut).1 > 0);
    let fut = (ready(1), ready('a')).join();
    assert_send_unpin(&fut);
    assert_eq!(pasts::block_on(fut), (1, 'a'));
    let fut = [ready(1)].join();
    assert_send_unpin(&fut);
    assert_eq!(pasts::block_on(fut), [1]);
    let fut = vec![ready(1)].join();
    assert_send_unpin(&fut);
    assert_eq!(pasts::block_on(fut), [1]);
    let selector: pasts::Selector<Ready<u8>> = pasts::Selector::new([ready(1)]);
    assert_send_unpin(&selector);
    let fut = async { 1 }.fut_send();
    assert_send_unpin(&fut);
    assert_eq!(pasts::block_on(fut), 1);
}
