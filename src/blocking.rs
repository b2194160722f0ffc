//! [`spawn_blocking`]: run blocking code on a shared thread pool and await its
//! output from any executor.
//!
//! # The pool
//!
//! Jobs wait in a FIFO queue; the queue and the pool's bookkeeping share one
//! mutex, so a job is queued and covered in one step. A job that no
//! *searching* thread (one that looks at the queue again before it sleeps)
//! will take goes to the most recently idle thread (so the others can time
//! out), else to a new worker (up to one per CPU but one). Beyond that, a
//! *watcher* looks every [`STALL`] while jobs wait; if no thread searches
//! and no job was taken since its previous look, it becomes a worker and a
//! new watcher starts.
//!
//! ```text
//!   watcher: WATCHING  ── stall ────────> SEARCHING (a new watcher starts)
//!            WATCHING  ── queue empty ──> RESTING ── woken ──> WATCHING
//!   worker:  SEARCHING ── took a job ───> BUSY ── job done ──> SEARCHING
//!            SEARCHING ── queue empty ──> IDLE ── claimed ──> SEARCHING
//!   RESTING or IDLE for the keep-alive: exit
//! ```
//!
//! If no thread can start, a resting watcher is woken instead, and a
//! submitter whose job no thread would take (the OS refuses the watcher
//! while every thread is busy, or there is none) runs the oldest queued
//! job itself. No job is forgotten: queued jobs beyond the searching
//! threads have had `cover` run for them (a claimed idle thread, a new
//! thread, or a watcher that looks), and a searching thread stops
//! searching only by taking a job or finding the queue empty.

use core::fmt;
use core::future::Future;
use core::mem;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::boxed::Box;
use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::{self, Thread};
use std::time::Instant;
use std::vec::Vec;

/// The most threads the pool runs at once; more jobs wait in the queue.
const MAX_THREADS: usize = 512;

/// Idle time before a thread exits, in ms (none under Miri, which reports
/// threads still alive when `main` returns).
const KEEP_ALIVE_MS: u64 = if cfg!(miri) { 0 } else { 10_000 };

/// How often the watcher looks at the queue.
const STALL: Duration = Duration::from_millis(1);

/// How long one thread out of work keeps looking before it sleeps (a steady
/// stream of jobs then costs no wake-up).
const SPIN: Duration = Duration::from_micros(if cfg!(miri) { 0 } else { 50 });

/// The process's pool, made by the first [`spawn_blocking`].
static POOL: OnceLock<Pool> = OnceLock::new();

/// While set, every thread start fails (see [`Blocking::__refuse_threads`]).
static REFUSE_THREADS: AtomicBool = AtomicBool::new(false);

/// Run `f` on a pool thread; the returned future resolves to its output.
///
/// The job starts at once, whether or not the future is polled, and any
/// executor can await it (it only uses the [`Waker`] it is given). A panic
/// in `f` is caught on the pool thread (which stays in the pool) and resumed,
/// with its original payload, on the task that awaits the future.
///
/// Dropping the future detaches the job: it still runs, and its output is
/// dropped with the future or, if not done yet, on the pool thread.
///
/// The pool starts threads as jobs come, up to one per CPU but one, then one
/// more each time jobs wait 1 ms with every thread stuck in a job, to at most
/// 512. A thread idle for 10 s exits (`PASTS_BLOCKING_KEEP_ALIVE_MS`, read
/// by the first call, overrides that). If the OS refuses to start a thread,
/// the job waits for a thread that looks at the queue or, if none would
/// (every thread busy in a job, or none left), the calling thread runs it
/// (or one queued before it) before `spawn_blocking` returns.
///
/// ```rust
/// use std::time::Duration;
///
/// let answer = pasts::block_on(async {
///     let slow = pasts::spawn_blocking(|| {
///         std::thread::sleep(Duration::from_millis(10));
///         6 * 7
///     });
///     slow.await
/// });
/// assert_eq!(answer, 42);
/// ```
pub fn spawn_blocking<F, R>(f: F) -> Blocking<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let slot = Arc::new(Mutex::new(Slot::Waiting(None)));
    let out = Arc::clone(&slot);
    POOL.get_or_init(Pool::new).submit(Box::new(move || {
        // `f`'s captures are dropped inside: a panicking destructor is caught.
        let output = panic::catch_unwind(AssertUnwindSafe(f));
        let before = mem::replace(&mut *lock(&out), Slot::Done(output));
        let waker = match before {
            Slot::Waiting(waker) => waker,
            Slot::Done(_) => None,
        };
        // If the future is gone, this drops the output: a panic in its
        // destructor has nowhere to go and must not end the thread.
        drop(panic::catch_unwind(AssertUnwindSafe(move || drop(out))));
        waker
    }));
    Blocking { slot: Some(slot) }
}

