//! The raw Linux ABI the tests need (64- and 32-bit layouts asserted), every call
//! checked through one door ([`check`]): non-blocking fds (pipes, eventfds,
//! `fcntl`, the open-file limit) and `/proc` probes for the `device_*`,
//! `timer_*` and `blocking_*` tests; and, from `<linux/input.h>` and
//! `<linux/uinput.h>`, the codes, ioctl numbers and `#[repr(C)]` structs
//! (sizes asserted) of the guest's device support. Included alone with
//! `#[path = "support/sys.rs"] mod sys;`, or as `support::sys`.
#![allow(dead_code)] // each test file uses a part

use std::fs::File;
use std::io::{self, Read, Write};
use std::mem::size_of;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::raw::{c_int, c_short, c_ulong};
use std::thread::{self, JoinHandle};
use std::time::Duration;

// Event types.
pub const EV_SYN: u16 = 0x00;
pub const EV_KEY: u16 = 0x01;
pub const EV_REL: u16 = 0x02;
pub const EV_ABS: u16 = 0x03;
pub const EV_LED: u16 = 0x11;
pub const EV_FF: u16 = 0x15;
/// Requests the uinput owner must answer (read from the uinput fd).
pub const EV_UINPUT: u16 = 0x0101;
pub const SYN_REPORT: u16 = 0;
pub const SYN_DROPPED: u16 = 3;
pub const UI_FF_UPLOAD: u16 = 1;
pub const UI_FF_ERASE: u16 = 2;

// The standard gamepad layout (Documentation/input/gamepad.rst).
pub const BTN_SOUTH: u16 = 0x130;
pub const BTN_EAST: u16 = 0x131;
pub const BTN_NORTH: u16 = 0x133;
pub const BTN_WEST: u16 = 0x134;
pub const BTN_TL: u16 = 0x136;
pub const BTN_TR: u16 = 0x137;
pub const BTN_TL2: u16 = 0x138;
pub const BTN_TR2: u16 = 0x139;
pub const BTN_SELECT: u16 = 0x13a;
pub const BTN_START: u16 = 0x13b;
pub const BTN_MODE: u16 = 0x13c;
pub const BTN_THUMBL: u16 = 0x13d;
pub const BTN_THUMBR: u16 = 0x13e;
pub const ABS_X: u16 = 0x00;
pub const ABS_Y: u16 = 0x01;
pub const ABS_Z: u16 = 0x02;
pub const ABS_RX: u16 = 0x03;
pub const ABS_RY: u16 = 0x04;
pub const ABS_RZ: u16 = 0x05;
pub const ABS_HAT0X: u16 = 0x10;
pub const ABS_HAT0Y: u16 = 0x11;
pub const ABS_HAT2X: u16 = 0x14;
pub const ABS_HAT2Y: u16 = 0x15;

// Mouse.
pub const BTN_LEFT: u16 = 0x110;
pub const BTN_RIGHT: u16 = 0x111;
pub const BTN_MIDDLE: u16 = 0x112;
pub const REL_X: u16 = 0x00;
pub const REL_Y: u16 = 0x01;
pub const REL_WHEEL: u16 = 0x08;

// Keyboard.
pub const KEY_ESC: u16 = 1;
pub const KEY_A: u16 = 30;
pub const KEY_MICMUTE: u16 = 248;
pub const LED_NUML: u16 = 0;
pub const LED_CAPSL: u16 = 1;
pub const LED_SCROLLL: u16 = 2;

pub const FF_RUMBLE: u16 = 0x50;
pub const O_NONBLOCK: c_int = 0o4000;
pub const O_CLOEXEC: c_int = 0o2000000;
pub const F_GETFD: c_int = 1;
pub const F_GETFL: c_int = 3;
pub const FD_CLOEXEC: c_int = 1;
const RLIMIT_NOFILE: c_int = 7;
pub const BUS_USB: u16 = 0x03;
pub const BUS_VIRTUAL: u16 = 0x06;
/// Bytes of the largest `EVIOCGBIT` answer (`KEY_MAX / 8 + 1`).
pub const BITS_LEN: usize = 96;
pub const UINPUT_MAX_NAME_SIZE: usize = 80;

