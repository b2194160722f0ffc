//! Fds that epoll refuses with `EPERM` (regular files, `/dev/null`) make
//! devices that are always ready, not errors.
#![cfg(feature = "linux")]

mod common;

use common::{poll, Counter};
use pasts::linux::{Device, Watch};
use std::fs::{File, OpenOptions};
use std::pin::Pin;
use std::task::Poll;

fn always_ready(file: File) {
    let mut device = Device::new(file.into(), Watch::INPUT | Watch::OUTPUT).unwrap();
    let (_, waker) = Counter::new();
    for _ in 0..3 {
        assert_eq!(poll(Pin::new(&mut device), &waker), Poll::Ready(()));
    }
    pasts::block_on(&mut device);
    assert!(format!("{device:?}").contains("always_ready: true"));
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn regular_file() {
    always_ready(File::open("Cargo.toml").unwrap());
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn dev_null() {
    always_ready(
        OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
            .unwrap(),
    );
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn into_fd_gives_the_file_back() {
    let device = Device::new(File::open("Cargo.toml").unwrap().into(), Watch::INPUT).unwrap();
    let file = File::from(device.into_fd());
    assert!(file.metadata().unwrap().is_file());
}
