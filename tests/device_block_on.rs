//! `pasts::block_on` sleeps in the reactor's `epoll_wait` when it can: it
//! must still be woken by plain wakers, serve other executors' devices, and
//! not stall other threads when its own future blocks.
#![cfg(feature = "linux")]

mod common;
#[path = "support/sys.rs"]
mod sys;

use common::{park_block_on, within};
use pasts::linux::{Device, Watch};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Poll, Waker};
use std::thread;
use std::time::Duration;
use sys::{bump, bump_every, file, new_eventfd, next_count, pipe};

const LIMIT: Duration = Duration::from_secs(20);

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn plain_waker_ends_epoll_wait() {
    within(LIMIT, || {
        // A device that never fires: block_on waits in epoll_wait.
        let (_tx, rx) = pipe();
        let mut device = Device::new(rx, Watch::INPUT).unwrap();
        for _ in 0..50 {
            let slot: Arc<Mutex<(bool, Option<Waker>)>> = Arc::default();
            let waker_side = Arc::clone(&slot);
            let waker_thread = thread::spawn(move || {
                thread::sleep(Duration::from_millis(2));
                let mut slot = waker_side.lock().unwrap();
                slot.0 = true;
                if let Some(waker) = slot.1.take() {
                    waker.wake();
                }
            });
            pasts::block_on(poll_fn(|cx| {
                let _ = Pin::new(&mut device).poll(cx);
                let mut slot = slot.lock().unwrap();
                if slot.0 {
                    return Poll::Ready(());
                }
                slot.1 = Some(cx.waker().clone());
                Poll::Pending
            }));
            waker_thread.join().unwrap();
        }
    });
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn foreign_executor_served_while_block_on_waits() {
    within(LIMIT, || {
        // Thread X: pasts::block_on on a device fired only at the end.
        let late = new_eventfd();
        let (late_reader, late_writer) = (file(&late), file(&late));
        let mut late_device = Device::new(late, Watch::INPUT).unwrap();
        let x = thread::spawn(move || pasts::block_on(next_count(&mut late_device, &late_reader)));
        thread::sleep(Duration::from_millis(20));
        // This thread: a foreign executor on another device, fired 100 times.
        let fd = new_eventfd();
        let (reader, writer) = (file(&fd), file(&fd));
        let mut device = Device::new(fd, Watch::INPUT).unwrap();
        let bumper = bump_every(writer, 100, Duration::from_micros(200));
        let mut total = 0;
        while total < 100 {
            // More than 1 if bumps came faster than reads.
            total += park_block_on(next_count(&mut device, &reader)).0;
        }
        bumper.join().unwrap();
        bump(&late_writer);
        x.join().unwrap();
    });
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn blocking_future_does_not_stall_other_threads() {
    within(LIMIT, || {
        for _ in 0..20 {
            let (a, b) = (new_eventfd(), new_eventfd());
            let (a_reader, a_writer) = (file(&a), file(&a));
            let (b_reader, b_writer) = (file(&b), file(&b));
            let (mut dev_a, mut dev_b) = (
                Device::new(a, Watch::INPUT).unwrap(),
                Device::new(b, Watch::INPUT).unwrap(),
            );
            let (done_tx, done_rx) = mpsc::channel::<()>();
            // Thread 1: awaits A, then blocks its thread (inside the
            // future) until thread 2 got B.
            let t1 = thread::spawn(move || {
                pasts::block_on(async {
                    next_count(&mut dev_a, &a_reader).await;
                    done_rx.recv().unwrap();
                })
            });
            // Thread 2: awaits B.
            let t2 = thread::spawn(move || {
                pasts::block_on(next_count(&mut dev_b, &b_reader));
                done_tx.send(()).unwrap();
            });
            thread::sleep(Duration::from_millis(5));
            bump(&a_writer);
            thread::sleep(Duration::from_millis(1));
            bump(&b_writer);
            t1.join().unwrap();
            t2.join().unwrap();
        }
    });
}
