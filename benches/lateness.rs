//! How late a task on another executor is served by pasts' reactor while a
//! `pasts::block_on` thread alternates 1 ms waits and 50 ms CPU bursts
//! (which leave the reactor's role free for the reactor thread to take).
//!
//! Not a criterion bench: the figure is the distribution of lateness, from
//! the moment the event exists (a timer's deadline, a write to a socket) to
//! the moment the reactor wakes the waiting task. Prints p50, p99 and max of
//! 1,000 one-millisecond timers and of 1,000 socket writes 1 ms apart, each
//! awaited on a minimal park/unpark executor (what `futures::executor` and
//! `pollster` do).
//!
//! Run: `cargo bench -p pasts-benches --bench lateness`.

use pasts::linux::{Device, Timer, Watch};
use std::future::Future;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

const ROUNDS: usize = 1_000;

/// Wakes a parked thread, recording when it was first woken.
struct Stamp {
    thread: Thread,
    woken: Mutex<Option<Instant>>,
}

impl Wake for Stamp {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.lock().unwrap().get_or_insert_with(Instant::now);
        self.thread.unpark();
    }
}

/// Polls `fut` on this thread until ready, parking in between: returns
/// when the reactor first woke it (now, if it was ready at once).
fn woken_at(fut: impl Future) -> Instant {
    let stamp = Arc::new(Stamp {
        thread: thread::current(),
        woken: Mutex::new(None),
    });
    let waker = Waker::from(Arc::clone(&stamp));
    let mut fut = pin!(fut);
    while fut
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_pending()
    {
        thread::park();
    }
    let woken = *stamp.woken.lock().unwrap();
    woken.unwrap_or_else(Instant::now)
}

/// Runs `measure` while another thread alternates `pasts::block_on` of a
/// 1 ms timer and 50 ms of CPU work.
fn beside_cpu_bursts<T>(measure: impl FnOnce() -> T) -> T {
    let stop = Arc::new(AtomicBool::new(false));
    let busy = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                pasts::block_on(Timer::new(Duration::from_millis(1)).unwrap());
                let burst = Instant::now();
                while burst.elapsed() < Duration::from_millis(50) {
                    std::hint::spin_loop();
                }
            }
        })
    };
    thread::sleep(Duration::from_millis(60));
    let out = measure();
    stop.store(true, Ordering::Relaxed);
    busy.join().unwrap();
    out
}

fn timers() -> Vec<Duration> {
    (0..ROUNDS)
        .map(|_| {
            let deadline = Instant::now() + Duration::from_millis(1);
            let woken = woken_at(Timer::at(deadline).unwrap());
            woken.saturating_duration_since(deadline)
        })
        .collect()
}

/// The floor: a thread that sleeps to each deadline itself.
fn sleeps() -> Vec<Duration> {
    (0..ROUNDS)
        .map(|_| {
            let deadline = Instant::now() + Duration::from_millis(1);
            thread::sleep(deadline - Instant::now());
            Instant::now().saturating_duration_since(deadline)
        })
        .collect()
}

fn readiness() -> Vec<Duration> {
    let (mut tx, rx) = UnixStream::pair().unwrap();
    let mut device = Device::new(rx, Watch::INPUT).unwrap();
    let sent = Arc::new(Mutex::new(Instant::now()));
    let writer = {
        let sent = Arc::clone(&sent);
        thread::spawn(move || {
            for _ in 0..ROUNDS {
                thread::sleep(Duration::from_millis(1));
                *sent.lock().unwrap() = Instant::now();
                tx.write_all(&[1]).unwrap();
            }
        })
    };
    let mut late = Vec::with_capacity(ROUNDS);
    let mut buf = [0; 1];
    while late.len() < ROUNDS {
        let woken = woken_at(&mut device);
        match device.get_mut().read(&mut buf) {
            Ok(1) => late.push(woken.saturating_duration_since(*sent.lock().unwrap())),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {} // spurious
            other => panic!("read: {other:?}"),
        }
    }
    writer.join().unwrap();
    late
}

fn report(what: &str, mut late: Vec<Duration>) {
    late.sort();
    let at = |q: usize| late[(late.len() - 1) * q / 100].as_micros();
    println!(
        "foreign lateness beside CPU bursts, {what}: p50 {} µs, p99 {} µs, max {} µs ({} samples)",
        at(50),
        at(99),
        at(100),
        late.len()
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing
    // of the kind: then only check that it runs.
    if !std::env::args().any(|arg| arg == "--bench") {
        return;
    }
    report("1 ms timers", beside_cpu_bursts(timers));
    report("1 ms thread::sleep (floor)", beside_cpu_bursts(sleeps));
    report("socket readiness", beside_cpu_bursts(readiness));
}
