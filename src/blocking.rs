//! [`spawn_blocking`]: run blocking code on a shared thread pool and await its
//! output from any executor.
//!
//! # The pool
//!
//! One pool per process, started lazily: no thread exists before the first
//! [`spawn_blocking`]. Threads are named `pasts-blocking`. Jobs wait in a
//! FIFO channel; sending is lock-free, so a task queueing a burst never
//! fights the pool threads for a lock.
//!
//! A job that no searching thread will take goes to the thread that went
//! idle most recently (so the others can time out), else to a new thread
//! while there are fewer workers than CPUs but one (the submitter's thread
//! needs a CPU too; at least one worker). Beyond that the pool grows only
//! when the queue stalls: a *watcher* thread looks every [`STALL`] while jobs
//! wait; if no thread is searching and no job was taken since its previous
//! look, every worker is stuck in a job, so the watcher becomes a worker and
//! a new watcher starts. A burst of short jobs is drained by the threads
//! already running (10,000 tiny jobs on two CPUs need one worker and the
//! watcher, not hundreds); jobs that block (sleep, wait for each other, read
//! a pipe) get one more thread per stall, up to [`MAX_THREADS`], beyond
//! which jobs wait.
//!
//! # Thread roles
//!
//! ```text
//!   spawned as watcher:  WATCHING  ── stall ───────────> SEARCHING (and a
//!                                                        new watcher starts)
//!                        WATCHING  ── queue empty ─────> RESTING
//!                        RESTING   ── unparked ────────> WATCHING
//!                        RESTING   ── keep-alive ──────> exit
//!   spawned as worker:   SEARCHING ── took a job ──────> BUSY
//!                        BUSY      ── job done ────────> SEARCHING
//!                        SEARCHING ── queue empty ─────> IDLE (after a spin)
//!                        IDLE      ── claimed ─────────> SEARCHING
//!                        IDLE      ── keep-alive ──────> exit
//! ```
//!
//! - Atomics: `queued` counts jobs sent and not yet taken (raised after the
//!   send and lowered after the receive, so it never counts a job the
//!   channel does not hold yet; it may briefly be negative); `searching`
//!   counts threads that will look at the queue again before they sleep;
//!   `started` counts jobs taken (the watcher's progress). Everything else
//!   is in [`State`], under one mutex.
//! - One SEARCHING thread at a time spins for [`SPIN`] before it sleeps, so
//!   a steady stream of jobs costs no wake-up syscall. A finished job's task
//!   is woken once its thread counts as SEARCHING again.
//! - The awaiting side mirrors the spin: the first poll of a job that is
//!   running, or next in line with a SEARCHING thread, yields for up to
//!   [`SETTLE`] for its output before the task sleeps. Waking a thread that
//!   sleeps on an idle CPU costs tens of µs on a VM; a short job finishes
//!   sooner, so a task awaiting such jobs one by one never sleeps.
//! - IDLE threads sit on the `idle` stack. A submitter that sees more
//!   queued jobs than searching threads takes the lock, pops the top one,
//!   counts it as SEARCHING and unparks it; a thread that wakes and is no
//!   longer on the stack was claimed, one still on it woke spuriously or
//!   timed out. With no idle thread the submitter starts a worker (if
//!   there are too few) or makes sure the watcher looks (unparks it if it
//!   rests, starts one if none exists).
//!
//! No job is forgotten. A submitter raises `queued`, then reads `searching`;
//! a SEARCHING thread about to sleep lowers `searching`, then reads `queued`
//! (all `SeqCst`): either the submitter sees one searching thread fewer and
//! covers its job under the lock (where the sleeper is already on the
//! `idle` stack, or not yet looked), or the sleeper sees the job and stays.
//! Taking a job lowers `queued` before `searching`, so jobs covered by
//! searching threads stay covered; jobs beyond those have a looking watcher
//! (unless the pool is at [`MAX_THREADS`] or the OS refused a thread; then
//! a busy thread takes them when its job ends).

use core::fmt;
use core::future::Future;
use core::mem;
use core::pin::Pin;
use core::sync::atomic::{
    AtomicBool, AtomicIsize, AtomicUsize,
    Ordering::{Relaxed, SeqCst},
};
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::{self, Thread};
use std::time::Instant;
use std::vec::Vec;

/// The most threads the pool runs at once; more jobs wait in the queue.
const MAX_THREADS: usize = 512;