/// The output of a job started by [`spawn_blocking`], as a future.
///
/// ```rust
/// let job: pasts::Blocking<u32> = pasts::spawn_blocking(|| 1 + 1);
/// assert_eq!(pasts::block_on(job), 2);
/// ```
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct Blocking<R> {
    /// `None` once the output was returned.
    slot: Option<Arc<Mutex<Slot<R>>>>,
}

impl Blocking<()> {
    /// Not public API: while `refuse` holds, every pool thread start fails
    /// as if the OS refused it (debug builds, for tests).
    #[doc(hidden)]
    #[cfg(debug_assertions)]
    pub fn __refuse_threads(refuse: bool) {
        REFUSE_THREADS.store(refuse, Relaxed);
    }
}

impl<R> fmt::Debug for Blocking<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let slot = self.slot.as_ref().and_then(|slot| slot.try_lock().ok());
        let done = slot.is_some_and(|slot| matches!(*slot, Slot::Done(_)));
        f.debug_struct("Blocking").field("done", &done).finish()
    }
}

impl<R> Future for Blocking<R> {
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<R> {
        let Some(slot) = &self.slot else {
            crate::schedule::polled_after_completion("`Blocking`")
        };
        let mut slot = lock(slot);
        let output = match mem::replace(&mut *slot, Slot::Waiting(None)) {
            Slot::Done(output) => output,
            Slot::Waiting(Some(waker)) if waker.will_wake(cx.waker()) => {
                *slot = Slot::Waiting(Some(waker));
                return Poll::Pending;
            }
            Slot::Waiting(old) => {
                *slot = Slot::Waiting(Some(cx.waker().clone()));
                drop(slot);
                drop(old);
                return Poll::Pending;
            }
        };
        drop(slot);
        self.slot = None;
        match output {
            Ok(output) => Poll::Ready(output),
            Err(payload) => panic::resume_unwind(payload),
        }
    }
}

impl<R> Drop for Blocking<R> {
    fn drop(&mut self) {
        // Detach: take the waker, or the output if the job is done, and drop
        // it here, after the lock.
        if let Some(slot) = &self.slot {
            let old = mem::replace(&mut *lock(slot), Slot::Waiting(None));
            drop(old);
        }
    }
}

/// Where the output goes.
enum Slot<R> {
    /// No output (yet, or any more); the waker of the task awaiting it.
    Waiting(Option<Waker>),
    /// The job's output, or its panic's payload.
    Done(thread::Result<R>),
}

/// A queued job: runs the closure (catching its panic), stores the output
/// and returns the waker of the task awaiting it, if any.
type Job = Box<dyn FnOnce() -> Option<Waker> + Send>;

/// Wake a finished job's task; a panicking waker must not end the thread.
#[inline]
fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        drop(panic::catch_unwind(AssertUnwindSafe(move || waker.wake())));
    }
}

/// Lock `mutex`; only a waker's `clone` can panic under these locks, which
/// leaves consistent data, so poisoning is ignored.
fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The thread pool (see the module docs).
struct Pool {
    state: Mutex<State>,
    /// The queue's length, for a spinning thread to look at without the lock.
    queued: AtomicUsize,
    /// Whether a thread spins.
    spinning: AtomicBool,
    keep_alive: Duration,
    /// How many workers start without waiting for a stall.
    workers: usize,
}

/// The pool's queue and threads.
#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    /// Live pool threads, the watcher included.
    threads: usize,
    /// Threads that will look at the queue again before they sleep.
    searching: usize,
    /// Jobs taken so far: the watcher's measure of progress.
    taken: usize,
    /// Idle threads, the most recently idle on top.
    idle: Vec<Thread>,
    watcher: Option<Thread>,
    /// Whether the watcher sleeps until unparked instead of looking.
    resting: bool,
}

type Guard<'a> = MutexGuard<'a, State>;

impl Pool {
    #[inline]
    fn new() -> Self {
        let keep_alive = std::env::var("PASTS_BLOCKING_KEEP_ALIVE_MS").ok();
        let keep_alive = keep_alive.and_then(|ms| ms.parse().ok());
        Self {
            state: Mutex::default(),
            queued: AtomicUsize::new(0),
            spinning: AtomicBool::new(false),
            keep_alive: Duration::from_millis(keep_alive.unwrap_or(KEEP_ALIVE_MS)),
            workers: thread::available_parallelism().map_or(1, |cpus| cpus.get().max(2) - 1),
        }
    }

    /// Queue `job` and make sure a thread will take it.
    #[inline]
    fn submit(&'static self, job: Job) {
        let mut state = lock(&self.state);
        state.queue.push_back(job);
        self.queued.store(state.queue.len(), Relaxed);
        if !self.cover(&mut state) {
            if let Some(job) = self.pop(&mut state) {
                drop(state);
                wake(job());
            }
        }
    }

