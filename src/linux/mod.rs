//! Futures for Linux file descriptors (feature `linux`).
//!
//! [`Device`] makes any I/O object with a file descriptor async: its
//! `read_with`/`write_with` retry a non-blocking call whenever the fd is
//! ready, and the device itself is a re-pollable future that is ready
//! whenever the fd is. It works on any executor: an epoll reactor,
//! started with the first device, wakes whatever waker polled the device
//! last. Each [`pasts::block_on`](crate::block_on) thread that awaits a
//! device sleeps in `epoll_wait` on an epoll set of its own, which the
//! device joins when polled there, so its event wakes the thread that
//! awaits it with no hop through another thread; a reactor thread serves
//! the other executors. [`Timer`] and [`Interval`] share one timerfd,
//! driven through the same reactor, however many there are.
//!
//! ```rust
//! use pasts::linux::{Device, Watch};
//! use std::io::{Read, Write};
//! use std::os::unix::net::UnixStream;
//!
//! let (mut tx, rx) = UnixStream::pair()?;
//! let mut device = Device::new(rx, Watch::INPUT)?;
//! tx.write_all(b"ping")?;
//! pasts::block_on(&mut device); // readable now
//! let mut buf = [0; 4];
//! pasts::block_on(device.read_with(|rx| rx.read_exact(&mut buf)))?;
//! assert_eq!(&buf, b"ping");
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Inside (for the crate's own modules)
//!
//! - `sys`: the only `extern "C"` declarations, one checked-syscall door
//!   (`-1` to an [`io::Error`](std::io::Error) that says what failed,
//!   `EINTR` retried there), `#[repr(C)]` structs with compile-time layout
//!   asserts, and `const fn`s that build ioctl numbers.
//! - `reactor`: the epoll sets (the reactor thread's shared one, one per
//!   `block_on` thread that polled a device), the slab of registrations
//!   (epoll data is a slab index + generation, never a pointer), `react`,
//!   which waits for events and wakes the registered wakers, and the
//!   moves of a registration to the set of the thread that polls it. A
//!   thread's set is the `Hook` it gives that thread's `block_on` in
//!   `thread.rs` (the core's seam): `block_on` sleeps in its
//!   `epoll_wait`, and an interrupt of the thread asleep there writes the
//!   set's eventfd.
//! - `device`: [`Device`] and [`Watch`].
//!
//! **How other modules hook into the reactor** (the timer does this): they
//! use a [`Device`] like any user, for their own fd (one timerfd for all
//! timers), and poll it with a waker of their own (`Arc<impl Wake>`). That
//! waker's `wake` runs on the thread that dispatches epoll events, right
//! after the event: it may read the fd, fire expired entries (waking the
//! users' wakers), re-arm the fd and poll the `Device` again to register
//! its waker again — all inline, with no lock of the reactor held. It must
//! not block and must not call `block_on` (the dispatching thread may be a
//! `block_on` thread, or the reactor thread).

#[cfg(feature = "audio")]
mod alsa_sys;
#[cfg(feature = "audio")]
pub mod audio;
mod device;
#[cfg(feature = "gamepad")]
pub mod gamepad;
mod reactor;
// `#[macro_use]`: its layout-assert macros serve the ABI files after it.
#[macro_use]
pub(crate) mod sys;
#[cfg(feature = "gamepad")]
mod input_sys;
mod timer;

pub use device::{Device, Watch};
pub use timer::{Interval, Timer};
