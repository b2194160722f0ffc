//! [`Gamepads`]: every pad in `/dev/input`, found at start and through
//! inotify, as one stream.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::boxed::Box;
use std::collections::{HashMap, VecDeque};
use std::io;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::string::String;
use std::vec::Vec;

use super::classify::Caps;
use super::pad::{with_path, Pad};
use super::{Event, PadId};
use crate::linux::{sys, Device, Watch};

/// The directory of event nodes.
const DIR: &str = "/dev/input";

/// What inotify reports on `/dev/input`: nodes made, removed and changed
/// (permissions), and a move in for good measure.
const MASK: u32 = sys::IN_CREATE | sys::IN_ATTRIB | sys::IN_DELETE | sys::IN_MOVED_TO;

/// Every gamepad and joystick, present and hot-plugged, as one re-pollable
/// future of `io::Result<(PadId, Event)>`.
///
/// Each pad first yields [`Event::Connected`] (those present at start
/// too) and, when unplugged, [`Event::Disconnected`] once; after that its
/// [`PadId`] is gone and a replugged pad gets a new one. An `Err` concerns
/// one device (a pad that cannot be opened: the message names its path);
/// the stream goes on after it. With no pads the future stays pending, at
/// no cost, until one is plugged in.
///
/// Works on any executor: every fd waits in the
/// [`Device`](crate::linux::Device) reactor. Events of different pads
/// are interleaved frame by frame (one pad's frame is never split).
///
/// ```rust,no_run
/// use pasts::linux::gamepad::{Event, Gamepads};
///
/// async fn run() -> std::io::Result<()> {
///     let mut pads = Gamepads::new()?;
///     loop {
///         let (id, event) = match (&mut pads).await {
///             Ok(next) => next,
///             Err(e) => {
///                 println!("{e}"); // e.g. a pad we may not open
///                 continue;
///             }
///         };
///         if event == Event::Connected {
///             if let Some(pad) = pads.get(id) {
///                 println!("{id:?} is {}", pad.name());
///             }
///         }
///     }
/// }
///
/// pasts::block_on(run())?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct Gamepads {
    /// The inotify watch on `/dev/input`; `None` without one.
    watch: Option<Watcher>,
    /// The open pads, in the order found.
    pads: Vec<(PadId, Pad)>,
    /// What became of each `eventN` node seen.
    nodes: HashMap<String, Node>,
    /// Connections and errors to yield before pad events.
    queue: VecDeque<io::Result<(PadId, Event)>>,
    /// Where the next round of polling the pads starts (fairness).
    next: usize,
}

/// An inotify fd and its read buffer.
struct Watcher {
    device: Device,
    buf: Box<[u8; 4096]>,
}

/// A node's fate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Node {
    /// A pad, open.
    Open(PadId),
    /// Not a pad: never opened (or closed after a look).
    Ignored,
    /// A pad that failed to open: reported once, retried on attribute
    /// changes.
    Failed,
}

