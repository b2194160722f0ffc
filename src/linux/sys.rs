//! Raw Linux system calls: the crate's only `extern "C"` declarations.
//!
//! The rest of the `linux` module is safe code on top of this. The rules:
//!
//! - **One door.** Every call goes through [`syscall`], which turns the C
//!   convention (`-1` and `errno`) into an [`io::Error`] that names the call
//!   and its arguments (`epoll_ctl(ADD, fd 7): Operation not permitted`).
//! - **EINTR is retried in that one layer**, for every call but `close`
//!   (Linux releases the fd even when `close` is interrupted, so retrying
//!   could close someone else's fd). No caller above sees `EINTR`.
//! - **`EAGAIN` is not a failure** on a non-blocking fd but the expected
//!   "not now": it comes back as a bare `io::Error` with
//!   [`io::ErrorKind::WouldBlock`] and `raw_os_error() == Some(EAGAIN)`,
//!   which costs no allocation.
//! - **Every fd is born `O_CLOEXEC | O_NONBLOCK`** (the epoll fd, which
//!   `epoll_create1` cannot make non-blocking, gets it right after) and is
//!   wrapped in an [`OwnedFd`] in the same expression that created it.
//! - **Every C struct is `#[repr(C)]` with its size, alignment and field
//!   offsets asserted at compile time** against the values in
//!   `linux-lab/consts` (x86_64) and the kernel's uapi headers (other
//!   64-bit targets such as aarch64).
//!
//! The declarations follow glibc and musl, whose `time_t` is a `long` on
//! every 64-bit target; the layout asserts pin the 64-bit layouts.
#![allow(unsafe_code, dead_code)]

use core::ffi::{c_char, c_int, c_long, c_short, c_uint, c_ulong, c_void};
use core::fmt;
use core::time::Duration;
use std::error::Error;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::string::{String, ToString};

// ---------------------------------------------------------------- constants

/// `errno` values the crate reacts to.
pub(crate) const EPERM: c_int = 1;
pub(crate) const ENOENT: c_int = 2;
pub(crate) const EINTR: c_int = 4;
pub(crate) const EBADF: c_int = 9;
pub(crate) const EAGAIN: c_int = 11;
pub(crate) const ENODEV: c_int = 19;
pub(crate) const EINVAL: c_int = 22;
pub(crate) const ENOSYS: c_int = 38;

/// `open`/`fcntl` flags.
pub(crate) const O_NONBLOCK: c_int = 0o4000;
pub(crate) const O_CLOEXEC: c_int = 0o2000000;
pub(crate) const F_GETFD: c_int = 1;
pub(crate) const F_SETFD: c_int = 2;
pub(crate) const F_GETFL: c_int = 3;
pub(crate) const F_SETFL: c_int = 4;
pub(crate) const FD_CLOEXEC: c_int = 1;

/// poll.
pub(crate) const POLLIN: c_short = 0x1;
pub(crate) const POLLOUT: c_short = 0x4;
pub(crate) const POLLERR: c_short = 0x8;
pub(crate) const POLLNVAL: c_short = 0x20;

/// epoll.
pub(crate) const EPOLL_CLOEXEC: c_int = O_CLOEXEC;
pub(crate) const EPOLL_CTL_ADD: c_int = 1;
pub(crate) const EPOLL_CTL_DEL: c_int = 2;
pub(crate) const EPOLL_CTL_MOD: c_int = 3;
pub(crate) const EPOLLIN: u32 = 0x1;
pub(crate) const EPOLLPRI: u32 = 0x2;
pub(crate) const EPOLLOUT: u32 = 0x4;
pub(crate) const EPOLLERR: u32 = 0x8;
pub(crate) const EPOLLHUP: u32 = 0x10;
pub(crate) const EPOLLRDHUP: u32 = 0x2000;
pub(crate) const EPOLLONESHOT: u32 = 1 << 30;
pub(crate) const EPOLLET: u32 = 1 << 31;

/// eventfd.
pub(crate) const EFD_SEMAPHORE: c_int = 1;
pub(crate) const EFD_NONBLOCK: c_int = O_NONBLOCK;
pub(crate) const EFD_CLOEXEC: c_int = O_CLOEXEC;

/// timerfd and clocks.
pub(crate) const CLOCK_REALTIME: c_int = 0;
pub(crate) const CLOCK_MONOTONIC: c_int = 1;
/// `CLOCK_MONOTONIC` as of the last tick: cheaper to read, behind by at
/// most a tick.
pub(crate) const CLOCK_MONOTONIC_COARSE: c_int = 6;
pub(crate) const CLOCK_BOOTTIME: c_int = 7;
pub(crate) const TFD_NONBLOCK: c_int = O_NONBLOCK;
pub(crate) const TFD_CLOEXEC: c_int = O_CLOEXEC;
pub(crate) const TFD_TIMER_ABSTIME: c_int = 1;

