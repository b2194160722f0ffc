//! A panic in a job resumes on the awaiting task with its original payload,
//! and the pool thread that ran it keeps serving jobs.
#![cfg(feature = "std")]

use std::panic::{catch_unwind, panic_any};

#[derive(Debug, PartialEq)]
struct Payload(u32);

#[test]
fn panic_payload_is_resumed_and_the_thread_survives() {
    let (tx, rx) = std::sync::mpsc::channel();
    let caught = catch_unwind(|| {
        pasts::block_on(pasts::spawn_blocking(move || {
            tx.send(std::thread::current().id()).unwrap();
            panic_any(Payload(7));
        }))
    });
    let payload = caught.unwrap_err();
    assert_eq!(payload.downcast_ref::<Payload>(), Some(&Payload(7)));
    let panicked_on = rx.recv().unwrap();

    // The pool still works, and the thread that panicked is still in it
    // (under Miri idle threads exit at once, so none is reused).
    let mut reused = false;
    for i in 0..100u32 {
        let (out, id) = pasts::block_on(pasts::spawn_blocking(move || {
            (i + 1, std::thread::current().id())
        }));
        assert_eq!(out, i + 1);
        reused |= id == panicked_on;
    }
    assert!(
        reused || cfg!(miri),
        "the thread that ran the panicking job never ran another"
    );
}
