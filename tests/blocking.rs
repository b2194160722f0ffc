//! `spawn_blocking` and its pool: outputs, panics, detaching, thread reuse
//! and exit, growth, and what happens when no thread can start.
//!
//! Tests that count the pool's threads (through `/proc`) or need an unused
//! pool run alone in a new process of this binary ([`in_fresh_process`]).
#![cfg(feature = "std")]

mod common;

use common::{eventually, in_fresh_process, within, Counter};

use std::future::Future;
use std::panic::{catch_unwind, panic_any, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::task::{Context, Poll};
use std::thread::{self, ThreadId};
use std::time::Duration;

/// The pool's keep-alive override, in milliseconds.
const KEEP_ALIVE: &str = "PASTS_BLOCKING_KEEP_ALIVE_MS";

/// `native`, or `fewer` under Miri and in the emulated guest.
fn rounds(native: usize, fewer: usize) -> usize {
    if cfg!(miri) || std::env::var_os("PASTS_GUEST").is_some() {
        fewer
    } else {
        native
    }
}

/// The pool's live threads.
fn pool_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == "pasts-blocking")
        .count()
}

/// Polls `job` with a counting waker until it is ready, waiting for each
/// wake; returns its output.
fn await_counted<T>(job: &mut pasts::Blocking<T>) -> T {
    let (counter, waker) = Counter::new();
    let mut cx = Context::from_waker(&waker);
    loop {
        let wakes = counter.wakes();
        if let Poll::Ready(out) = Pin::new(&mut *job).poll(&mut cx) {
            return out;
        }
        eventually(30, "the job's wake", || counter.wakes() > wakes);
    }
}

/// Counts its drops.
struct Output(Arc<AtomicUsize>);

impl Drop for Output {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Sends the thread that drops it.
struct DroppedOn(mpsc::Sender<(ThreadId, Option<String>)>);

impl Drop for DroppedOn {
    fn drop(&mut self) {
        let me = thread::current();
        drop(self.0.send((me.id(), me.name().map(String::from))));
    }
}

/// Panics when dropped.
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if !thread::panicking() {
            panic_any("PanicOnDrop");
        }
    }
}

#[test]
fn returns_value_to_block_on() {
    let out = pasts::block_on(pasts::spawn_blocking(|| String::from("blocking") + "!"));
    assert_eq!(out, "blocking!");
}

#[test]
fn runs_on_a_named_pool_thread() {
    let main = thread::current().id();
    let (id, name) = pasts::block_on(pasts::spawn_blocking(|| {
        let me = thread::current();
        (me.id(), me.name().map(String::from))
    }));
    assert_ne!(id, main);
    assert_eq!(name.as_deref(), Some("pasts-blocking"));
}

#[test]
fn wakes_a_foreign_executor() {
    let (tx, rx) = mpsc::channel::<()>();
    let (counter, waker) = Counter::new();
    let mut cx = Context::from_waker(&waker);
    let mut job = pin!(pasts::spawn_blocking(move || {
        rx.recv().unwrap();
        7
    }));
    assert_eq!(job.as_mut().poll(&mut cx), Poll::Pending);
    assert_eq!(job.as_mut().poll(&mut cx), Poll::Pending);
    assert_eq!(counter.wakes(), 0);
    tx.send(()).unwrap();
    eventually(30, "the job's wake-up", || counter.wakes() == 1);
    assert_eq!(job.as_mut().poll(&mut cx), Poll::Ready(7));
}

#[test]
fn future_is_send_sync_unpin_and_debug() {
    fn check<T: Send + Sync + Unpin + std::fmt::Debug>(_: &T) {}
    let job = pasts::spawn_blocking(|| 1u8);
    check(&job);
    assert!(format!("{job:?}").starts_with("Blocking"));
    assert_eq!(pasts::block_on(job), 1);
}

#[test]
fn thousand_concurrent_jobs_complete() {
    let n = rounds(1000, 50);
    let ran = Arc::new(AtomicUsize::new(0));
    let jobs: Vec<_> = (0..n)
        .map(|i| {
            let ran = Arc::clone(&ran);
            pasts::spawn_blocking(move || {
                ran.fetch_add(1, Ordering::Relaxed);
                i
            })
        })
        .collect();
    let outs: Vec<usize> = jobs.into_iter().map(pasts::block_on).collect();
    assert_eq!(outs, (0..n).collect::<Vec<_>>());
    assert_eq!(ran.load(Ordering::Relaxed), n);
}