/// inotify.
pub(crate) const IN_NONBLOCK: c_int = O_NONBLOCK;
pub(crate) const IN_CLOEXEC: c_int = O_CLOEXEC;
pub(crate) const IN_ACCESS: u32 = 0x1;
pub(crate) const IN_MODIFY: u32 = 0x2;
pub(crate) const IN_ATTRIB: u32 = 0x4;
pub(crate) const IN_CLOSE_WRITE: u32 = 0x8;
pub(crate) const IN_OPEN: u32 = 0x20;
pub(crate) const IN_MOVED_FROM: u32 = 0x40;
pub(crate) const IN_MOVED_TO: u32 = 0x80;
pub(crate) const IN_CREATE: u32 = 0x100;
pub(crate) const IN_DELETE: u32 = 0x200;
pub(crate) const IN_DELETE_SELF: u32 = 0x400;
pub(crate) const IN_MOVE_SELF: u32 = 0x800;
pub(crate) const IN_UNMOUNT: u32 = 0x2000;
pub(crate) const IN_Q_OVERFLOW: u32 = 0x4000;
pub(crate) const IN_IGNORED: u32 = 0x8000;
pub(crate) const IN_ONLYDIR: u32 = 0x0100_0000;
pub(crate) const IN_MASK_ADD: u32 = 0x2000_0000;
pub(crate) const IN_ISDIR: u32 = 0x4000_0000;

// ---------------------------------------------------------------- C structs

/// `struct epoll_event`: packed on x86_64 only (the kernel's `EPOLL_PACKED`),
/// naturally aligned elsewhere.
#[cfg_attr(target_arch = "x86_64", repr(C, packed))]
#[cfg_attr(not(target_arch = "x86_64"), repr(C))]
#[derive(Clone, Copy)]
pub(crate) struct EpollEvent {
    events: u32,
    data: u64,
}

impl EpollEvent {
    /// An event buffer entry, or a registration of `events` with `data`.
    pub(crate) const fn new(events: u32, data: u64) -> Self {
        Self { events, data }
    }

    /// The readiness bits (`EPOLLIN`, …).
    pub(crate) const fn events(&self) -> u32 {
        self.events
    }

    /// The registration's user data.
    pub(crate) const fn data(&self) -> u64 {
        self.data
    }
}

impl fmt::Debug for EpollEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Copies: fields of a packed struct must not be borrowed.
        let (events, data) = (self.events, self.data);
        f.debug_struct("EpollEvent")
            .field("events", &format_args!("{events:#x}"))
            .field("data", &data)
            .finish()
    }
}

/// `struct timespec` (`time_t` and the nanoseconds are `long`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Timespec {
    pub(crate) tv_sec: c_long,
    pub(crate) tv_nsec: c_long,
}

impl Timespec {
    /// `d` as a timespec, saturating at the largest representable time.
    pub(crate) fn from_duration(d: Duration) -> Self {
        match c_long::try_from(d.as_secs()) {
            Ok(tv_sec) => Self {
                tv_sec,
                // Below 1e9: fits any `long`.
                tv_nsec: d.subsec_nanos() as c_long,
            },
            Err(_) => Self {
                tv_sec: c_long::MAX,
                tv_nsec: 999_999_999,
            },
        }
    }

    /// The timespec as a duration (negative fields count as zero).
    pub(crate) fn to_duration(self) -> Duration {
        let secs = u64::try_from(self.tv_sec).unwrap_or(0);
        let nanos = u32::try_from(self.tv_nsec).unwrap_or(0);
        Duration::new(secs, 0).saturating_add(Duration::from_nanos(nanos.into()))
    }
}

/// `struct itimerspec`: a timerfd's period and next expiry.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Itimerspec {
    pub(crate) it_interval: Timespec,
    pub(crate) it_value: Timespec,
}

/// `struct inotify_event` without its trailing `name[len]`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct InotifyEvent {
    pub(crate) wd: c_int,
    pub(crate) mask: u32,
    pub(crate) cookie: u32,
    pub(crate) len: u32,
}

/// `struct pollfd`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PollFd {
    pub(crate) fd: c_int,
    pub(crate) events: c_short,
    pub(crate) revents: c_short,
}

/// The byte offset of `$field` in `$ty`, in a constant (`offset_of!` is
/// newer than the crate's MSRV).
macro_rules! offset {
    ($ty:ty, $field:ident) => {{
        let value = core::mem::MaybeUninit::<$ty>::uninit();
        let base: *const $ty = value.as_ptr();
        // SAFETY: `addr_of!` computes the field's address inside `value`, a
        // live local, without reading it or making a reference (so packed
        // fields are fine).
        let field = unsafe { core::ptr::addr_of!((*base).$field) };
        // SAFETY: both pointers point into the same local, `value`.
        let offset = unsafe { field.cast::<u8>().offset_from(base.cast::<u8>()) };
        offset as usize
    }};
}