const IOC_NONE: u32 = 0;
const IOC_WRITE: u32 = 1;
const IOC_READ: u32 = 2;

/// `_IOC(dir, ty, nr, size)` from `<asm-generic/ioctl.h>`.
const fn ioc(dir: u32, ty: u8, nr: u32, size: usize) -> c_ulong {
    ((dir << 30) | ((size as u32) << 16) | ((ty as u32) << 8) | nr) as c_ulong
}

pub const UI_DEV_CREATE: c_ulong = ioc(IOC_NONE, b'U', 1, 0);
pub const UI_DEV_DESTROY: c_ulong = ioc(IOC_NONE, b'U', 2, 0);
pub const UI_DEV_SETUP: c_ulong = ioc(IOC_WRITE, b'U', 3, size_of::<UinputSetup>());
pub const UI_ABS_SETUP: c_ulong = ioc(IOC_WRITE, b'U', 4, size_of::<UinputAbsSetup>());
pub const UI_SET_EVBIT: c_ulong = ioc(IOC_WRITE, b'U', 100, size_of::<c_int>());
pub const UI_SET_KEYBIT: c_ulong = ioc(IOC_WRITE, b'U', 101, size_of::<c_int>());
pub const UI_SET_RELBIT: c_ulong = ioc(IOC_WRITE, b'U', 102, size_of::<c_int>());
pub const UI_SET_ABSBIT: c_ulong = ioc(IOC_WRITE, b'U', 103, size_of::<c_int>());
pub const UI_SET_LEDBIT: c_ulong = ioc(IOC_WRITE, b'U', 105, size_of::<c_int>());
pub const UI_SET_FFBIT: c_ulong = ioc(IOC_WRITE, b'U', 107, size_of::<c_int>());
pub const UI_BEGIN_FF_UPLOAD: c_ulong =
    ioc(IOC_READ | IOC_WRITE, b'U', 200, size_of::<UinputFfUpload>());
pub const UI_END_FF_UPLOAD: c_ulong = ioc(IOC_WRITE, b'U', 201, size_of::<UinputFfUpload>());
pub const UI_BEGIN_FF_ERASE: c_ulong =
    ioc(IOC_READ | IOC_WRITE, b'U', 202, size_of::<UinputFfErase>());
pub const UI_END_FF_ERASE: c_ulong = ioc(IOC_WRITE, b'U', 203, size_of::<UinputFfErase>());
/// `UI_GET_SYSNAME(len)`: the `inputN` name under `/sys/devices/virtual/input`.
pub const fn ui_get_sysname(len: usize) -> c_ulong {
    ioc(IOC_READ, b'U', 44, len)
}

pub const EVIOCGVERSION: c_ulong = ioc(IOC_READ, b'E', 0x01, size_of::<c_int>());
pub const EVIOCGID: c_ulong = ioc(IOC_READ, b'E', 0x02, size_of::<InputId>());
pub const EVIOCSFF: c_ulong = ioc(IOC_WRITE, b'E', 0x80, size_of::<FfEffect>());
pub const EVIOCRMFF: c_ulong = ioc(IOC_WRITE, b'E', 0x81, size_of::<c_int>());
pub const EVIOCGEFFECTS: c_ulong = ioc(IOC_READ, b'E', 0x84, size_of::<c_int>());
pub const fn eviocgname(len: usize) -> c_ulong {
    ioc(IOC_READ, b'E', 0x06, len)
}
/// `EVIOCGBIT(ev, len)`; `ev == 0` asks for the event types.
pub const fn eviocgbit(ev: u16, len: usize) -> c_ulong {
    ioc(IOC_READ, b'E', 0x20 + ev as u32, len)
}
pub const fn eviocgabs(axis: u16) -> c_ulong {
    ioc(IOC_READ, b'E', 0x40 + axis as u32, size_of::<AbsInfo>())
}

/// `struct input_id`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InputId {
    pub bustype: u16,
    pub vendor: u16,
    pub product: u16,
    pub version: u16,
}