#[test]
fn jobs_waiting_for_each_other_get_threads() {
    let n = if cfg!(miri) { 4 } else { 16 };
    let barrier = Arc::new(Barrier::new(n));
    let jobs: Vec<_> = (0..n)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            pasts::spawn_blocking(move || {
                barrier.wait();
                i
            })
        })
        .collect();
    let outs = within(Duration::from_secs(60), || {
        jobs.into_iter().map(pasts::block_on).collect::<Vec<_>>()
    });
    assert_eq!(outs, (0..n).collect::<Vec<_>>());
}

#[test]
fn panic_payload_is_resumed_and_the_thread_survives() {
    if !in_fresh_process("panic_payload_is_resumed_and_the_thread_survives", &[]) {
        return;
    }
    #[derive(Debug, PartialEq)]
    struct Payload(u32);

    let (tx, rx) = mpsc::channel();
    let caught = catch_unwind(|| {
        pasts::block_on(pasts::spawn_blocking(move || {
            tx.send(thread::current().id()).unwrap();
            panic_any(Payload(7));
        }))
    });
    let payload = caught.unwrap_err();
    assert_eq!(payload.downcast_ref::<Payload>(), Some(&Payload(7)));
    let panicked_on = rx.recv().unwrap();

    // The pool still works, and the thread that panicked is still in it
    // (under Miri idle threads exit at once, so none is reused).
    let mut reused = false;
    for i in 0..100u32 {
        let (out, id) = pasts::block_on(pasts::spawn_blocking(move || {
            (i + 1, thread::current().id())
        }));
        assert_eq!(out, i + 1);
        reused |= id == panicked_on;
    }
    assert!(
        reused || cfg!(miri),
        "the thread that ran the panicking job never ran another"
    );
}

#[test]
fn dropped_future_detaches_the_job() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (ran_tx, ran_rx) = mpsc::channel::<()>();
    let out = Output(Arc::clone(&drops));
    let mut job = pasts::spawn_blocking(move || {
        go_rx.recv().unwrap();
        ran_tx.send(()).unwrap();
        out
    });
    let (counter, waker) = Counter::new();
    assert!(Pin::new(&mut job)
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    drop(job);
    go_tx.send(()).unwrap();
    ran_rx.recv().unwrap();
    eventually(30, "the detached output's drop", || {
        drops.load(Ordering::SeqCst) == 1
    });
    // The pool is still usable, and nobody woke the dropped task.
    assert_eq!(pasts::block_on(pasts::spawn_blocking(|| 5)), 5);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert_eq!(counter.wakes(), 0);
}

#[test]
fn dropped_after_completion_drops_the_output_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let out = Output(Arc::clone(&drops));
    let mut job = pasts::spawn_blocking(move || out);
    drop(await_counted(&mut job));
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    let never_polled = pasts::spawn_blocking({
        let out = Output(Arc::clone(&drops));
        move || out
    });
    drop(never_polled);
    eventually(30, "the unpolled output's drop", || {
        drops.load(Ordering::SeqCst) == 2
    });
}

