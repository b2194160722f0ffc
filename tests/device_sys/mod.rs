//! Shared helpers of the `device_*` tests: raw fds made with our own FFI
//! (only `src/` is restricted to `linux/sys.rs`), a watchdog, and a
//! minimal executor that is not pasts.
#![allow(dead_code, unsafe_code)]

use std::fs::File;
use std::future::Future;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::pin::pin;
use std::sync::mpsc;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Duration;

extern "C" {
    fn pipe2(fds: *mut i32, flags: i32) -> i32;
    fn eventfd(initval: u32, flags: i32) -> i32;
    fn fcntl(fd: i32, cmd: i32, ...) -> i32;
    fn getrlimit(resource: i32, rlim: *mut Rlimit) -> i32;
    fn setrlimit(resource: i32, rlim: *const Rlimit) -> i32;
}

/// `struct rlimit` (`rlim_t` is `unsigned long`).
#[repr(C)]
struct Rlimit {
    cur: std::ffi::c_ulong,
    max: std::ffi::c_ulong,
}

const RLIMIT_NOFILE: i32 = 7;

/// Raise this process's open-file limit to at least `n` (up to the hard
/// limit), for tests that hold thousands of fds on machines whose default
/// soft limit is 1024.
pub fn raise_fd_limit(n: u64) {
    let mut lim = Rlimit { cur: 0, max: 0 };
    // SAFETY: `lim` is a valid, writable `struct rlimit`.
    assert_eq!(unsafe { getrlimit(RLIMIT_NOFILE, &mut lim) }, 0);
    let want = std::ffi::c_ulong::try_from(n).unwrap_or(std::ffi::c_ulong::MAX);
    if lim.cur < want {
        lim.cur = want.min(lim.max);
        // SAFETY: `lim` is a valid `struct rlimit`.
        assert_eq!(unsafe { setrlimit(RLIMIT_NOFILE, &lim) }, 0);
    }
}

pub const O_NONBLOCK: i32 = 0o4000;
pub const O_CLOEXEC: i32 = 0o2000000;
pub const F_GETFD: i32 = 1;
pub const F_GETFL: i32 = 3;
pub const FD_CLOEXEC: i32 = 1;

fn owned(fd: i32) -> OwnedFd {
    assert!(fd >= 0, "{}", io::Error::last_os_error());
    // SAFETY: a fresh fd from a successful call, owned by nobody else.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// A non-blocking pipe: (read end, write end).
pub fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [-1; 2];
    // SAFETY: `fds` has room for the two fds.
    let r = unsafe { pipe2(fds.as_mut_ptr(), O_NONBLOCK | O_CLOEXEC) };
    assert_eq!(r, 0, "pipe2: {}", io::Error::last_os_error());
    (owned(fds[0]), owned(fds[1]))
}

/// A non-blocking eventfd with counter 0.
pub fn new_eventfd() -> OwnedFd {
    // SAFETY: no pointers.
    owned(unsafe { eventfd(0, O_NONBLOCK | O_CLOEXEC) })
}

/// `fcntl(fd, F_GETFD)` and `fcntl(fd, F_GETFL)`.
pub fn fd_flags(fd: i32) -> (i32, i32) {
    // SAFETY: these commands take no argument.
    let fd_flags = unsafe { fcntl(fd, F_GETFD) };
    // SAFETY: as above.
    let fl = unsafe { fcntl(fd, F_GETFL) };
    assert!(
        fd_flags >= 0 && fl >= 0,
        "fcntl({fd}): {}",
        io::Error::last_os_error()
    );
    (fd_flags, fl)
}

/// A `File` on a duplicate of `fd`, to read and write through.
pub fn file(fd: impl AsFd) -> File {
    File::from(fd.as_fd().try_clone_to_owned().unwrap())
}

/// Add 1 to an eventfd's counter.
pub fn bump(mut f: &File) {
    f.write_all(&1u64.to_ne_bytes()).unwrap();
}

/// Non-blocking read; `None` on `WouldBlock`.
pub fn try_read(mut f: &File, buf: &mut [u8]) -> Option<usize> {
    match f.read(buf) {
        Ok(n) => Some(n),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
        Err(e) => panic!("read: {e}"),
    }
}

/// Run `f` on a thread and fail if it takes longer than `limit` (a lost
/// wake-up hangs: this turns it into a failure).
pub fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let worker = thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("timed out after {limit:?}: lost wake-up?"),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            // The closure panicked: re-raise its panic.
            std::panic::resume_unwind(worker.join().unwrap_err())
        }
    }
}

/// Await `device` until a read of its 8-byte counter succeeds; returns
/// the counter.
pub async fn next_count(device: &mut pasts::linux::Device, reader: &File) -> u64 {
    let mut buf = [0; 8];
    loop {
        (&mut *device).await;
        if try_read(reader, &mut buf).is_some() {
            return u64::from_ne_bytes(buf);
        }
    }
}

/// Open fds of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// A waker that unparks a thread and counts its wakes.
pub struct Unpark {
    pub thread: Thread,
    pub wakes: std::sync::atomic::AtomicUsize,
}

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.thread.unpark();
    }
}

/// The smallest executor: poll, park until woken, repeat. Returns the
/// output and how many times the waker was called.
pub fn park_block_on<F: Future>(fut: F) -> (F::Output, usize) {
    let unpark = Arc::new(Unpark {
        thread: thread::current(),
        wakes: Default::default(),
    });
    let waker = Waker::from(Arc::clone(&unpark));
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return (out, unpark.wakes.load(std::sync::atomic::Ordering::SeqCst));
        }
        thread::park();
    }
}

/// Poll once with a waker that counts wakes.
pub fn poll_once<F: Future + Unpin>(fut: &mut F, waker: &Waker) -> Poll<F::Output> {
    std::pin::Pin::new(fut).poll(&mut Context::from_waker(waker))
}

/// A waker that forwards to the executor's, logging the thread each wake
/// ran on: which thread dispatched a device's event.
pub struct Recording {
    pub inner: Waker,
    pub threads: Arc<std::sync::Mutex<Vec<thread::ThreadId>>>,
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
