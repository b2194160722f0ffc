//! A waker that panics when the reactor wakes it (a bug in some executor)
//! does not break the reactor: other devices keep working.
#![cfg(feature = "linux")]

mod common;
#[path = "support/sys.rs"]
mod sys;

use common::{poll, within, Panics};
use pasts::linux::{Device, Watch};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Waker;
use std::thread;
use std::time::Duration;
use sys::{bump, file, new_eventfd, next_count};

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn panicking_waker_is_contained() {
    within(Duration::from_secs(20), || {
        let waker = Waker::from(Arc::new(Panics));
        for round in 0..3 {
            // Ten devices in one batch; the first waker panics.
            let fds: Vec<_> = (0..10).map(|_| new_eventfd()).collect();
            let files: Vec<_> = fds.iter().map(file).collect();
            let mut devices: Vec<_> = fds
                .into_iter()
                .map(|fd| Device::new(fd, Watch::INPUT).unwrap())
                .collect();
            assert!(poll(Pin::new(&mut devices[0]), &waker).is_pending());
            let others: Vec<_> = devices.split_off(1);
            let workers: Vec<_> = others
                .into_iter()
                .zip(files.iter().skip(1).map(|f| f.try_clone().unwrap()))
                .map(|(mut device, reader)| {
                    thread::spawn(move || pasts::block_on(next_count(&mut device, &reader)))
                })
                .collect();
            thread::sleep(Duration::from_millis(10));
            for f in &files {
                bump(f);
            }
            for worker in workers {
                assert_eq!(worker.join().unwrap(), 1, "round {round}");
            }
        }
    });
}
