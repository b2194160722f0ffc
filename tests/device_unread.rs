//! Level-triggered semantics: awaiting while unread data remains completes
//! at once, every time; once the data is read, the device waits again.
#![cfg(feature = "linux")]

mod common;
#[path = "support/sys.rs"]
mod sys;

use common::{poll, within, Counter};
use pasts::linux::{Device, Watch};
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::task::Poll;
use std::thread;
use std::time::Duration;
use sys::{file, try_read};

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn unread_data_keeps_it_ready() {
    within(Duration::from_secs(20), || {
        let (mut tx, rx) = UnixStream::pair().unwrap();
        rx.set_nonblocking(true).unwrap();
        // Written before the device exists: the readiness that races with
        // registration is not lost either.
        tx.write_all(b"abc").unwrap();
        let reader = file(&rx);
        let mut device = Device::new(rx.into(), Watch::INPUT).unwrap();
        // Never reading: each await completes with no new write.
        for _ in 0..100 {
            pasts::block_on(&mut device);
        }
        // Read one byte at a time: still ready until the last one is gone.
        let mut byte = [0];
        for expected in b"abc" {
            pasts::block_on(&mut device);
            assert_eq!(try_read(&reader, &mut byte), Some(1));
            assert_eq!(byte[0], *expected);
        }
        assert_eq!(try_read(&reader, &mut byte), None);
    });
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn drained_device_waits() {
    within(Duration::from_secs(20), || {
        let (mut tx, rx) = UnixStream::pair().unwrap();
        rx.set_nonblocking(true).unwrap();
        let mut device = Device::new(rx.into(), Watch::INPUT).unwrap();
        let (counter, waker) = Counter::unparking();
        assert_eq!(poll(Pin::new(&mut device), &waker), Poll::Pending);
        // Nothing to read: no wake, still pending.
        thread::sleep(Duration::from_millis(50));
        assert_eq!(poll(Pin::new(&mut device), &waker), Poll::Pending);
        assert_eq!(counter.wakes(), 0);
        // A write wakes the waker stored by the last poll.
        tx.write_all(b"x").unwrap();
        while counter.wakes() == 0 {
            thread::park();
        }
        assert_eq!(poll(Pin::new(&mut device), &waker), Poll::Ready(()));
    });
}
