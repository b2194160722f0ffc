//! `Timer` and `Interval`: deadlines, order, executors, reset, lateness
//! (one module per behaviour group).
#![cfg(feature = "linux")]

mod common;
mod exec;
#[path = "support/sys.rs"]
mod sys;

use common::{park_block_on, within, Counter, Panics, Recording};
use exec::{beside_cpu_bursts, lateness, queue_block_on, rounds, timer_lateness};
use pasts::linux::{Interval, Timer};
use pasts::prelude::*;
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The lateness tests measure what other threads do to the reactor: they
/// hold this exclusively, every other test shares it.
static ALONE: RwLock<()> = RwLock::new(());

fn shared() -> RwLockReadGuard<'static, ()> {
    ALONE.read().unwrap_or_else(PoisonError::into_inner)
}

fn exclusive() -> RwLockWriteGuard<'static, ()> {
    ALONE.write().unwrap_or_else(PoisonError::into_inner)
}

mod at {
    //! `Timer::at`: ready at (not before) an `Instant`, at once for one that has
    //! passed.

    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn ready_at_the_instant() {
        let _alone = shared();
        let deadline = Instant::now() + Duration::from_millis(20);
        let timer = Timer::at(deadline).unwrap();
        let ((), polls, _) = park_block_on(timer);
        assert!(Instant::now() >= deadline);
        // One poll to register, one after the wake (a spurious unpark may add
        // one; a busy loop would add thousands).
        assert!(polls <= 4, "{polls} polls");
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn past_instant_is_ready_at_once() {
        let _alone = shared();
        let past = Instant::now() - Duration::from_millis(5);
        let ((), polls, _) = park_block_on(Timer::at(past).unwrap());
        assert_eq!(polls, 1);
        let ((), polls, _) = park_block_on(Timer::at(Instant::now()).unwrap());
        assert_eq!(polls, 1);
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn at_and_new_agree() {
        let _alone = shared();
        // A timer made with `at` for the same instant as a `new` one is ready in
        // the same pass, and neither before the instant.
        let start = Instant::now();
        let d = Duration::from_millis(15);
        let (a, b) = (Timer::at(start + d).unwrap(), Timer::new(d).unwrap());
        park_block_on(a);
        park_block_on(b);
        assert!(start.elapsed() >= d);
    }

    /// Pending once, waking itself: lets the other half of a join run.
    struct YieldOnce(bool);

    impl std::future::Future for YieldOnce {
        type Output = ();

        fn poll(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<()> {
            if std::mem::replace(&mut self.0, true) {
                return std::task::Poll::Ready(());
            }
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn past_instant_is_ready_at_once_while_passes_run_late() {
        let _alone = shared();
        use common::{poll, Counter};
        use pasts::prelude::*;

        // Deadlines 5 µs apart come due for 10 ms while this thread stays busy
        // (its passes run late, `armed` is in the past or left due); meanwhile a
        // timer for an instant just passed is made and polled once, again and
        // again: it must be ready on that first poll.
        let base = Instant::now() + Duration::from_millis(20);
        let dense = (0..2000u64)
            .map(|i| Timer::at(base + Duration::from_micros(5 * i)).unwrap())
            .collect::<Vec<_>>()
            .join();
        let (_, waker) = Counter::new();
        let probe = async {
            let mut pending = 0;
            while Instant::now() < base + Duration::from_millis(10) {
                let mut timer = Timer::at(Instant::now()).unwrap();
                if poll(std::pin::Pin::new(&mut timer), &waker).is_pending() {
                    pending += 1;
                }
                // Let the dense timers' passes run between probes.
                YieldOnce(false).await;
            }
            pending
        };
        let (_, pending) = pasts::block_on((dense, probe).join());
        assert_eq!(pending, 0, "a past instant was not ready at its first poll");
    }
}

mod busy_block_on {
    //! A `block_on` whose future keeps waking itself (a game loop that yields
    //! every frame) never sleeps in `epoll_wait`; its timers must still fire.

    use super::*;

    /// Polls `timer` and, while it is pending, wakes itself: always runnable.
    struct Busy<'a> {
        timer: Pin<&'a mut Timer>,
        polls: u64,
    }

    impl Future for Busy<'_> {
        type Output = u64;

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u64> {
            self.polls += 1;
            if self.timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(self.polls);
            }
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn busy_block_on_still_sees_its_timer() {
        let _alone = shared();
        // A timeout: the timer never fired while its thread was busy.
        let polls = common::within(Duration::from_secs(20), || {
            let timer = pin!(Timer::new(Duration::from_millis(20)).unwrap());
            pasts::block_on(Busy { timer, polls: 0 })
        });
        assert!(polls > 1);
    }
}

mod dense {
    //! Deadlines closer together than the driver's slack (25 µs) are waited for
    //! by the `block_on` thread running passes back to back, without arming the
    //! timerfd: every timer still fires, never early. Once deadlines are sparse
    //! again the driver arms the timerfd and sleeps, so waiting costs no CPU.

    use super::*;

    /// CPU time used by the whole process so far (all threads, user + system),
    /// from `/proc/self/stat`, to the kernel's 10 ms tick (`USER_HZ` = 100).
    fn cpu_time() -> Duration {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
        // The command name, in parentheses, may hold spaces: count from after
        // it, where field 3 (`state`) comes first.
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        Duration::from_millis(ticks * 10)
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn dense_timers_are_never_early_and_sparse_ones_cost_no_cpu() {
        // Alone: the process's CPU time must be this test's.
        let _alone = exclusive();
        let start = Instant::now();
        // 2,000 deadlines 5 µs apart, far enough ahead to register them all,
        // and two sparse ones after them: the pass that fires the last dense
        // timer must arm the timerfd for the next, not keep running passes.
        let base = start + Duration::from_millis(50);
        // Well after the dense deadlines and their wake-ups: from here on
        // only sparse waiting, which must cost no CPU.
        let mid = base + Duration::from_millis(150);
        let lone = base + Duration::from_millis(300);
        let sparse = std::sync::Mutex::new(None);
        let on_time = pasts::block_on(
            (0..2000u64)
                .map(|i| base + Duration::from_micros(5 * i))
                .chain([mid, lone])
                .map(|at| {
                    let sparse = &sparse;
                    async move {
                        Timer::at(at).unwrap().await;
                        if at == mid {
                            *sparse.lock().unwrap() = Some((cpu_time(), Instant::now()));
                        }
                        Instant::now() >= at
                    }
                })
                .collect::<Vec<_>>()
                .join(),
        );
        let early = on_time.iter().filter(|&&ok| !ok).count();
        assert_eq!(early, 0, "timers ready before their deadline");
        // Nothing queued: the reactor thread, the dispatcher now, sleeps too.
        std::thread::sleep(Duration::from_millis(300));
        // Waiting for the lone timer and then for nothing costs no CPU.
        let (cpu, since) = sparse.lock().unwrap().unwrap();
        let (used, wall) = (cpu_time() - cpu, since.elapsed());
        assert!(used < wall / 3, "{used:?} of CPU time in {wall:?}");
    }
}

mod drop {
    //! Dropping a timer cancels it: its waker is released and never called, and
    //! the other timers are unaffected.

    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn dropped_timer_is_never_woken() {
        // Alone: the earliest timer of the process, polled before it is due.
        let _alone = exclusive();
        let (counter, waker) = Counter::unparking();
        let mut cx = Context::from_waker(&waker);
        {
            // The earliest timer of the process, so the timerfd is armed for it
            // and fires for nothing after the drop.
            let mut timer = pin!(Timer::new(Duration::from_millis(50)).unwrap());
            assert!(timer.as_mut().poll(&mut cx).is_pending());
            let mut interval = pin!(Interval::new(Duration::from_millis(50)).unwrap());
            assert!(interval.as_mut().poll(&mut cx).is_pending());
            // The queue holds one clone of the waker per timer.
            assert_eq!(Arc::strong_count(&counter), 4);
        }
        // Dropped: the queue's clones are gone at once.
        assert_eq!(Arc::strong_count(&counter), 2);
        // A later timer on the same thread still works...
        park_block_on(Timer::new(Duration::from_millis(80)).unwrap());
        // ...and the dropped ones were never woken.
        assert_eq!(counter.wakes(), 0);
    }
}

mod executors {
    //! The same timer code runs on `pasts::block_on` and on a hand-written
    //! executor (the reactor thread wakes whatever waker it was given); the
    //! futures are `Send`, `Sync`, `Unpin` and `Debug`.

    use super::*;

    async fn work() -> Duration {
        let start = Instant::now();
        Timer::new(Duration::from_millis(3)).unwrap().await;
        let mut interval = Interval::new(Duration::from_millis(2)).unwrap();
        for _ in 0..3 {
            (&mut interval).await;
        }
        start.elapsed()
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn pasts_block_on() {
        let _alone = shared();
        assert!(pasts::block_on(work()) >= Duration::from_millis(9));
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn hand_written_executor() {
        let _alone = shared();
        let (elapsed, polls, _) = park_block_on(work());
        assert!(elapsed >= Duration::from_millis(9));
        // Registered and woken, not spun: a handful of polls per await.
        assert!(polls < 40, "{polls} polls");
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn from_another_thread() {
        let _alone = shared();
        // Made on one thread, awaited on another.
        let timer = Timer::new(Duration::from_millis(5)).unwrap();
        let start = Instant::now();
        std::thread::spawn(move || pasts::block_on(timer))
            .join()
            .unwrap();
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn traits() {
        let _alone = shared();
        fn check<T: Send + Sync + Unpin + std::fmt::Debug>() {}
        check::<Timer>();
        check::<Interval>();
    }
}

mod interval {
    //! `Interval`: one tick per period, no drift (deadline n = start + n *
    //! period however long each tick's work takes), missed ticks skipped while
    //! keeping the phase.

    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn fifty_ticks_no_drift_no_missed_tick() {
        let _alone = shared();
        const TICKS: u32 = 50;
        let period = Duration::from_millis(10);
        let start = Instant::now();
        let mut interval = Interval::new(period).unwrap();
        pasts::block_on(async {
            for n in 1..=TICKS {
                (&mut interval).await;
                let elapsed = start.elapsed();
                assert!(elapsed >= period * n, "tick {n} early: {elapsed:?}");
                // Work that takes half the period: an interval that re-armed
                // "now + period" after each tick would drift by 5 ms a tick
                // (250 ms in all).
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        let elapsed = start.elapsed();
        // 500 ms of schedule; a drifting interval needs >= 750 ms, one that
        // misses every other tick >= 1 s. Loose bound for a busy machine.
        assert!(
            elapsed < period * TICKS + Duration::from_millis(220),
            "{elapsed:?}"
        );
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn missed_ticks_are_skipped_keeping_phase() {
        let _alone = shared();
        let period = Duration::from_millis(200);
        let start = Instant::now();
        let mut interval = Interval::new(period).unwrap();
        // Busy for 3.5 periods: the ticks due at 200, 400 and 600 ms are missed.
        std::thread::sleep(period * 7 / 2);
        pasts::block_on(&mut interval); // one tick for all of them, at once
        let late = start.elapsed();
        assert!(late < period * 4, "the late tick waited: {late:?}");
        // No burst: the next tick is the schedule's next one, at 800 ms (a
        // policy that restarted the schedule would wait until 900 ms).
        pasts::block_on(&mut interval);
        let next = start.elapsed();
        assert!(next >= period * 4, "burst or early: {next:?}");
        assert!(next < period * 4 + period * 2 / 5, "phase lost: {next:?}");
    }

    #[test]
    fn zero_period_is_an_error() {
        let _alone = shared();
        let err = Interval::new(Duration::ZERO).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn one_tick_per_due_deadline_when_polled_late() {
        let _alone = shared();
        use std::future::Future;
        use std::pin::Pin;
        use std::task::Context;

        let period = Duration::from_millis(200);
        let (counter, waker) = common::Counter::unparking();
        let mut cx = Context::from_waker(&waker);
        let mut interval = Interval::new(period).unwrap();
        let start = Instant::now();
        let mut poll = |i: &mut Interval| Pin::new(i).poll(&mut cx).is_ready();
        assert!(!poll(&mut interval)); // queued for the first tick
                                       // The first tick fires (and wakes) while the task is busy.
        std::thread::sleep(period * 5 / 4);
        while counter.wakes() == 0 {
            assert!(start.elapsed() < Duration::from_secs(10), "never woken");
            std::thread::park_timeout(period);
        }
        assert!(poll(&mut interval));
        // The fired slot must not count again: not ready before the second tick.
        for _ in 0..2 {
            let early = poll(&mut interval);
            assert!(!early || start.elapsed() >= period * 2, "double tick");
        }
        pasts::block_on(&mut interval);
        assert_eq!(counter.wakes(), 1);
    }
}

mod never_early {
    //! A timer is never ready before its deadline (strict lower bound), over
    //! many runs and several durations, through `new` and `at`.

    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn never_early_over_50_runs() {
        let _alone = shared();
        for i in 0..50u64 {
            // 50 µs .. 2.5 ms, with odd nanoseconds to catch rounding.
            let d = Duration::from_nanos(50_000 * (i % 50 + 1) + 777);
            let start = Instant::now();
            pasts::block_on(Timer::new(d).unwrap());
            let elapsed = start.elapsed();
            assert!(elapsed >= d, "run {i}: ready after {elapsed:?} < {d:?}");

            let deadline = Instant::now() + d;
            pasts::block_on(Timer::at(deadline).unwrap());
            let now = Instant::now();
            assert!(
                now >= deadline,
                "run {i}: at() ready {:?} early",
                deadline - now
            );
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn zero_and_huge_durations() {
        let _alone = shared();
        // Zero: ready at the first poll, no registration needed.
        let (_, polls, _) = common::park_block_on(Timer::new(Duration::ZERO).unwrap());
        assert_eq!(polls, 1);
        // `Duration::MAX` saturates to "never" instead of overflowing.
        let never = Timer::new(Duration::MAX).unwrap();
        let (_, waker) = common::Counter::unparking();
        let mut cx = Context::from_waker(&waker);
        let mut never = pin!(never);
        assert!(never.as_mut().poll(&mut cx).is_pending());
    }
}

mod order {
    //! Timers with different deadlines are woken in deadline order, whatever
    //! order they were created and registered in.

    use super::*;

    /// Appends its id to a shared log when woken.
    struct Logger {
        id: usize,
        log: Arc<Mutex<Vec<usize>>>,
        thread: std::thread::Thread,
    }

    impl Wake for Logger {
        fn wake(self: Arc<Self>) {
            self.log.lock().unwrap().push(self.id);
            self.thread.unpark();
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn woken_in_deadline_order() {
        let _alone = shared();
        const N: usize = 200;
        let log = Arc::new(Mutex::new(Vec::new()));
        // Deadline of timer `id` is `base` + 100 µs * rank, ranks shuffled so
        // registration order differs from deadline order. Absolute deadlines
        // (`Timer::at`) keep the ranks' order however slowly the timers are
        // made (an emulated guest), and `base` leaves time to register them all
        // before the first fires.
        let rank = |id: usize| (id * 73) % N; // 73 is coprime with 200
        let base = Instant::now() + Duration::from_millis(500);
        let mut timers: Vec<(usize, Pin<Box<Timer>>)> = (0..N)
            .map(|id| {
                let at = base + Duration::from_micros(100 * rank(id) as u64);
                (id, Box::pin(Timer::at(at).unwrap()))
            })
            .collect();
        for (id, timer) in &mut timers {
            let waker = Waker::from(Arc::new(Logger {
                id: *id,
                log: Arc::clone(&log),
                thread: std::thread::current(),
            }));
            assert!(timer
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending());
        }
        while log.lock().unwrap().len() < N {
            std::thread::park_timeout(Duration::from_millis(100));
        }
        let ranks: Vec<usize> = log.lock().unwrap().iter().map(|&id| rank(id)).collect();
        let expected: Vec<usize> = (0..N).collect();
        assert_eq!(ranks, expected, "wake order (by deadline rank)");
        // Every woken timer is now ready.
        let (_, noop) = common::Counter::new();
        for (_, timer) in &mut timers {
            assert!(timer
                .as_mut()
                .poll(&mut Context::from_waker(&noop))
                .is_ready());
        }
    }
}

mod threads {
    //! Timers made, awaited and dropped on several threads at once, racing with
    //! the passes that fire them: none is early, none hangs, cancelled ones are
    //! never woken.

    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn racing_threads() {
        let _alone = shared();
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                std::thread::spawn(move || {
                    let mut seed = 0x9E37_79B9_7F4A_7C15 ^ (t + 1);
                    let mut rng = move || {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        seed
                    };
                    // Cancelled timers dropped before their deadline: their
                    // wakers must never be called.
                    let mut cancelled = Vec::new();
                    for _ in 0..300 {
                        let d = Duration::from_micros(rng() % 300);
                        let start = Instant::now();
                        // One awaited to the end...
                        pasts::block_on(Timer::new(d).unwrap());
                        assert!(start.elapsed() >= d, "early");
                        // ...and one cancelled while queued, near its deadline.
                        let d = Duration::from_micros(200 + rng() % 300);
                        let deadline = Instant::now() + d;
                        let mut dropped = Timer::new(d).unwrap();
                        let (counter, waker) = Counter::unparking();
                        let _ = Pin::new(&mut dropped).poll(&mut Context::from_waker(&waker));
                        std::thread::sleep(Duration::from_micros(rng() % 150));
                        drop(dropped);
                        // A drop that ended after the deadline may race with the
                        // expiry (documented); one that ended before may not.
                        if Instant::now() < deadline {
                            cancelled.push(counter);
                        }
                    }
                    std::thread::sleep(Duration::from_millis(2));
                    assert!(cancelled.iter().all(|c| c.wakes() == 0), "woken after drop");
                    cancelled.len()
                })
            })
            .collect();
        let checked: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert!(checked > 0, "no timer was dropped before its deadline");
    }
}

mod waker_panic {
    //! A timer waker that panics when it is woken (a bug in some executor) does
    //! not stop the shared timer driver: later timers still fire.

    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn panicking_timer_waker_is_contained() {
        let _alone = shared();
        // A timeout: timers stopped firing after a waker panicked.
        within(Duration::from_secs(20), || {
            let waker = Waker::from(Arc::new(Panics));
            let mut cx = Context::from_waker(&waker);
            // Expires with the well-behaved timer made right after it (same pass,
            // woken after it): the panic must not cost that one its wake-up,
            // nor the driver its later ones.
            let mut bad = pin!(Timer::new(Duration::from_millis(5)).unwrap());
            assert!(bad.as_mut().poll(&mut cx).is_pending());
            pasts::block_on(Timer::new(Duration::from_millis(5)).unwrap());
            for _ in 0..3 {
                pasts::block_on(Timer::new(Duration::from_millis(10)).unwrap());
            }
        });
    }
}

mod reset {
    //! `Timer::reset` moves a pending timer's deadline, earlier or later,
    //! and the task that polled it is woken at the new deadline without
    //! polling again, on any executor; `Interval::at` starts at an instant.

    use super::*;

    /// Polls a `first`-long timer once, resets it to `then` after the
    /// start, and returns Pending without polling again until woken: only
    /// the kept waker can finish it. Returns when it was ready (since the
    /// start) and how many times the timer woke the task (the executor may
    /// poll more often: those polls are not the timer's doing).
    async fn reset_while_pending(first: Duration, then: Duration) -> (Duration, usize) {
        let start = Instant::now();
        let mut timer = Timer::new(first).unwrap();
        let wakes = Arc::new(Mutex::new(Vec::new()));
        let mut reset = false;
        poll_fn(|cx| {
            let waker = Waker::from(Arc::new(Recording {
                inner: cx.waker().clone(),
                threads: Arc::clone(&wakes),
            }));
            let ready = Pin::new(&mut timer).poll(&mut Context::from_waker(&waker));
            if !reset {
                reset = true;
                assert!(ready.is_pending(), "not due yet");
                timer.reset(start + then);
                return Poll::Pending;
            }
            ready
        })
        .await;
        let wakes = wakes.lock().unwrap().len();
        (start.elapsed(), wakes)
    }

    fn check((elapsed, wakes): (Duration, usize), then: Duration) {
        assert!(elapsed >= then, "early: {elapsed:?} < {then:?}");
        assert!(elapsed < then + Duration::from_secs(5), "late: {elapsed:?}");
        // Woken once by the new deadline; the old one wakes nobody.
        assert_eq!(wakes, 1, "{wakes} wakes");
    }

    const EARLIER: (Duration, Duration) = (Duration::from_secs(60), Duration::from_millis(5));
    const LATER: (Duration, Duration) = (Duration::from_millis(2), Duration::from_millis(30));

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn earlier_and_later_on_pasts_block_on() {
        let _alone = shared();
        for (first, then) in [EARLIER, LATER] {
            check(pasts::block_on(reset_while_pending(first, then)), then);
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn earlier_and_later_on_a_futures_like_executor() {
        let _alone = shared();
        for (first, then) in [EARLIER, LATER] {
            check(park_block_on(reset_while_pending(first, then)).0, then);
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn earlier_and_later_on_a_tokio_like_executor() {
        let _alone = shared();
        for (first, then) in [EARLIER, LATER] {
            check(queue_block_on(reset_while_pending(first, then)).0, then);
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn reset_to_the_past_is_ready_and_a_ready_timer_can_wait_again() {
        let _alone = shared();
        let start = Instant::now();
        let mut timer = Timer::new(Duration::from_secs(60)).unwrap();
        timer.reset(start);
        pasts::block_on(&mut timer);
        timer.reset(start + Duration::from_millis(5));
        pasts::block_on(&mut timer);
        assert!(start.elapsed() >= Duration::from_millis(5));
        assert!(start.elapsed() < Duration::from_secs(30));
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn pushed_back_many_times_fires_once_at_the_last_deadline() {
        let _alone = shared();
        // An idle timeout pushed back on every packet.
        let start = Instant::now();
        let mut timeout = Timer::new(Duration::from_millis(5)).unwrap();
        let (polls, ..) = park_block_on(poll_fn(|cx| {
            let ready = Pin::new(&mut timeout).poll(cx);
            if start.elapsed() < Duration::from_millis(20) {
                timeout.reset(Instant::now() + Duration::from_millis(5));
                std::thread::sleep(Duration::from_millis(1));
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            ready.map(|()| start.elapsed())
        }));
        assert!(polls >= Duration::from_millis(20));
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn interval_at_starts_at_the_instant() {
        let _alone = shared();
        let start = Instant::now() + Duration::from_millis(10);
        let mut ticks = Interval::at(start, Duration::from_millis(3)).unwrap();
        for n in 0..3 {
            pasts::block_on(&mut ticks);
            let due = start + Duration::from_millis(3) * n;
            assert!(Instant::now() >= due, "tick {n} early");
        }
        // A start in the past: the first tick is at once.
        let mut past = Interval::at(Instant::now(), Duration::from_secs(60)).unwrap();
        let before = Instant::now();
        pasts::block_on(&mut past);
        assert!(before.elapsed() < Duration::from_secs(30));
    }
}

mod foreign_lateness {
    //! A task on another executor is served however a `pasts::block_on`
    //! thread spends its time: while it alternates short waits and 50 ms
    //! CPU bursts (collecting no events during those), a 1 ms timer is
    //! never tens of milliseconds late.

    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn tokio_like_task_beside_cpu_bursts() {
        let _alone = exclusive();
        let late = beside_cpu_bursts(|| queue_block_on(timer_lateness(rounds(200))).0);
        lateness(late, "tokio-like: 1 ms timers");
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn futures_like_task_beside_cpu_bursts() {
        let _alone = exclusive();
        let late = beside_cpu_bursts(|| park_block_on(timer_lateness(rounds(200))).0);
        lateness(late, "futures-like: 1 ms timers");
    }
}

mod two_threads {
    //! Timers on two `pasts::block_on` threads: A's earlier deadline armed
    //! the timerfd, then A leaves `block_on` for CPU work. B's timer, due
    //! after A's, is still on time: once a second thread polls a timer, the
    //! reactor thread keeps the timerfd, so A does not hold it up.

    use super::*;
    use std::sync::mpsc;
    use std::thread;

    /// How late B's timer was woken (from its deadline, or from its poll if
    /// that came later).
    fn round(ms: u64) -> Duration {
        let start = Instant::now();
        let (polled_tx, polled) = mpsc::channel();
        let a = thread::spawn(move || {
            let mut timer = Timer::at(start + Duration::from_millis(ms)).unwrap();
            pasts::block_on(poll_fn(|cx| {
                let poll = Pin::new(&mut timer).poll(cx);
                let _ = polled_tx.send(());
                poll
            }));
            let burst = Instant::now();
            while burst.elapsed() < Duration::from_millis(60 * ms) {
                std::hint::spin_loop();
            }
        });
        polled.recv().unwrap();
        let deadline = start + Duration::from_millis(3 * ms);
        let polled = Instant::now();
        let woken = pasts::block_on(exec::woken_at(Timer::at(deadline).unwrap()));
        a.join().unwrap();
        woken.saturating_duration_since(deadline.max(polled))
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn a_busy_thread_does_not_hold_up_anothers_timer() {
        let test = "two_threads::a_busy_thread_does_not_hold_up_anothers_timer";
        if !common::in_fresh_process(test, &[]) {
            return;
        }
        // One round: the first timers of the process decide where the
        // timerfd goes. Slower and looser in the emulated guest.
        let (ms, bound) = match std::env::var_os("PASTS_GUEST") {
            Some(_) => (10, Duration::from_millis(40)),
            None => (1, Duration::from_millis(5)),
        };
        let late = round(ms);
        println!("late by {late:?}");
        // Left to A, the timer waits until the reactor thread evicts A's
        // set: 10 to 20 ms after A's last sleep.
        assert!(late < bound, "B's timer late by {late:?}");
    }
}
