//! Criterion benches of `linux::Device`: registration (create + drop) and
//! a same-thread readiness round trip through the reactor.
//!
//! The cross-thread comparison with tokio and async-io is
//! `../shared/bench/run linux:fdlat`.

use criterion::{criterion_group, criterion_main, Criterion};
use pasts::linux::{Device, Watch};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

fn create_drop(c: &mut Criterion) {
    let (_tx, rx) = UnixStream::pair().unwrap();
    c.bench_function("device_create_drop", |b| {
        b.iter(|| {
            drop(Device::new(&rx, Watch::INPUT).unwrap());
        })
    });
}

fn readiness(c: &mut Criterion) {
    let (mut tx, rx) = UnixStream::pair().unwrap();
    let mut device = Device::new(rx, Watch::INPUT).unwrap();
    let mut buf = [0; 1];
    c.bench_function("device_write_await_read", |b| {
        b.iter(|| {
            tx.write_all(b"x").unwrap();
            pasts::block_on(async {
                loop {
                    (&mut device).await;
                    if device.get_mut().read(&mut buf).is_ok() {
                        break;
                    }
                }
            })
        })
    });
    c.bench_function("device_write_read_with", |b| {
        b.iter(|| {
            tx.write_all(b"x").unwrap();
            pasts::block_on(device.read_with(|io| io.read(&mut buf))).unwrap()
        })
    });
}

criterion_group!(benches, create_drop, readiness);
criterion_main!(benches);
