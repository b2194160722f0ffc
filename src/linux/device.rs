//! [`Device`]: an I/O object whose file descriptor the reactor watches.

use core::fmt;
use core::future::{poll_fn, Future};
use core::ops::BitOr;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::Arc;

use super::reactor::{Reactor, Registration, READ, WRITE};
use super::sys;

/// Which readiness a [`Device`] waits for when awaited. Combine with `|`.
///
/// ```rust
/// use pasts::linux::Watch;
///
/// let both = Watch::INPUT | Watch::OUTPUT;
/// assert_ne!(both, Watch::INPUT);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Watch(u8);

impl Watch {
    /// Ready to read (`EPOLLIN`), or at end of file / hang-up.
    pub const INPUT: Watch = Watch(READ);
    /// Ready to write (`EPOLLOUT`).
    pub const OUTPUT: Watch = Watch(WRITE);
}

impl BitOr for Watch {
    type Output = Watch;

    fn bitor(self, other: Watch) -> Watch {
        Watch(self.0 | other.0)
    }
}

/// An I/O object (a socket, a pipe, any fd) that futures can wait on.
///
/// Two ways to use it:
///
/// - [`read_with`](Device::read_with) / [`write_with`](Device::write_with)
///   run an I/O call on the object and, when it returns
///   [`io::ErrorKind::WouldBlock`], wait until the fd is readable (writable)
///   and call it again: a non-blocking call made async, whatever the
///   [`Watch`].
/// - Await the device itself (through `&mut`, again and again): it is ready
///   whenever the fd is ready for what it [`Watch`]es; then do the I/O, and
///   on `WouldBlock` await again. Readiness is level-triggered: awaiting
///   while unread data remains completes at once, and a readiness that came
///   before the first await is not lost. It may be ready spuriously.
///
/// Works on any executor (pasts, tokio, futures, smol): the epoll reactor
/// dispatches readiness to whatever waker polled last. Fds
/// that epoll refuses (`EPERM`: regular files, `/dev/null`) are always
/// ready, as `poll(2)` reports them. The waker is called on the thread
/// that collects the fd's events: the `pasts::block_on` thread that polled
/// the device last, as it sleeps, else the reactor thread; so a waker must
/// not block, nor run a future inline.
///
/// Dropping the device deregisters the fd, then drops the I/O object; an
/// event already in flight for it is ignored.
///
/// ```rust
/// use pasts::linux::{Device, Watch};
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
///
/// let (mut tx, rx) = UnixStream::pair()?;
/// let mut rx = Device::new(rx, Watch::INPUT)?;
/// tx.write_all(b"hi")?;
/// let mut buf = [0; 2];
/// let n = pasts::block_on(rx.read_with(|io| io.read(&mut buf)))?;
/// assert_eq!(&buf[..n], b"hi");
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct Device<T: AsFd = OwnedFd> {
    /// `None` for fds epoll refuses: always ready. Declared before `io`, so
    /// it is dropped (deregistered) while the fd is still open.
    registration: Option<Registered>,
    io: T,
    watch: Watch,
}

/// A device's place in the reactor; dropping it deregisters the fd.
struct Registered(Arc<Registration>);