    /// Cover the queued jobs that no searching thread will take: claim an
    /// idle thread, else start a worker (up to `self.workers`), else make
    /// the watcher look (wake or start it). False if no thread will take
    /// them: the OS refused the watcher while every thread is busy (or
    /// there is none), and the jobs could wait for ever.
    #[inline]
    fn cover(&'static self, state: &mut Guard<'_>) -> bool {
        if state.queue.len() <= state.searching {
            return true;
        }
        let workers = state.threads - usize::from(state.watcher.is_some());
        if let Some(thread) = state.idle.pop() {
            state.searching += 1;
            thread.unpark();
        } else if workers < self.workers && self.spawn(state, false) {
        } else if state.watcher.is_none() {
            // A full pool's busy threads take the jobs in time.
            return self.spawn(state, true) || state.threads >= MAX_THREADS;
        } else if mem::take(&mut state.resting) {
            state.watcher.iter().for_each(Thread::unpark);
        }
        true
    }

    /// Start a watcher or a searching worker; false if the pool is full or
    /// the OS refused.
    #[inline]
    fn spawn(&'static self, state: &mut State, watcher: bool) -> bool {
        let refused = cfg!(debug_assertions) && REFUSE_THREADS.load(Relaxed);
        if state.threads >= MAX_THREADS || refused {
            return false;
        }
        let spawned = thread::Builder::new()
            .name("pasts-blocking".into())
            .spawn(move || {
                if !watcher || self.watch() {
                    self.serve();
                }
            });
        let Ok(handle) = spawned else { return false };
        // The new thread needs the lock to start, so it sees these.
        state.threads += 1;
        if watcher {
            state.watcher = Some(handle.thread().clone());
            state.resting = false;
        } else {
            state.searching += 1;
        }
        true
    }

    /// Take the oldest queued job.
    #[inline]
    fn pop(&self, state: &mut State) -> Option<Job> {
        let job = state.queue.pop_front()?;
        self.queued.store(state.queue.len(), Relaxed);
        state.taken += 1;
        Some(job)
    }

    /// WATCHING and RESTING; true once the thread is to become a searching
    /// worker (a stall), false once it rested for the keep-alive.
    #[inline]
    fn watch(&'static self) -> bool {
        let mut state = lock(&self.state);
        let mut seen = None;
        loop {
            if state.queue.is_empty() {
                state.resting = true;
                let woken;
                (state, woken) = self.rest(state, |state| !state.resting);
                if !woken {
                    state.watcher = None;
                    state.threads -= 1;
                    return false;
                }
                // Woken for a job: give the busy threads a full period.
                seen = Some(state.taken);
            } else if seen == Some(state.taken) && state.searching == 0 {
                // Stalled: every other thread is stuck in a job.
                state.watcher = None;
                state.searching += 1;
                self.cover(&mut state);
                return true;
            } else {
                seen = Some(state.taken);
            }
            drop(state);
            thread::park_timeout(STALL);
            state = lock(&self.state);
        }
    }

    /// SEARCHING, BUSY and IDLE, until idle for the keep-alive (counted as
    /// searching by the caller). A job's task is woken once this thread
    /// searches again, so the task's next job finds it ready. Out of work,
    /// one thread at a time spins for [`SPIN`] (yielding) before it sleeps.
    #[inline]
    fn serve(&'static self) {
        let me = thread::current();
        let mut state = lock(&self.state);
        let mut spun = false;
        loop {
            if let Some(job) = self.pop(&mut state) {
                state.searching -= 1;
                drop(state);
                let waker = job();
                state = lock(&self.state);
                state.searching += 1;
                drop(state);
                wake(waker);
                state = lock(&self.state);
                spun = false;
                continue;
            }
            if !mem::replace(&mut spun, true) && !self.spinning.swap(true, Relaxed) {
                drop(state);
                let start = Instant::now();
                while self.queued.load(Relaxed) == 0 && start.elapsed() < SPIN {
                    thread::yield_now();
                }
                self.spinning.store(false, Relaxed);
                state = lock(&self.state);
                continue;
            }
            state.searching -= 1;
            state.idle.push(me.clone());
            // Claimed: taken off the stack and counted as searching.
            let claimed;
            (state, claimed) = self.rest(state, |state| {
                !state.idle.iter().any(|thread| thread.id() == me.id())
            });
            if !claimed {
                state.idle.retain(|thread| thread.id() != me.id());
                state.threads -= 1;
                return;
            }
        }
    }

    /// Sleep, the lock released, until `woken` holds (true) or for the
    /// keep-alive (false).
    #[inline]
    fn rest<'a>(
        &'a self,
        mut state: Guard<'a>,
        woken: impl Fn(&State) -> bool,
    ) -> (Guard<'a>, bool) {
        let deadline = Instant::now() + self.keep_alive;
        while !woken(&state) {
            if Instant::now() >= deadline {
                return (state, false);
            }
            drop(state);
            thread::park_timeout(deadline.saturating_duration_since(Instant::now()));
            state = lock(&self.state);
        }
        (state, true)
    }
}