/// Compile-time check of a C struct's size, alignment and field offsets.
macro_rules! assert_layout {
    ($ty:ty, size $size:expr, align $align:expr $(, $field:ident @ $offset:expr)* $(,)?) => {
        const _: () = {
            assert!(core::mem::size_of::<$ty>() == $size, "size");
            assert!(core::mem::align_of::<$ty>() == $align, "align");
            $(assert!(offset!($ty, $field) == $offset, "offset");)*
        };
    };
}

#[cfg(target_arch = "x86_64")]
assert_layout!(EpollEvent, size 12, align 1, events @ 0, data @ 4);
// i386 aligns a `u64` to 4: the natural layout is already packed.
#[cfg(target_arch = "x86")]
assert_layout!(EpollEvent, size 12, align 4, events @ 0, data @ 4);
#[cfg(not(any(target_arch = "x86_64", target_arch = "x86")))]
assert_layout!(EpollEvent, size 16, align 8, events @ 0, data @ 8);
#[cfg(target_pointer_width = "64")]
assert_layout!(Timespec, size 16, align 8, tv_sec @ 0, tv_nsec @ 8);
#[cfg(target_pointer_width = "64")]
assert_layout!(Itimerspec, size 32, align 8, it_interval @ 0, it_value @ 16);
assert_layout!(InotifyEvent, size 16, align 4, wd @ 0, mask @ 4, cookie @ 8, len @ 12);
assert_layout!(PollFd, size 8, align 4, fd @ 0, events @ 4, revents @ 6);

// ---------------------------------------------------------------- ioctl numbers

/// The request type of `ioctl`: `unsigned long` in glibc, `int` in musl.
#[cfg(not(target_env = "musl"))]
type IoctlRequest = c_ulong;
#[cfg(target_env = "musl")]
type IoctlRequest = c_int;

/// The `_IOC` encoding of powerpc, mips and sparc: 3 direction bits and 13
/// size bits, with other direction values. Everyone else: 2 and 14.
const IOC_OLD_STYLE: bool = cfg!(any(
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "sparc",
    target_arch = "sparc64"
));
const IOC_SIZE_BITS: u32 = if IOC_OLD_STYLE { 13 } else { 14 };

/// `_IOC` direction: no data.
pub(crate) const IOC_NONE: u32 = if IOC_OLD_STYLE { 1 } else { 0 };
/// `_IOC` direction: the caller writes to the kernel.
pub(crate) const IOC_WRITE: u32 = if IOC_OLD_STYLE { 4 } else { 1 };
/// `_IOC` direction: the kernel writes to the caller.
pub(crate) const IOC_READ: u32 = 2;

/// An ioctl request number: `_IOC(dir, ty, nr, size)`.
///
/// `size` must fit the size field (16 KiB - 1 on most architectures); a
/// larger one fails the build when used in a constant.
pub(crate) const fn ioc(dir: u32, ty: u8, nr: u8, size: usize) -> u32 {
    assert!(size < 1 << IOC_SIZE_BITS, "ioctl size too large");
    (dir << (16 + IOC_SIZE_BITS)) | ((size as u32) << 16) | ((ty as u32) << 8) | nr as u32
}

/// `_IO(ty, nr)`: no argument data.
pub(crate) const fn io(ty: u8, nr: u8) -> u32 {
    ioc(IOC_NONE, ty, nr, 0)
}

/// `_IOR(ty, nr, size)`: the kernel fills `size` bytes.
pub(crate) const fn ior(ty: u8, nr: u8, size: usize) -> u32 {
    ioc(IOC_READ, ty, nr, size)
}

/// `_IOW(ty, nr, size)`: the kernel reads `size` bytes.
pub(crate) const fn iow(ty: u8, nr: u8, size: usize) -> u32 {
    ioc(IOC_WRITE, ty, nr, size)
}

/// `_IOWR(ty, nr, size)`: both.
pub(crate) const fn iowr(ty: u8, nr: u8, size: usize) -> u32 {
    ioc(IOC_READ | IOC_WRITE, ty, nr, size)
}

