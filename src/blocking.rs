//! [`spawn_blocking`]: run blocking code on a shared thread pool and await its
//! output from any executor.
//!
//! # The pool
//!
//! One pool per process, started lazily: no thread exists before the first
//! [`spawn_blocking`]. Threads are named `pasts-blocking`. A job goes to a
//! thread that is looking for work, else to the thread that went idle most
//! recently (so the others can time out), else it waits in a FIFO queue.
//!
//! The pool grows only when the queue stalls: a *watcher* thread looks at
//! the queue every [`STALL`]; if no job was taken since its last look, every
//! thread is stuck in a job, so the watcher takes one itself and starts a new
//! watcher. A burst of short jobs is drained by the threads already running
//! (a burst of 10,000 tiny jobs needs two threads, not hundreds); jobs that
//! block (sleep, wait for each other, read a pipe) get a thread each, one
//! more per stall, up to [`MAX_THREADS`]; beyond that, jobs wait.
//!
//! # Thread roles
//!
//! The state lives in [`State`], under one mutex. A thread is in one role:
//!
//! ```text
//!   spawn ──> WATCHING ── queue empty ─────────────────> SEARCHING
//!                │                                       │  ▲   │
//!                └─ queue stalled: take a job ──> BUSY <─┘  │   │ queue still empty
//!                   (and spawn a new watcher)      └────────┘   │ after the spin
//!                                                  job done     ▼
//!                        exit <── keep-alive elapsed ── IDLE (parked)
//!                                                        │ a submitter claims it
//!                                                        └──> SEARCHING
//! ```
//!
//! - SEARCHING threads (counted in `searching`) look at the queue again
//!   before they sleep; one of them at a time spins for [`SPIN`] first, so a
//!   steady stream of jobs costs no wake-up syscall.
//! - IDLE threads sit on the `idle` stack. A submitter that finds more queued
//!   jobs than searching threads pops the top one, counts it as SEARCHING and
//!   unparks it; a thread that wakes and is no longer on the stack was
//!   claimed, one still on it woke spuriously or timed out.
//! - At most one WATCHING thread (`watcher`) exists, and only while jobs are
//!   queued that no searching thread will take.
//!
//! No job is forgotten: a job is queued only under the lock, and after every
//! change the queue holds no more jobs than there are searching threads, or
//! a watcher exists (unless the pool is at [`MAX_THREADS`] or the OS refused
//! a thread; then a busy thread takes the job when its own job ends).
//! Searching threads sleep only after finding the queue empty under the lock.

use core::fmt;
use core::future::Future;
use core::mem;
use core::pin::Pin;
use core::sync::atomic::{AtomicUsize, Ordering};
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, Thread};
use std::time::Instant;
use std::vec::Vec;

/// The most threads the pool runs at once; more jobs wait in the queue.
const MAX_THREADS: usize = 512;

/// How long a thread stays idle before it exits.
const KEEP_ALIVE: Duration = Duration::from_secs(10);

/// Overrides [`KEEP_ALIVE`] (in milliseconds), read once when the pool
/// starts its first thread. Meant for tests that check threads exit.
const KEEP_ALIVE_VAR: &str = "PASTS_BLOCKING_KEEP_ALIVE_MS";

/// How often the watcher looks at the queue; a look that finds no progress
/// since the previous one grows the pool by one thread.
const STALL: Duration = Duration::from_millis(1);

/// How long a thread that ran out of work keeps looking before it sleeps.
const SPIN: Duration = Duration::from_micros(50);

/// The process's pool.
static POOL: Pool = Pool::new();

/// Run `f` on a pool thread; the returned future resolves to its output.
///
/// The job starts at once, whether or not the future is polled; any executor
/// can await it (it only uses the [`Waker`] it is given). Dropping the
/// future detaches the job: it still runs, and its output is dropped on the
/// pool thread. A panic in `f` is caught on the pool thread (which stays in
/// the pool) and resumed, with its original payload, on the task that
/// awaits the future.
///
/// The pool starts no thread before the first call and reuses idle threads.
/// It grows only while queued jobs wait 1 ms with no job starting (so a
/// burst of short jobs does not make hundreds of threads), to at most 512
/// threads. A thread idle for 10 s exits (the environment variable
/// `PASTS_BLOCKING_KEEP_ALIVE_MS`, read once when the pool starts its first
/// thread, overrides that, e.g. for tests). If the OS refuses to start a
/// thread while the pool has none, `f` runs on the calling thread before
/// `spawn_blocking` returns; if the pool has threads, the job waits for one.
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
    let task = Arc::new(Task {
        slot: Mutex::new(Slot::Waiting(None)),
        job: Mutex::new(Some(f)),
    });
    let job: Arc<dyn Run> = task.clone();
    if let Err(job) = POOL.submit(job) {
        // Not polled yet, so there is no waker to wake.
        drop(job.run());
    }
    Blocking { task }
}

