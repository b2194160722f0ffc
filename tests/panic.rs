//! A panic in the future unwinds out of `block_on`, with its payload, and the
//! thread can `block_on` again — also from inside a nested call.

#![cfg(feature = "std")]

use std::panic::{catch_unwind, AssertUnwindSafe};

#[test]
fn panic_unwinds_and_thread_recovers() {
    let caught = catch_unwind(|| pasts::block_on(async { panic!("boom") }));
    let payload = caught.expect_err("the panic must reach the caller");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    assert_eq!(pasts::block_on(async { 5 }), 5);
}

#[test]
fn panic_in_nested_block_on() {
    let out = pasts::block_on(async {
        let inner = catch_unwind(AssertUnwindSafe(|| {
            pasts::block_on(async { panic!("inner") })
        }));
        assert!(inner.is_err());
        pasts::block_on(async { 6 })
    });
    assert_eq!(out, 6);
    assert_eq!(pasts::block_on(async { 7 }), 7);
}
