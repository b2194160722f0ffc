//! `Device`: readiness, executors, the reactor's role, I/O with
//! `read_with`/`write_with`, errors (one module per behaviour group).
#![cfg(feature = "linux")]

mod common;
mod exec;
#[path = "support/sys.rs"]
mod sys;

use common::{in_fresh_process, park_block_on, poll, within, Counter, Panics, Recording};
use exec::{
    beside_cpu_bursts, lateness, queue_block_on, readiness_lateness, rounds, tcp_listener, woken_at,
};
use pasts::linux::{Device, Watch};
use pasts::prelude::*;
use std::fs::{File, OpenOptions};
use std::future::{poll_fn, Future};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};
use sys::{
    bump, bump_every, fd_flags, file, new_eventfd, next_count, pipe, raise_fd_limit, thread_sleeps,
    try_read, FD_CLOEXEC, O_NONBLOCK,
};

use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Which thread collects the reactor's events depends on every `block_on`
/// thread of the process: the tests that check it hold this exclusively,
/// every other test shares it.
static REACTOR: RwLock<()> = RwLock::new(());

fn shared() -> RwLockReadGuard<'static, ()> {
    REACTOR.read().unwrap_or_else(PoisonError::into_inner)
}

fn exclusive() -> RwLockWriteGuard<'static, ()> {
    REACTOR.write().unwrap_or_else(PoisonError::into_inner)
}

/// A device on one end of a socket pair, and a thread that writes one byte
/// to the other end after `delay` (join it to keep that end open).
fn byte_after(delay: Duration) -> (Device<UnixStream>, thread::JoinHandle<UnixStream>) {
    let (mut tx, rx) = UnixStream::pair().unwrap();
    let writer = thread::spawn(move || {
        thread::sleep(delay);
        tx.write_all(b"x").unwrap();
        tx
    });
    (Device::new(rx, Watch::INPUT).unwrap(), writer)
}

/// Reads the one byte `device` waits for, with `read_with`.
async fn one_byte(device: &mut Device<UnixStream>) {
    let mut buf = [0; 1];
    let n = device.read_with(|io| io.read(&mut buf)).await.unwrap();
    assert_eq!(n, 1);
}

/// Poll `device` once inside a `block_on` on this thread, with `waker`
/// (another executor's), and return from it: it is pending in this
/// thread's set.
fn leave_pending(device: &mut Device<UnixStream>, waker: &Waker) {
    pasts::block_on(poll_fn(|_| {
        let mut cx = Context::from_waker(waker);
        assert!(Pin::new(&mut *device).poll(&mut cx).is_pending());
        Poll::Ready(())
    }));
}

/// Polls `fut` with a waker woken at each poll until `busy` has passed (its
/// thread never sleeps meanwhile), then as usual.
async fn kept_busy<F: Future>(fut: F, busy: Duration) -> F::Output {
    let start = Instant::now();
    let mut fut = pin!(fut);
    poll_fn(|cx| {
        if start.elapsed() < busy {
            cx.waker().wake_by_ref();
        }
        fut.as_mut().poll(cx)
    })
    .await
}

/// A xorshift step: the next pseudo-random number below `n`.
fn below(state: &mut u64, n: u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state % n
}

/// Prints the median and the largest of `late` (see them with
/// `--nocapture`); fails if the median is 2 ms or more (10 ms in the
/// emulated guest): events left to the reactor thread's 10 ms checks are
/// several ms late at the median. The largest may include one such check.
fn served_promptly(mut late: Vec<Duration>, what: &str) {
    late.sort();
    let (p50, max) = (late[late.len() / 2], late[late.len() - 1]);
    println!("{what}: woken late by p50 {p50:?}, max {max:?}");
    let guest = std::env::var_os("PASTS_GUEST").is_some();
    let bound = Duration::from_millis(if guest { 10 } else { 2 });
    assert!(p50 < bound, "{what}: p50 {p50:?} late");
}

/// Every anonymous-inode fd of the process, with what it is
/// (`anon_inode:[eventfd]`).
fn anon_inodes() -> Vec<(i32, String)> {
    let fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    fds.into_iter()
        .filter_map(|fd| {
            // None: read_dir's own fd, closed by now.
            let target = std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()?;
            let target = target.to_string_lossy().into_owned();
            target.starts_with("anon_inode:").then_some((fd, target))
        })
        .collect()
}

mod always_ready {
    //! Fds that epoll refuses with `EPERM` (regular files, `/dev/null`) make
    //! devices that are always ready, not errors.

    use super::*;