/// The output of a job started by [`spawn_blocking`], as a future.
///
/// Resolves to the job's output, or resumes its panic. Dropping it detaches
/// the job.
///
/// ```rust
/// let job: pasts::Blocking<u32> = pasts::spawn_blocking(|| 1 + 1);
/// assert_eq!(pasts::block_on(job), 2);
/// ```
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct Blocking<R> {
    task: Arc<Task<R, dyn Send + Sync>>,
}

impl<R> fmt::Debug for Blocking<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.task.slot.try_lock().as_deref() {
            Ok(Slot::Waiting(_)) => "running",
            Ok(Slot::Done(_)) => "done",
            Ok(Slot::Taken) => "taken",
            Err(_) => "locked",
        };
        f.debug_struct("Blocking").field("state", &state).finish()
    }
}

impl<R> Future for Blocking<R> {
    type Output = R;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<R> {
        let mut slot = lock(&self.task.slot);
        let output = match mem::replace(&mut *slot, Slot::Taken) {
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
            Slot::Done(output) => output,
            Slot::Taken => {
                drop(slot);
                panic!("`pasts::Blocking` polled after it returned its output; poll it until `Ready` only")
            }
        };
        drop(slot);
        match output {
            Ok(output) => Poll::Ready(output),
            Err(payload) => panic::resume_unwind(payload),
        }
    }
}

impl<R> Drop for Blocking<R> {
    fn drop(&mut self) {
        // Detach: the job no longer needs to wake this task.
        let waker = match &mut *lock(&self.task.slot) {
            Slot::Waiting(waker) => waker.take(),
            _ => None,
        };
        drop(waker);
    }
}

/// A job and its output: one allocation, shared by the future and the queue.
struct Task<R, J: ?Sized> {
    slot: Mutex<Slot<R>>,
    /// `Mutex<Option<F>>`: the closure, taken by whoever runs it.
    job: J,
}

/// Where the output goes.
enum Slot<R> {
    /// The job has not finished; the waker of the task awaiting it, if any.
    Waiting(Option<Waker>),
    /// The job's output, or its panic's payload.
    Done(thread::Result<R>),
    /// The future returned the output.
    Taken,
}

/// A queued job, its types erased.
trait Run: Send + Sync {
    /// Run the job and store its output; returns the waker of the task
    /// awaiting it, if any. A panic in the job is caught and stored.
    fn run(&self) -> Option<Waker>;
}

impl<R, F> Run for Task<R, Mutex<Option<F>>>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    fn run(&self) -> Option<Waker> {
        let f = lock(&self.job).take()?;
        let output = panic::catch_unwind(AssertUnwindSafe(f));
        match mem::replace(&mut *lock(&self.slot), Slot::Done(output)) {
            Slot::Waiting(waker) => waker,
            _ => None,
        }
    }
}

/// The thread pool: the shared [`State`] and a lock-free view of the queue
/// length for the spinning thread.
struct Pool {
    state: Mutex<State>,
    /// `state.queue.len()`, written under the lock.
    queued: AtomicUsize,
}

/// The pool's state (see the module docs for the roles).
struct State {
    queue: VecDeque<Arc<dyn Run>>,
    /// Live pool threads.
    threads: usize,
    /// Threads that will look at the queue again before they sleep.
    searching: usize,
    /// Whether a searching thread is spinning.
    spinning: bool,
    /// Parked threads, the most recently idle on top.
    idle: Vec<Thread>,
    /// Whether a watcher exists.
    watcher: bool,
    /// Jobs taken from the queue so far: the progress the watcher checks.
    started: u64,
    /// [`KEEP_ALIVE`] or its override, once the first thread starts.
    keep_alive: Option<Duration>,
}

impl Pool {
    const fn new() -> Self {
        Self {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                threads: 0,
                searching: 0,
                spinning: false,
                idle: Vec::new(),
                watcher: false,
                started: 0,
                keep_alive: None,
            }),
            queued: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Queue `job` and make sure a thread will take it. `Err(job)` if the
    /// pool has no thread and the OS refused to start one.
    fn submit(&'static self, job: Arc<dyn Run>) -> Result<(), Arc<dyn Run>> {
        let mut state = self.lock();
        state.queue.push_back(job);
        self.queued.store(state.queue.len(), Ordering::Relaxed);
        let claimed = self.balance(&mut state);
        if state.threads == 0 {
            // No thread, so nothing else is queued: take the job back.
            if let Some(job) = state.queue.pop_back() {
                self.queued.store(state.queue.len(), Ordering::Relaxed);
                return Err(job);
            }
        }
        drop(state);
        if let Some(thread) = claimed {
            thread.unpark();
        }
        Ok(())
    }

