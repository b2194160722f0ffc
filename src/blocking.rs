//! [`spawn_blocking`]: run blocking code on a shared thread pool and await its
//! output from any executor.
//!
//! Jobs wait in a FIFO queue under one mutex with the pool's counts. A pool
//! thread neither busy in a job nor idle *searches*: it looks at the queue
//! again before it sleeps.
//!
//! ```text
//!   SEARCHING ── a job; under `limit` busy, or a stall ──> BUSY ── done ──> SEARCHING
//!   SEARCHING ── a job; `limit` busy ──> WATCHING ── STALL later ──> SEARCHING
//!   SEARCHING ── queue empty ──> IDLE ── claimed ──> SEARCHING, or keep-alive: exit
//! ```
//!
//! `limit` is `workers`, or every thread but one if more: the one left
//! watches and, if no job was taken since its previous look (a stall), takes
//! one anyway. After each push and each take, `cover` gives the jobs beyond
//! the searching threads one more searcher. So while jobs wait, a thread
//! searches, and it stops only by taking a job or finding the queue empty: no
//! job is forgotten. A job taken runs even if the OS refuses a thread, and a
//! submitter that finds none searching runs queued jobs until one does. The
//! pool's functions are `#[inline]`: only a program that calls
//! `spawn_blocking` compiles them.

use core::fmt;
use core::future::Future;
use core::mem;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, Ordering::Relaxed};
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

/// Idle time before a thread exits, in ms (none under Miri: it reports
/// threads alive when `main` returns).
const KEEP_ALIVE_MS: u64 = if cfg!(miri) { 0 } else { 10_000 };

/// How often the watching thread looks at the queue.
const STALL: Duration = Duration::from_millis(1);

/// How long one thread out of work keeps looking before it sleeps (so a
/// steady stream of jobs costs no wake-up).
const SPIN: Duration = Duration::from_micros(if cfg!(miri) { 0 } else { 50 });

/// The process's pool, made by the first [`spawn_blocking`].
static POOL: OnceLock<Pool> = OnceLock::new();

/// While set, every thread start fails (see [`Blocking::__refuse_threads`]).
static REFUSE_THREADS: AtomicBool = AtomicBool::new(false);

/// Run `f` on a pool thread; the returned future resolves to its output.
///
/// The job starts at once, polled or not, and any executor can await it (it
/// only uses the [`Waker`] it is given). A panic in `f` is caught on the pool
/// thread and resumed, with its payload, on the task that awaits the future.
/// Dropping the future detaches the job: it still runs, and its output is
/// dropped with the future or, if not done yet, on the pool thread.
///
/// The pool starts threads as jobs come, up to one per CPU but one to run
/// them and one to watch, then one more each time jobs wait 1 ms with every
/// other thread stuck in a job, to at most 512. A thread idle for 10 s exits
/// (`PASTS_BLOCKING_KEEP_ALIVE_MS`, read by the first call, overrides that).
/// If the OS refuses a thread while no pool thread looks at the queue, this
/// call runs queued jobs, oldest first, until one does. Jobs that wait on
/// each other need a thread each: while the OS refuses threads, they can wait
/// for ever.
///
/// ```rust
/// let slow = pasts::spawn_blocking(|| {
///     std::thread::sleep(std::time::Duration::from_millis(10));
///     6 * 7
/// });
/// assert_eq!(pasts::block_on(async { slow.await }), 42);
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
        let Slot::Waiting(waker) = mem::replace(&mut *lock(&out), Slot::Done(output)) else {
            return None; // only the job stores an output
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
    /// Not public API (tests, debug builds): while `refuse` holds, pool
    /// thread starts fail as if the OS refused them.
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
            Slot::Waiting(old) => {
                let keep = old.as_ref().is_some_and(|old| old.will_wake(cx.waker()));
                *slot = Slot::Waiting(if keep { old } else { Some(cx.waker().clone()) });
                // A replaced `old` is dropped after the lock.
                drop(slot);
                return Poll::Pending;
            }
        };
        drop(slot);
        self.slot = None;
        Poll::Ready(output.unwrap_or_else(|payload| panic::resume_unwind(payload)))
    }
}