    fn always_ready(file: File) {
        let mut device = Device::new(file, Watch::INPUT | Watch::OUTPUT).unwrap();
        let (_, waker) = Counter::new();
        for _ in 0..3 {
            assert_eq!(poll(Pin::new(&mut device), &waker), Poll::Ready(()));
        }
        pasts::block_on(&mut device);
        assert!(format!("{device:?}").contains("always_ready: true"));
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn regular_file() {
        let _reactor = shared();
        always_ready(File::open("Cargo.toml").unwrap());
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn dev_null() {
        let _reactor = shared();
        always_ready(
            OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")
                .unwrap(),
        );
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn into_inner_gives_the_file_back() {
        let _reactor = shared();
        let device = Device::new(File::open("Cargo.toml").unwrap(), Watch::INPUT).unwrap();
        let file: File = device.into_inner();
        assert!(file.metadata().unwrap().is_file());
    }
}

mod block_on {
    //! `pasts::block_on` sleeps in the reactor's `epoll_wait` when it can: it
    //! must still be woken by plain wakers, serve other executors' devices, and
    //! not stall other threads when its own future blocks.

    use super::*;

    const LIMIT: Duration = Duration::from_secs(20);

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn plain_waker_ends_epoll_wait() {
        let _reactor = shared();
        within(LIMIT, || {
            // A device that never fires: block_on waits in epoll_wait.
            let (_tx, rx) = pipe();
            let mut device = Device::new(rx, Watch::INPUT).unwrap();
            for _ in 0..50 {
                let slot: Arc<Mutex<(bool, Option<Waker>)>> = Arc::default();
                let waker_side = Arc::clone(&slot);
                let waker_thread = thread::spawn(move || {
                    thread::sleep(Duration::from_millis(2));
                    let mut slot = waker_side.lock().unwrap();
                    slot.0 = true;
                    if let Some(waker) = slot.1.take() {
                        waker.wake();
                    }
                });
                pasts::block_on(poll_fn(|cx| {
                    let _ = Pin::new(&mut device).poll(cx);
                    let mut slot = slot.lock().unwrap();
                    if slot.0 {
                        return Poll::Ready(());
                    }
                    slot.1 = Some(cx.waker().clone());
                    Poll::Pending
                }));
                waker_thread.join().unwrap();
            }
        });
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn foreign_executor_served_while_block_on_waits() {
        let _reactor = shared();
        within(LIMIT, || {
            // Thread X: pasts::block_on on a device fired only at the end.
            let late = new_eventfd();
            let (late_reader, late_writer) = (file(&late), file(&late));
            let mut late_device = Device::new(late, Watch::INPUT).unwrap();
            let x =
                thread::spawn(move || pasts::block_on(next_count(&mut late_device, &late_reader)));
            thread::sleep(Duration::from_millis(20));
            // This thread: a foreign executor on another device, fired 100 times.
            let fd = new_eventfd();
            let (reader, writer) = (file(&fd), file(&fd));
            let mut device = Device::new(fd, Watch::INPUT).unwrap();
            let bumper = bump_every(writer, 100, Duration::from_micros(200));
            let mut total = 0;
            while total < 100 {
                // More than 1 if bumps came faster than reads.
                total += park_block_on(next_count(&mut device, &reader)).0;
            }
            bumper.join().unwrap();
            bump(&late_writer);
            x.join().unwrap();
        });
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn blocking_future_does_not_stall_other_threads() {
        let _reactor = shared();
        within(LIMIT, || {
            for _ in 0..20 {
                let (a, b) = (new_eventfd(), new_eventfd());
                let (a_reader, a_writer) = (file(&a), file(&a));
                let (b_reader, b_writer) = (file(&b), file(&b));
                let (mut dev_a, mut dev_b) = (
                    Device::new(a, Watch::INPUT).unwrap(),
                    Device::new(b, Watch::INPUT).unwrap(),
                );
                let (done_tx, done_rx) = mpsc::channel::<()>();
                // Thread 1: awaits A, then blocks its thread (inside the
                // future) until thread 2 got B.
                let t1 = thread::spawn(move || {
                    pasts::block_on(async {
                        next_count(&mut dev_a, &a_reader).await;
                        done_rx.recv().unwrap();
                    })
                });
                // Thread 2: awaits B.
                let t2 = thread::spawn(move || {
                    pasts::block_on(next_count(&mut dev_b, &b_reader));
                    done_tx.send(()).unwrap();
                });
                thread::sleep(Duration::from_millis(5));
                bump(&a_writer);
                thread::sleep(Duration::from_millis(1));
                bump(&b_writer);
                t1.join().unwrap();
                t2.join().unwrap();
            }
        });
    }
}

mod cloexec {
    //! Every fd the crate makes (the reactor's epoll fd and eventfd) is
    //! `O_CLOEXEC | O_NONBLOCK`, checked with `fcntl`.

    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn crate_fds_are_cloexec_nonblock() {
        let _reactor = shared();
        // The first device starts the reactor, which makes its fds. Every
        // anonymous-inode fd of the process is then the crate's or this test's
        // (made CLOEXEC | NONBLOCK too).
        let device = Device::new(new_eventfd(), Watch::INPUT).unwrap();
        let mut kinds = Vec::new();
        for (fd, target) in anon_inodes() {
            let (fd_flags, status) = fd_flags(fd);
            assert_ne!(fd_flags & FD_CLOEXEC, 0, "fd {fd} ({target}) not CLOEXEC");
            assert_ne!(status & O_NONBLOCK, 0, "fd {fd} ({target}) not NONBLOCK");
            kinds.push(target);
        }
        assert!(
            kinds.iter().any(|k| k.contains("eventpoll")),
            "no epoll fd among {kinds:?}"
        );
        let eventfds = kinds.iter().filter(|k| k.contains("eventfd")).count();
        assert!(
            eventfds >= 2,
            "expected the test's and the reactor's eventfd among {kinds:?}"
        );
        drop(device);
    }
}

mod executors {
    //! The same device future runs on `pasts::block_on` and on a hand-written
    //! executor that knows nothing of pasts.

    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn same_device_on_two_executors() {
        let _reactor = shared();
        within(Duration::from_secs(20), || {
            let fd = new_eventfd();
            let (reader, writer) = (file(&fd), file(&fd));
            let mut device = Device::new(fd, Watch::INPUT).unwrap();
            let bumper = bump_every(writer, 20, Duration::from_millis(2));
            let mut total = 0;
            let mut foreign_wakes = 0;
            while total < 20 {
                if total % 2 == 0 {
                    total += pasts::block_on(next_count(&mut device, &reader));
                } else {
                    let (n, _, wakes) = park_block_on(next_count(&mut device, &reader));
                    total += n;
                    foreign_wakes += wakes;
                }
            }
            bumper.join().unwrap();
            assert_eq!(total, 20);
            // The foreign executor was woken by the reactor, not by luck: it
            // parked at least once across its rounds (a bump comes every 2 ms).
            assert!(foreign_wakes > 0);
        });
    }

    /// An executor run inside a `block_on` future parks the thread itself,
    /// so `block_on` never sleeps in `epoll_wait`: its device is still
    /// served (by the reactor thread), not left until something else wakes
    /// the thread.
    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn another_executor_inside_block_on() {
        let _reactor = shared();
        within(Duration::from_secs(20), || {
            let (mut rx, writer) = byte_after(Duration::from_millis(50));
            let read = pasts::block_on(async {
                let mut buf = [0; 1];
                park_block_on(rx.read_with(|io| io.read(&mut buf))).0
            });
            assert_eq!(read.unwrap(), 1);
            writer.join().unwrap();
        });
    }
}

mod eviction {
    //! Each `block_on` thread collects the events of its own epoll set as
    //! it sleeps. Another thread's events never wait for it (while it runs
    //! a long poll, or after it left `block_on`), and its own are still
    //! dispatched, by the reactor thread within tens of milliseconds, when
    //! it stays awake, leaves `block_on` with a device pending, or ends.

    use super::*;

    /// What A does once woken.
    #[derive(Clone, Copy)]
    enum Then {
        /// Blocks in its poll for 400 ms; B's event comes 50 ms in.
        RunsLong,
        /// Makes B's device readable and returns from `block_on`, then
        /// sleeps 400 ms outside it.
        Leaves,
    }

    /// One round; how long after its write B's device event was dispatched.
    fn round(then: Then) -> Duration {
        let fd = new_eventfd();
        let writer = Arc::new(file(&fd));
        let written = Arc::new(Mutex::new(None));
        // A: sleeps in `block_on` until `go` is set and it is woken through
        // `wake_a`.
        let go = Arc::new(AtomicBool::new(false));
        let (wake_a_tx, wake_a) = mpsc::channel::<Waker>();
        let a = {
            let (go, writer, written) =
                (Arc::clone(&go), Arc::clone(&writer), Arc::clone(&written));
            thread::spawn(move || {
                let mut sent = false;
                pasts::block_on(poll_fn(move |cx| {
                    if !go.load(Ordering::Acquire) {
                        if !sent {
                            sent = true;
                            wake_a_tx.send(cx.waker().clone()).unwrap();
                        }
                        return Poll::Pending;
                    }
                    match then {
                        Then::RunsLong => thread::sleep(Duration::from_millis(400)),
                        Then::Leaves => {
                            *written.lock().unwrap() = Some(Instant::now());
                            bump(&writer);
                        }
                    }
                    Poll::Ready(())
                }));
                thread::sleep(Duration::from_millis(400));
            })
        };
        let wake_a = wake_a.recv().unwrap();
        // Let A settle in its sleep.
        thread::sleep(Duration::from_millis(50));

        // B: awaits its device.
        let device = Device::new(fd, Watch::INPUT).unwrap();
        let b = thread::spawn(move || pasts::block_on(woken_at(device)));
        // Leaving just after B fell asleep.
        thread::sleep(match then {
            Then::RunsLong => Duration::from_millis(50),
            Then::Leaves => Duration::from_millis(2),
        });

        go.store(true, Ordering::Release);
        wake_a.wake();
        if let Then::RunsLong = then {
            thread::sleep(Duration::from_millis(50));
            *written.lock().unwrap() = Some(Instant::now());
            bump(&writer);
        }
        let woken = b.join().unwrap();
        a.join().unwrap();
        let written = written.lock().unwrap().unwrap();
        woken.saturating_duration_since(written)
    }

    fn rounds_of(then: Then, what: &'static str) {
        let _reactor = exclusive();
        within(Duration::from_secs(60), move || {
            // The reactor exists before the rounds.
            let _start_the_reactor = Device::new(new_eventfd(), Watch::INPUT).unwrap();
            // Left to A, the event would wait out the rest of its 400 ms.
            let late: Vec<_> = (0..3).map(|_| round(then)).collect();
            lateness(late, what);
        });
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn a_sleeping_thread_is_served_while_the_owner_runs() {
        rounds_of(
            Then::RunsLong,
            "a sleeping block_on thread beside a long poll",
        );
    }

    /// A `block_on` thread whose polls each run 1 ms of CPU work, with a
    /// device of its own pending and a task of another executor waiting
    /// on another, woken once, 300 ms in: the reactor thread's checks
    /// cost it no poll (it is polled twice in all, not back to back).
    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn checks_cost_no_poll() {
        let _reactor = exclusive();
        within(Duration::from_secs(60), || {
            let mut foreign = pin!(Device::new(new_eventfd(), Watch::INPUT).unwrap());
            assert!(poll(foreign.as_mut(), &Counter::new().1).is_pending());
            let mut own = Device::new(new_eventfd(), Watch::INPUT).unwrap();
            let (mut polls, mut started) = (0, false);
            let woken = Arc::new(AtomicBool::new(false));
            pasts::block_on(poll_fn(|cx| {
                polls += 1;
                assert!(Pin::new(&mut own).poll(cx).is_pending());
                let work = Instant::now();
                while work.elapsed() < Duration::from_millis(1) {
                    std::hint::spin_loop();
                }
                if woken.load(Ordering::Acquire) {
                    return Poll::Ready(());
                }
                if !started {
                    started = true;
                    let (woken, waker) = (Arc::clone(&woken), cx.waker().clone());
                    thread::spawn(move || {
                        thread::sleep(Duration::from_millis(300));
                        woken.store(true, Ordering::Release);
                        waker.wake();
                    });
                }
                Poll::Pending
            }));
            assert!(polls <= 3, "polled {polls} times for one wake-up");
        });
    }

    /// One `block_on` joins a read with a future that wakes itself for
    /// 300 ms, so the thread never sleeps: the data that comes 10 ms in is
    /// still dispatched (the reactor thread evicts the thread's set), and
    /// the read finishes long before the busy future does.
    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn a_thread_kept_busy_by_another_future_is_served() {
        let _reactor = exclusive();
        within(Duration::from_secs(20), || {
            let start = Instant::now();
            let (mut rx, writer) = byte_after(Duration::from_millis(10));
            let busy_for = Duration::from_millis(300);
            let (read_at, ()) = pasts::block_on(async {
                let read = async {
                    let mut buf = [0; 1];
                    rx.read_with(|io| io.read(&mut buf)).await.unwrap();
                    start.elapsed()
                };
                let busy = poll_fn(|cx| {
                    if start.elapsed() > busy_for {
                        return Poll::Ready(());
                    }
                    cx.waker().wake_by_ref();
                    Poll::Pending
                });
                (read, busy).join().await
            });
            writer.join().unwrap();
            assert!(
                read_at < busy_for / 2,
                "the read finished {read_at:?} in, as the busy future ended"
            );
        });
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn a_sleeping_thread_is_served_once_the_owner_leaves() {
        rounds_of(
            Then::Leaves,
            "a sleeping block_on thread after the owner left",
        );
    }

    /// Park until `counter` counts a wake-up (`within` ends a hang).
    fn until_woken(counter: &Counter) {
        while counter.wakes() == 0 {
            thread::park();
        }
    }

    /// A device left pending in a thread's set when `block_on` returns:
    /// the thread never sleeps there again, yet the data that comes later
    /// wakes the waker.
    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn a_device_left_after_block_on_returns_is_served() {
        let _reactor = shared();
        within(Duration::from_secs(20), || {
            let (mut rx, writer) = byte_after(Duration::from_millis(50));
            let (counter, waker) = Counter::unparking();
            leave_pending(&mut rx, &waker);
            until_woken(&counter);
            writer.join().unwrap();
        });
    }

    /// The same, left by a thread that then ends.
    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn a_device_left_by_a_thread_that_ended_is_served() {
        let _reactor = shared();
        within(Duration::from_secs(20), || {
            let (mut rx, writer) = byte_after(Duration::from_millis(50));
            let (counter, waker) = Counter::unparking();
            let rx = thread::spawn(move || {
                leave_pending(&mut rx, &waker);
                rx
            });
            let _rx = rx.join().unwrap();
            until_woken(&counter);
            writer.join().unwrap();
        });
    }

    /// Both, with the data written at once, before the reactor thread
    /// evicts the set (the thread left `block_on` and parks, or ended): the
    /// eviction, or the thread's end, carries the readiness over. Each
    /// round on a new thread, whose set was never evicted.
    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn data_that_came_before_the_eviction_is_served() {
        let _reactor = shared();
        within(Duration::from_secs(20), || {
            for round in 0..rounds(20) {
                let (mut tx, rx) = UnixStream::pair().unwrap();
                let mut rx = Device::new(rx, Watch::INPUT).unwrap();
                if round % 2 == 0 {
                    thread::spawn(move || {
                        let (counter, waker) = Counter::unparking();
                        leave_pending(&mut rx, &waker);
                        tx.write_all(b"x").unwrap();
                        until_woken(&counter);
                    })
                    .join()
                    .unwrap();
                } else {
                    let (counter, waker) = Counter::unparking();
                    let _pair = thread::spawn(move || {
                        leave_pending(&mut rx, &waker);
                        tx.write_all(b"x").unwrap();
                        (rx, tx)
                    })
                    .join()
                    .unwrap();
                    until_woken(&counter);
                }
            }
        });
    }

    /// Awaits the byte that comes to `device` on the executor `run`: the
    /// future tells a writer once it is pending, which then writes to
    /// `tx`. How long after the write the task was woken.
    fn wake_lateness(
        mut device: Device<UnixStream>,
        mut tx: UnixStream,
        run: impl FnOnce(Pin<Box<dyn Future<Output = Instant> + Send>>) -> Instant,
    ) -> Duration {
        let (pending_tx, pending) = mpsc::channel();
        let writer = thread::spawn(move || {
            pending.recv().unwrap();
            let written = Instant::now();
            tx.write_all(b"x").unwrap();
            written
        });
        let woken = run(Box::pin(async move {
            let mut told = false;
            let woken = woken_at(poll_fn(|cx| {
                let ready = Pin::new(&mut device).poll(cx);
                if ready.is_pending() && !std::mem::replace(&mut told, true) {
                    pending_tx.send(()).unwrap();
                }
                ready
            }))
            .await;
            assert_eq!(device.get_mut().read(&mut [0]).unwrap(), 1);
            woken
        }));
        woken.saturating_duration_since(writer.join().unwrap())
    }

    /// A device left pending in the set of a thread that then ended, or
    /// that left `block_on` and stays out of it, is awaited next on another
    /// executor (a parking one, `block_on` on a new thread: each case in
    /// turn), racing the reactor thread's eviction of that set: it moves to
    /// its new home, and its event is served there at once.
    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn a_device_left_in_a_set_moves_to_its_next_executor() {
        let _reactor = exclusive();
        within(Duration::from_secs(30), || {
            let mut late = Vec::new();
            for round in 0..rounds(40) {
                let (tx, rx) = UnixStream::pair().unwrap();
                let mut rx = Device::new(rx, Watch::INPUT).unwrap();
                let ends = round % 2 == 0;
                let (back, device) = mpsc::channel();
                let (release, released) = mpsc::channel::<()>();
                let left = thread::spawn(move || {
                    leave_pending(&mut rx, &Counter::new().1);
                    back.send(rx).unwrap();
                    if !ends {
                        // Out of `block_on` until the round is over.
                        let _ = released.recv();
                    }
                });
                let device = device.recv().unwrap();
                let left = if ends {
                    left.join().unwrap();
                    None
                } else {
                    Some(left)
                };
                late.push(if round % 4 < 2 {
                    wake_lateness(device, tx, |fut| park_block_on(fut).0)
                } else {
                    wake_lateness(device, tx, |fut| {
                        thread::spawn(|| pasts::block_on(fut)).join().unwrap()
                    })
                });
                drop(release);
                if let Some(left) = left {
                    left.join().unwrap();
                }
            }
            served_promptly(late, "a device left in a set, awaited elsewhere");
        });
    }

    /// How late each of 30 events of a device, written 7 ms apart (less
    /// than the reactor thread's 10 ms check) from another thread, woke
    /// `await_each`, which awaits them in turn on some executor with
    /// [`wakes`].
    fn lateness_of_events(
        await_each: impl FnOnce(&mut Device<UnixStream>, usize) -> Vec<Instant>,
    ) -> Vec<Duration> {
        const EVENTS: usize = 30;
        let (mut tx, rx) = UnixStream::pair().unwrap();
        let mut device = Device::new(rx, Watch::INPUT).unwrap();
        let writer = thread::spawn(move || {
            let mut written = Vec::with_capacity(EVENTS);
            for _ in 0..EVENTS {
                thread::sleep(Duration::from_millis(7));
                written.push(Instant::now());
                tx.write_all(b"x").unwrap();
            }
            written
        });
        let woken = await_each(&mut device, EVENTS);
        let written = writer.join().unwrap();
        let late = woken.iter().zip(&written);
        late.map(|(woken, written)| woken.saturating_duration_since(*written))
            .collect()
    }

    /// Reads `n` bytes from `device` one at a time: when each await was
    /// woken (now if the byte was there already).
    async fn wakes(device: &mut Device<UnixStream>, n: usize) -> Vec<Instant> {
        let mut woken = Vec::with_capacity(n);
        let mut buf = [0; 1];
        while woken.len() < n {
            let at = woken_at(&mut *device).await;
            match device.get_mut().read(&mut buf) {
                Ok(1) => woken.push(at),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {} // spurious
                other => panic!("{other:?}"),
            }
        }
        woken
    }

    /// A `block_on` thread kept awake by another future reads a device of
    /// its own: once the reactor thread evicted its set, its polls leave
    /// the device on the shared set, whose events the reactor thread
    /// serves at once, not only at its next check.
    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn a_busy_threads_device_is_served_promptly() {
        let _reactor = exclusive();
        within(Duration::from_secs(20), || {
            let late = lateness_of_events(|device, n| {
                pasts::block_on(kept_busy(wakes(device, n), Duration::MAX))
            });
            served_promptly(late, "a busy block_on thread's device");
        });
    }

    /// The same with another executor run inside `block_on`: it parks the
    /// thread itself, which never sleeps in its set.
    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn a_device_of_an_executor_inside_block_on_is_served_promptly() {
        let _reactor = exclusive();
        within(Duration::from_secs(20), || {
            let late = lateness_of_events(|device, n| {
                pasts::block_on(async { park_block_on(wakes(device, n)).0 })
            });
            served_promptly(late, "a device of an executor inside block_on");
        });
    }

    /// One device awaited in turn on `block_on` threads that each end
    /// after one event: it follows each.
    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn a_device_follows_its_task_across_threads() {
        let _reactor = shared();
        within(Duration::from_secs(20), || {
            let fd = new_eventfd();
            let (mut reader, writer) = (file(&fd), file(&fd));
            let mut device = Device::new(fd, Watch::INPUT).unwrap();
            let bumper = bump_every(writer, 20, Duration::from_millis(2));
            let mut total = 0;
            while total < 20 {
                let round = thread::spawn(move || {
                    let n = pasts::block_on(next_count(&mut device, &reader));
                    (device, reader, n)
                });
                let n;
                (device, reader, n) = round.join().unwrap();
                total += n;
            }
            bumper.join().unwrap();
        });
    }
}

mod cadence {
    //! The reactor thread serves the shared epoll set and checks the
    //! `block_on` threads' own sets every 10 ms only while one of them is
    //! awake, and stops once they all sleep. A program whose tasks all run
    //! on `pasts::block_on` does not wake it often, nor does a task of
    //! another executor waiting on a device (its event wakes the reactor
    //! thread, which needs no watching for it), and a `block_on` thread
    //! with no device or timer to wait for stays out of the way.

    use super::*;
    use pasts::linux::Timer;

    /// How often the threads named `names` slept during 100 `block_on`s of
    /// a 2 ms timer.
    fn sleeps_beside_a_block_on_loop<const N: usize>(names: [&str; N]) -> [u64; N] {
        let before = names.map(thread_sleeps);
        for _ in 0..100 {
            pasts::block_on(Timer::new(Duration::from_millis(2)).unwrap());
        }
        let mut i = 0;
        names.map(|name| {
            i += 1;
            thread_sleeps(name) - before[i - 1]
        })
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn rarely_beside_block_on_threads() {
        if !in_fresh_process("cadence::rarely_beside_block_on_threads", &[]) {
            return;
        }
        // Start the reactor thread.
        let fd = new_eventfd();
        let writer = file(&fd);
        let device = Device::new(fd, Watch::INPUT).unwrap();
        // Another `block_on` thread, idle on a future that is no device (a
        // channel, a join handle): nothing of the reactor's is for it.
        let stop = Arc::new(AtomicBool::new(false));
        let (waker_tx, waker_rx) = mpsc::channel::<Waker>();
        let idle = {
            let stop = Arc::clone(&stop);
            let idle = thread::Builder::new().name("idle-block-on".into());
            idle.spawn(move || {
                let mut sent = false;
                pasts::block_on(poll_fn(move |cx| {
                    if stop.load(Ordering::Acquire) {
                        return Poll::Ready(());
                    }
                    if !sent {
                        sent = true;
                        waker_tx.send(cx.waker().clone()).unwrap();
                    }
                    Poll::Pending
                }))
            })
            .unwrap()
        };
        let idle_waker = waker_rx.recv().unwrap();
        thread::sleep(Duration::from_millis(50));
        // Every 10 ms over about 200 ms: some 20; at each wake-up: 100.
        let [quiet, idle_wakes] = sleeps_beside_a_block_on_loop(["pasts-reactor", "idle-block-on"]);
        stop.store(true, Ordering::Release);
        idle_waker.wake();
        idle.join().unwrap();
        assert!(quiet < 80, "{quiet} reactor wake-ups beside block_on only");
        assert!(
            idle_wakes < 10,
            "the idle block_on thread woke {idle_wakes} times"
        );
        // A task of another executor waits on a device: its event comes
        // through the shared set, with no more watching.
        let mut device = pin!(device);
        let (counter, waker) = Counter::new();
        assert!(poll(device.as_mut(), &waker).is_pending());
        let [foreign] = sleeps_beside_a_block_on_loop(["pasts-reactor"]);
        println!(
            "reactor wake-ups: {quiet} beside block_on only, {foreign} with a foreign task; \
             the idle block_on thread woke {idle_wakes} times"
        );
        assert!(
            foreign < 80,
            "{foreign} reactor wake-ups with a foreign task"
        );
        bump(&writer);
        let start = Instant::now();
        while counter.wakes() == 0 {
            assert!(start.elapsed() < Duration::from_secs(10), "never woken");
            thread::sleep(Duration::from_millis(1));
        }
    }
}

mod many {
    //! A thousand devices at once: each wakes exactly when its own fd is
    //! written, and the others stay pending.

    use super::*;

    const N: usize = 1_000;

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn thousand_devices() {
        let _reactor = shared();
        // Three fds per device (the eventfd and two handles on it).
        raise_fd_limit(3 * N as u64 + 100);
        within(Duration::from_secs(60), || {
            let fds: Vec<_> = (0..N).map(|_| new_eventfd()).collect();
            let writers: Vec<_> = fds.iter().map(file).collect();
            let readers: Vec<_> = fds.iter().map(file).collect();
            let mut devices: Vec<Device> = fds
                .into_iter()
                .map(|fd| Device::new(fd, Watch::INPUT).unwrap())
                .collect();
            // Write every even one from another thread.
            let evens: Vec<_> = writers.into_iter().step_by(2).collect();
            let writer = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                for w in &evens {
                    bump(w);
                }
            });
            // Await until every even device was ready once (a hand-made join
            // that polls each pending device).
            let mut done = vec![false; N];
            pasts::block_on(poll_fn(|cx| {
                for (i, device) in devices.iter_mut().enumerate().step_by(2) {
                    if !done[i] && Pin::new(device).poll(cx).is_ready() {
                        done[i] = true;
                    }
                }
                if done.iter().step_by(2).all(|&d| d) {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            }));
            writer.join().unwrap();
            let mut buf = [0; 8];
            for (i, reader) in readers.iter().enumerate() {
                let read = try_read(reader, &mut buf);
                assert_eq!(read.is_some(), i % 2 == 0, "device {i}");
            }
            // The odd ones were never written: polling them is still pending.
            let (_, waker) = Counter::unparking();
            for device in devices.iter_mut().skip(1).step_by(2) {
                assert!(poll(Pin::new(device), &waker).is_pending());
            }
        });
    }
}

mod churn {
    //! Devices passed between threads and executors, and devices dropped
    //! with their events in flight in some thread's set (their fd numbers
    //! reused at once): every awaited byte is read, nothing hangs.

    use super::*;
    use pasts::linux::Timer;

    /// Awaits one byte on `device` with the executor `which` of five:
    /// `block_on`, `block_on` kept busy beside the read for up to 3 ms, a
    /// parking executor, that executor inside `block_on`, a tokio-like
    /// queue. Gives the device back.
    fn read_on(which: usize, mut device: Device<UnixStream>, rng: &mut u64) -> Device<UnixStream> {
        match which {
            0 => pasts::block_on(one_byte(&mut device)),
            1 => {
                let busy = Duration::from_micros(below(rng, 3000));
                pasts::block_on(kept_busy(one_byte(&mut device), busy));
            }
            2 => drop(park_block_on(one_byte(&mut device))),
            3 => pasts::block_on(async { park_block_on(one_byte(&mut device)).0 }),
            _ => {
                // Gives the device back, not to be awaited.
                #[allow(clippy::async_yields_async)]
                let read = async move {
                    one_byte(&mut device).await;
                    device
                };
                return queue_block_on(read).0;
            }
        }
        device
    }

    /// Eight devices passed round five threads at random, each awaiting
    /// one byte per turn on the executors of [`read_on`] in turn, and
    /// sometimes pausing outside `block_on` before passing it on, while
    /// this thread writes at most a few bytes ahead of each.
    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn ring_of_devices_across_threads() {
        let _reactor = shared();
        within(Duration::from_secs(60), || {
            const THREADS: usize = 5;
            const DEVICES: usize = 8;
            let per_device = rounds(300);
            let (senders, inboxes): (Vec<_>, Vec<_>) = (0..THREADS)
                .map(|_| mpsc::channel::<(usize, usize, Device<UnixStream>)>())
                .unzip();
            let mut txs = Vec::new();
            for i in 0..DEVICES {
                let (tx, rx) = UnixStream::pair().unwrap();
                txs.push(tx);
                let device = Device::new(rx, Watch::INPUT).unwrap();
                senders[i % THREADS].send((i, 0, device)).unwrap();
            }
            let done = Arc::new(AtomicUsize::new(0));
            let reads: Arc<Vec<AtomicUsize>> =
                Arc::new((0..DEVICES).map(|_| AtomicUsize::new(0)).collect());
            let workers: Vec<_> = inboxes
                .into_iter()
                .enumerate()
                .map(|(k, inbox)| {
                    let (senders, done, reads) =
                        (senders.clone(), Arc::clone(&done), Arc::clone(&reads));
                    thread::spawn(move || {
                        let mut rng = 0x9e37_79b9 + k as u64;
                        while done.load(Ordering::Acquire) < DEVICES {
                            let Ok((i, n, device)) = inbox.recv_timeout(Duration::from_millis(20))
                            else {
                                continue;
                            };
                            let device = read_on((k + n) % 5, device, &mut rng);
                            reads[i].fetch_add(1, Ordering::Release);
                            if below(&mut rng, 4) == 0 {
                                thread::sleep(Duration::from_micros(below(&mut rng, 15_000)));
                            }
                            if n + 1 == per_device {
                                done.fetch_add(1, Ordering::AcqRel);
                            } else {
                                let to = below(&mut rng, THREADS as u64) as usize;
                                senders[to].send((i, n + 1, device)).unwrap();
                            }
                        }
                    })
                })
                .collect();
            drop(senders);
            // At most 16 bytes unread per device: a write never blocks on a
            // full socket (which would hold up the other devices).
            let mut rng = 12345;
            let mut written = [0; DEVICES];
            while written.iter().any(|&w| w < per_device) {
                for (i, tx) in txs.iter_mut().enumerate() {
                    let unread = written[i] - reads[i].load(Ordering::Acquire);
                    if written[i] < per_device && unread < 16 {
                        tx.write_all(b"x").unwrap();
                        written[i] += 1;
                    }
                }
                thread::sleep(Duration::from_micros(below(&mut rng, 300)));
            }
            for worker in workers {
                worker.join().unwrap();
            }
        });
    }

    /// Three threads make devices, leave them pending in their own set or
    /// the shared one, write to them and drop them at once (now and then
    /// sleeping in their set, so that it is theirs again), while three
    /// others each read a device of their own on `block_on`, a parking
    /// executor, or that executor inside `block_on`.
    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn drop_with_events_in_flight() {
        let _reactor = shared();
        within(Duration::from_secs(60), || {
            let stop = Arc::new(AtomicBool::new(false));
            let churn: Vec<_> = (0..3)
                .map(|k| {
                    let stop = Arc::clone(&stop);
                    thread::spawn(move || {
                        let mut rng = 77 + k;
                        let (_, waker) = Counter::new();
                        while !stop.load(Ordering::Relaxed) {
                            let (mut tx, rx) = UnixStream::pair().unwrap();
                            let mut device = Device::new(rx, Watch::INPUT).unwrap();
                            if below(&mut rng, 2) == 0 {
                                leave_pending(&mut device, &waker);
                            } else {
                                assert!(poll(Pin::new(&mut device), &waker).is_pending());
                            }
                            tx.write_all(b"x").unwrap();
                            if below(&mut rng, 3) == 0 {
                                thread::yield_now();
                            }
                            drop(device);
                            if below(&mut rng, 8) == 0 {
                                // Evicted, its polls use the shared set
                                // until it sleeps in its own again.
                                pasts::block_on(Timer::new(Duration::from_micros(100)).unwrap());
                            }
                        }
                    })
                })
                .collect();
            let steady: Vec<_> = [0, 2, 3]
                .into_iter()
                .map(|which| {
                    thread::spawn(move || {
                        let (mut tx, rx) = UnixStream::pair().unwrap();
                        let mut device = Device::new(rx, Watch::INPUT).unwrap();
                        let n = rounds(400);
                        let writer = thread::spawn(move || {
                            for _ in 0..n {
                                tx.write_all(b"x").unwrap();
                                thread::sleep(Duration::from_micros(200));
                            }
                            tx
                        });
                        let mut rng = 1;
                        for _ in 0..n {
                            device = read_on(which, device, &mut rng);
                        }
                        writer.join().unwrap();
                    })
                })
                .collect();
            for steady in steady {
                steady.join().unwrap();
            }
            stop.store(true, Ordering::Relaxed);
            for churn in churn {
                churn.join().unwrap();
            }
        });
    }
}

mod thread_end {
    //! A `block_on` thread's set lives as long as the thread: it is closed
    //! when the thread ends (once no waker keeps it), and a `block_on` in
    //! a thread-local destructor, before or after pasts' own thread-locals
    //! are gone, still serves its device.

    use super::*;
    use pasts::linux::Timer;

    /// The epoll and event fds of the process (a set has one of each).
    fn sets_and_eventfds() -> usize {
        let sets = anon_inodes()
            .into_iter()
            .filter(|(_, kind)| kind.contains("eventpoll") || kind.contains("eventfd"));
        sets.count()
    }

    /// Threads that each await a device of their own and a timer on
    /// `block_on`, leave a device they share pending with their waker
    /// (which holds their set), and end.
    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn thread_sets_are_closed_when_threads_end() {
        let _reactor = exclusive();
        within(Duration::from_secs(20), || {
            // Start the reactor and the timers; this thread's set too.
            pasts::block_on(Timer::new(Duration::from_millis(1)).unwrap());
            let (_tx, rx) = UnixStream::pair().unwrap();
            let shared = Arc::new(Mutex::new(Device::new(rx, Watch::INPUT).unwrap()));
            let before = sets_and_eventfds();
            for _ in 0..rounds(100) {
                let shared = Arc::clone(&shared);
                thread::spawn(move || {
                    let (mut tx, rx) = UnixStream::pair().unwrap();
                    let mut own = Device::new(rx, Watch::INPUT).unwrap();
                    tx.write_all(b"y").unwrap();
                    pasts::block_on(one_byte(&mut own));
                    pasts::block_on(Timer::new(Duration::from_micros(100)).unwrap());
                    let mut shared = shared.lock().unwrap();
                    pasts::block_on(poll_fn(|cx| {
                        assert!(Pin::new(&mut *shared).poll(cx).is_pending());
                        Poll::Ready(())
                    }));
                })
                .join()
                .unwrap();
            }
            // The last thread's set lives on in its waker: replace it.
            let (_, waker) = Counter::new();
            assert!(poll(Pin::new(&mut *shared.lock().unwrap()), &waker).is_pending());
            let after = sets_and_eventfds();
            assert!(
                after <= before,
                "epoll and event fds: {before}, then {after}"
            );
        });
    }

    /// Holds a device and its peer; when dropped, awaits a byte written by
    /// another thread with `block_on`.
    struct ReadsWhenDropped(Option<(Device<UnixStream>, UnixStream)>);

    impl Drop for ReadsWhenDropped {
        fn drop(&mut self) {
            let Some((mut device, mut tx)) = self.0.take() else {
                return;
            };
            let writer = thread::spawn(move || {
                thread::sleep(Duration::from_millis(20));
                tx.write_all(b"x").unwrap();
                tx
            });
            pasts::block_on(one_byte(&mut device));
            writer.join().unwrap();
        }
    }

    thread_local! {
        static READS_WHEN_DROPPED: std::cell::RefCell<ReadsWhenDropped> =
            const { std::cell::RefCell::new(ReadsWhenDropped(None)) };
    }

    /// Thread-local destructors run in reverse order of first use: one
    /// set before the thread's first `block_on` is dropped after pasts'
    /// thread-locals, one set after it before them.
    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn block_on_a_device_in_a_thread_local_destructor() {
        let _reactor = shared();
        within(Duration::from_secs(20), || {
            for first in [true, false] {
                thread::spawn(move || {
                    let (tx, rx) = UnixStream::pair().unwrap();
                    let mut pair = Some((Device::new(rx, Watch::INPUT).unwrap(), tx));
                    // Once: the first time.
                    let mut set = || {
                        if let Some(pair) = pair.take() {
                            READS_WHEN_DROPPED.with(|r| r.borrow_mut().0 = Some(pair));
                        }
                    };
                    if first {
                        set();
                    }
                    let (mut tx, rx) = UnixStream::pair().unwrap();
                    let mut other = Device::new(rx, Watch::INPUT).unwrap();
                    tx.write_all(b"y").unwrap();
                    pasts::block_on(one_byte(&mut other));
                    set();
                })
                .join()
                .unwrap();
            }
        });
    }
}

mod no_hop {
    //! Each `pasts::block_on` thread waits in `epoll_wait` on its own set: a
    //! device event is dispatched on the thread that awaits it, not on the
    //! reactor thread or another `block_on` thread (one thread hop less).

    use super::*;

    /// Await `device` with a waker that records the thread it is woken on
    /// in `threads`, then read its count.
    fn next_recorded(
        device: &mut Device,
        reader: &File,
        threads: &Arc<Mutex<Vec<ThreadId>>>,
    ) -> u64 {
        loop {
            pasts::block_on(poll_fn(|cx| {
                let waker = Waker::from(Arc::new(Recording {
                    inner: cx.waker().clone(),
                    threads: Arc::clone(threads),
                }));
                Pin::new(&mut *device).poll(&mut Context::from_waker(&waker))
            }));
            let mut buf = [0; 8];
            if try_read(reader, &mut buf).is_some() {
                return u64::from_ne_bytes(buf);
            }
        }
    }

    /// How many of the wakes in `threads` ran on this thread, of how many.
    fn here(threads: &Mutex<Vec<ThreadId>>) -> (usize, usize) {
        let me = thread::current().id();
        let threads = threads.lock().unwrap();
        let here = threads.iter().filter(|&&id| id == me).count();
        (here, threads.len())
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn device_events_dispatched_on_the_awaiting_thread() {
        let _reactor = exclusive();
        within(Duration::from_secs(20), || {
            let fd = new_eventfd();
            let (reader, writer) = (file(&fd), file(&fd));
            let mut device = Device::new(fd, Watch::INPUT).unwrap();
            let threads = Arc::new(Mutex::new(Vec::new()));
            let bumper = bump_every(writer, 100, Duration::from_micros(500));
            let mut total = 0;
            while total < 100 {
                total += next_recorded(&mut device, &reader, &threads);
            }
            bumper.join().unwrap();
            // Not all: a thread descheduled for long on a loaded machine
            // has its set taken over by the reactor thread. Without the
            // integration, none would run here.
            let (here, all) = here(&threads);
            assert!(
                here * 2 >= all,
                "{here} of {all} wakes ran on the awaiting thread"
            );
        });
    }

    /// Two `block_on` threads in a ping-pong over two eventfds: each one's
    /// device events are dispatched on that thread (with one epoll wait
    /// shared by both, the other thread relays about half of them).
    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn two_threads_each_dispatch_their_own() {
        let _reactor = exclusive();
        within(Duration::from_secs(20), || {
            const ROUNDS: u64 = 200;
            let (ab, ba) = (new_eventfd(), new_eventfd());
            let (ab_writer, ba_writer) = (file(&ab), file(&ba));
            let side = |input: OwnedFd, out: File, first: bool| {
                move || {
                    let reader = file(&input);
                    let mut device = Device::new(input, Watch::INPUT).unwrap();
                    let threads = Arc::new(Mutex::new(Vec::new()));
                    if first {
                        bump(&out);
                    }
                    for _ in 0..ROUNDS {
                        next_recorded(&mut device, &reader, &threads);
                        bump(&out);
                    }
                    here(&threads)
                }
            };
            let b = thread::spawn(side(ab, ba_writer, false));
            let (a_here, a_all) = side(ba, ab_writer, true)();
            let (b_here, b_all) = b.join().unwrap();
            // Again not all, on a loaded machine.
            assert!(
                (a_here + b_here) * 10 >= (a_all + b_all) * 9,
                "{a_here} of {a_all} and {b_here} of {b_all} wakes ran on the awaiting thread"
            );
        });
    }
}

mod readiness {
    //! A `Device` completes when its fd becomes ready: pipes, eventfds and
    //! socket pairs, for input and for output, written from another thread.

    use super::*;

    const LIMIT: Duration = Duration::from_secs(20);

    /// Await `rx` until a read succeeds while another thread runs `write` after
    /// a pause; returns the bytes read.
    fn read_after(rx: OwnedFd, write: impl FnOnce() + Send + 'static) -> Vec<u8> {
        within(LIMIT, move || {
            let reader = file(&rx);
            let mut device = Device::new(rx, Watch::INPUT).unwrap();
            let writer = thread::spawn(move || {
                thread::sleep(Duration::from_millis(20));
                write();
            });
            let mut buf = [0; 64];
            let n = pasts::block_on(async {
                loop {
                    (&mut device).await;
                    if let Some(n) = try_read(&reader, &mut buf) {
                        break n;
                    }
                }
            });
            writer.join().unwrap();
            buf[..n].to_vec()
        })
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn pipe_input() {
        let _reactor = shared();
        let (rx, tx) = pipe();
        let got = read_after(rx, move || File::from(tx).write_all(b"pipe").unwrap());
        assert_eq!(got, b"pipe");
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn eventfd_input() {
        let _reactor = shared();
        let fd = new_eventfd();
        let writer = file(&fd);
        let got = read_after(fd, move || bump(&writer));
        assert_eq!(got, 1u64.to_ne_bytes());
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn socketpair_input() {
        let _reactor = shared();
        let (mut tx, rx) = UnixStream::pair().unwrap();
        rx.set_nonblocking(true).unwrap();
        let got = read_after(rx.into(), move || tx.write_all(b"sock").unwrap());
        assert_eq!(got, b"sock");
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn pipe_output_after_drain() {
        let _reactor = shared();
        within(LIMIT, || {
            let (rx, tx) = pipe();
            let writer = file(&tx);
            // Fill the pipe: now it is not writable.
            let chunk = [0u8; 4096];
            let mut filled = 0;
            loop {
                match (&writer).write(&chunk) {
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => panic!("{e}"),
                }
            }
            let mut device = Device::new(tx, Watch::OUTPUT).unwrap();
            let drainer = thread::spawn(move || {
                thread::sleep(Duration::from_millis(20));
                let reader = file(&rx);
                let mut buf = vec![0; filled];
                let mut total = 0;
                while total < filled {
                    total += try_read(&reader, &mut buf).unwrap_or(0);
                }
                rx
            });
            pasts::block_on(async {
                loop {
                    (&mut device).await;
                    if (&writer).write(b"x").is_ok() {
                        break;
                    }
                }
            });
            drop(drainer.join().unwrap());
        });
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn input_or_output_combined() {
        let _reactor = shared();
        within(LIMIT, || {
            let (a, _b) = UnixStream::pair().unwrap();
            a.set_nonblocking(true).unwrap();
            // An empty socket is writable: INPUT | OUTPUT is ready at once.
            let mut device = Device::new(a, Watch::INPUT | Watch::OUTPUT).unwrap();
            pasts::block_on(&mut device);
            assert_eq!(device.watch(), Watch::INPUT | Watch::OUTPUT);
        });
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn hang_up_is_ready() {
        let _reactor = shared();
        let (rx, tx) = pipe();
        // The read end of a pipe whose writer closed is readable (EOF).
        let got = read_after(rx, move || drop(tx));
        assert!(got.is_empty());
    }

    #[test]
    fn device_is_send_sync_unpin() {
        let _reactor = shared();
        fn check<T: Send + Sync + Unpin + std::fmt::Debug>() {}
        check::<Device>();
    }
}

mod unread {
    //! Level-triggered semantics: awaiting while unread data remains completes
    //! at once, every time; once the data is read, the device waits again.

    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn unread_data_keeps_it_ready() {
        let _reactor = shared();
        within(Duration::from_secs(20), || {
            let (mut tx, rx) = UnixStream::pair().unwrap();
            rx.set_nonblocking(true).unwrap();
            // Written before the device exists: the readiness that races with
            // registration is not lost either.
            tx.write_all(b"abc").unwrap();
            let reader = file(&rx);
            let mut device = Device::new(rx, Watch::INPUT).unwrap();
            // Never reading: each await completes with no new write.
            for _ in 0..100 {
                pasts::block_on(&mut device);
            }
            // Read one byte at a time: still ready until the last one is gone.
            let mut byte = [0];
            for expected in b"abc" {
                pasts::block_on(&mut device);
                assert_eq!(try_read(&reader, &mut byte), Some(1));
                assert_eq!(byte[0], *expected);
            }
            assert_eq!(try_read(&reader, &mut byte), None);
        });
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn unread_data_is_ready_on_the_first_poll() {
        let _reactor = shared();
        within(Duration::from_secs(20), || {
            let (mut tx, rx) = UnixStream::pair().unwrap();
            let mut device = Device::new(rx, Watch::INPUT).unwrap();
            tx.write_all(b"x").unwrap();
            pasts::block_on(async {
                // The byte stays unread.
                (&mut device).await;
                // Polled again with no sleep between: each poll finds the
                // unread byte itself, without waiting for an event.
                for _ in 0..3 {
                    let polled = poll_fn(|cx| Poll::Ready(Pin::new(&mut device).poll(cx))).await;
                    assert!(polled.is_ready());
                }
            });
        });
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn drained_device_waits() {
        let _reactor = shared();
        within(Duration::from_secs(20), || {
            let (mut tx, rx) = UnixStream::pair().unwrap();
            rx.set_nonblocking(true).unwrap();
            let mut device = Device::new(rx, Watch::INPUT).unwrap();
            let (counter, waker) = Counter::unparking();
            assert_eq!(poll(Pin::new(&mut device), &waker), Poll::Pending);
            // Nothing to read: no wake, still pending.
            thread::sleep(Duration::from_millis(50));
            assert_eq!(poll(Pin::new(&mut device), &waker), Poll::Pending);
            assert_eq!(counter.wakes(), 0);
            // A write wakes the waker stored by the last poll.
            tx.write_all(b"x").unwrap();
            while counter.wakes() == 0 {
                thread::park();
            }
            assert_eq!(poll(Pin::new(&mut device), &waker), Poll::Ready(()));
        });
    }
}

mod waker_panic {
    //! A waker that panics when the reactor wakes it (a bug in some executor)
    //! does not break the reactor: other devices keep working.

    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn panicking_waker_is_contained() {
        let _reactor = shared();
        within(Duration::from_secs(20), || {
            let waker = Waker::from(Arc::new(Panics));
            for round in 0..3 {
                // Ten devices in one batch; the first waker panics.
                let fds: Vec<_> = (0..10).map(|_| new_eventfd()).collect();
                let files: Vec<_> = fds.iter().map(file).collect();
                let mut devices: Vec<_> = fds
                    .into_iter()
                    .map(|fd| Device::new(fd, Watch::INPUT).unwrap())
                    .collect();
                assert!(poll(Pin::new(&mut devices[0]), &waker).is_pending());
                let others: Vec<_> = devices.split_off(1);
                let workers: Vec<_> = others
                    .into_iter()
                    .zip(files.iter().skip(1).map(|f| f.try_clone().unwrap()))
                    .map(|(mut device, reader)| {
                        thread::spawn(move || pasts::block_on(next_count(&mut device, &reader)))
                    })
                    .collect();
                thread::sleep(Duration::from_millis(10));
                for f in &files {
                    bump(f);
                }
                for worker in workers {
                    assert_eq!(worker.join().unwrap(), 1, "round {round}");
                }
            }
        });
    }
}

mod foreign_lateness {
    //! A device awaited on another executor is served however a
    //! `pasts::block_on` thread spends its time: while it alternates short
    //! waits and 50 ms CPU bursts, the reactor thread collects the event,
    //! so readiness is never tens of milliseconds late.

    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn tokio_like_task_beside_cpu_bursts() {
        let _reactor = exclusive();
        let late =
            beside_cpu_bursts(|| readiness_lateness(rounds(200), |fut| queue_block_on(fut).0));
        lateness(late, "tokio-like: readiness");
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn futures_like_task_beside_cpu_bursts() {
        let _reactor = exclusive();
        let late =
            beside_cpu_bursts(|| readiness_lateness(rounds(200), |fut| park_block_on(fut).0));
        lateness(late, "futures-like: readiness");
    }
}

mod io {
    //! `Device<T>` as an I/O type: `read_with`/`write_with` retry on
    //! `WouldBlock` after waiting for readiness, whatever the watch; the
    //! object stays usable (`get_ref`, `get_mut`, `into_inner`); a
    //! borrowed object survives a failed `new`.

    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn read_with_accepts_a_burst_of_100_pending_connections() {
        let _reactor = shared();
        within(Duration::from_secs(30), || {
            let listener = tcp_listener();
            let addr = listener.local_addr().unwrap();
            let clients: Vec<_> = (0..100)
                .map(|_| TcpStream::connect(addr).unwrap())
                .collect();
            let mut listener = Device::new(listener, Watch::INPUT).unwrap();
            let (accepted, polls) = queue_block_on(async move {
                let mut accepted = Vec::new();
                for _ in 0..100 {
                    accepted.push(listener.read_with(|io| io.accept()).await.unwrap().0);
                }
                // None left: the next accept waits.
                let (_, waker) = Counter::new();
                let next = pin!(listener.read_with(|io| io.accept()));
                assert!(poll(next, &waker).is_pending());
                accepted
            });
            assert_eq!(accepted.len(), clients.len());
            assert!(polls <= 3, "{polls} polls: all were pending at once");
        });
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn write_with_on_a_full_socket_waits_and_resumes() {
        let _reactor = shared();
        within(Duration::from_secs(30), || {
            let (tx, mut rx) = UnixStream::pair().unwrap();
            // Watching input only: `write_with` waits for output anyway.
            let mut tx = Device::new(tx, Watch::INPUT).unwrap();
            let mut full = 0;
            loop {
                match tx.get_mut().write(&[7; 4096]) {
                    Ok(n) => full += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => panic!("{e}"),
                }
            }
            let (counter, waker) = Counter::new();
            let mut write = pin!(tx.write_with(|io| io.write(&[8; 100])));
            assert!(
                poll(write.as_mut(), &waker).is_pending(),
                "the socket is full"
            );
            // Drain it from another thread: the write resumes by itself.
            let reader = thread::spawn(move || {
                thread::sleep(Duration::from_millis(20));
                let mut buf = vec![0; full];
                rx.read_exact(&mut buf).unwrap();
                assert!(buf.iter().all(|&b| b == 7));
                rx
            });
            common::eventually(10, "woken once there is room", || counter.wakes() > 0);
            let written = match poll(write.as_mut(), &waker) {
                std::task::Poll::Ready(n) => n.unwrap(),
                std::task::Poll::Pending => panic!("woken but not writable"),
            };
            assert!(written > 0);
            let mut rx = reader.join().unwrap();
            let mut buf = vec![0; written];
            rx.read_exact(&mut buf).unwrap();
            assert!(buf.iter().all(|&b| b == 8));
        });
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn a_borrowed_object_survives_a_failed_new() {
        let _reactor = shared();
        let listener = tcp_listener();
        let first = Device::new(&listener, Watch::INPUT).unwrap();
        let err = Device::new(&listener, Watch::INPUT).unwrap_err();
        // Says which call and which fd failed.
        assert!(err.to_string().contains("Device::new"), "{err}");
        drop(first);
        // Still open and ours: another device can take it.
        let mut again = Device::new(&listener, Watch::INPUT).unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (stream, _) = pasts::block_on(again.read_with(|io| io.accept())).unwrap();
        assert_eq!(stream.peer_addr().unwrap(), client.local_addr().unwrap());
    }

    /// Echo every byte back until the peer closes.
    async fn echo(mut stream: Device<TcpStream>) {
        let mut buf = [0; 1024];
        loop {
            let n = stream.read_with(|io| io.read(&mut buf)).await.unwrap();
            if n == 0 {
                return;
            }
            let mut sent = 0;
            while sent < n {
                sent += stream
                    .write_with(|io| io.write(&buf[sent..n]))
                    .await
                    .unwrap();
            }
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn echo_server_with_1000_clients_from_4_threads() {
        let _reactor = shared();
        within(Duration::from_secs(60), || {
            let per_thread = rounds(250);
            let total = per_thread * 4;
            let listener = tcp_listener();
            let addr = listener.local_addr().unwrap();
            // Clients connect at most 64 ahead of the accepts: the listen
            // backlog (128) never overflows into SYN retransmits.
            let (connecting, accepted) =
                (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
            let clients: Vec<_> = (0..4u8)
                .map(|t| {
                    let (connecting, accepted) = (Arc::clone(&connecting), Arc::clone(&accepted));
                    thread::spawn(move || {
                        let streams: Vec<_> = (0..per_thread)
                            .map(|_| {
                                let ticket = connecting.fetch_add(1, Ordering::Relaxed);
                                while ticket >= accepted.load(Ordering::Relaxed) + 64 {
                                    thread::sleep(Duration::from_micros(100));
                                }
                                TcpStream::connect(addr).unwrap()
                            })
                            .collect();
                        for (i, mut s) in streams.into_iter().enumerate() {
                            let msg: Vec<u8> = (0..3000).map(|b| (b + i) as u8 ^ t).collect();
                            s.write_all(&msg).unwrap();
                            s.shutdown(Shutdown::Write).unwrap();
                            let mut back = Vec::new();
                            s.read_to_end(&mut back).unwrap();
                            assert_eq!(back, msg, "client {t}/{i}");
                        }
                    })
                })
                .collect();
            let mut listener = Device::new(listener, Watch::INPUT).unwrap();
            pasts::block_on(async {
                let mut conns = Vec::new();
                while conns.len() < total {
                    let (stream, _) = listener.read_with(|io| io.accept()).await.unwrap();
                    accepted.fetch_add(1, Ordering::Relaxed);
                    conns.push(echo(Device::new(stream, Watch::INPUT).unwrap()));
                }
                // Every connection open at once, echoed by one thread.
                conns.join().await;
            });
            for client in clients {
                client.join().unwrap();
            }
        });
    }
}
