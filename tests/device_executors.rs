//! The same device future runs on `pasts::block_on` and on a hand-written
//! executor that knows nothing of pasts.
#![cfg(feature = "linux")]

mod common;
#[path = "support/sys.rs"]
mod sys;

use common::{park_block_on, within};
use pasts::linux::{Device, Watch};
use std::time::Duration;
use sys::{bump_every, file, new_eventfd, next_count};

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn same_device_on_two_executors() {
    within(Duration::from_secs(20), || {
        let fd = new_eventfd();
        let (reader, writer) = (file(&fd), file(&fd));
        let mut device = Device::new(fd, Watch::INPUT).unwrap();
        let bumper = bump_every(writer, 20, Duration::from_millis(2));
        let mut total = 0;
        let mut foreign_wakes = 0;
        while total < 20 {
            if total % 2 == 0 {
                total += pasts::block_on(next_count(&mut device, &reader));
            } else {
                let (n, _, wakes) = park_block_on(next_count(&mut device, &reader));
                total += n;
                foreign_wakes += wakes;
            }
        }
        bumper.join().unwrap();
        assert_eq!(total, 20);
        // The foreign executor was woken by the reactor, not by luck: it
        // parked at least once across its rounds (a bump comes every 2 ms).
        assert!(foreign_wakes > 0);
    });
}
