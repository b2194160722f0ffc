//! [`Pad`]: one open event node and its state.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::boxed::Box;
use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::string::String;

use super::classify::Caps;
use super::decode::{Decoder, Step};
use super::rumble::{Failure, Rumble};
use super::{Axis, Button, Event, InputId};
use crate::linux::input_sys::{self as input, AbsBits, AbsInfo, InputEvent, KeyBits};
use crate::linux::{sys, Device, Watch};

/// Events read per `read` call.
const READ_EVENTS: usize = 64;

/// Full reads per poll at most (more than the kernel's queue of a pad
/// holds, so a wake still drains everything queued).
const MAX_READS: usize = 16;

/// One gamepad or joystick: its name, ids and state, its rumble, and a
/// re-pollable future of its [`Event`]s.
///
/// [`Gamepads`](super::Gamepads) finds and opens pads for you; open one
/// yourself with [`Pad::open`] and await it with `(&mut pad).await`.
///
/// The future's output is a plain [`Event`], not a `Result`: a pad that can
/// no longer be read (unplugged: `ENODEV`; or any other read error) yields
/// [`Event::Disconnected`] once and then stays pending. Its first event is
/// not [`Event::Connected`] (that one is `Gamepads`'): it is the pad's first
/// input.
///
/// State queries ([`pressed`](Pad::pressed), [`axis`](Pad::axis)) show
/// every complete frame read so far: once the future has yielded an event,
/// they show it (and may show the rest of a read that is still queued).
///
/// ```rust
/// use pasts::linux::gamepad::{Button, Pad};
///
/// match Pad::open("/dev/input/by-id/usb-Example_Pad-event-joystick") {
///     Ok(pad) => println!("{}: start held: {}", pad.name(), pad.pressed(Button::Start)),
///     // No such device, or not allowed to open it.
///     Err(e) => println!("{e}"),
/// }
/// ```
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct Pad {
    device: Device,
    path: PathBuf,
    name: String,
    id: InputId,
    decoder: Decoder,
    /// Bytes read and not decoded yet: a partial event at the front.
    buf: Box<[u8; READ_EVENTS * input::EVENT_SIZE]>,
    filled: usize,
    /// `Disconnected` was yielded.
    gone: bool,
    rumble: Rumble,
}

/// Why reading stopped for good.
struct Gone;

impl Pad {
    /// Open the event node at `path` (`/dev/input/eventN`) read-write
    /// (read-only if writing is not allowed: no rumble then).
    ///
    /// Any evdev node opens; [`Gamepads`](super::Gamepads) opens only
    /// gamepads and joysticks. Fails with the OS error, naming `path`:
    /// `NotFound`, `PermissionDenied`, or `ENOTTY`-like errors for a file
    /// that is not an event node.
    ///
    /// ```rust
    /// use pasts::linux::gamepad::Pad;
    ///
    /// let err = Pad::open("/dev/input/no-such-node").unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// assert!(err.to_string().contains("/dev/input/no-such-node"));
    /// ```
    pub fn open(path: impl AsRef<Path>) -> io::Result<Pad> {
        let path = path.as_ref();
        Pad::open_raw(path)
            .map(|(pad, _)| pad)
            .map_err(|e| with_path(path, e))
    }

    /// [`Pad::open`] with bare OS errors, and the pad's capabilities.
    pub(crate) fn open_raw(path: &Path) -> io::Result<(Pad, Caps)> {
        let open = |write| {
            OpenOptions::new()
                .read(true)
                .write(write)
                .custom_flags(sys::O_NONBLOCK)
                .open(path)
        };
        let file = match open(true) {
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => open(false).map_err(|_| e),
            other => other,
        }?;
        let fd = file.as_fd();
        let caps = Caps::query(fd)?;
        let raw = input::get_id(fd)?;
        // A device without a name answers ENOENT: it is nameless, not gone.
        let name = input::get_name(fd).unwrap_or_default();
        let mut keys = KeyBits::EMPTY;
        input::get_key_state(fd, &mut keys)?;
        let mut infos = [AbsInfo::default(); input::ABS_MAX as usize + 1];
        for code in 0..=input::ABS_MAX {
            if caps.abs.get(code) {
                infos[usize::from(code)] = input::get_abs(fd, code)?;
            }
        }
        let decoder = Decoder::new(&caps.abs, |code| infos[usize::from(code)], &keys);
        let id = InputId {
            bus: raw.bustype,
            vendor: raw.vendor,
            product: raw.product,
            version: raw.version,
        };
        let has_rumble = caps.ff.get(input::FF_RUMBLE);
        let pad = Pad::new(OwnedFd::from(file), path, name, id, has_rumble, decoder)?;
        Ok((pad, caps))
    }

