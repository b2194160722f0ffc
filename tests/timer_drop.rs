//! Dropping a timer cancels it: its waker is released and never called, and
//! the other timers are unaffected.
#![cfg(feature = "linux")]

mod common;

use common::{park_block_on, Counter};
use pasts::linux::{Interval, Timer};
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::Context;
use std::time::Duration;

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn dropped_timer_is_never_woken() {
    let (counter, waker) = Counter::unparking();
    let mut cx = Context::from_waker(&waker);
    {
        // The earliest timer of the process, so the timerfd is armed for it
        // and fires for nothing after the drop.
        let mut timer = pin!(Timer::new(Duration::from_millis(10)).unwrap());
        assert!(timer.as_mut().poll(&mut cx).is_pending());
        let mut interval = pin!(Interval::new(Duration::from_millis(10)).unwrap());
        assert!(interval.as_mut().poll(&mut cx).is_pending());
        // The queue holds one clone of the waker per timer.
        assert_eq!(Arc::strong_count(&counter), 4);
    }
    // Dropped: the queue's clones are gone at once.
    assert_eq!(Arc::strong_count(&counter), 2);
    // A later timer on the same thread still works...
    park_block_on(Timer::new(Duration::from_millis(30)).unwrap());
    // ...and the dropped ones were never woken.
    assert_eq!(counter.wakes(), 0);
}
