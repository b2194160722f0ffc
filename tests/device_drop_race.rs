//! Dropping a device while another thread keeps its fd ready (writing in a
//! tight loop) deregisters it safely: no crash, no hang, no leaked fd.
#![cfg(feature = "linux")]

mod common;
#[path = "support/sys.rs"]
mod sys;

use common::{poll, within, Counter};
use pasts::linux::{Device, Watch};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;
use sys::{bump, file, new_eventfd, open_fds};

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn drop_while_written() {
    within(Duration::from_secs(120), || {
        let fds_before = open_fds();
        for round in 0..1_000 {
            let fd = new_eventfd();
            let writer = file(&fd);
            let stop = Arc::new(AtomicBool::new(false));
            let hammer = {
                let stop = Arc::clone(&stop);
                thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        bump(&writer);
                    }
                })
            };
            let mut device = Device::new(fd, Watch::INPUT).unwrap();
            let (_, waker) = Counter::unparking();
            // Leave it armed (or ready) with a waker, on odd rounds not even
            // polled, then drop it with events in flight.
            if round % 2 == 0 {
                let _ = poll(Pin::new(&mut device), &waker);
            }
            if round % 3 == 0 {
                thread::yield_now();
            }
            drop(device);
            stop.store(true, Ordering::Relaxed);
            hammer.join().unwrap();
        }
        // Allow the reactor's own two fds if this test made the reactor.
        assert!(open_fds() <= fds_before + 2, "fds leaked");
    });
}
