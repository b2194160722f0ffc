//! A `Device` completes when its fd becomes ready: pipes, eventfds and
//! socket pairs, for input and for output, written from another thread.
#![cfg(feature = "linux")]

mod common;
#[path = "support/sys.rs"]
mod sys;

use common::within;
use pasts::linux::{Device, Watch};
use std::fs::File;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::Duration;
use sys::{bump, file, new_eventfd, pipe, try_read};

const LIMIT: Duration = Duration::from_secs(20);

/// Await `rx` until a read succeeds while another thread runs `write` after
/// a pause; returns the bytes read.
fn read_after(rx: OwnedFd, write: impl FnOnce() + Send + 'static) -> Vec<u8> {
    within(LIMIT, move || {
        let reader = file(&rx);
        let mut device = Device::new(rx, Watch::INPUT).unwrap();
        let writer = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            write();
        });
        let mut buf = [0; 64];
        let n = pasts::block_on(async {
            loop {
                (&mut device).await;
                if let Some(n) = try_read(&reader, &mut buf) {
                    break n;
                }
            }
        });
        writer.join().unwrap();
        buf[..n].to_vec()
    })
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn pipe_input() {
    let (rx, tx) = pipe();
    let got = read_after(rx, move || File::from(tx).write_all(b"pipe").unwrap());
    assert_eq!(got, b"pipe");
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn eventfd_input() {
    let fd = new_eventfd();
    let writer = file(&fd);
    let got = read_after(fd, move || bump(&writer));
    assert_eq!(got, 1u64.to_ne_bytes());
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn socketpair_input() {
    let (mut tx, rx) = UnixStream::pair().unwrap();
    rx.set_nonblocking(true).unwrap();
    let got = read_after(rx.into(), move || tx.write_all(b"sock").unwrap());
    assert_eq!(got, b"sock");
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn pipe_output_after_drain() {
    within(LIMIT, || {
        let (rx, tx) = pipe();
        let writer = file(&tx);
        // Fill the pipe: now it is not writable.
        let chunk = [0u8; 4096];
        let mut filled = 0;
        loop {
            match (&writer).write(&chunk) {
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
        let mut device = Device::new(tx, Watch::OUTPUT).unwrap();
        let drainer = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            let reader = file(&rx);
            let mut buf = vec![0; filled];
            let mut total = 0;
            while total < filled {
                total += try_read(&reader, &mut buf).unwrap_or(0);
            }
            rx
        });
        pasts::block_on(async {
            loop {
                (&mut device).await;
                if (&writer).write(b"x").is_ok() {
                    break;
                }
            }
        });
        drop(drainer.join().unwrap());
    });
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn input_or_output_combined() {
    within(LIMIT, || {
        let (a, _b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        // An empty socket is writable: INPUT | OUTPUT is ready at once.
        let mut device = Device::new(a.into(), Watch::INPUT | Watch::OUTPUT).unwrap();
        pasts::block_on(&mut device);
        assert_eq!(device.watch(), Watch::INPUT | Watch::OUTPUT);
    });
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn hang_up_is_ready() {
    let (rx, tx) = pipe();
    // The read end of a pipe whose writer closed is readable (EOF).
    let got = read_after(rx, move || drop(tx));
    assert!(got.is_empty());
}

#[test]
fn device_is_send_sync_unpin() {
    fn check<T: Send + Sync + Unpin + std::fmt::Debug>() {}
    check::<Device>();
}
