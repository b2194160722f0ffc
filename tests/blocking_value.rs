//! `spawn_blocking` returns the job's output, to `pasts::block_on` and to a
//! hand-written executor that only uses the waker it passes.
#![cfg(feature = "std")]

mod common;

use common::Counter;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll};

#[test]
fn returns_value_to_block_on() {
    let out = pasts::block_on(pasts::spawn_blocking(|| String::from("blocking") + "!"));
    assert_eq!(out, "blocking!");
}

#[test]
fn runs_on_a_named_pool_thread() {
    let main = std::thread::current().id();
    let (id, name) = pasts::block_on(pasts::spawn_blocking(|| {
        let me = std::thread::current();
        (me.id(), me.name().map(String::from))
    }));
    assert_ne!(id, main);
    assert_eq!(name.as_deref(), Some("pasts-blocking"));
}

#[test]
fn wakes_a_foreign_executor() {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (counter, waker) = Counter::new();
    let mut cx = Context::from_waker(&waker);
    let mut job = pin!(pasts::spawn_blocking(move || {
        rx.recv().unwrap();
        7
    }));
    assert_eq!(job.as_mut().poll(&mut cx), Poll::Pending);
    assert_eq!(job.as_mut().poll(&mut cx), Poll::Pending);
    assert_eq!(counter.wakes(), 0);
    tx.send(()).unwrap();
    common::eventually(30, "the job's wake-up", || counter.wakes() == 1);
    assert_eq!(job.as_mut().poll(&mut cx), Poll::Ready(7));
}

#[test]
fn future_is_send_sync_unpin_and_debug() {
    fn check<T: Send + Sync + Unpin + std::fmt::Debug>(_: &T) {}
    let job = pasts::spawn_blocking(|| 1u8);
    check(&job);
    assert!(format!("{job:?}").starts_with("Blocking"));
    assert_eq!(pasts::block_on(job), 1);
}