/// `struct input_absinfo`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AbsInfo {
    pub value: i32,
    pub minimum: i32,
    pub maximum: i32,
    pub fuzz: i32,
    pub flat: i32,
    pub resolution: i32,
}

/// `struct input_event`, moved as its bytes: the time as two `unsigned
/// long`s (16 bytes on 64-bit targets, 8 on 32-bit ones, whatever the C
/// library's `time_t`), then type, code, value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InputEvent {
    pub kind: u16,
    pub code: u16,
    pub value: i32,
}

/// Where `type` starts in an event's bytes.
const KIND_AT: usize = 2 * size_of::<c_ulong>();

impl InputEvent {
    pub const SIZE: usize = KIND_AT + 8;

    pub fn new(kind: u16, code: u16, value: i32) -> Self {
        Self { kind, code, value }
    }

    /// The kernel's bytes; a zero time means "now" when written to uinput.
    pub fn to_bytes(self) -> [u8; Self::SIZE] {
        let mut b = [0; Self::SIZE];
        b[KIND_AT..KIND_AT + 2].copy_from_slice(&self.kind.to_ne_bytes());
        b[KIND_AT + 2..KIND_AT + 4].copy_from_slice(&self.code.to_ne_bytes());
        b[KIND_AT + 4..].copy_from_slice(&self.value.to_ne_bytes());
        b
    }

    /// Parses one event, ignoring its time stamp.
    pub fn from_bytes(b: &[u8; Self::SIZE]) -> Self {
        let at = |i: usize| b[KIND_AT + i];
        Self {
            kind: u16::from_ne_bytes([at(0), at(1)]),
            code: u16::from_ne_bytes([at(2), at(3)]),
            value: i32::from_ne_bytes([at(4), at(5), at(6), at(7)]),
        }
    }
}

/// `struct uinput_setup`.
#[repr(C)]
pub struct UinputSetup {
    pub id: InputId,
    pub name: [u8; UINPUT_MAX_NAME_SIZE],
    pub ff_effects_max: u32,
}

/// `struct uinput_abs_setup`.
#[repr(C)]
pub struct UinputAbsSetup {
    pub code: u16,
    pub absinfo: AbsInfo,
}

/// `struct ff_effect` with its union seen as rumble (`strong`, `weak` first).
/// The union's largest member holds a pointer: 32 bytes, 8-aligned, on
/// 64-bit targets (48 in all); 28, 4-aligned, on 32-bit ones (44).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct FfEffect {
    pub kind: u16,
    pub id: i16,
    pub direction: u16,
    pub trigger: [u16; 2],
    /// `length`, `delay` in milliseconds.
    pub replay: [u16; 2],
    /// The union is aligned to its pointer member: it starts at 16.
    pub pad: u16,
    /// `u.rumble.strong_magnitude`, `u.rumble.weak_magnitude`, rest of `u`.
    pub rumble: [u16; 2],
    pub rest: [usize; 24 / size_of::<usize>()],
}

/// `struct uinput_ff_upload`.
#[repr(C)]
#[derive(Default)]
pub struct UinputFfUpload {
    pub request_id: u32,
    pub retval: i32,
    pub effect: FfEffect,
    pub old: FfEffect,
}

/// `struct uinput_ff_erase`.
#[repr(C)]
#[derive(Default)]
pub struct UinputFfErase {
    pub request_id: u32,
    pub retval: i32,
    pub effect_id: u32,
}

/// `struct pollfd`.
#[repr(C)]
struct PollFd {
    fd: c_int,
    events: c_short,
    revents: c_short,
}

/// `struct rlimit` (`rlim_t` is `unsigned long`).
#[repr(C)]
struct Rlimit {
    cur: c_ulong,
    max: c_ulong,
}

