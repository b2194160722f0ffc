//! Criterion benches of `pasts::linux::Timer`: arming and cancelling a timer
//! (create, poll once, drop) with an empty queue and with 100,000 other
//! timers pending, resetting a pending timer (an idle timeout pushed back),
//! and firing a batch of timers (sparse, on a hand-made
//! executor; dense, in `pasts::block_on`).
//!
//! The side-by-side comparison with tokio and async-io is
//! `../shared/bench/run linux:timers`.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use pasts::linux::Timer;
use pasts::prelude::*;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::Duration;

/// Unparks the bench thread.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

fn waker() -> Waker {
    Waker::from(Arc::new(Unpark(std::thread::current())))
}

/// Create a timer, poll it once (which queues it), drop it (which cancels).
fn arm_cancel(cx: &mut Context<'_>, d: Duration) -> bool {
    let mut timer = Timer::new(d).unwrap();
    Pin::new(&mut timer).poll(cx).is_pending()
}

/// `n` timers polled once, due over the next 5..15 s (random order).
fn background(n: u64, cx: &mut Context<'_>) -> Vec<Timer> {
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    (0..n)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut t = Timer::new(Duration::from_millis(5_000 + seed % 10_000)).unwrap();
            assert!(Pin::new(&mut t).poll(cx).is_pending());
            t
        })
        .collect()
}

fn timers(c: &mut Criterion) {
    let waker = waker();
    let mut cx = Context::from_waker(&waker);
    let ten_s = Duration::from_secs(10);
    c.bench_function("timer arm+cancel, empty queue", |b| {
        b.iter(|| black_box(arm_cancel(&mut cx, black_box(ten_s))))
    });
    let pending = background(100_000, &mut cx);
    c.bench_function("timer arm+cancel, 100k pending", |b| {
        b.iter(|| black_box(arm_cancel(&mut cx, black_box(ten_s))))
    });
    // An idle timeout pushed back on every packet: one pending timer reset
    // to a later deadline (no syscall: the timerfd stays armed earlier).
    let mut timeout = Timer::new(ten_s).unwrap();
    assert!(Pin::new(&mut timeout).poll(&mut cx).is_pending());
    let start = std::time::Instant::now();
    let mut later = ten_s;
    c.bench_function("timer reset later, 100k pending", |b| {
        b.iter(|| {
            later += Duration::from_nanos(1);
            timeout.reset(black_box(start + later));
        })
    });
    drop(timeout);
    drop(pending);
    c.bench_function("timer fire 1000 (1 ms) on a hand-made executor", |b| {
        b.iter_batched(
            || {
                (0..1000u64)
                    .map(|i| Timer::new(Duration::from_micros(1000 + i)).unwrap())
                    .collect::<Vec<_>>()
            },
            |mut timers| {
                while !timers.is_empty() {
                    timers.retain_mut(|t| Pin::new(t).poll(&mut cx) == Poll::Pending);
                    if !timers.is_empty() {
                        std::thread::park();
                    }
                }
            },
            BatchSize::PerIteration,
        )
    });
    // Deadlines 1 µs apart: the `block_on` thread waits for each by running
    // passes back to back, not by arming the timerfd.
    c.bench_function(
        "timer fire 1000 (1 ms, 1 µs apart) in pasts::block_on",
        |b| {
            b.iter_batched(
                || {
                    (0..1000u64)
                        .map(|i| Timer::new(Duration::from_micros(1000 + i)).unwrap())
                        .collect::<Vec<_>>()
                },
                |timers| pasts::block_on(timers.join()),
                BatchSize::PerIteration,
            )
        },
    );
}

criterion_group!(benches, timers);
criterion_main!(benches);
