//! Generic helpers of the integration tests, portable and Miri-friendly
//! (include with `mod common;`): a deadline runner, wakers that count or
//! record their wakes, and the smallest executor. Linux fds, syscalls and
//! `/proc` probes are in `support/sys.rs`.
#![allow(dead_code)] // each test file uses a part

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread, ThreadId};
use std::time::{Duration, Instant};

/// Runs `f` on a thread and returns its result, failing the test if it
/// takes longer than `limit`: a hang or a lost wake-up becomes a failure
/// instead of a stalled run. A panic in `f` is re-raised.
pub fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let worker = thread::spawn(move || tx.send(f()));
    match rx.recv_timeout(limit) {
        Ok(out) => out,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("no result after {limit:?}: a hang or a lost wake-up")
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(worker.join().unwrap_err())
        }
    }
}

/// Polls `check` every few milliseconds until it holds; fails after `secs`.
pub fn eventually(secs: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(5));
    }
}

/// A waker that counts its wakes and, made with [`Counter::unparking`],
/// also unparks the thread that made it.
pub struct Counter {
    wakes: AtomicUsize,
    thread: Option<Thread>,
}

impl Counter {
    /// A counter and a waker that only counts.
    pub fn new() -> (Arc<Self>, Waker) {
        Self::with(None)
    }

    /// A counter and a waker that counts and unparks the calling thread
    /// (for executors that park).
    pub fn unparking() -> (Arc<Self>, Waker) {
        Self::with(Some(thread::current()))
    }

    fn with(thread: Option<Thread>) -> (Arc<Self>, Waker) {
        let counter = Arc::new(Self {
            wakes: AtomicUsize::new(0),
            thread,
        });
        let waker = Waker::from(Arc::clone(&counter));
        (counter, waker)
    }

    pub fn wakes(&self) -> usize {
        self.wakes.load(Ordering::SeqCst)
    }
}

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        if let Some(thread) = &self.thread {
            thread.unpark();
        }
    }
}

/// A waker that forwards to `inner`, logging the thread each wake ran on
/// (which thread dispatched an event).
pub struct Recording {
    pub inner: Waker,
    pub threads: Arc<Mutex<Vec<ThreadId>>>,
}

impl Wake for Recording {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.threads.lock().unwrap().push(thread::current().id());
        self.inner.wake_by_ref();
    }
}

/// A waker that panics when woken (a bug in some executor).
pub struct Panics;

impl Wake for Panics {
    fn wake(self: Arc<Self>) {
        panic!("this waker panics (on purpose)");
    }
}

/// Polls `fut` once with `waker`.
pub fn poll<F: Future + ?Sized>(fut: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(waker))
}

/// The smallest executor, which knows nothing of pasts: poll, park until
/// woken, repeat. Returns the output, how many times the future was polled
/// and how many times its waker was woken.
pub fn park_block_on<F: Future>(fut: F) -> (F::Output, usize, usize) {
    let (counter, waker) = Counter::unparking();
    let mut fut = pin!(fut);
    let mut polls = 0;
    loop {
        polls += 1;
        if let Poll::Ready(out) = poll(fut.as_mut(), &waker) {
            return (out, polls, counter.wakes());
        }
        thread::park();
    }
}

/// Pending once (waking its task at once), then ready: a suspension point.
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if std::mem::replace(&mut yielded, true) {
            return Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await;
}

/// Set in the process [`in_fresh_process`] starts.
const FRESH: &str = "PASTS_TEST_FRESH_PROCESS";

/// Runs the calling test `test` alone in a new process of this binary with
/// `env` set: true in that process (and under Miri, which cannot start one),
/// where the test goes on; false here once it passed there.
pub fn in_fresh_process(test: &str, env: &[(&str, &str)]) -> bool {
    if cfg!(miri) || std::env::var_os(FRESH).is_some() {
        return true;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--include-ignored", "--test-threads=1"])
        .env(FRESH, "1")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && text.contains("1 passed"),
        "{test} failed in its own process:\n{text}"
    );
    false
}