const _: () = assert!(size_of::<InputId>() == 8);
const _: () = assert!(size_of::<AbsInfo>() == 24);
const _: () = assert!(size_of::<UinputSetup>() == 92);
const _: () = assert!(size_of::<UinputAbsSetup>() == 28);
const _: () = assert!(size_of::<UinputFfErase>() == 12);
const _: () = assert!(size_of::<PollFd>() == 8);
#[cfg(target_pointer_width = "64")]
const _: () = {
    assert!(InputEvent::SIZE == 24);
    assert!(size_of::<FfEffect>() == 48);
    assert!(size_of::<UinputFfUpload>() == 104);
    assert!(size_of::<Rlimit>() == 16);
    assert!(size_of::<EpollEvent>() == if cfg!(target_arch = "x86_64") { 12 } else { 16 });
};
#[cfg(target_pointer_width = "32")]
const _: () = {
    assert!(InputEvent::SIZE == 16);
    assert!(size_of::<FfEffect>() == 44);
    assert!(size_of::<UinputFfUpload>() == 96);
    assert!(size_of::<Rlimit>() == 8);
    assert!(size_of::<EpollEvent>() == if cfg!(target_arch = "x86") { 12 } else { 16 });
};

/// `struct epoll_event`: packed on x86_64 only.
#[cfg_attr(target_arch = "x86_64", repr(C, packed))]
#[cfg_attr(not(target_arch = "x86_64"), repr(C))]
#[derive(Clone, Copy)]
pub struct EpollEvent {
    pub events: u32,
    pub data: u64,
}

extern "C" {
    fn ioctl(fd: c_int, request: c_ulong, ...) -> c_int;
    fn poll(fds: *mut PollFd, nfds: c_ulong, timeout: c_int) -> c_int;
    fn pipe2(fds: *mut c_int, flags: c_int) -> c_int;
    fn eventfd(initval: u32, flags: c_int) -> c_int;
    fn fcntl(fd: c_int, cmd: c_int, ...) -> c_int;
    fn getrlimit(resource: c_int, rlim: *mut Rlimit) -> c_int;
    fn epoll_create1(flags: c_int) -> c_int;
    fn epoll_ctl(epfd: c_int, op: c_int, fd: c_int, event: *mut EpollEvent) -> c_int;
    fn epoll_wait(epfd: c_int, events: *mut EpollEvent, max: c_int, timeout: c_int) -> c_int;
    fn setfsuid(fsuid: u32) -> c_int;
    fn setrlimit(resource: c_int, rlim: *const Rlimit) -> c_int;
}

/// An OS error with what failed; [`errno`] finds the code again.
#[derive(Debug)]
pub struct OsError {
    what: String,
    source: io::Error,
}

impl std::fmt::Display for OsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.what, self.source)
    }
}

impl std::error::Error for OsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Wraps an OS error `source` with `what` failed, keeping its kind.
pub fn context(source: io::Error, what: impl Into<String>) -> io::Error {
    io::Error::new(
        source.kind(),
        OsError {
            what: what.into(),
            source,
        },
    )
}

/// The errno of an error from this module (or a plain OS error).
pub fn errno(e: &io::Error) -> Option<i32> {
    e.raw_os_error().or_else(|| {
        e.get_ref()?
            .downcast_ref::<OsError>()?
            .source
            .raw_os_error()
    })
}

/// Turns a C `-1` into the thread's `errno`, with what failed.
fn check(ret: c_int, what: &str) -> io::Result<c_int> {
    if ret < 0 {
        return Err(context(io::Error::last_os_error(), what));
    }
    Ok(ret)
}

/// Owns `fd`, a fresh fd from a successful call.
fn owned(fd: c_int) -> OwnedFd {
    // SAFETY: `fd` was just returned open by the kernel, and nobody else
    // owns it.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// A non-blocking, close-on-exec pipe: (read end, write end).
pub fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [-1; 2];
    // SAFETY: `fds` has room for the two fds the call writes.
    check(
        unsafe { pipe2(fds.as_mut_ptr(), O_NONBLOCK | O_CLOEXEC) },
        "pipe2",
    )
    .unwrap();
    (owned(fds[0]), owned(fds[1]))
}