    /// After a job was queued or the watcher took one: if the queue holds
    /// more jobs than searching threads, claim an idle thread (returned, to
    /// be unparked once the lock is released) or start a watcher.
    fn balance(&'static self, state: &mut State) -> Option<Thread> {
        if state.queue.len() <= state.searching {
            return None;
        }
        if let Some(thread) = state.idle.pop() {
            state.searching += 1;
            return Some(thread);
        }
        if !state.watcher && state.threads < MAX_THREADS {
            self.spawn(state);
        }
        None
    }

    /// Start a watcher thread, unless the OS refuses (then the queued jobs
    /// wait for a busy thread, see [`spawn_blocking`]).
    fn spawn(&'static self, state: &mut State) {
        let seen = state.started;
        let keep_alive = *state.keep_alive.get_or_insert_with(|| {
            std::env::var(KEEP_ALIVE_VAR)
                .ok()
                .and_then(|ms| ms.parse().ok())
                .map_or(KEEP_ALIVE, Duration::from_millis)
        });
        let spawned = thread::Builder::new()
            .name("pasts-blocking".into())
            .spawn(move || self.work(seen, keep_alive));
        // The new thread needs the lock to start, so it sees these counts.
        if spawned.is_ok() {
            state.threads += 1;
            state.watcher = true;
        }
    }

    /// Take the next job.
    fn pop(&self, state: &mut State) -> Option<Arc<dyn Run>> {
        let job = state.queue.pop_front()?;
        self.queued.store(state.queue.len(), Ordering::Relaxed);
        state.started += 1;
        Some(job)
    }

    /// A pool thread's life: watch the queue, then search, run and sleep
    /// until idle for `keep_alive`. `seen` is the progress when the thread
    /// was started.
    ///
    /// A finished job's waker is woken only once this thread counts as
    /// searching again, so a task that queues its next job at once finds
    /// this thread ready for it, instead of starting a watcher.
    fn work(&'static self, mut seen: u64, keep_alive: Duration) {
        let mut waker = None;
        let mut state = self.lock();
        // WATCHING
        loop {
            if state.queue.is_empty() {
                state.watcher = false;
                break;
            }
            if state.started == seen {
                // Stalled: every other thread is stuck in a job.
                state.watcher = false;
                if let Some(job) = self.pop(&mut state) {
                    let claimed = self.balance(&mut state);
                    drop(state);
                    if let Some(thread) = claimed {
                        thread.unpark();
                    }
                    waker = run(job);
                    state = self.lock();
                }
                break;
            }
            seen = state.started;
            drop(state);
            thread::park_timeout(STALL);
            state = self.lock();
        }
        state.searching += 1;
        let me = thread::current();
        loop {
            // SEARCHING
            if let Some(job) = self.pop(&mut state) {
                // BUSY
                state.searching -= 1;
                drop(state);
                wake(waker.take());
                waker = run(job);
                state = self.lock();
                state.searching += 1;
                continue;
            }
            if !state.spinning {
                state.spinning = true;
                drop(state);
                wake(waker.take());
                self.spin();
                state = self.lock();
                state.spinning = false;
                if !state.queue.is_empty() {
                    continue;
                }
            }
            // IDLE
            state.searching -= 1;
            state.idle.push(me.clone());
            let deadline = Instant::now() + keep_alive;
            loop {
                drop(state);
                wake(waker.take());
                thread::park_timeout(deadline.saturating_duration_since(Instant::now()));
                state = self.lock();
                match state.idle.iter().position(|t| t.id() == me.id()) {
                    // Claimed: counted as searching by the claimer.
                    None => break,
                    Some(i) if Instant::now() >= deadline => {
                        state.idle.remove(i);
                        state.threads -= 1;
                        return;
                    }
                    Some(_) => {}
                }
            }
        }
    }

    /// Wait up to [`SPIN`] for a job to be queued, without the lock.
    fn spin(&self) {
        let start = Instant::now();
        loop {
            for _ in 0..64 {
                if self.queued.load(Ordering::Relaxed) != 0 {
                    return;
                }
                core::hint::spin_loop();
            }
            if start.elapsed() >= SPIN {
                return;
            }
        }
    }
}

/// Run a job on a pool thread; returns the waker of the task awaiting it.
/// The job catches its own panic; this catches one from the destructor of a
/// detached job's output, so no user code unwinds out of a pool thread.
fn run(job: Arc<dyn Run>) -> Option<Waker> {
    // Such a payload has nowhere to go: the job's output is stored already.
    panic::catch_unwind(AssertUnwindSafe(move || job.run())).unwrap_or(None)
}

/// Wake a finished job's task, catching a panicking waker (the executor's
/// bug, which must not take the pool thread down).
fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        drop(panic::catch_unwind(AssertUnwindSafe(move || waker.wake())));
    }
}

/// Lock `mutex`; no code panics while holding these locks, and a poisoned
/// one holds consistent data anyway.
fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
