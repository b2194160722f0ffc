//! A timer waker that panics when it is woken (a bug in some executor) does
//! not stop the shared timer driver: later timers still fire.
#![cfg(feature = "linux")]

mod common;

use common::{within, Panics};
use pasts::linux::Timer;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Waker};
use std::time::Duration;

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn panicking_timer_waker_is_contained() {
    // A timeout: timers stopped firing after a waker panicked.
    within(Duration::from_secs(20), || {
        let waker = Waker::from(Arc::new(Panics));
        let mut cx = Context::from_waker(&waker);
        // Expires with the well-behaved timer made right after it (same pass,
        // woken after it): the panic must not cost that one its wake-up,
        // nor the driver its later ones.
        let mut bad = pin!(Timer::new(Duration::from_millis(5)).unwrap());
        assert!(bad.as_mut().poll(&mut cx).is_pending());
        pasts::block_on(Timer::new(Duration::from_millis(5)).unwrap());
        for _ in 0..3 {
            pasts::block_on(Timer::new(Duration::from_millis(10)).unwrap());
        }
    });
}
