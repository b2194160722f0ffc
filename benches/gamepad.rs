//! Criterion bench of `linux::gamepad` decoding: the cost per event of
//! reading recorded `input_event`s from a socket and decoding them
//! (`Pad::from_recording`, the Xbox layout), next to a bare read of the
//! same bytes that only sums the fields.
//!
//! Each batch is 1024 frames of 4 kernel events (a stick's X and Y, a
//! button, `SYN_REPORT`) that decode to 3072 events; throughput counts
//! those. Both read 64 kernel events per `read`, as the pad does; the pad's
//! batch also holds one wake through `pasts::block_on` (the bare read has
//! none), spread over the batch.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pasts::linux::gamepad::{Event, Pad};
use std::future::Future;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// `(code, min, max, flat)` of a pad's axes.
const AXES: [(u16, i32, i32, i32); 2] = [(0x00, -32768, 32767, 128), (0x01, -32768, 32767, 128)];
const FRAMES: usize = 1024;
const DECODED: usize = FRAMES * 3;
/// `struct input_event`: two `unsigned long`s of time, type, code, value.
const TIME: usize = 2 * std::mem::size_of::<std::ffi::c_ulong>();
const SIZE: usize = TIME + 8;

fn event(kind: u16, code: u16, value: i32) -> [u8; SIZE] {
    let mut b = [0; SIZE];
    b[TIME..TIME + 2].copy_from_slice(&kind.to_ne_bytes());
    b[TIME + 2..TIME + 4].copy_from_slice(&code.to_ne_bytes());
    b[TIME + 4..].copy_from_slice(&value.to_ne_bytes());
    b
}

/// The frames; every value changes from one frame to the next, and the last
/// frame differs from the first, so batch after batch decodes alike.
fn batch() -> Vec<u8> {
    let mut bytes = Vec::new();
    for frame in 0..FRAMES {
        let even = frame % 2 == 0;
        let v = if even { 20000 } else { -20000 };
        bytes.extend(event(3, 0x00, v)); // ABS_X
        bytes.extend(event(3, 0x01, -v)); // ABS_Y
        bytes.extend(event(1, 0x130, i32::from(even))); // BTN_SOUTH
        bytes.extend(event(0, 0, 0)); // SYN_REPORT
    }
    bytes
}

struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

fn decode(c: &mut Criterion) {
    let bytes = batch();
    let mut group = c.benchmark_group("gamepad");
    group.throughput(Throughput::Elements(DECODED as u64));

    let (mut tx, rx) = UnixStream::pair().unwrap();
    let mut pad = Pad::from_recording(rx.into(), &AXES).unwrap();
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    group.bench_function("decode_per_event", |b| {
        b.iter(|| {
            tx.write_all(&bytes).unwrap();
            // The first waits for the reactor's wake (in epoll_wait, on this
            // thread); the rest are decoded from that one read.
            criterion::black_box(pasts::block_on(&mut pad));
            for _ in 1..DECODED {
                match Pin::new(&mut pad).poll(&mut cx) {
                    Poll::Ready(Event::Disconnected) | Poll::Pending => panic!("lost events"),
                    Poll::Ready(event) => {
                        criterion::black_box(event);
                    }
                }
            }
        })
    });

    let (mut tx, mut rx) = UnixStream::pair().unwrap();
    let mut buf = vec![0u8; 64 * SIZE];
    group.bench_function("raw_read_per_event", |b| {
        b.iter(|| {
            tx.write_all(&bytes).unwrap();
            let mut sum = 0i64;
            let mut left = bytes.len();
            while left > 0 {
                let n = rx.read(&mut buf).unwrap();
                left -= n;
                sum += buf[..n]
                    .chunks_exact(SIZE)
                    .map(|e| {
                        let kind = u16::from_ne_bytes([e[TIME], e[TIME + 1]]);
                        let code = u16::from_ne_bytes([e[TIME + 2], e[TIME + 3]]);
                        let value = i32::from_ne_bytes([
                            e[TIME + 4],
                            e[TIME + 5],
                            e[TIME + 6],
                            e[TIME + 7],
                        ]);
                        i64::from(kind) + i64::from(code) + i64::from(value)
                    })
                    .sum::<i64>();
            }
            criterion::black_box(sum);
        })
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