    fn new(
        fd: OwnedFd,
        path: &Path,
        name: String,
        id: InputId,
        has_rumble: bool,
        decoder: Decoder,
    ) -> io::Result<Pad> {
        Ok(Pad {
            device: Device::new(fd, Watch::INPUT)?,
            path: path.into(),
            name,
            id,
            decoder,
            buf: Box::new([0; READ_EVENTS * input::EVENT_SIZE]),
            filled: 0,
            gone: false,
            rumble: Rumble::new(has_rumble),
        })
    }

    /// A pad that decodes the raw `input_event` bytes written to `fd` (a
    /// pipe, say), as a pad with the absolute axes `axes` — `(code, min,
    /// max, flat)` each — would. For tests and benches of the decoding: not
    /// part of the stable API. End of file is [`Event::Disconnected`]; a
    /// resync after `SYN_DROPPED` keeps the state (a pipe has none to read).
    #[doc(hidden)]
    pub fn from_recording(fd: OwnedFd, axes: &[(u16, i32, i32, i32)]) -> io::Result<Pad> {
        sys::set_nonblocking(fd.as_fd())?;
        let mut abs = AbsBits::EMPTY;
        axes.iter().for_each(|&(code, ..)| abs.set(code, true));
        let info = |code| {
            axes.iter().find(|a| a.0 == code).map_or(
                AbsInfo::default(),
                |&(_, minimum, maximum, flat)| AbsInfo {
                    minimum,
                    maximum,
                    flat,
                    // At rest: 0, or the end of the range nearer to it.
                    value: 0.clamp(minimum.min(maximum), maximum.max(minimum)),
                    ..AbsInfo::default()
                },
            )
        };
        let decoder = Decoder::new(&abs, info, &KeyBits::EMPTY);
        let path = Path::new("(recording)");
        Pad::new(fd, path, String::new(), InputId::default(), false, decoder)
    }

    /// The device's name (`EVIOCGNAME`), e.g. "Microsoft X-Box 360 pad";
    /// empty for a device that has none.
    ///
    /// ```rust
    /// # use pasts::linux::gamepad::Pad;
    /// if let Ok(pad) = Pad::open("/dev/input/by-id/usb-Example_Pad-event-joystick") {
    ///     println!("{}", pad.name());
    /// }
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The bus, vendor, product and version (`EVIOCGID`).
    ///
    /// ```rust
    /// # use pasts::linux::gamepad::Pad;
    /// if let Ok(pad) = Pad::open("/dev/input/by-id/usb-Example_Pad-event-joystick") {
    ///     let id = pad.id();
    ///     println!("{:04x}:{:04x}", id.vendor, id.product);
    /// }
    /// ```
    pub fn id(&self) -> InputId {
        self.id
    }

    /// Whether `button` is held (as of the frames read so far).
    ///
    /// ```rust
    /// # use pasts::linux::gamepad::{Button, Pad};
    /// if let Ok(pad) = Pad::open("/dev/input/by-id/usb-Example_Pad-event-joystick") {
    ///     println!("{}", pad.pressed(Button::South));
    /// }
    /// ```
    pub fn pressed(&self, button: Button) -> bool {
        self.decoder.pressed(button)
    }

    /// `axis`'s normalised position: sticks in [-1, 1] (right and up
    /// positive), triggers in [0, 1] (a pad with digital triggers only
    /// reads 0 or 1); 0 for an axis the pad does not have.
    ///
    /// ```rust
    /// # use pasts::linux::gamepad::{Axis, Pad};
    /// if let Ok(pad) = Pad::open("/dev/input/by-id/usb-Example_Pad-event-joystick") {
    ///     let (x, y) = (pad.axis(Axis::LeftX), pad.axis(Axis::LeftY));
    ///     assert!(x.abs() <= 1.0 && y.abs() <= 1.0);
    /// }
    /// ```
    pub fn axis(&self, axis: Axis) -> f32 {
        self.decoder.axis(axis)
    }