// The evdev numbers from linux-lab/consts/evdev_consts.txt (x86_64; the
// same on every architecture with the common encoding, aarch64 included).
const _: () = if !IOC_OLD_STYLE {
    assert!(ior(b'E', 0x01, 4) == 0x8004_4501); // EVIOCGVERSION
    assert!(ior(b'E', 0x06, 256) == 0x8100_4506); // EVIOCGNAME(256)
    assert!(ior(b'E', 0x20 + 3, 8) == 0x8008_4523); // EVIOCGBIT(EV_ABS, 8)
    assert!(ior(b'E', 0x40, 24) == 0x8018_4540); // EVIOCGABS(0)
    assert!(iow(b'E', 0x80, 48) == 0x4030_4580); // EVIOCSFF
    assert!(iow(b'E', 0x81, 4) == 0x4004_4581); // EVIOCRMFF
};

// ---------------------------------------------------------------- declarations

/// The C functions, in their own namespace so the safe wrappers below can
/// keep the C names.
mod ffi {
    use super::{
        c_char, c_int, c_uint, c_ulong, c_void, EpollEvent, IoctlRequest, Itimerspec, PollFd,
        Timespec,
    };

    extern "C" {
        pub(super) fn epoll_create1(flags: c_int) -> c_int;
        pub(super) fn epoll_ctl(epfd: c_int, op: c_int, fd: c_int, event: *mut EpollEvent)
            -> c_int;
        pub(super) fn epoll_wait(
            epfd: c_int,
            events: *mut EpollEvent,
            maxevents: c_int,
            timeout: c_int,
        ) -> c_int;
        pub(super) fn eventfd(initval: c_uint, flags: c_int) -> c_int;
        pub(super) fn timerfd_create(clockid: c_int, flags: c_int) -> c_int;
        pub(super) fn timerfd_settime(
            fd: c_int,
            flags: c_int,
            new_value: *const Itimerspec,
            old_value: *mut Itimerspec,
        ) -> c_int;
        pub(super) fn timerfd_gettime(fd: c_int, curr_value: *mut Itimerspec) -> c_int;
        pub(super) fn clock_gettime(clockid: c_int, tp: *mut Timespec) -> c_int;
        pub(super) fn read(fd: c_int, buf: *mut c_void, count: usize) -> isize;
        pub(super) fn write(fd: c_int, buf: *const c_void, count: usize) -> isize;
        pub(super) fn close(fd: c_int) -> c_int;
        pub(super) fn fcntl(fd: c_int, cmd: c_int, ...) -> c_int;
        pub(super) fn inotify_init1(flags: c_int) -> c_int;
        pub(super) fn inotify_add_watch(fd: c_int, pathname: *const c_char, mask: u32) -> c_int;
        pub(super) fn inotify_rm_watch(fd: c_int, wd: c_int) -> c_int;
        pub(super) fn ioctl(fd: c_int, request: IoctlRequest, ...) -> c_int;
        pub(super) fn poll(fds: *mut PollFd, nfds: c_ulong, timeout: c_int) -> c_int;
    }
}

// ---------------------------------------------------------------- the one door

/// A system call's return type: negative means failure (`-1` + `errno`).
pub(crate) trait SysResult: Copy {
    /// Whether the call failed.
    fn failed(self) -> bool;
}

impl SysResult for c_int {
    #[inline]
    fn failed(self) -> bool {
        self < 0
    }
}

impl SysResult for isize {
    #[inline]
    fn failed(self) -> bool {
        self < 0
    }
}

/// Run `call` until it does not fail with `EINTR`; turn a failure into an
/// [`io::Error`] that says `what` failed (see the module docs).
#[inline]
fn syscall<T: SysResult>(what: fmt::Arguments<'_>, mut call: impl FnMut() -> T) -> io::Result<T> {
    loop {
        let ret = call();
        if !ret.failed() {
            return Ok(ret);
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(EINTR) {
            return Err(context(what, err));
        }
    }
}

/// An OS error with what failed; its `source()` is the plain OS error.
#[derive(Debug)]
struct SysError {
    what: String,
    os: io::Error,
}

impl fmt::Display for SysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.os)
    }
}

impl Error for SysError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.os)
    }
}

/// `os` with `what` failed attached (same kind); `EAGAIN` stays bare.
pub(crate) fn context(what: fmt::Arguments<'_>, os: io::Error) -> io::Error {
    if os.raw_os_error() == Some(EAGAIN) {
        return os;
    }
    io::Error::new(
        os.kind(),
        SysError {
            what: what.to_string(),
            os,
        },
    )
}

/// The `errno` behind an error made here (or a plain OS error).
pub(crate) fn errno(err: &io::Error) -> Option<c_int> {
    err.raw_os_error()
        .or_else(|| err.get_ref()?.downcast_ref::<SysError>()?.os.raw_os_error())
}