#[test]
fn detached_output_is_dropped_where_documented() {
    // Finished before the future is dropped: dropped with the future.
    let (tx, rx) = mpsc::channel();
    let job = pasts::spawn_blocking(move || DroppedOn(tx));
    eventually(30, "the job to finish", || {
        format!("{job:?}").contains("done: true")
    });
    drop(job);
    let (id, _) = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(id, thread::current().id(), "not dropped with the future");

    // Dropped while running: dropped on the pool thread, when it ends.
    let (tx, rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let job = pasts::spawn_blocking(move || {
        go_rx.recv().unwrap();
        DroppedOn(tx)
    });
    drop(job);
    go_tx.send(()).unwrap();
    let (id, name) = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_ne!(id, thread::current().id());
    assert_eq!(name.as_deref(), Some("pasts-blocking"));
}

#[test]
#[should_panic(expected = "a `Blocking` was polled after it completed")]
fn polling_after_ready_panics() {
    let mut job = pasts::spawn_blocking(|| ());
    pasts::block_on(&mut job);
    let (_counter, waker) = Counter::new();
    let _ = Pin::new(&mut job).poll(&mut Context::from_waker(&waker));
}

#[test]
fn panicking_destructors_do_not_wedge_the_waiter() {
    // The closure's capture panics as the job ends: that panic reaches the
    // awaiting task.
    let capture = PanicOnDrop;
    let job = pasts::spawn_blocking(move || {
        let _capture = &capture;
        5
    });
    let caught = within(Duration::from_secs(30), || {
        catch_unwind(AssertUnwindSafe(|| pasts::block_on(job)))
    });
    let payload = caught.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"PanicOnDrop"));

    // A detached output panics as the pool thread drops it: the pool goes on.
    let (go_tx, go_rx) = mpsc::channel::<()>();
    drop(pasts::spawn_blocking(move || {
        go_rx.recv().unwrap();
        PanicOnDrop
    }));
    go_tx.send(()).unwrap();
    within(Duration::from_secs(30), || {
        for i in 0..rounds(100, 10) {
            assert_eq!(pasts::block_on(pasts::spawn_blocking(move || i)), i);
        }
    });

    // A finished output panics as the future is dropped: there, like any
    // value; the next job runs.
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let mut job = pasts::spawn_blocking(move || {
        go_rx.recv().unwrap();
        PanicOnDrop
    });
    let (_counter, waker) = Counter::new();
    assert!(Pin::new(&mut job)
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    go_tx.send(()).unwrap();
    eventually(30, "the job to finish", || {
        format!("{job:?}").contains("done: true")
    });
    assert!(catch_unwind(AssertUnwindSafe(move || drop(job))).is_err());
    assert_eq!(
        within(Duration::from_secs(30), || pasts::block_on(
            pasts::spawn_blocking(|| 9)
        )),
        9
    );
}

#[test]
#[cfg_attr(miri, ignore = "counts threads through /proc")]
fn idle_threads_exit() {
    if !in_fresh_process("idle_threads_exit", &[(KEEP_ALIVE, "100")]) {
        return;
    }
    assert_eq!(pool_threads(), 0, "a thread started before the first job");

    // Jobs that wait for each other force the pool to grow to 8 threads.
    let barrier = Arc::new(Barrier::new(8));
    let jobs: Vec<_> = (0..8)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            pasts::spawn_blocking(move || {
                barrier.wait();
            })
        })
        .collect();
    jobs.into_iter().for_each(pasts::block_on);
    assert!(pool_threads() >= 8);

    eventually(30, "idle threads to exit", || pool_threads() == 0);

    // The pool starts again after it emptied.
    assert_eq!(pasts::block_on(pasts::spawn_blocking(|| 3)), 3);
}

#[test]
#[cfg_attr(miri, ignore = "counts threads through /proc")]
fn sequential_jobs_stay_on_few_threads() {
    if !in_fresh_process("sequential_jobs_stay_on_few_threads", &[]) {
        return;
    }
    let mut ids = std::collections::HashSet::new();
    let mut peak = 0;
    for i in 0..200u32 {
        let (out, id) = pasts::block_on(pasts::spawn_blocking(move || {
            (i * 2, thread::current().id())
        }));
        assert_eq!(out, i * 2);
        ids.insert(id);
        peak = peak.max(pool_threads());
    }
    assert!(peak >= 1, "no pool thread seen");
    assert!(peak <= 4, "200 sequential jobs used {peak} threads at once");
    assert!(
        ids.len() <= 4,
        "200 sequential jobs ran on {} threads",
        ids.len()
    );
}

