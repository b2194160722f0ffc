//! A `block_on` whose future keeps waking itself (a game loop that yields
//! every frame) never sleeps in `epoll_wait`; its timers must still fire.
#![cfg(feature = "linux")]

mod common;

use pasts::linux::Timer;
use std::future::Future;
use std::pin::{pin, Pin};
use std::task::{Context, Poll};
use std::time::Duration;

/// Polls `timer` and, while it is pending, wakes itself: always runnable.
struct Busy<'a> {
    timer: Pin<&'a mut Timer>,
    polls: u64,
}

impl Future for Busy<'_> {
    type Output = u64;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u64> {
        self.polls += 1;
        if self.timer.as_mut().poll(cx).is_ready() {
            return Poll::Ready(self.polls);
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn busy_block_on_still_sees_its_timer() {
    // A timeout: the timer never fired while its thread was busy.
    let polls = common::within(Duration::from_secs(20), || {
        let timer = pin!(Timer::new(Duration::from_millis(20)).unwrap());
        pasts::block_on(Busy { timer, polls: 0 })
    });
    assert!(polls > 1);
}
