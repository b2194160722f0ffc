//! Criterion benches of `spawn_blocking`: one job awaited at a time, and a
//! batch of jobs started at once and then awaited.
//!
//! The side-by-side comparison with tokio and `blocking` is
//! `../shared/bench/run blocking`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};

/// About 100 ns of work, like the comparison harness's jobs.
fn work() -> u64 {
    let mut x = 0u64;
    for i in 0..64u64 {
        x = black_box(x ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    }
    x
}

fn blocking(c: &mut Criterion) {
    c.bench_function("spawn_blocking sequential", |b| {
        b.iter(|| pasts::block_on(pasts::spawn_blocking(work)))
    });
    c.bench_function("spawn_blocking x100 concurrent", |b| {
        b.iter(|| {
            // Every job starts when spawned; awaiting in order joins them.
            let jobs: Vec<_> = (0..100).map(|_| pasts::spawn_blocking(work)).collect();
            pasts::block_on(async {
                for job in jobs {
                    black_box(job.await);
                }
            })
        })
    });
}

criterion_group!(benches, blocking);
criterion_main!(benches);