/// Wrap the fd a successful creating call returned.
///
/// # Safety
///
/// `fd` is the `Ok` value of a [`syscall`] that creates an fd: open, and
/// owned by nobody else.
unsafe fn own(fd: c_int) -> OwnedFd {
    // SAFETY: the caller passes a freshly created fd that nothing else owns.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

// ---------------------------------------------------------------- epoll

/// `epoll_create1(EPOLL_CLOEXEC)`, then `O_NONBLOCK` like every fd the
/// crate makes (`epoll_wait` takes its own timeout, so it changes nothing
/// there, but a stray `read` on the fd cannot block).
pub(crate) fn epoll_create() -> io::Result<OwnedFd> {
    let epoll = syscall(format_args!("epoll_create1"), || {
        // SAFETY: no pointers; the result is owned at once by `own`.
        unsafe { ffi::epoll_create1(EPOLL_CLOEXEC) }
    })
    // SAFETY: the `Ok` value of an fd-creating call, owned by nobody yet.
    .map(|fd| unsafe { own(fd) })?;
    set_nonblocking(epoll.as_fd())?;
    Ok(epoll)
}

/// `epoll_ctl(epoll, op, fd, {events, data})`; `op` is one of
/// `EPOLL_CTL_ADD`, `EPOLL_CTL_MOD`, `EPOLL_CTL_DEL` (which ignores the
/// event). The fd is a number, for a registration that outlives its borrow
/// of the fd (the caller keeps the fd open for the call). Safe: it can only
/// change an epoll set.
pub(crate) fn epoll_ctl(
    epoll: BorrowedFd<'_>,
    op: c_int,
    fd: RawFd,
    events: u32,
    data: u64,
) -> io::Result<()> {
    let name = match op {
        EPOLL_CTL_ADD => "ADD",
        EPOLL_CTL_MOD => "MOD",
        EPOLL_CTL_DEL => "DEL",
        _ => "?",
    };
    let mut event = EpollEvent::new(events, data);
    syscall(format_args!("epoll_ctl({name}, fd {fd})"), || {
        // SAFETY: `event` is a valid, writable `epoll_event` for the call
        // (DEL ignores it, but old kernels require a non-null pointer); the
        // kernel does not keep the pointer.
        unsafe { ffi::epoll_ctl(epoll.as_raw_fd(), op, fd, &mut event) }
    })
    .map(drop)
}

/// `epoll_wait`: fill `events` with ready events, waiting at most
/// `timeout_ms` (-1: forever). Returns how many were filled.
pub(crate) fn epoll_wait(
    epoll: BorrowedFd<'_>,
    events: &mut [EpollEvent],
    timeout_ms: c_int,
) -> io::Result<usize> {
    let max = c_int::try_from(events.len()).unwrap_or(c_int::MAX);
    let n = syscall(format_args!("epoll_wait"), || {
        // SAFETY: `events` is valid for writes of `max <= events.len()`
        // entries; the kernel does not keep the pointer.
        unsafe { ffi::epoll_wait(epoll.as_raw_fd(), events.as_mut_ptr(), max, timeout_ms) }
    })?;
    // Not negative: failures are `Err` above.
    Ok(n as usize)
}

/// `poll(fd, events, timeout_ms)` for one fd: the returned events (0 on
/// timeout). On an epoll fd, `POLLIN` means events wait to be collected.
pub(crate) fn poll(fd: BorrowedFd<'_>, events: c_short, timeout_ms: c_int) -> io::Result<c_short> {
    let raw = fd.as_raw_fd();
    let mut pollfd = PollFd {
        fd: raw,
        events,
        revents: 0,
    };
    syscall(format_args!("poll(fd {raw})"), || {
        // SAFETY: `pollfd` is one valid, writable `struct pollfd`; not kept.
        unsafe { ffi::poll(&mut pollfd, 1, timeout_ms) }
    })?;
    Ok(pollfd.revents)
}

// ---------------------------------------------------------------- eventfd, timerfd, clocks

/// `eventfd(initval, EFD_CLOEXEC | EFD_NONBLOCK)`.
pub(crate) fn eventfd(initval: u32) -> io::Result<OwnedFd> {
    syscall(format_args!("eventfd"), || {
        // SAFETY: no pointers; the result is owned at once by `own`.
        unsafe { ffi::eventfd(initval, EFD_CLOEXEC | EFD_NONBLOCK) }
    })
    // SAFETY: the `Ok` value of an fd-creating call, owned by nobody yet.
    .map(|fd| unsafe { own(fd) })
}

/// `timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)`.
pub(crate) fn timerfd_create() -> io::Result<OwnedFd> {
    syscall(format_args!("timerfd_create(CLOCK_MONOTONIC)"), || {
        // SAFETY: no pointers; the result is owned at once by `own`.
        unsafe { ffi::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK) }
    })
    // SAFETY: the `Ok` value of an fd-creating call, owned by nobody yet.
    .map(|fd| unsafe { own(fd) })
}

