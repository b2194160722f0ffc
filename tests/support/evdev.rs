//! An event node (`/dev/input/eventN`) as a reader sees it: the `EVIOCG*`
//! queries, force-feedback requests and raw event reads, independent of the
//! library so tests can check it against the kernel.

use super::sys::{self, AbsInfo, FfEffect, InputEvent, InputId};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::raw::c_ulong;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// An open event node (read-write, non-blocking, close-on-exec).
#[derive(Debug)]
pub struct EventNode {
    file: File,
    path: PathBuf,
}

impl EventNode {
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(sys::O_NONBLOCK)
            .open(path)
            .map_err(|e| sys::context(e, format!("open {}", path.display())))?;
        Ok(Self {
            file,
            path: path.into(),
        })
    }

    pub fn file(&self) -> &File {
        &self.file
    }

    pub fn into_file(self) -> File {
        self.file
    }

    /// `EVIOCGNAME`.
    pub fn name(&self) -> io::Result<String> {
        let mut buf = [0u8; 256];
        let n = sys::ioctl_buf(
            &self.file,
            sys::eviocgname(buf.len()),
            &mut buf,
            "EVIOCGNAME",
        )?;
        let bytes = &buf[..n as usize];
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        Ok(String::from_utf8_lossy(&bytes[..end]).into_owned())
    }

    /// `EVIOCGID`.
    pub fn id(&self) -> io::Result<InputId> {
        let mut id = InputId::default();
        sys::ioctl_ptr(&self.file, sys::EVIOCGID, &mut id, "EVIOCGID")?;
        Ok(id)
    }

    /// `EVIOCGVERSION`: the evdev protocol version.
    pub fn version(&self) -> io::Result<i32> {
        let mut v = 0i32;
        sys::ioctl_ptr(&self.file, sys::EVIOCGVERSION, &mut v, "EVIOCGVERSION")?;
        Ok(v)
    }

    /// `EVIOCGBIT(ev)`: the codes of event type `ev` the device has (the
    /// event types themselves for `ev == 0`), as a bitmap for [`sys::bit`].
    pub fn bits(&self, ev: u16) -> io::Result<[u8; sys::BITS_LEN]> {
        let mut buf = [0u8; sys::BITS_LEN];
        sys::ioctl_buf(
            &self.file,
            sys::eviocgbit(ev, buf.len()),
            &mut buf,
            "EVIOCGBIT",
        )?;
        Ok(buf)
    }

    /// `EVIOCGABS(axis)`.
    pub fn abs(&self, axis: u16) -> io::Result<AbsInfo> {
        let mut info = AbsInfo::default();
        sys::ioctl_ptr(&self.file, sys::eviocgabs(axis), &mut info, "EVIOCGABS")?;
        Ok(info)
    }

    /// `EVIOCGEFFECTS`: how many effects the device can hold at once.
    pub fn effects(&self) -> io::Result<i32> {
        let mut n = 0i32;
        sys::ioctl_ptr(&self.file, sys::EVIOCGEFFECTS, &mut n, "EVIOCGEFFECTS")?;
        Ok(n)
    }

    /// `EVIOCSFF` of a new rumble effect; returns its id. Blocks until the
    /// device's owner answers (for uinput, [`super::uinput`] does).
    pub fn upload_rumble(&self, strong: u16, weak: u16, length_ms: u16) -> io::Result<i16> {
        let mut effect = FfEffect {
            kind: sys::FF_RUMBLE,
            id: -1,
            replay: [length_ms, 0],
            rumble: [strong, weak],
            ..FfEffect::default()
        };
        sys::ioctl_ptr(&self.file, sys::EVIOCSFF, &mut effect, "EVIOCSFF")?;
        Ok(effect.id)
    }

    /// Starts (`count > 0` times) or stops (`0`) an uploaded effect.
    pub fn play(&self, id: i16, count: i32) -> io::Result<()> {
        let ev = InputEvent::new(sys::EV_FF, id as u16, count);
        (&self.file)
            .write_all(&ev.to_bytes())
            .map_err(|e| sys::context(e, format!("play effect {id}")))
    }

    /// `EVIOCRMFF`.
    pub fn erase(&self, id: i16) -> io::Result<()> {
        sys::ioctl_int(&self.file, sys::EVIOCRMFF, id as c_ulong, "EVIOCRMFF").map(drop)
    }

    /// The events queued now (none if nothing is pending).
    pub fn read_now(&self) -> io::Result<Vec<InputEvent>> {
        read_events(&self.file, &self.path)
    }

    /// Reads until `want` events arrived or `timeout` passed; returns what came.
    pub fn read_for(&self, want: usize, timeout: Duration) -> io::Result<Vec<InputEvent>> {
        let end = Instant::now() + timeout;
        let mut got = Vec::new();
        while got.len() < want {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() || !sys::poll_in(&self.file, left.as_millis() as i32)? {
                break;
            }
            got.extend(self.read_now()?);
        }
        Ok(got)
    }
}

/// Reads whole `input_event`s from a non-blocking event node (`path` for
/// errors) until it would block.
pub fn read_events(mut file: &File, path: &Path) -> io::Result<Vec<InputEvent>> {
    let mut out = Vec::new();
    let mut buf = [0u8; InputEvent::SIZE * 16];
    loop {
        match file.read(&mut buf) {
            Ok(n) => {
                for chunk in buf[..n].chunks_exact(InputEvent::SIZE) {
                    out.push(InputEvent::from_bytes(chunk.try_into().unwrap()));
                }
                if n < buf.len() {
                    return Ok(out);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(out),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(sys::context(e, format!("read {}", path.display()))),
        }
    }
}
