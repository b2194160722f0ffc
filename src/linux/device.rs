//! [`Device`]: a future that is ready whenever a file descriptor is.

use core::fmt;
use core::future::Future;
use core::ops::BitOr;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::Arc;

use super::reactor::{Reactor, Registration};
use super::sys;

/// Which readiness a [`Device`] waits for. Combine with `|`.
///
/// ```rust
/// use pasts::linux::Watch;
///
/// let both = Watch::INPUT | Watch::OUTPUT;
/// assert_ne!(both, Watch::INPUT);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Watch(u32);

impl Watch {
    /// Ready to read (`EPOLLIN`), or at end of file / hang-up.
    pub const INPUT: Watch = Watch(sys::EPOLLIN);
    /// Ready to write (`EPOLLOUT`).
    pub const OUTPUT: Watch = Watch(sys::EPOLLOUT);
}

impl BitOr for Watch {
    type Output = Watch;

    fn bitor(self, other: Watch) -> Watch {
        Watch(self.0 | other.0)
    }
}

/// A file descriptor as a future: ready whenever the fd is ready for what it
/// [`Watch`]es. Await it again and again through `&mut`.
///
/// The pattern: await, then do non-blocking I/O on the fd; on `EAGAIN`
/// ([`io::ErrorKind::WouldBlock`]) await again. Readiness is
/// level-triggered: awaiting while unread data remains completes at once,
/// and a readiness that came before the first await is not lost.
///
/// Works on any executor (pasts, tokio, futures, smol): one process-wide
/// epoll reactor dispatches readiness to whatever waker polled last. Fds
/// that epoll refuses (`EPERM`: regular files, `/dev/null`) are always
/// ready, as `poll(2)` reports them. The waker is called on whichever thread
/// collects epoll events (a sleeping `pasts::block_on` thread or the
/// reactor thread), so a waker must not block, nor run a future inline.
///
/// Dropping the device deregisters and closes the fd; an event already in
/// flight for it is ignored.
///
/// ```rust
/// use pasts::linux::{Device, Watch};
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
///
/// let (mut tx, rx) = UnixStream::pair()?;
/// rx.set_nonblocking(true)?;
/// let mut rx_file = rx.try_clone()?;
/// let mut device = Device::new(rx.into(), Watch::INPUT)?;
/// tx.write_all(b"hi")?;
/// let mut buf = [0; 2];
/// pasts::block_on(async {
///     loop {
///         (&mut device).await;
///         match rx_file.read(&mut buf) {
///             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
///             other => break other.map(drop),
///         }
///     }
/// })?;
/// assert_eq!(&buf, b"hi");
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct Device {
    /// `None` for fds epoll refuses: always ready. Declared before `fd`, so
    /// it is dropped (deregistered) while the fd is still open.
    registration: Option<Registered>,
    fd: OwnedFd,
    watch: Watch,
}

/// A device's place in the reactor; dropping it deregisters the fd.
struct Registered {
    reactor: &'static Reactor,
    shared: Arc<Registration>,
    token: u64,
    /// The device's fd, open for as long as this lives.
    fd: RawFd,
}

impl Device {
    /// Register `fd` with the reactor (starting it on first use).
    ///
    /// Fails with the OS error if epoll rejects the fd for another reason
    /// than `EPERM` (e.g. `EBADF`), or if the reactor cannot start. The fd
    /// should be non-blocking, so I/O after a spurious wake-up returns
    /// `EAGAIN` instead of blocking the executor.
    ///
    /// ```rust
    /// use pasts::linux::{Device, Watch};
    ///
    /// // epoll refuses regular files: they are always ready.
    /// let file = std::fs::File::open("Cargo.toml")?;
    /// let mut device = Device::new(file.into(), Watch::INPUT)?;
    /// pasts::block_on(&mut device);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(fd: OwnedFd, watch: Watch) -> io::Result<Device> {
        let reactor = Reactor::get()?;
        let (shared, token) = reactor.insert()?;
        let events = watch.0 | sys::EPOLLONESHOT;
        let registration = match sys::epoll_ctl(
            reactor.epoll(),
            sys::EPOLL_CTL_ADD,
            fd.as_fd(),
            events,
            token,
        ) {
            Ok(()) => Some(Registered {
                reactor,
                shared,
                token,
                fd: fd.as_raw_fd(),
            }),
            Err(err) => {
                reactor.remove(token);
                if sys::errno(&err) != Some(sys::EPERM) {
                    return Err(err);
                }
                None
            }
        };
        Ok(Device {
            registration,
            fd,
            watch,
        })
    }

    /// What the device waits for.
    ///
    /// ```rust
    /// # use pasts::linux::{Device, Watch};
    /// # let file = std::fs::File::open("Cargo.toml")?;
    /// let device = Device::new(file.into(), Watch::INPUT)?;
    /// assert_eq!(device.watch(), Watch::INPUT);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn watch(&self) -> Watch {
        self.watch
    }

    /// Deregister and give the fd back.
    ///
    /// ```rust
    /// # use pasts::linux::{Device, Watch};
    /// let file = std::fs::File::open("Cargo.toml")?;
    /// let device = Device::new(file.into(), Watch::INPUT)?;
    /// let file = std::fs::File::from(device.into_fd());
    /// assert!(file.metadata()?.is_file());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_fd(self) -> OwnedFd {
        let Device {
            registration, fd, ..
        } = self;
        drop(registration);
        fd
    }
}

impl Future for Device {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let Some(registered) = &this.registration else {
            return Poll::Ready(());
        };
        let shared = &registered.shared;
        if shared.take_ready() {
            return Poll::Ready(());
        }
        shared.set_waker(cx.waker());
        // An event may have come before the waker was stored.
        if shared.take_ready() {
            return Poll::Ready(());
        }
        if shared.arm() {
            let rearm = sys::epoll_ctl(
                registered.reactor.epoll(),
                sys::EPOLL_CTL_MOD,
                this.fd.as_fd(),
                this.watch.0 | sys::EPOLLONESHOT,
                registered.token,
            );
            if rearm.is_err() {
                // Cannot wait for readiness: report it, so the caller's I/O
                // surfaces the fd's real error.
                shared.disarm();
                return Poll::Ready(());
            }
        }
        Poll::Pending
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        // Ignored: DEL fails only if the fd is not in the set, and then
        // there is nothing to remove.
        let _ = sys::epoll_delete(self.reactor.epoll(), self.fd);
        self.reactor.remove(self.token);
    }
}

impl AsFd for Device {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Device {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl fmt::Debug for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Device")
            .field("fd", &self.fd.as_raw_fd())
            .field("watch", &self.watch)
            .field("always_ready", &self.registration.is_none())
            .finish()
    }
}
