//! Dropping the future detaches the job: it still runs, its output is
//! dropped once, and the dropped task is not woken.
#![cfg(feature = "std")]

mod common;

use common::Counter;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::task::Context;

/// Counts its drops.
struct Output(Arc<AtomicUsize>);

impl Drop for Output {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn dropped_future_detaches_the_job() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (ran_tx, ran_rx) = mpsc::channel::<()>();
    let out = Output(Arc::clone(&drops));
    let mut job = pasts::spawn_blocking(move || {
        go_rx.recv().unwrap();
        ran_tx.send(()).unwrap();
        out
    });
    let (counter, waker) = Counter::new();
    assert!(Pin::new(&mut job)
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    drop(job);
    go_tx.send(()).unwrap();
    ran_rx.recv().unwrap();
    common::eventually(30, "the detached output's drop", || {
        drops.load(Ordering::SeqCst) == 1
    });
    // The pool is still usable, and nobody woke the dropped task.
    assert_eq!(pasts::block_on(pasts::spawn_blocking(|| 5)), 5);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert_eq!(counter.wakes(), 0);
}

#[test]
fn dropped_after_completion_drops_the_output_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let out = Output(Arc::clone(&drops));
    let job = pasts::spawn_blocking(move || out);
    let (counter, waker) = Counter::new();
    let mut job = Box::pin(job);
    let mut cx = Context::from_waker(&waker);
    while job.as_mut().poll(&mut cx).map(drop).is_pending() {
        common::eventually(30, "the job's wake-up", || counter.wakes() > 0);
    }
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    let never_polled = pasts::spawn_blocking({
        let out = Output(Arc::clone(&drops));
        move || out
    });
    drop(never_polled);
    common::eventually(30, "the unpolled output's drop", || {
        drops.load(Ordering::SeqCst) == 2
    });
}

#[test]
#[should_panic(expected = "polled after it returned")]
fn polling_after_ready_panics() {
    let mut job = pasts::spawn_blocking(|| ());
    pasts::block_on(&mut job);
    let (_counter, waker) = Counter::new();
    let _ = Pin::new(&mut job).poll(&mut Context::from_waker(&waker));
}
