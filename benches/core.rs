//! Criterion benches of the core executor: `block_on` of a ready future, a
//! future that wakes itself, and a cross-thread wake round trip.
//!
//! The side-by-side comparison with other executors is `../shared/bench/run`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc;
use std::task::{Context, Poll, Waker};

/// Ready after waking itself `left` times.
struct SelfWake {
    left: u32,
}

impl Future for SelfWake {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.left == 0 {
            return Poll::Ready(());
        }
        self.left -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Pending until another thread wakes it through the waker it sends.
struct Remote {
    tx: Option<mpsc::Sender<Waker>>,
}

impl Future for Remote {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.tx.take() {
            Some(tx) => {
                // The waker thread lives as long as the bench.
                let _ = tx.send(cx.waker().clone());
                Poll::Pending
            }
            None => Poll::Ready(()),
        }
    }
}

fn core(c: &mut Criterion) {
    c.bench_function("block_on ready", |b| {
        b.iter(|| pasts::block_on(async { black_box(1u32) }))
    });
    c.bench_function("block_on selfwake x100", |b| {
        b.iter(|| pasts::block_on(SelfWake { left: 100 }))
    });
    let (tx, rx) = mpsc::channel::<Waker>();
    let waker_thread = std::thread::spawn(move || {
        for waker in rx {
            waker.wake();
        }
    });
    c.bench_function("block_on cross-thread wake", |b| {
        b.iter(|| {
            pasts::block_on(Remote {
                tx: Some(tx.clone()),
            })
        })
    });
    drop(tx);
    let _ = waker_thread.join();
}

criterion_group!(benches, core);
criterion_main!(benches);