impl Gamepads {
    /// Watch `/dev/input` and open every pad in it (each yields
    /// [`Event::Connected`] first).
    ///
    /// Without `/dev/input` (a container) there are no pads and the
    /// future stays pending. Fails if inotify cannot start (the per-user
    /// limit of watches or instances), or if `/dev/input` cannot be listed
    /// (the error names it).
    ///
    /// ```rust
    /// let pads = pasts::linux::gamepad::Gamepads::new()?;
    /// println!("{pads:?}");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> io::Result<Gamepads> {
        let mut pads = Gamepads {
            watch: None,
            pads: Vec::new(),
            nodes: HashMap::new(),
            queue: VecDeque::new(),
            next: 0,
        };
        let inotify = sys::inotify_init()?;
        // Watch first, then list: a node made in between is in both, and
        // `nodes` keeps it from being opened twice.
        match sys::inotify_add_watch(inotify.as_fd(), Path::new(DIR), MASK) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(pads),
            Err(e) => return Err(e),
        }
        pads.watch = Some(Watcher {
            device: Device::new(inotify, Watch::INPUT)?,
            buf: Box::new([0; 4096]),
        });
        pads.scan()?;
        Ok(pads)
    }

    /// Look at every node in the directory.
    fn scan(&mut self) -> io::Result<()> {
        let dir = Path::new(DIR);
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(with_path(dir, e)),
        };
        let mut names: Vec<String> = entries
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .collect();
        // In node order, so the pads' Connected events come predictably.
        names.sort_by_key(|name| (name.len(), name.clone()));
        for name in names {
            self.consider(&name, false);
        }
        Ok(())
    }

    /// A node appeared (or, with `retry`, its attributes changed): open it
    /// if it is a pad not open yet.
    fn consider(&mut self, name: &str, retry: bool) {
        if !name.starts_with("event") {
            return;
        }
        match self.nodes.get(name) {
            Some(Node::Open(_) | Node::Ignored) => return,
            Some(Node::Failed) if !retry => return,
            _ => {}
        }
        let path = Path::new(DIR).join(name);
        // Without sysfs, only a look at the open node tells.
        let known_pad = match Caps::from_sysfs(name) {
            Ok(caps) if !caps.is_joystick() => {
                self.nodes.insert(name.into(), Node::Ignored);
                return;
            }
            Ok(_) => true,
            Err(_) => false,
        };
        match Pad::open_raw(&path) {
            Ok((pad, caps)) => {
                if !known_pad && !caps.is_joystick() {
                    self.nodes.insert(name.into(), Node::Ignored);
                    return;
                }
                let id = PadId::next();
                self.pads.push((id, pad));
                self.nodes.insert(name.into(), Node::Open(id));
                self.queue.push_back(Ok((id, Event::Connected)));
            }
            // Gone between listing and opening: nothing to report.
            Err(e) if vanished(&e) => {
                self.nodes.remove(name);
            }
            Err(e) => {
                // A node we cannot even classify is nobody's business.
                let first = self.nodes.insert(name.into(), Node::Failed).is_none();
                if first && known_pad {
                    self.queue.push_back(Err(with_path(&path, e)));
                }
            }
        }
    }

    /// Read and act on every queued inotify event; wait for more.
    fn poll_watch(&mut self, cx: &mut Context<'_>) {
        // Out of `self` while its buffer is read, so `handle` can change
        // the rest; put back unless hotplug ended.
        let Some(mut watch) = self.watch.take() else {
            return;
        };
        // Read only when the reactor says so (no system call otherwise),
        // then until the fd is empty.
        while Pin::new(&mut watch.device).poll(cx).is_ready() {
            loop {
                let n = match sys::read(watch.device.as_fd(), &mut watch.buf[..]) {
                    Ok(0) => break, // not from inotify; no busy loop if it were
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => {
                        // Hotplug ends; the open pads go on.
                        self.queue.push_back(Err(with_path(Path::new(DIR), e)));
                        return;
                    }
                };
                if !self.handle(&watch.buf[..n.min(watch.buf.len())]) {
                    return;
                }
            }
        }
        self.watch = Some(watch);
    }

    /// Act on a buffer of `inotify_event`s; `false` if the directory is
    /// gone (no more hotplug).
    fn handle(&mut self, mut bytes: &[u8]) -> bool {
        const HEAD: usize = core::mem::size_of::<sys::InotifyEvent>();
        while bytes.len() >= HEAD {
            let word =
                |i: usize| u32::from_ne_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
            // `struct inotify_event`: wd, mask, cookie, len, then the name
            // (NUL-padded to `len`).
            let (mask, len) = (word(4), word(12) as usize);
            let end = HEAD.saturating_add(len).min(bytes.len());
            let name = &bytes[HEAD..end];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
            let name = String::from_utf8_lossy(name).into_owned();
            bytes = &bytes[end..];
            if mask & sys::IN_Q_OVERFLOW != 0 {
                // Events were lost: look at everything again.
                if let Err(e) = self.scan() {
                    self.queue.push_back(Err(e));
                }
            } else if mask & (sys::IN_IGNORED | sys::IN_DELETE_SELF) != 0 {
                return false;
            } else if mask & sys::IN_DELETE != 0 {
                // Its pad reads ENODEV and says Disconnected itself.
                self.nodes.remove(&name);
            } else if mask & (sys::IN_CREATE | sys::IN_MOVED_TO) != 0 {
                self.consider(&name, false);
            } else if mask & sys::IN_ATTRIB != 0 {
                self.consider(&name, true);
            }
        }
        true
    }

    /// The open pad `id`, to query between events; `None` once it is
    /// unplugged (after its [`Event::Disconnected`]).
    ///
    /// ```rust,no_run
    /// # use pasts::linux::gamepad::{Button, Gamepads};
    /// # pasts::block_on(async {
    /// let mut pads = Gamepads::new()?;
    /// let (id, _) = (&mut pads).await?;
    /// if let Some(pad) = pads.get(id) {
    ///     println!("{} holds South: {}", pad.name(), pad.pressed(Button::South));
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// # })?; Ok::<(), std::io::Error>(())
    /// ```
    pub fn get(&self, id: PadId) -> Option<&Pad> {
        self.pads.iter().find(|(i, _)| *i == id).map(|(_, pad)| pad)
    }

    /// Forget pad `i` (it yielded `Disconnected`).
    fn remove(&mut self, i: usize) {
        let (id, _pad) = self.pads.remove(i);
        self.nodes.retain(|_, node| *node != Node::Open(id));
    }
}

/// `errno`: a device node with no device behind it.
const ENXIO: i32 = 6;

/// Whether `err` means the node is no longer there.
fn vanished(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::NotFound
        || matches!(sys::errno(err), Some(sys::ENODEV | sys::ENOENT))
        || err.raw_os_error() == Some(ENXIO)
}

impl Future for Gamepads {
    type Output = io::Result<(PadId, Event)>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(out) = this.queue.pop_front() {
            return Poll::Ready(out);
        }
        this.poll_watch(cx);
        if let Some(out) = this.queue.pop_front() {
            return Poll::Ready(out);
        }
        let n = this.pads.len();
        for k in 0..n {
            let i = (this.next + k) % n;
            let (id, pad) = &mut this.pads[i];
            let id = *id;
            if let Poll::Ready(event) = Pin::new(&mut *pad).poll(cx) {
                // Stay with this pad while its frames last.
                this.next = if pad.has_ready() { i } else { i + 1 };
                if event == Event::Disconnected {
                    this.remove(i);
                }
                return Poll::Ready(Ok((id, event)));
            }
        }
        Poll::Pending
    }
}

impl fmt::Debug for Gamepads {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gamepads")
            .field("watching", &self.watch.as_ref().map(|_| PathBuf::from(DIR)))
            .field("pads", &self.pads)
            .field("queued", &self.queue.len())
            .finish()
    }
}
