//! A thousand devices at once: each wakes exactly when its own fd is
//! written, and the others stay pending.
#![cfg(feature = "linux")]

mod common;
#[path = "support/sys.rs"]
mod sys;

use common::{poll, within, Counter};
use pasts::linux::{Device, Watch};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;
use sys::{bump, file, new_eventfd, raise_fd_limit, try_read};

const N: usize = 1_000;

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn thousand_devices() {
    // Three fds per device (the eventfd and two handles on it).
    raise_fd_limit(3 * N as u64 + 100);
    within(Duration::from_secs(60), || {
        let fds: Vec<_> = (0..N).map(|_| new_eventfd()).collect();
        let writers: Vec<_> = fds.iter().map(file).collect();
        let readers: Vec<_> = fds.iter().map(file).collect();
        let mut devices: Vec<Device> = fds
            .into_iter()
            .map(|fd| Device::new(fd, Watch::INPUT).unwrap())
            .collect();
        // Write every even one from another thread.
        let evens: Vec<_> = writers.into_iter().step_by(2).collect();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            for w in &evens {
                bump(w);
            }
        });
        // Await until every even device was ready once (a hand-made join
        // that polls each pending device).
        let mut done = vec![false; N];
        pasts::block_on(poll_fn(|cx| {
            for (i, device) in devices.iter_mut().enumerate().step_by(2) {
                if !done[i] && Pin::new(device).poll(cx).is_ready() {
                    done[i] = true;
                }
            }
            if done.iter().step_by(2).all(|&d| d) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }));
        writer.join().unwrap();
        let mut buf = [0; 8];
        for (i, reader) in readers.iter().enumerate() {
            let read = try_read(reader, &mut buf);
            assert_eq!(read.is_some(), i % 2 == 0, "device {i}");
        }
        // The odd ones were never written: polling them is still pending.
        let (_, waker) = Counter::unparking();
        for device in devices.iter_mut().skip(1).step_by(2) {
            assert!(poll(Pin::new(device), &waker).is_pending());
        }
    });
}