/// `timerfd_settime(fd, flags, new)`, returning the previous setting.
/// `flags`: 0 (relative) or `TFD_TIMER_ABSTIME`. An all-zero `it_value`
/// disarms the timer.
pub(crate) fn timerfd_settime(
    fd: BorrowedFd<'_>,
    flags: c_int,
    new: &Itimerspec,
) -> io::Result<Itimerspec> {
    let mut old = Itimerspec::default();
    let raw = fd.as_raw_fd();
    syscall(format_args!("timerfd_settime(fd {raw})"), || {
        // SAFETY: `new` is a valid `itimerspec` to read, `old` one to write;
        // the kernel keeps neither pointer.
        unsafe { ffi::timerfd_settime(raw, flags, new, &mut old) }
    })?;
    Ok(old)
}

/// `timerfd_gettime(fd)`: the time left and the period.
pub(crate) fn timerfd_gettime(fd: BorrowedFd<'_>) -> io::Result<Itimerspec> {
    let mut curr = Itimerspec::default();
    let raw = fd.as_raw_fd();
    syscall(format_args!("timerfd_gettime(fd {raw})"), || {
        // SAFETY: `curr` is a valid `itimerspec` to write; not kept.
        unsafe { ffi::timerfd_gettime(raw, &mut curr) }
    })?;
    Ok(curr)
}

/// `clock_gettime(clock)`. `CLOCK_MONOTONIC` is the clock of
/// [`std::time::Instant`] on Linux and of the crate's timerfds.
pub(crate) fn clock_gettime(clock: c_int) -> io::Result<Timespec> {
    let mut now = Timespec::default();
    syscall(format_args!("clock_gettime({clock})"), || {
        // SAFETY: `now` is a valid `timespec` to write; not kept.
        unsafe { ffi::clock_gettime(clock, &mut now) }
    })?;
    Ok(now)
}

// ---------------------------------------------------------------- read, write, close, fcntl

/// `read(fd, buf)`: bytes read (0 at end of file).
pub(crate) fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    let raw = fd.as_raw_fd();
    let n = syscall(format_args!("read(fd {raw})"), || {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
        unsafe { ffi::read(raw, buf.as_mut_ptr().cast(), buf.len()) }
    })?;
    // Not negative: failures are `Err` above.
    Ok(n as usize)
}

/// `write(fd, buf)`: bytes written.
pub(crate) fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    let raw = fd.as_raw_fd();
    let n = syscall(format_args!("write(fd {raw})"), || {
        // SAFETY: `buf` is valid for reads of `buf.len()` bytes.
        unsafe { ffi::write(raw, buf.as_ptr().cast(), buf.len()) }
    })?;
    // Not negative: failures are `Err` above.
    Ok(n as usize)
}

/// Read the 8-byte counter of an eventfd or timerfd.
pub(crate) fn read_u64(fd: BorrowedFd<'_>) -> io::Result<u64> {
    let mut buf = [0; 8];
    match read(fd, &mut buf)? {
        8 => Ok(u64::from_ne_bytes(buf)),
        n => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            std::format!("read(fd {}): {n} of 8 bytes", fd.as_raw_fd()),
        )),
    }
}

/// Add `value` to an eventfd's counter.
pub(crate) fn write_u64(fd: BorrowedFd<'_>, value: u64) -> io::Result<()> {
    match write(fd, &value.to_ne_bytes())? {
        8 => Ok(()),
        n => Err(io::Error::new(
            io::ErrorKind::WriteZero,
            std::format!("write(fd {}): {n} of 8 bytes", fd.as_raw_fd()),
        )),
    }
}

/// `close(fd)`, reporting the error that dropping an [`OwnedFd`] ignores.
/// Not retried on `EINTR`: Linux has released the fd by then.
pub(crate) fn close(fd: OwnedFd) -> io::Result<()> {
    let raw = fd.into_raw_fd();
    // SAFETY: `raw` came from an `OwnedFd`, whose ownership ends here.
    if unsafe { ffi::close(raw) } == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(EINTR) => Ok(()),
        _ => Err(context(format_args!("close(fd {raw})"), err)),
    }
}

/// `fcntl(fd, F_GETFL)`: the file status flags (`O_NONBLOCK`, …).
pub(crate) fn fcntl_getfl(fd: BorrowedFd<'_>) -> io::Result<c_int> {
    let raw = fd.as_raw_fd();
    syscall(format_args!("fcntl(fd {raw}, F_GETFL)"), || {
        // SAFETY: F_GETFL takes no argument.
        unsafe { ffi::fcntl(raw, F_GETFL) }
    })
}