/// How long a thread stays idle before it exits. Not at all under Miri,
/// which reports threads still alive when `main` returns: there the pool
/// empties as soon as it has no work.
const KEEP_ALIVE: Duration = if cfg!(miri) {
    Duration::ZERO
} else {
    Duration::from_secs(10)
};

/// Overrides [`KEEP_ALIVE`] (in milliseconds), read once when the pool is
/// made. Meant for tests that check threads exit.
const KEEP_ALIVE_VAR: &str = "PASTS_BLOCKING_KEEP_ALIVE_MS";

/// How often the watcher looks at the queue; a look that finds no job taken
/// since the previous one grows the pool by one thread.
const STALL: Duration = Duration::from_millis(1);

/// How long a thread that ran out of work keeps looking before it sleeps
/// (not at all under Miri, see [`KEEP_ALIVE`]).
const SPIN: Duration = if cfg!(miri) {
    Duration::ZERO
} else {
    Duration::from_micros(50)
};

/// How long the first poll of a job that is running, or next in line with a
/// thread looking for it, yields for its output before the task sleeps.
/// Shorter than waking a sleeping thread on an idle CPU (tens of µs on a
/// VM), which would otherwise be paid for every short job awaited in turn.
const SETTLE: Duration = Duration::from_micros(10);

/// The process's pool, made by the first [`spawn_blocking`].
static POOL: OnceLock<Pool> = OnceLock::new();

/// Run `f` on a pool thread; the returned future resolves to its output.
///
/// The job starts at once, whether or not the future is polled; any executor
/// can await it (it only uses the [`Waker`] it is given); its first poll
/// may yield the thread for up to 10 µs if a pool thread runs the job or is
/// about to, so a short job's output is there without a wake-up. Dropping the
/// future detaches the job: it still runs, and its output is dropped on the
/// pool thread. A panic in `f` is caught on the pool thread (which stays in
/// the pool) and resumed, with its original payload, on the task that
/// awaits the future.
///
/// The pool starts no thread before the first call and reuses idle threads.
/// It starts threads as jobs come, up to one per CPU but one; beyond that
/// it grows only while jobs wait 1 ms with every thread stuck in a job and
/// none started (so a burst of short jobs does not make hundreds of
/// threads), to at most 512 threads. A thread idle for 10 s exits (the
/// environment variable `PASTS_BLOCKING_KEEP_ALIVE_MS`, read once by the
/// first call, overrides that, e.g. for tests). If the OS refuses to start
/// a thread while the pool has none, the calling thread runs the job (or
/// one queued before it) before `spawn_blocking` returns; if the pool has
/// threads, the job waits for one.
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
    POOL.get_or_init(Pool::new).submit(task.clone());
    Blocking { task: Some(task) }
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
    /// `None` once the output was returned.
    task: Option<Arc<Task<R, dyn Send + Sync>>>,
}

impl<R> fmt::Debug for Blocking<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.task.as_ref().map(|task| task.slot.try_lock()) {
            None => "returned",
            Some(Ok(slot)) if matches!(*slot, Slot::Done(_)) => "done",
            Some(_) => "running",
        };
        f.debug_struct("Blocking").field("state", &state).finish()
    }
}

impl<R> Future for Blocking<R> {
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<R> {
        let Some(task) = &self.task else {
            panic!(
                "`pasts::Blocking` polled after it returned its output; poll it until `Ready` only"
            )
        };
        let mut slot = lock(&task.slot);
        // No waker yet: the first poll.
        if matches!(*slot, Slot::Waiting(None)) && POOL.get().is_some_and(Pool::next_up) {
            drop(slot);
            slot = settle(&task.slot);
        }
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
        self.task = None;
        match output {
            Ok(output) => Poll::Ready(output),
            Err(payload) => panic::resume_unwind(payload),
        }
    }
}

impl<R> Drop for Blocking<R> {
    fn drop(&mut self) {
        // Detach: the job no longer needs to wake this task.
        if let Some(task) = &self.task {
            let waker = match &mut *lock(&task.slot) {
                Slot::Waiting(waker) => waker.take(),
                Slot::Done(_) => None,
            };
            drop(waker);
        }
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
            Slot::Done(_) => None,
        }
    }
}