impl<R> Drop for Blocking<R> {
    fn drop(&mut self) {
        // Detach: the waker, or the output if done, is dropped after the lock.
        if let Some(slot) = &self.slot {
            let _old = mem::replace(&mut *lock(slot), Slot::Waiting(None));
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

/// A queued job: runs the closure (catching its panic), stores the output,
/// returns the waker of the task awaiting it.
type Job = Box<dyn FnOnce() -> Option<Waker> + Send>;

/// Wake a finished job's task; a panicking waker must not end the thread.
#[inline]
fn wake(waker: Option<Waker>) {
    drop(panic::catch_unwind(AssertUnwindSafe(move || {
        waker.map(Waker::wake)
    })));
}

/// Lock `mutex`; only a waker's `clone` can panic under these locks, which
/// leaves consistent data, so poisoning is ignored.
fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The thread pool (see the module docs).
struct Pool {
    state: Mutex<State>,
    /// Set while a thread spins; a push clears it to end the spin.
    spinning: AtomicBool,
    keep_alive: Duration,
    /// One per CPU but one (at least one): the least `limit`.
    workers: usize,
}

/// The pool's queue and threads; a live thread neither busy nor idle searches.
#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    /// Live pool threads.
    threads: usize,
    /// Threads running a job.
    busy: usize,
    /// Sleeping threads, the most recently idle on top.
    idle: Vec<Thread>,
    /// Jobs taken so far: the watching thread's measure of progress.
    taken: usize,
}

impl Pool {
    #[inline]
    fn new() -> Self {
        let keep_alive = std::env::var("PASTS_BLOCKING_KEEP_ALIVE_MS").ok();
        let keep_alive = keep_alive.and_then(|ms| ms.parse().ok());
        Self {
            state: Mutex::default(),
            spinning: AtomicBool::new(false),
            keep_alive: Duration::from_millis(keep_alive.unwrap_or(KEEP_ALIVE_MS)),
            workers: thread::available_parallelism().map_or(1, |cpus| cpus.get().max(2) - 1),
        }
    }

    /// Queue `job`; run queued jobs here while no thread will.
    #[inline]
    fn submit(&'static self, job: Job) {
        let mut state = lock(&self.state);
        state.queue.push_back(job);
        self.spinning.store(false, Relaxed);
        while !self.cover(&mut state) {
            if let Some(job) = state.queue.pop_front() {
                drop(state);
                wake(job());
                state = lock(&self.state);
            }
        }
    }

    /// Give the queued jobs beyond the searching threads one more searcher:
    /// the most recently idle thread (so the others can time out), else a new
    /// one while the pool has at most `workers` threads or none searches.
    /// False if none searches and none could start (a full pool's busy
    /// threads take the jobs in time).
    #[inline]
    fn cover(&'static self, state: &mut State) -> bool {
        let searching = state.threads - state.busy - state.idle.len();
        if state.queue.len() <= searching {
            return true;
        }
        if let Some(thread) = state.idle.pop() {
            thread.unpark();
            return true;
        }
        let grow = state.threads <= self.workers || searching == 0;
        let refused = cfg!(debug_assertions) && REFUSE_THREADS.load(Relaxed);
        if grow && !refused && state.threads < MAX_THREADS {
            let thread = thread::Builder::new().name("pasts-blocking".into());
            if thread.spawn(move || self.serve()).is_ok() {
                // The new thread needs the lock to start, so it sees this.
                state.threads += 1;
                return true;
            }
        }
        searching > 0 || state.threads >= MAX_THREADS
    }

    /// A pool thread, until idle for the keep-alive. A job's task is woken
    /// once this thread searches again, so the task's next job finds it
    /// ready. Out of work, one thread at a time spins before it sleeps.
    #[inline]
    fn serve(&'static self) {
        let me = thread::current();
        let mut state = lock(&self.state);
        let (mut seen, mut spun) = (None, false);
        loop {
            // WATCHING while `limit` threads are busy, until a stall.
            let limit = self.workers.max(state.threads - 1);
            if state.busy >= limit && seen != Some(state.taken) && !state.queue.is_empty() {
                seen = Some(state.taken);
                drop(state);
                thread::park_timeout(STALL);
                state = lock(&self.state);
            } else if let Some(job) = state.queue.pop_front() {
                state.taken += 1;
                state.busy += 1;
                self.cover(&mut state);
                drop(state);
                let waker = job();
                lock(&self.state).busy -= 1;
                wake(waker);
                state = lock(&self.state);
                spun = false;
            } else if !mem::replace(&mut spun, true) && !self.spinning.swap(true, Relaxed) {
                drop(state);
                let start = Instant::now();
                while self.spinning.load(Relaxed) && start.elapsed() < SPIN {
                    thread::yield_now();
                }
                self.spinning.store(false, Relaxed);
                state = lock(&self.state);
            } else {
                // IDLE until claimed (taken off the stack) or the keep-alive.
                state.idle.push(me.clone());
                let deadline = Instant::now() + self.keep_alive;
                while state.idle.iter().any(|thread| thread.id() == me.id()) {
                    if Instant::now() >= deadline {
                        state.idle.retain(|thread| thread.id() != me.id());
                        state.threads -= 1;
                        return;
                    }
                    drop(state);
                    thread::park_timeout(deadline.saturating_duration_since(Instant::now()));
                    state = lock(&self.state);
                }
            }
        }
    }
}