/// A non-blocking, close-on-exec eventfd with counter 0.
pub fn new_eventfd() -> OwnedFd {
    // SAFETY: `eventfd` takes no pointers.
    let fd = check(unsafe { eventfd(0, O_NONBLOCK | O_CLOEXEC) }, "eventfd").unwrap();
    owned(fd)
}

/// `fcntl(fd, F_GETFD)` and `fcntl(fd, F_GETFL)`: (fd flags, status flags).
pub fn fd_flags(fd: c_int) -> (c_int, c_int) {
    let get = |cmd, name| {
        // SAFETY: `F_GETFD` and `F_GETFL` take no argument.
        check(unsafe { fcntl(fd, cmd) }, &format!("fcntl({fd}, {name})")).unwrap()
    };
    (get(F_GETFD, "F_GETFD"), get(F_GETFL, "F_GETFL"))
}

/// Raises this process's open-file limit to at least `n` (up to the hard
/// limit), for tests that hold thousands of fds on machines whose default
/// soft limit is 1024.
pub fn raise_fd_limit(n: u64) {
    let mut lim = Rlimit { cur: 0, max: 0 };
    // SAFETY: `lim` is a valid, writable `struct rlimit`.
    check(unsafe { getrlimit(RLIMIT_NOFILE, &mut lim) }, "getrlimit").unwrap();
    let want = c_ulong::try_from(n).unwrap_or(c_ulong::MAX);
    if lim.cur < want {
        lim.cur = want.min(lim.max);
        // SAFETY: `lim` is a valid `struct rlimit`.
        check(unsafe { setrlimit(RLIMIT_NOFILE, &lim) }, "setrlimit").unwrap();
    }
}

/// A `File` on a duplicate of `fd`, to read and write through.
pub fn file(fd: impl AsFd) -> File {
    File::from(fd.as_fd().try_clone_to_owned().unwrap())
}

/// Adds 1 to an eventfd's counter.
pub fn bump(mut f: &File) {
    f.write_all(&1u64.to_ne_bytes()).unwrap();
}

/// Bumps the eventfd behind `writer` `n` times from a new thread, one bump
/// every `gap`.
pub fn bump_every(writer: File, n: usize, gap: Duration) -> JoinHandle<()> {
    thread::spawn(move || {
        for _ in 0..n {
            thread::sleep(gap);
            bump(&writer);
        }
    })
}

/// A non-blocking read; `None` on `WouldBlock`.
pub fn try_read(mut f: &File, buf: &mut [u8]) -> Option<usize> {
    match f.read(buf) {
        Ok(n) => Some(n),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
        Err(e) => panic!("read: {e}"),
    }
}

/// Awaits `device` until a read of its eventfd's 8-byte counter through
/// `reader` succeeds; returns the counter.
#[cfg(feature = "linux")]
pub async fn next_count(device: &mut pasts::linux::Device, reader: &File) -> u64 {
    let mut buf = [0; 8];
    loop {
        (&mut *device).await;
        if try_read(reader, &mut buf).is_some() {
            return u64::from_ne_bytes(buf);
        }
    }
}