/// The thread pool (see the module docs).
struct Pool {
    sender: Sender<Arc<dyn Run>>,
    /// Taken by one thread at a time to receive a job.
    receiver: Mutex<Receiver<Arc<dyn Run>>>,
    /// Jobs sent and not yet taken. Raised after a send and lowered after a
    /// receive, so it never counts a job that is not in the channel yet,
    /// and may briefly be negative.
    queued: AtomicIsize,
    /// Threads that will look at the queue again before they sleep.
    searching: AtomicUsize,
    /// Jobs taken so far: the progress the watcher checks. Written under
    /// the `receiver` lock.
    started: AtomicUsize,
    /// Whether a searching thread is spinning.
    spinning: AtomicBool,
    state: Mutex<State>,
    /// [`KEEP_ALIVE`] or its override.
    keep_alive: Duration,
    /// How many workers the pool starts without waiting for a stall: one
    /// per CPU this process may use, but one (the submitter's).
    workers: usize,
}

/// The part of the pool under its mutex.
struct State {
    /// Live pool threads, the watcher included.
    threads: usize,
    /// Parked threads, the most recently idle on top.
    idle: Vec<Thread>,
    /// The watcher, if one exists.
    watcher: Option<Thread>,
    /// Whether the watcher rests: it found the queue empty and sleeps until
    /// unparked or its keep-alive ends, instead of looking every [`STALL`].
    resting: bool,
}