/// `fcntl(fd, F_SETFL, flags)`.
pub(crate) fn fcntl_setfl(fd: BorrowedFd<'_>, flags: c_int) -> io::Result<()> {
    let raw = fd.as_raw_fd();
    syscall(format_args!("fcntl(fd {raw}, F_SETFL)"), || {
        // SAFETY: F_SETFL takes an `int` argument.
        unsafe { ffi::fcntl(raw, F_SETFL, flags) }
    })
    .map(drop)
}

/// `fcntl(fd, F_GETFD)`: the fd flags (`FD_CLOEXEC`).
pub(crate) fn fcntl_getfd(fd: BorrowedFd<'_>) -> io::Result<c_int> {
    let raw = fd.as_raw_fd();
    syscall(format_args!("fcntl(fd {raw}, F_GETFD)"), || {
        // SAFETY: F_GETFD takes no argument.
        unsafe { ffi::fcntl(raw, F_GETFD) }
    })
}

/// Make `fd` non-blocking (for fds opened elsewhere, e.g. by `std::fs`).
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    let flags = fcntl_getfl(fd)?;
    if flags & O_NONBLOCK == 0 {
        fcntl_setfl(fd, flags | O_NONBLOCK)?;
    }
    Ok(())
}

// ---------------------------------------------------------------- inotify

/// `inotify_init1(IN_CLOEXEC | IN_NONBLOCK)`.
pub(crate) fn inotify_init() -> io::Result<OwnedFd> {
    syscall(format_args!("inotify_init1"), || {
        // SAFETY: no pointers; the result is owned at once by `own`.
        unsafe { ffi::inotify_init1(IN_CLOEXEC | IN_NONBLOCK) }
    })
    // SAFETY: the `Ok` value of an fd-creating call, owned by nobody yet.
    .map(|fd| unsafe { own(fd) })
}

/// `inotify_add_watch(fd, path, mask)`: the watch descriptor.
pub(crate) fn inotify_add_watch(fd: BorrowedFd<'_>, path: &Path, mask: u32) -> io::Result<c_int> {
    let c_path = CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            std::format!(
                "inotify_add_watch({}): path contains a NUL byte",
                path.display()
            ),
        )
    })?;
    let raw = fd.as_raw_fd();
    syscall(
        format_args!("inotify_add_watch({})", path.display()),
        || {
            // SAFETY: `c_path` is a NUL-terminated string alive for the call.
            unsafe { ffi::inotify_add_watch(raw, c_path.as_ptr(), mask) }
        },
    )
}

/// `inotify_rm_watch(fd, wd)`.
pub(crate) fn inotify_rm_watch(fd: BorrowedFd<'_>, wd: c_int) -> io::Result<()> {
    let raw = fd.as_raw_fd();
    syscall(format_args!("inotify_rm_watch(fd {raw}, wd {wd})"), || {
        // SAFETY: no pointers.
        unsafe { ffi::inotify_rm_watch(raw, wd) }
    })
    .map(drop)
}

// ---------------------------------------------------------------- ioctl

/// `ioctl(fd, request, arg)` with a pointer argument; returns the call's
/// non-negative result.
///
/// # Safety
///
/// `arg` must be valid for what `request` does with it on this fd: for an
/// [`ior`] request, writable for the encoded size; for [`iow`], readable
/// for it; for [`iowr`], both. The kernel must not keep the pointer.
pub(crate) unsafe fn ioctl_ptr(
    fd: BorrowedFd<'_>,
    request: u32,
    arg: *mut c_void,
) -> io::Result<c_int> {
    let raw = fd.as_raw_fd();
    syscall(format_args!("ioctl(fd {raw}, {request:#x})"), || {
        // SAFETY: the caller guarantees `arg` fits `request` (see above);
        // the cast reinterprets the 32-bit number as the C request type.
        unsafe { ffi::ioctl(raw, request as IoctlRequest, arg) }
    })
}