#[test]
#[cfg_attr(miri, ignore = "counts threads through /proc")]
fn burst_of_short_jobs_uses_few_threads() {
    if !in_fresh_process("burst_of_short_jobs_uses_few_threads", &[]) {
        return;
    }
    let n = rounds(10_000, 1_000) as u64;
    let jobs: Vec<_> = (0..n)
        .map(|i| pasts::spawn_blocking(move || i.wrapping_mul(3)))
        .collect();
    let peak = pool_threads();
    let sum: u64 = jobs.into_iter().map(pasts::block_on).sum();
    assert_eq!(sum, 3 * (0..n).sum::<u64>());
    let peak = peak.max(pool_threads());
    // One worker per CPU but one and the watcher, plus a few more if the
    // machine is so busy that the pool looks stalled; never one per job.
    let cpus = thread::available_parallelism().map_or(1, usize::from);
    assert!(peak <= cpus + 16, "{n} short jobs left {peak} threads");
}

/// Starts as many jobs as the pool runs at once without a stall and returns
/// when each runs on its own thread; they end once the returned barrier is
/// also waited on (by one more thread).
#[cfg(debug_assertions)]
fn occupy_the_workers() -> (Vec<pasts::Blocking<()>>, Arc<Barrier>) {
    let workers = thread::available_parallelism().map_or(1, |cpus| cpus.get().max(2) - 1);
    let barrier = Arc::new(Barrier::new(workers + 1));
    let (started_tx, started_rx) = mpsc::channel();
    let busy = (0..workers)
        .map(|_| {
            let (started_tx, barrier) = (started_tx.clone(), barrier.clone());
            pasts::spawn_blocking(move || {
                started_tx.send(()).unwrap();
                barrier.wait();
            })
        })
        .collect();
    for _ in 0..workers {
        started_rx.recv().unwrap();
    }
    (busy, barrier)
}

/// Every pool thread busy in a job that waits for a later job, and the OS
/// refusing a new thread: the submitter runs the later job, else the pool
/// would wait on itself for ever.
#[test]
#[cfg(debug_assertions)]
#[cfg_attr(miri, ignore = "needs a fresh pool")]
fn a_job_busy_threads_wait_for_runs_when_no_thread_can_start() {
    if !in_fresh_process(
        "a_job_busy_threads_wait_for_runs_when_no_thread_can_start",
        &[],
    ) {
        return;
    }
    let (busy, barrier) = occupy_the_workers();
    pasts::Blocking::__refuse_threads(true);
    let later = within(Duration::from_secs(30), move || {
        pasts::spawn_blocking(move || {
            barrier.wait();
        })
    });
    pasts::Blocking::__refuse_threads(false);
    within(Duration::from_secs(30), move || {
        busy.into_iter().for_each(pasts::block_on);
        pasts::block_on(later);
    });
}

/// With thread starts refused (the test hook of debug builds): a pool with
/// no thread runs the job on the calling thread, and one whose last thread
/// is idle (or exiting) claims it for the job instead of leaving it unrun.
#[test]
#[cfg(debug_assertions)]
#[cfg_attr(miri, ignore = "counts threads through /proc")]
fn jobs_run_when_no_thread_can_start() {
    if !in_fresh_process("jobs_run_when_no_thread_can_start", &[(KEEP_ALIVE, "100")]) {
        return;
    }
    let refuse = pasts::Blocking::__refuse_threads;
    refuse(true);
    let id = pasts::block_on(pasts::spawn_blocking(|| thread::current().id()));
    assert_eq!(id, thread::current().id(), "not run by the caller");
    refuse(false);

    // Keep every thread the pool runs jobs on at once busy, so the next job
    // gets the watching thread; release them: all go idle, then exit.
    for _ in 0..5 {
        let (busy, barrier) = occupy_the_workers();
        let next = pasts::spawn_blocking(|| ());
        barrier.wait();
        within(Duration::from_secs(30), move || {
            busy.into_iter().for_each(pasts::block_on);
            pasts::block_on(next);
        });
        // Look often: the threads exit within about a millisecond.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while pool_threads() > 1 {
            assert!(
                std::time::Instant::now() < deadline,
                "the workers never exited"
            );
            thread::sleep(Duration::from_micros(50));
        }
        refuse(true);
        assert_eq!(
            within(Duration::from_secs(5), || pasts::block_on(
                pasts::spawn_blocking(|| 2)
            )),
            2
        );
        refuse(false);
        eventually(30, "the pool to empty", || pool_threads() == 0);
    }
}
