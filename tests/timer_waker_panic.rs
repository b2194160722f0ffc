//! A timer waker that panics when it is woken (a bug in some executor) does
//! not stop the shared timer driver: later timers still fire.
#![cfg(feature = "linux")]

use pasts::linux::Timer;
use std::future::Future;
use std::pin::pin;
use std::sync::{mpsc, Arc};
use std::task::{Context, Wake, Waker};
use std::thread;
use std::time::Duration;

struct Panics;

impl Wake for Panics {
    fn wake(self: Arc<Self>) {
        panic!("this waker panics (on purpose)");
    }
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn panicking_timer_waker_is_contained() {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
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
        let _ = tx.send(());
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("timers stopped firing after a waker panicked");
}
