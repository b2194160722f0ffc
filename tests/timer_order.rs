//! Timers with different deadlines are woken in deadline order, whatever
//! order they were created and registered in.
#![cfg(feature = "linux")]

mod common;

use pasts::linux::Timer;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Wake, Waker};
use std::time::{Duration, Instant};

/// Appends its id to a shared log when woken.
struct Logger {
    id: usize,
    log: Arc<Mutex<Vec<usize>>>,
    thread: std::thread::Thread,
}

impl Wake for Logger {
    fn wake(self: Arc<Self>) {
        self.log.lock().unwrap().push(self.id);
        self.thread.unpark();
    }
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn woken_in_deadline_order() {
    const N: usize = 200;
    let log = Arc::new(Mutex::new(Vec::new()));
    // Deadline of timer `id` is `base` + 100 µs * rank, ranks shuffled so
    // registration order differs from deadline order. Absolute deadlines
    // (`Timer::at`) keep the ranks' order however slowly the timers are
    // made (an emulated guest), and `base` leaves time to register them all
    // before the first fires.
    let rank = |id: usize| (id * 73) % N; // 73 is coprime with 200
    let base = Instant::now() + Duration::from_millis(500);
    let mut timers: Vec<(usize, Pin<Box<Timer>>)> = (0..N)
        .map(|id| {
            let at = base + Duration::from_micros(100 * rank(id) as u64);
            (id, Box::pin(Timer::at(at).unwrap()))
        })
        .collect();
    for (id, timer) in &mut timers {
        let waker = Waker::from(Arc::new(Logger {
            id: *id,
            log: Arc::clone(&log),
            thread: std::thread::current(),
        }));
        assert!(timer
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
    }
    while log.lock().unwrap().len() < N {
        std::thread::park_timeout(Duration::from_millis(100));
    }
    let ranks: Vec<usize> = log.lock().unwrap().iter().map(|&id| rank(id)).collect();
    let expected: Vec<usize> = (0..N).collect();
    assert_eq!(ranks, expected, "wake order (by deadline rank)");
    // Every woken timer is now ready.
    let (_, noop) = common::Counter::new();
    for (_, timer) in &mut timers {
        assert!(timer
            .as_mut()
            .poll(&mut Context::from_waker(&noop))
            .is_ready());
    }
}