impl<T: AsFd> Device<T> {
    /// Make `io`'s fd non-blocking and register it with the reactor
    /// (starting the reactor on first use).
    ///
    /// # Errors
    ///
    /// The OS error, with the fd number, if the fd cannot be made
    /// non-blocking or epoll rejects it for another reason than `EPERM`
    /// (e.g. `EEXIST`: another device has the same fd), or if the reactor
    /// cannot start. On error `io` is dropped (an owned fd closed); to keep
    /// the object whatever happens, pass a reference (`&T`, or an `Arc<T>`:
    /// any [`AsFd`]), or take it back later with
    /// [`into_inner`](Device::into_inner).
    ///
    /// ```rust
    /// use pasts::linux::{Device, Watch};
    /// use std::net::TcpListener;
    ///
    /// // epoll refuses regular files: they are always ready.
    /// let file = std::fs::File::open("Cargo.toml")?;
    /// let mut device = Device::new(file, Watch::INPUT)?;
    /// pasts::block_on(&mut device);
    ///
    /// // A borrowed socket stays the caller's, even if registering fails.
    /// let listener = TcpListener::bind("127.0.0.1:0")?;
    /// let device = Device::new(&listener, Watch::INPUT)?;
    /// assert!(Device::new(&listener, Watch::INPUT).is_err()); // EEXIST
    /// drop(device);
    /// assert!(listener.local_addr().is_ok());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(io: T, watch: Watch) -> io::Result<Device<T>> {
        let fd = io.as_fd();
        let raw = fd.as_raw_fd();
        let context = |e| sys::context(format_args!("pasts::linux::Device::new(fd {raw})"), e);
        sys::set_nonblocking(fd).map_err(context)?;
        let reactor = Reactor::get().map_err(context)?;
        let registration = reactor.register(fd, watch.0).map_err(context)?;
        Ok(Device {
            registration: registration.map(Registered),
            io,
            watch,
        })
    }

    /// What awaiting the device waits for.
    ///
    /// ```rust
    /// # use pasts::linux::{Device, Watch};
    /// # let file = std::fs::File::open("Cargo.toml")?;
    /// let device = Device::new(file, Watch::INPUT)?;
    /// assert_eq!(device.watch(), Watch::INPUT);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn watch(&self) -> Watch {
        self.watch
    }

    /// The I/O object.
    ///
    /// ```rust
    /// # use pasts::linux::{Device, Watch};
    /// let device = Device::new(std::fs::File::open("Cargo.toml")?, Watch::INPUT)?;
    /// assert!(device.get_ref().metadata()?.is_file());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn get_ref(&self) -> &T {
        &self.io
    }

    /// The I/O object, mutably. Do not replace or close its fd through
    /// it: the device stays registered for the fd number it was made with,
    /// which the reactor may add to or remove from an epoll set at any
    /// time.
    ///
    /// ```rust
    /// # use pasts::linux::{Device, Watch};
    /// use std::io::Read;
    ///
    /// let mut device = Device::new(std::fs::File::open("Cargo.toml")?, Watch::INPUT)?;
    /// let mut first = [0; 9];
    /// device.get_mut().read_exact(&mut first)?;
    /// assert_eq!(&first, b"[package]");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.io
    }

    /// Deregister and give the I/O object back (still non-blocking).
    ///
    /// ```rust
    /// # use pasts::linux::{Device, Watch};
    /// let file = std::fs::File::open("Cargo.toml")?;
    /// let device = Device::new(file, Watch::INPUT)?;
    /// let file = device.into_inner();
    /// assert!(file.metadata()?.is_file());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_inner(self) -> T {
        let Device {
            registration, io, ..
        } = self;
        drop(registration);
        io
    }

    /// Run `op` on the I/O object until it does not return
    /// [`WouldBlock`](io::ErrorKind::WouldBlock), waiting for the fd to be
    /// readable before each retry; returns `op`'s last result.
    ///
    /// `op` is run again from the start after `WouldBlock`, so it should be
    /// one call (`read`, `accept`, `recv`), not a loop like `read_exact`
    /// that may have consumed part of the data before it would block.
    ///
    /// ```rust
    /// use pasts::linux::{Device, Watch};
    /// use std::io::{Read, Write};
    /// use std::net::{TcpListener, TcpStream};
    ///
    /// let mut listener = Device::new(TcpListener::bind("127.0.0.1:0")?, Watch::INPUT)?;
    /// let mut client = TcpStream::connect(listener.get_ref().local_addr()?)?;
    /// client.write_all(b"hello")?;
    /// let mut buf = [0; 5];
    /// pasts::block_on(async {
    ///     let (stream, _) = listener.read_with(|io| io.accept()).await?;
    ///     let mut stream = Device::new(stream, Watch::INPUT)?;
    ///     let mut len = 0;
    ///     while len < buf.len() {
    ///         len += stream.read_with(|io| io.read(&mut buf[len..])).await?;
    ///     }
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// assert_eq!(&buf, b"hello");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn read_with<R>(&mut self, op: impl FnMut(&mut T) -> io::Result<R>) -> io::Result<R> {
        self.io_with(READ, op).await
    }

    /// Run `op` on the I/O object until it does not return
    /// [`WouldBlock`](io::ErrorKind::WouldBlock), waiting for the fd to be
    /// writable before each retry; returns `op`'s last result. Like
    /// [`read_with`](Self::read_with), `op` should be one call (`write`,
    /// `send`), not `write_all`, which may have written part of its buffer
    /// before it would block.
    ///
    /// ```rust
    /// use pasts::linux::{Device, Watch};
    /// use std::io::{Read, Write};
    /// use std::os::unix::net::UnixStream;
    ///
    /// let (tx, mut rx) = UnixStream::pair()?;
    /// let mut tx = Device::new(tx, Watch::INPUT)?; // the watch is for awaits
    /// let sent = pasts::block_on(tx.write_with(|io| io.write(b"hi")))?;
    /// assert_eq!(sent, 2); // an empty socket buffer takes both bytes
    /// let mut buf = [0; 2];
    /// rx.read_exact(&mut buf)?;
    /// assert_eq!(&buf, b"hi");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn write_with<R>(
        &mut self,
        op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        self.io_with(WRITE, op).await
    }

    /// `read_with`/`write_with` for direction `dir`.
    async fn io_with<R>(
        &mut self,
        dir: u8,
        mut op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            let tick = self.registration.as_ref().map(|r| r.0.tick());
            match op(&mut self.io) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                done => return done,
            }
            // The fd just said "not ready": the first poll clears an older
            // readiness, unless an event came during the call.
            let mut seen = Some(tick);
            poll_fn(|cx| {
                let Some(registered) = &self.registration else {
                    // Always ready; but after a `WouldBlock` yield once, so
                    // the retry goes through the executor instead of
                    // spinning in a poll.
                    if seen.take().is_some() {
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                    return Poll::Ready(());
                };
                let seen = seen.take().flatten();
                match registered.0.poll_io(dir, seen, cx.waker()) {
                    true => Poll::Ready(()),
                    false => Poll::Pending,
                }
            })
            .await;
        }
    }
}

