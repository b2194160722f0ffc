//! Two `pasts::block_on` threads with devices: when the thread that waits in
//! `epoll_wait` wakes to run a long poll, the other (parked) thread takes
//! over collecting events at once, so its device event is dispatched on its
//! own thread — not left for the reactor thread's next periodic check.
#![cfg(feature = "linux")]

mod common;
#[path = "support/sys.rs"]
mod sys;

use common::{within, Recording};
use pasts::linux::{Device, Watch};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;
use sys::{bump, file, new_eventfd};

/// One round; true if B's device event was dispatched on B's own thread.
fn round() -> bool {
    // A: owns the role (sleeps in epoll_wait) until `go` is set and it is
    // woken through `wake_a`; then runs a poll that blocks for 400 ms.
    let go = Arc::new(AtomicBool::new(false));
    let go_a = Arc::clone(&go);
    let (wake_a_tx, wake_a) = mpsc::channel::<Waker>();
    let a = thread::spawn(move || {
        let mut sent = false;
        pasts::block_on(poll_fn(move |cx| {
            if go_a.load(Ordering::Acquire) {
                thread::sleep(Duration::from_millis(400));
                return Poll::Ready(());
            }
            if !sent {
                sent = true;
                wake_a_tx.send(cx.waker().clone()).unwrap();
            }
            Poll::Pending
        }));
    });
    let wake_a = wake_a.recv().unwrap();
    // Let A settle as the owner of the role.
    thread::sleep(Duration::from_millis(50));

    // B: awaits its device; parks, since A owns the role.
    let fd = new_eventfd();
    let writer = file(&fd);
    let mut device = Device::new(fd, Watch::INPUT).unwrap();
    let dispatched_on = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&dispatched_on);
    let b = thread::spawn(move || {
        pasts::block_on(poll_fn(|cx| {
            let waker = Waker::from(Arc::new(Recording {
                inner: cx.waker().clone(),
                threads: Arc::clone(&record),
            }));
            Pin::new(&mut device).poll(&mut Context::from_waker(&waker))
        }));
        thread::current().id()
    });
    thread::sleep(Duration::from_millis(50));

    // A wakes and blocks in its poll; then B's device becomes readable.
    go.store(true, Ordering::Release);
    wake_a.wake();
    thread::sleep(Duration::from_millis(50));
    bump(&writer);
    let b_id = b.join().unwrap();
    a.join().unwrap();
    let on = dispatched_on.lock().unwrap();
    on.as_slice() == [b_id]
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn parked_thread_takes_over_when_the_owner_runs() {
    within(Duration::from_secs(60), || {
        // The reactor exists before the rounds, so A's first sleep is in
        // `epoll_wait`.
        let _start_the_reactor = Device::new(new_eventfd(), Watch::INPUT).unwrap();
        let here = (0..5).filter(|_| round()).count();
        // Scheduling on a loaded machine may let the reactor thread collect
        // an event now and then; without the hand-over it collects them all.
        assert!(
            here >= 3,
            "{here} of 5 events dispatched on the awaiting thread"
        );
    });
}