    /// Rumble with the `strong` (low-frequency) and `weak` (high-frequency)
    /// motors at 0 (off) to 1 (full), until changed; `(0.0, 0.0)` stops.
    /// Values outside 0..=1 are clamped, NaN is 0.
    ///
    /// The first call uploads a rumble effect (`EVIOCSFF`) and plays it;
    /// later calls update the same effect. The effect is erased when the
    /// pad drops. Each call is an ioctl that waits for the driver's answer.
    ///
    /// Fails with [`io::ErrorKind::Unsupported`] for a pad without
    /// force feedback (`FF_RUMBLE`), or with the OS error, naming the pad.
    ///
    /// ```rust
    /// # use pasts::linux::gamepad::Pad;
    /// if let Ok(pad) = Pad::open("/dev/input/by-id/usb-Example_Pad-event-joystick") {
    ///     match pad.rumble(1.0, 0.25) {
    ///         Ok(()) => pad.rumble(0.0, 0.0)?,
    ///         Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {}
    ///         Err(e) => return Err(e),
    ///     }
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn rumble(&self, strong: f32, weak: f32) -> io::Result<()> {
        self.rumble
            .set(self.device.as_fd(), strong, weak)
            .map_err(|failure| match failure {
                Failure::Unsupported => io::Error::new(
                    io::ErrorKind::Unsupported,
                    std::format!(
                        "{} ({}): no rumble (FF_RUMBLE) on this device",
                        self.path.display(),
                        self.name
                    ),
                ),
                Failure::Os(what, err) => io::Error::new(
                    err.kind(),
                    std::format!("{} ({}): {what}: {err}", self.path.display(), self.name),
                ),
            })
    }

    /// Whether decoded events wait to be yielded.
    pub(crate) fn has_ready(&self) -> bool {
        self.decoder.has_ready()
    }

    /// Read and decode everything queued, until the fd would block, or
    /// for at most `MAX_READS` full reads: a device that keeps its queue
    /// full cannot keep one poll going (the level-triggered device reports
    /// what is left on the next poll).
    fn drain(&mut self) -> Result<(), Gone> {
        for _ in 0..MAX_READS {
            let space = self.buf.len() - self.filled;
            let n = match sys::read(self.device.as_fd(), &mut self.buf[self.filled..]) {
                Ok(0) => return Err(Gone), // end of file: a closed pipe
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                // ENODEV (unplugged) and anything else: unreadable now.
                Err(_) => return Err(Gone),
            };
            let end = self.filled + n;
            let mut whole = end - end % input::EVENT_SIZE;
            let mut at = 0;
            while at < whole {
                let mut bytes = [0; input::EVENT_SIZE];
                bytes.copy_from_slice(&self.buf[at..at + input::EVENT_SIZE]);
                at += input::EVENT_SIZE;
                if self.decoder.feed(InputEvent::from_bytes(&bytes)) == Step::Resync
                    && self.resync()?
                {
                    // The rest of this read is older than the state just
                    // read (and the kernel dropped its queued key events
                    // when asked for the keys): skip it.
                    (at, whole) = (end, end);
                }
            }
            // Keep a partial event (never from evdev; a pipe may split one).
            self.buf.copy_within(whole..end, 0);
            self.filled = end - whole;
            if n < space {
                return Ok(()); // a short read: nothing more queued
            }
        }
        Ok(())
    }

    /// After `SYN_DROPPED`: read the device's state and report changes;
    /// `true` if it was read. On an fd that is not an event node (a
    /// recording) there is no state to read: keep ours.
    fn resync(&mut self) -> Result<bool, Gone> {
        let fd = self.device.as_fd();
        let gone = |e: &io::Error| sys::errno(e) == Some(sys::ENODEV);
        let mut keys = KeyBits::EMPTY;
        match input::get_key_state(fd, &mut keys) {
            Ok(()) => {}
            Err(e) if gone(&e) => return Err(Gone),
            Err(_) => return Ok(false),
        }
        let mut unplugged = false;
        let mut abs = [None; input::ABS_MAX as usize + 1];
        for code in self.decoder.axes() {
            match input::get_abs(fd, code) {
                Ok(info) => abs[usize::from(code)] = Some(info.value),
                Err(e) => unplugged |= gone(&e),
            }
        }
        if unplugged {
            return Err(Gone);
        }
        self.decoder.resync(&keys, |code| abs[usize::from(code)]);
        Ok(true)
    }
}

/// `err` with `path` in its message, same kind.
pub(crate) fn with_path(path: &Path, err: io::Error) -> io::Error {
    io::Error::new(err.kind(), std::format!("{}: {err}", path.display()))
}

impl Future for Pad {
    type Output = Event;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Event> {
        let this = self.get_mut();
        loop {
            if let Some(event) = this.decoder.pop() {
                return Poll::Ready(event);
            }
            // Read only when the reactor says so: a pad with nothing to
            // say costs no system call (its registration stays armed).
            if this.gone || Pin::new(&mut this.device).poll(cx).is_pending() {
                return Poll::Pending;
            }
            if this.drain().is_err() {
                this.gone = true;
                return Poll::Ready(Event::Disconnected);
            }
        }
    }
}

impl Drop for Pad {
    fn drop(&mut self) {
        self.rumble.erase(self.device.as_fd());
    }
}

impl fmt::Debug for Pad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pad")
            .field("path", &self.path)
            .field("name", &self.name)
            .field("id", &self.id)
            .field("rumble", &self.rumble.supported())
            .field("disconnected", &self.gone)
            .finish_non_exhaustive()
    }
}