impl<T: AsFd> Device<T> {
    /// The device's readiness, as its `poll` but re-checked through epoll
    /// (see `Registration::poll_level`): for the timer driver.
    pub(crate) fn poll_ready(&self, waker: &Waker) -> Poll<()> {
        self.poll_level(None, waker)
    }

    fn poll_level(&self, fd: Option<BorrowedFd<'_>>, waker: &Waker) -> Poll<()> {
        match &self.registration {
            Some(registered) if !registered.0.poll_level(self.watch.0, fd, waker) => Poll::Pending,
            _ => Poll::Ready(()),
        }
    }

    /// The registration (`None`: always ready).
    pub(crate) fn registration(&self) -> Option<&Arc<Registration>> {
        self.registration.as_ref().map(|registered| &registered.0)
    }
}

impl<T: AsFd> Future for Device<T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.poll_level(Some(self.io.as_fd()), cx.waker())
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.0.deregister();
    }
}

impl<T: AsFd> AsFd for Device<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

impl<T: AsFd> AsRawFd for Device<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_fd().as_raw_fd()
    }
}

impl<T: AsFd> fmt::Debug for Device<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Device")
            .field("fd", &self.as_raw_fd())
            .field("watch", &self.watch)
            .field("always_ready", &self.registration.is_none())
            .finish()
    }
}
