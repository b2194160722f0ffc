//! Selecting over nothing is a bug in the caller: it panics, naming the fix.
#![cfg(feature = "std")]

use pasts::prelude::*;
use std::future::Ready;

#[test]
#[should_panic(expected = "give it at least one future")]
fn empty_array_panics() {
    let empty: [Ready<()>; 0] = [];
    let _fut = empty.select();
}

#[test]
#[should_panic(expected = "give it at least one future")]
fn empty_slice_panics() {
    let empty: &mut [Ready<()>] = &mut [];
    let _fut = empty.select();
}

#[test]
#[should_panic(expected = "push a source before awaiting it")]
fn empty_selector_panics_when_awaited() {
    let mut selector = pasts::Selector::<Ready<()>>::new([]);
    pasts::block_on(&mut selector);
}