impl Pool {
    fn new() -> Self {
        let (sender, receiver) = mpsc::channel();
        let keep_alive = std::env::var(KEEP_ALIVE_VAR)
            .ok()
            .and_then(|ms| ms.parse().ok())
            .map_or(KEEP_ALIVE, Duration::from_millis);
        Self {
            sender,
            receiver: Mutex::new(receiver),
            queued: AtomicIsize::new(0),
            searching: AtomicUsize::new(0),
            started: AtomicUsize::new(0),
            spinning: AtomicBool::new(false),
            state: Mutex::new(State {
                threads: 0,
                idle: Vec::new(),
                watcher: None,
                resting: false,
            }),
            keep_alive,
            workers: thread::available_parallelism().map_or(1, |cpus| cpus.get().max(2) - 1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Whether a job was sent and not taken yet.
    fn has_jobs(&self) -> bool {
        self.queued.load(SeqCst) > 0
    }

    /// Whether every queued job but the latest was taken, and a searching
    /// thread will take that one (see [`SETTLE`]).
    fn next_up(&self) -> bool {
        self.queued.load(SeqCst) <= 1 && !self.uncovered()
    }

    /// Whether more jobs are queued than searching threads will take.
    fn uncovered(&self) -> bool {
        let queued = self.queued.load(SeqCst);
        queued > 0 && queued.unsigned_abs() > self.searching.load(SeqCst)
    }

    /// Queue `job` and make sure a thread will take it. If the pool has no
    /// thread and the OS refuses to start one, runs a queued job (`job` or
    /// an earlier one in the same plight) on the calling thread.
    fn submit(&'static self, job: Arc<dyn Run>) {
        if let Err(mpsc::SendError(job)) = self.sender.send(job) {
            // Unreachable (the receiver lives in a static), but harmless.
            wake(run(job));
            return;
        }
        self.queued.fetch_add(1, SeqCst);
        if !self.uncovered() {
            return;
        }
        let mut state = self.lock();
        let wake_up = self.cover(&mut state);
        let threadless = state.threads == 0;
        drop(state);
        if let Some(thread) = wake_up {
            thread.unpark();
        }
        if threadless {
            if let Some(job) = self.pop() {
                wake(run(job));
            }
        }
    }

    /// If more jobs are queued than searching threads will take: claim an
    /// idle thread, else start a worker if there are fewer than
    /// `self.workers`, else make the watcher look (start one, or return it
    /// if it rests).
    /// The thread returned is to be unparked once the lock is released.
    fn cover(&'static self, state: &mut State) -> Option<Thread> {
        if !self.uncovered() {
            return None;
        }
        if let Some(thread) = state.idle.pop() {
            self.searching.fetch_add(1, SeqCst);
            return Some(thread);
        }
        let workers = state.threads - usize::from(state.watcher.is_some());
        match &state.watcher {
            _ if workers < self.workers => {
                self.spawn(state, false);
                None
            }
            Some(watcher) if state.resting => {
                state.resting = false;
                Some(watcher.clone())
            }
            Some(_) => None,
            None => {
                self.spawn(state, true);
                None
            }
        }
    }

    /// Start a watcher, or a searching thread, unless the pool is full or
    /// the OS refuses (then the queued jobs wait for a busy thread).
    fn spawn(&'static self, state: &mut State, watcher: bool) {
        if state.threads >= MAX_THREADS {
            return;
        }
        let spawned = thread::Builder::new()
            .name("pasts-blocking".into())
            .spawn(move || {
                if !watcher || self.watch() {
                    self.serve();
                }
            });
        // The new thread needs the lock to start, so it sees these.
        if let Ok(handle) = spawned {
            state.threads += 1;
            if watcher {
                state.watcher = Some(handle.thread().clone());
                state.resting = false;
            } else {
                self.searching.fetch_add(1, SeqCst);
            }
        }
    }

    /// Take the next job, if one was sent.
    fn pop(&self) -> Option<Arc<dyn Run>> {
        if !self.has_jobs() {
            return None;
        }
        let receiver = lock(&self.receiver);
        let job = receiver.try_recv().ok()?;
        // Only the receiver's holder writes `started`: no read-modify-write.
        self.started
            .store(self.started.load(Relaxed).wrapping_add(1), Relaxed);
        drop(receiver);
        self.queued.fetch_sub(1, SeqCst);
        Some(job)
    }

    /// WATCHING and RESTING: while jobs wait that no searching thread will
    /// take, look every [`STALL`]; when a look finds no job taken since the
    /// previous one, become a searching thread (true) and hand the role to a
    /// new watcher. Rests while the queue is empty; false once it rested for
    /// the keep-alive (the thread then exits).
    fn watch(&'static self) -> bool {
        let mut state = self.lock();
        let mut seen = None;
        loop {
            let started = self.started.load(SeqCst);
            if !self.has_jobs() {
                state.resting = true;
                let deadline = Instant::now() + self.keep_alive;
                while state.resting {
                    if Instant::now() >= deadline {
                        state.watcher = None;
                        state.threads -= 1;
                        return false;
                    }
                    drop(state);
                    thread::park_timeout(deadline.saturating_duration_since(Instant::now()));
                    state = self.lock();
                }
                // Unparked for a queued job: give the busy threads a full
                // period to take it.
                seen = Some(self.started.load(SeqCst));
            } else if seen == Some(started) && self.searching.load(SeqCst) == 0 {
                // Stalled: every other thread is stuck in a job.
                state.watcher = None;
                self.searching.fetch_add(1, SeqCst);
                let wake_up = self.cover(&mut state);
                drop(state);
                if let Some(thread) = wake_up {
                    thread.unpark();
                }
                return true;
            } else {
                seen = Some(started);
            }
            drop(state);
            thread::park_timeout(STALL);
            state = self.lock();
        }
    }

    /// SEARCHING, BUSY and IDLE, until idle for the keep-alive. The caller
    /// counted this thread as searching.
    ///
    /// A finished job's task is woken only once this thread counts as
    /// searching again, so a task that queues its next job at once finds
    /// this thread ready for it, instead of waking the watcher.
    fn serve(&'static self) {
        let me = thread::current();
        let mut waker = None;
        loop {
            if let Some(job) = self.pop() {
                wake(waker.take());
                self.searching.fetch_sub(1, SeqCst);
                waker = run(job);
                self.searching.fetch_add(1, SeqCst);
                continue;
            }
            wake(waker.take());
            if !self.spinning.swap(true, SeqCst) {
                self.spin();
                self.spinning.store(false, SeqCst);
                if self.has_jobs() {
                    continue;
                }
            }
            let mut state = self.lock();
            self.searching.fetch_sub(1, SeqCst);
            if self.has_jobs() {
                // A job came: look again.
                self.searching.fetch_add(1, SeqCst);
                drop(state);
                continue;
            }
            state.idle.push(me.clone());
            let deadline = Instant::now() + self.keep_alive;
            loop {
                drop(state);
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

    /// Wait up to [`SPIN`] for a job to be queued. Yields between looks, so
    /// a submitter that shares this CPU (the OS often moves a woken task to
    /// its waker's CPU) runs at once instead of after the spin.
    fn spin(&self) {
        let start = Instant::now();
        while self.queued.load(Relaxed) <= 0 && start.elapsed() < SPIN {
            thread::yield_now();
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

/// Yield until the job stored its output or [`SETTLE`] has passed; returns
/// the slot, locked. Yielding (not spinning) lets a pool thread that shares
/// this CPU run the job.
fn settle<R>(slot: &Mutex<Slot<R>>) -> MutexGuard<'_, Slot<R>> {
    let start = Instant::now();
    loop {
        thread::yield_now();
        let slot = lock(slot);
        if matches!(*slot, Slot::Done(_)) || start.elapsed() >= SETTLE {
            return slot;
        }
    }
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
