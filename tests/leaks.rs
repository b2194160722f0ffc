//! Devices and timers keep nothing: fds and allocations counted around
//! many create/drop cycles. Its own binary, its tests one at a time
//! (`serial`): the counts must see nothing else (the counting global
//! allocator is this binary's).
#![cfg(feature = "linux")]

mod common;
mod exec;
#[path = "support/sys.rs"]
mod sys;

use common::{poll, within, Counter};
use exec::rounds;
use pasts::linux::{Device, Timer, Watch};
use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Waker};
use std::thread;
use std::time::{Duration, Instant};
use sys::{bump, file, new_eventfd, open_fds};

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Held by each test here: they count process-wide fds and allocations.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

mod cycles {
    //! 100,000 create/drop cycles keep nothing: no open fd and no live
    //! allocation more than before (counted by this test's global allocator).

    use super::*;

    /// Counts live allocations and bytes.
    struct Counting;

    static LIVE: AtomicIsize = AtomicIsize::new(0);
    static BYTES: AtomicIsize = AtomicIsize::new(0);

    // SAFETY: forwards every call to `System` unchanged; only counts.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            LIVE.fetch_add(1, Ordering::Relaxed);
            BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
            // SAFETY: the caller's contract is `System`'s.
            unsafe { System.alloc(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            LIVE.fetch_sub(1, Ordering::Relaxed);
            BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
            // SAFETY: the caller's contract is `System`'s.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    #[global_allocator]
    static ALLOC: Counting = Counting;

    /// One cycle: a device on a fresh eventfd, polled with a waker (so it holds
    /// a waker clone) on even rounds, then dropped.
    fn cycle(round: usize, waker: &Waker) {
        let mut device = Device::new(new_eventfd(), Watch::INPUT).unwrap();
        if round % 2 == 0 {
            let _ = poll(Pin::new(&mut device), waker);
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn create_drop_cycles_keep_nothing() {
        let _serial = serial();
        // Runs on this thread (not `within`): the counts must see only this.
        let (_, waker) = Counter::unparking();
        // Warm up: the reactor, its thread and its slab exist after this.
        for round in 0..1_000 {
            cycle(round, &waker);
        }
        std::thread::sleep(Duration::from_millis(50));
        let (fds, live, bytes) = (
            open_fds(),
            LIVE.load(Ordering::SeqCst),
            BYTES.load(Ordering::SeqCst),
        );
        for round in 0..rounds(100_000) {
            cycle(round, &waker);
        }
        std::thread::sleep(Duration::from_millis(50));
        let fds_after = open_fds();
        assert!(fds_after <= fds, "open fds grew: {fds} -> {fds_after}");
        let (live_after, bytes_after) = (LIVE.load(Ordering::SeqCst), BYTES.load(Ordering::SeqCst));
        assert!(
            live_after <= live,
            "live allocations grew: {live} -> {live_after}"
        );
        assert!(
            bytes_after <= bytes,
            "live bytes grew: {bytes} -> {bytes_after}"
        );
    }
}

mod drop_race {
    //! Dropping a device while another thread keeps its fd ready (writing in a
    //! tight loop) deregisters it safely: no crash, no hang, no leaked fd.

    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn drop_while_written() {
        let _serial = serial();
        within(Duration::from_secs(120), || {
            let fds_before = open_fds();
            for round in 0..rounds(1_000) {
                let fd = new_eventfd();
                let writer = file(&fd);
                let stop = Arc::new(AtomicBool::new(false));
                let hammer = {
                    let stop = Arc::clone(&stop);
                    thread::spawn(move || {
                        while !stop.load(Ordering::Relaxed) {
                            bump(&writer);
                        }
                    })
                };
                let mut device = Device::new(fd, Watch::INPUT).unwrap();
                let (_, waker) = Counter::unparking();
                // Leave it armed (or ready) with a waker, on odd rounds not even
                // polled, then drop it with events in flight.
                if round % 2 == 0 {
                    let _ = poll(Pin::new(&mut device), &waker);
                }
                if round % 3 == 0 {
                    thread::yield_now();
                }
                drop(device);
                stop.store(true, Ordering::Relaxed);
                hammer.join().unwrap();
            }
            // Allow the reactor's own two fds if this test made the reactor.
            assert!(open_fds() <= fds_before + 2, "fds leaked");
        });
    }
}

mod many_fds {
    //! 10,000 concurrent timers all complete, with a handful of fds open.

    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn ten_thousand_timers_few_fds() {
        let _serial = serial();
        let n = rounds(10_000);
        // Start the driver (its timerfd, the reactor's epoll) before counting.
        drop(Timer::new(Duration::ZERO).unwrap());
        let fds_before = open_fds();
        let start = Instant::now();
        let (counter, waker) = Counter::unparking();
        let mut cx = Context::from_waker(&waker);
        let mut timers: Vec<Pin<Box<Timer>>> = (0..n)
            .map(|i| {
                let d = Duration::from_micros(20_000 + (i as u64 * 7919) % 80_000);
                Box::pin(Timer::new(d).unwrap())
            })
            .collect();
        let mut pending: Vec<usize> = (0..n).collect();
        let mut peak_fds = 0;
        while !pending.is_empty() {
            pending.retain(|&i| timers[i].as_mut().poll(&mut cx).is_pending());
            peak_fds = peak_fds.max(open_fds());
            if !pending.is_empty() {
                std::thread::park_timeout(Duration::from_millis(50));
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "{} never fired",
                pending.len()
            );
        }
        assert!(start.elapsed() >= Duration::from_millis(20));
        assert!(peak_fds < 100, "{peak_fds} fds open");
        assert!(
            peak_fds <= fds_before + 1,
            "{fds_before} fds before, {peak_fds} while waiting"
        );
        // Woken at least once, and not once per timer per pass: batched.
        assert!(counter.wakes() >= 1);
    }
}