/// The number of open fds of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// How many times the thread named `name` (e.g. `pasts-reactor`) went to
/// sleep so far (its `voluntary_ctxt_switches`; 0 while it does not exist).
pub fn thread_sleeps(name: &str) -> u64 {
    let tasks = std::fs::read_dir("/proc/self/task").unwrap();
    let thread = tasks.filter_map(|task| task.ok()).find(|task| {
        std::fs::read_to_string(task.path().join("comm")).is_ok_and(|comm| comm.trim_end() == name)
    });
    let Some(thread) = thread else { return 0 };
    let status = std::fs::read_to_string(thread.path().join("status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("voluntary_ctxt_switches:"))
        .map_or(0, |n| n.trim().parse().unwrap())
}

/// An ioctl whose argument is a plain integer.
pub fn ioctl_int(fd: impl AsFd, request: c_ulong, arg: c_ulong, what: &str) -> io::Result<c_int> {
    // SAFETY: `fd` is open for the call; the requests used with an integer
    // argument read no memory.
    check(unsafe { ioctl(fd.as_fd().as_raw_fd(), request, arg) }, what)
}

/// An ioctl whose argument points at `arg`, which must be the type (and
/// size) `request` encodes; this is on the caller, as in C.
pub fn ioctl_ptr<T>(fd: impl AsFd, request: c_ulong, arg: &mut T, what: &str) -> io::Result<c_int> {
    // SAFETY: `fd` is open; `arg` is valid for reads and writes of a `T`,
    // and the caller pairs `request` with its `T`, so the kernel accesses
    // only those bytes.
    check(
        unsafe { ioctl(fd.as_fd().as_raw_fd(), request, arg as *mut T) },
        what,
    )
}

/// Like [`ioctl_ptr`] for a byte buffer (`EVIOCGNAME`, `EVIOCGBIT`), whose
/// length the request encodes.
pub fn ioctl_buf(fd: impl AsFd, request: c_ulong, buf: &mut [u8], what: &str) -> io::Result<c_int> {
    debug_assert_eq!((request >> 16) as usize & 0x3fff, buf.len());
    // SAFETY: `fd` is open; `buf` is valid for writes of its length, which
    // is the size encoded in `request`, the most the kernel writes.
    check(
        unsafe { ioctl(fd.as_fd().as_raw_fd(), request, buf.as_mut_ptr()) },
        what,
    )
}

/// Waits up to `timeout_ms` for `fd` to be readable; `Ok(false)` on timeout.
pub fn poll_in(fd: impl AsFd, timeout_ms: c_int) -> io::Result<bool> {
    let mut p = PollFd {
        fd: fd.as_fd().as_raw_fd(),
        events: 1,
        revents: 0,
    }; // POLLIN
    loop {
        // SAFETY: `p` is one valid `pollfd` for the call.
        match check(unsafe { poll(&mut p, 1, timeout_ms) }, "poll") {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r.map(|n| n > 0),
        }
    }
}

/// Whether bit `n` is set in a kernel bitmap (`EVIOCGBIT`) as bytes, on a
/// little-endian machine (the guest is x86_64).
pub fn bit(bits: &[u8], n: u16) -> bool {
    bits.get(usize::from(n / 8))
        .is_some_and(|b| b & (1 << (n % 8)) != 0)
}

/// An epoll instance with `fd` registered for input (level-triggered), for
/// the raw baseline of the latency test.
pub fn epoll_for(fd: impl AsFd) -> io::Result<OwnedFd> {
    // SAFETY: no pointers.
    let ep = owned(check(unsafe { epoll_create1(O_CLOEXEC) }, "epoll_create1")?);
    let mut ev = EpollEvent { events: 1, data: 0 }; // EPOLLIN
                                                    // SAFETY: `ev` is a valid `epoll_event`; the kernel copies it.
    check(
        unsafe { epoll_ctl(ep.as_raw_fd(), 1, fd.as_fd().as_raw_fd(), &mut ev) },
        "epoll_ctl(ADD)",
    )?;
    Ok(ep)
}

/// `epoll_wait` for one event, forever; retries `EINTR`.
pub fn epoll_wait_one(ep: impl AsFd) -> io::Result<()> {
    let mut ev = EpollEvent { events: 0, data: 0 };
    loop {
        // SAFETY: room for the one event asked for.
        match check(
            unsafe { epoll_wait(ep.as_fd().as_raw_fd(), &mut ev, 1, -1) },
            "epoll_wait",
        ) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r.map(drop),
        }
    }
}

/// Makes the calling thread open files as user `uid` (its `fsuid`), which
/// also drops the thread's file capabilities (`CAP_DAC_OVERRIDE`): root
/// threads then meet permission checks. Per thread: other threads keep
/// theirs. Returns the previous fsuid.
pub fn set_thread_fsuid(uid: u32) -> u32 {
    // SAFETY: no pointers; glibc's wrapper is the raw, per-thread syscall.
    unsafe { setfsuid(uid) as u32 }
}

/// `chmod(path, mode)`.
pub fn chmod(path: &std::path::Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| context(e, format!("chmod {}", path.display())))
}
