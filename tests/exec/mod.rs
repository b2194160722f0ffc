//! Helpers of the device and timer tests (include with `mod exec;`; the
//! lateness bench includes it too): a tokio-like executor (wakes push the
//! task onto a run queue that a worker thread drains), round counts sized
//! for Miri and the guest, and the foreign-lateness workloads and summary.
#![allow(dead_code)] // each test file uses a part

use pasts::linux::{Device, Timer, Watch};
use std::future::Future;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

/// `native` rounds on the host, a tenth under Miri or in the guest
/// (`PASTS_GUEST`: TCG emulation is about ten times slower).
pub fn rounds(native: usize) -> usize {
    if cfg!(miri) || std::env::var_os("PASTS_GUEST").is_some() {
        (native / 10).max(1)
    } else {
        native
    }
}

/// Pushes the task onto the run queue when woken.
struct Schedule(Mutex<Sender<()>>);

impl Wake for Schedule {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Ignored: the worker is gone once the task finished.
        let _ = self.0.lock().unwrap().send(());
    }
}

/// Run `fut` the way tokio's multi-thread runtime does: on a worker
/// thread that polls it whenever a wake put it on the run queue (a
/// channel). Returns the output and how many times it was polled.
pub fn queue_block_on<F>(fut: F) -> (F::Output, usize)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    thread::spawn(move || {
        let (tx, queue) = mpsc::channel();
        let waker = Waker::from(Arc::new(Schedule(Mutex::new(tx))));
        let mut cx = Context::from_waker(&waker);
        let mut fut = pin!(fut);
        let mut polls = 0;
        loop {
            polls += 1;
            if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                return (out, polls);
            }
            queue.recv().unwrap();
            // Coalesce wakes queued meanwhile, as a run queue holds a task
            // once.
            while queue.try_recv().is_ok() {}
        }
    })
    .join()
    .unwrap()
}

/// Prints the median and the largest of `late` (see them with
/// `--nocapture`); fails if the largest is 10 ms or more (40 ms in the
/// emulated guest). Generous, as a loaded machine can deschedule the
/// reactor thread for a few ms; an event left to the busy thread waits
/// through much of a 50 ms burst. `benches/lateness.rs` reports the
/// figures precisely.
pub fn lateness(mut late: Vec<Duration>, what: &str) {
    late.sort();
    let (p50, max) = (late[late.len() / 2], late[late.len() - 1]);
    println!(
        "{what} late by p50 {p50:?}, max {max:?} (of {})",
        late.len()
    );
    let bound = match std::env::var_os("PASTS_GUEST") {
        Some(_) => Duration::from_millis(40),
        None => Duration::from_millis(10),
    };
    assert!(max < bound, "{what}: {max:?} late");
}

/// Runs `measure` while another thread alternates `pasts::block_on`
/// of 1 ms timers and 50 ms of CPU work.
pub fn beside_cpu_bursts<T>(measure: impl FnOnce() -> T) -> T {
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
    // Let the busy thread start its rhythm.
    thread::sleep(Duration::from_millis(60));
    let out = measure();
    stop.store(true, Ordering::Relaxed);
    busy.join().unwrap();
    out
}

/// Wakes `inner` and records when: the moment the reactor delivered the
/// event, apart from when the woken thread got the CPU.
struct Stamp {
    inner: Waker,
    woken: Arc<Mutex<Option<Instant>>>,
}

impl Wake for Stamp {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.lock().unwrap().get_or_insert_with(Instant::now);
        self.inner.wake_by_ref();
    }
}

/// Awaits `fut`, returning when it was first woken (now if it was ready
/// without a wake).
pub async fn woken_at<F: Future + Unpin>(mut fut: F) -> Instant {
    let woken = Arc::new(Mutex::new(None));
    std::future::poll_fn(|cx| {
        let waker = Waker::from(Arc::new(Stamp {
            inner: cx.waker().clone(),
            woken: Arc::clone(&woken),
        }));
        std::pin::Pin::new(&mut fut).poll(&mut Context::from_waker(&waker))
    })
    .await;
    let at = *woken.lock().unwrap();
    at.unwrap_or_else(Instant::now)
}

/// A TCP listener on 127.0.0.1. The guest's init leaves the loopback
/// interface down: bring it up there first (busybox `ip`, as root).
pub fn tcp_listener() -> std::net::TcpListener {
    if std::env::var_os("PASTS_GUEST").is_some() {
        static UP: std::sync::Once = std::sync::Once::new();
        UP.call_once(|| {
            let up = std::process::Command::new("ip")
                .args(["link", "set", "lo", "up"])
                .status();
            assert!(
                up.as_ref().is_ok_and(|s| s.success()),
                "guest: ip link set lo up: {up:?}"
            );
        });
    }
    std::net::TcpListener::bind("127.0.0.1:0").unwrap()
}

/// How late each of `n` 1 ms timers, awaited one after another, was woken.
pub async fn timer_lateness(n: usize) -> Vec<Duration> {
    let mut late = Vec::with_capacity(n);
    for _ in 0..n {
        let deadline = Instant::now() + Duration::from_millis(1);
        let woken = woken_at(Timer::at(deadline).unwrap()).await;
        late.push(woken.saturating_duration_since(deadline));
    }
    late
}

/// How late a device's task was woken after each of `n` writes (1 ms
/// apart, from another thread) to its socket: `run` is an executor that
/// runs the future it is given.
pub fn readiness_lateness(
    n: usize,
    run: impl FnOnce(std::pin::Pin<Box<dyn Future<Output = Vec<Duration>> + Send>>) -> Vec<Duration>,
) -> Vec<Duration> {
    let (mut tx, rx) = UnixStream::pair().unwrap();
    let mut device = Device::new(rx, Watch::INPUT).unwrap();
    let sent = Arc::new(Mutex::new(Instant::now()));
    let writer = {
        let sent = Arc::clone(&sent);
        thread::spawn(move || {
            for _ in 0..n {
                thread::sleep(Duration::from_millis(1));
                *sent.lock().unwrap() = Instant::now();
                tx.write_all(&[1]).unwrap();
            }
        })
    };
    let late = run(Box::pin(async move {
        let mut late = Vec::with_capacity(n);
        let mut buf = [0; 1];
        while late.len() < n {
            let woken = woken_at(&mut device).await;
            match device.get_mut().read(&mut buf) {
                Ok(1) => late.push(woken.saturating_duration_since(*sent.lock().unwrap())),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {} // spurious
                other => panic!("{other:?}"),
            }
        }
        late
    }));
    writer.join().unwrap();
    late
}