/// `ioctl(fd, request, arg)` with an integer argument passed by value
/// (e.g. `EVIOCRMFF`).
///
/// # Safety
///
/// `request` on this fd must take an `int` by value, not a pointer.
pub(crate) unsafe fn ioctl_int(fd: BorrowedFd<'_>, request: u32, arg: c_int) -> io::Result<c_int> {
    let raw = fd.as_raw_fd();
    syscall(format_args!("ioctl(fd {raw}, {request:#x})"), || {
        // SAFETY: the caller guarantees `request` takes an `int` value.
        unsafe { ffi::ioctl(raw, request as IoctlRequest, arg) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespec_round_trip() {
        let d = Duration::new(5, 123_456_789);
        assert_eq!(Timespec::from_duration(d).to_duration(), d);
        let huge = Timespec::from_duration(Duration::MAX);
        assert_eq!(huge.tv_nsec, 999_999_999);
        let negative = Timespec {
            tv_sec: -1,
            tv_nsec: -1,
        };
        assert_eq!(negative.to_duration(), Duration::ZERO);
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn would_block_is_bare_and_other_errors_say_what_failed() {
        let fd = eventfd(0).unwrap();
        let empty = read_u64(fd.as_fd()).unwrap_err();
        assert_eq!(empty.kind(), io::ErrorKind::WouldBlock);
        assert_eq!(empty.raw_os_error(), Some(EAGAIN));
        // An eventfd refuses u64::MAX.
        let err = write_u64(fd.as_fd(), u64::MAX).unwrap_err();
        let raw = fd.as_raw_fd();
        assert_eq!(errno(&err), Some(EINVAL));
        assert!(
            err.to_string()
                .starts_with(&std::format!("write(fd {raw}): ")),
            "{err}"
        );
        assert!(err.source().is_some());
        write_u64(fd.as_fd(), 2).unwrap();
        assert_eq!(read_u64(fd.as_fd()).unwrap(), 2);
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn fds_are_cloexec_nonblock() {
        let fds = [
            epoll_create().unwrap(),
            eventfd(0).unwrap(),
            timerfd_create().unwrap(),
            inotify_init().unwrap(),
        ];
        for fd in &fds {
            assert_ne!(fcntl_getfd(fd.as_fd()).unwrap() & FD_CLOEXEC, 0);
            assert_ne!(fcntl_getfl(fd.as_fd()).unwrap() & O_NONBLOCK, 0);
        }
        for fd in fds {
            close(fd).unwrap();
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn timerfd_fires_in_epoll() {
        let epoll = epoll_create().unwrap();
        let timer = timerfd_create().unwrap();
        epoll_ctl(epoll.as_fd(), EPOLL_CTL_ADD, timer.as_raw_fd(), EPOLLIN, 7).unwrap();
        let start = clock_gettime(CLOCK_MONOTONIC).unwrap().to_duration();
        let at = Itimerspec {
            it_interval: Timespec::default(),
            // Far enough ahead that a slow (emulated) machine still sees it
            // armed below.
            it_value: Timespec::from_duration(start + Duration::from_millis(200)),
        };
        let old = timerfd_settime(timer.as_fd(), TFD_TIMER_ABSTIME, &at).unwrap();
        assert_eq!(old, Itimerspec::default());
        assert_ne!(
            timerfd_gettime(timer.as_fd()).unwrap(),
            Itimerspec::default()
        );
        let mut events = [EpollEvent::new(0, 0); 4];
        assert_eq!(epoll_wait(epoll.as_fd(), &mut events, 10_000).unwrap(), 1);
        assert_eq!((events[0].data(), events[0].events()), (7, EPOLLIN));
        assert_eq!(read_u64(timer.as_fd()).unwrap(), 1);
        let end = clock_gettime(CLOCK_MONOTONIC).unwrap().to_duration();
        assert!(end >= start + Duration::from_millis(200));
        epoll_ctl(epoll.as_fd(), EPOLL_CTL_DEL, timer.as_raw_fd(), 0, 0).unwrap();
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI")]
    fn inotify_errors_name_the_path() {
        let fd = inotify_init().unwrap();
        let wd = inotify_add_watch(fd.as_fd(), Path::new("."), IN_CREATE).unwrap();
        inotify_rm_watch(fd.as_fd(), wd).unwrap();
        let err = inotify_add_watch(fd.as_fd(), Path::new("/no/such/dir"), IN_CREATE).unwrap_err();
        assert_eq!(errno(&err), Some(ENOENT));
        assert!(err.to_string().contains("/no/such/dir"), "{err}");
        let nul = inotify_add_watch(fd.as_fd(), Path::new("a\0b"), IN_CREATE).unwrap_err();
        assert_eq!(nul.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    #[cfg_attr(miri, ignore = "FFI")]
    fn ioctl_reads_into_a_buffer() {
        // FIONREAD: bytes waiting in a socket (a legacy, non-_IOC number).
        const FIONREAD: u32 = 0x541B;
        let (mut tx, rx) = std::os::unix::net::UnixStream::pair().unwrap();
        std::io::Write::write_all(&mut tx, b"12345").unwrap();
        let mut pending: c_int = 0;
        // SAFETY: FIONREAD writes one `int` through the pointer.
        unsafe { ioctl_ptr(rx.as_fd(), FIONREAD, (&mut pending as *mut c_int).cast()) }.unwrap();
        assert_eq!(pending, 5);
        // SAFETY: a request number no driver knows: the kernel rejects it
        // without touching the (by-value) argument.
        let err = unsafe { ioctl_int(rx.as_fd(), io(b'Z', 0xff), 0) }.unwrap_err();
        assert!(err.to_string().starts_with("ioctl(fd "), "{err}");
    }
}
