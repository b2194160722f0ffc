//! Virtual input devices made through `/dev/uinput`: a [`Builder`] for any
//! layout, with ready-made [`Builder::gamepad`] (the standard Linux gamepad,
//! with rumble) and [`Builder::keyboard`].
//!
//! ```ignore
//! let pad = Builder::gamepad("Test Pad").id(sys::BUS_USB, 0x045e, 0x028e, 0x0110).create()?;
//! let node = pad.open_node()?; // the event node, as a reader sees it
//! pad.frame(&[(sys::EV_KEY, sys::BTN_SOUTH, 1)])?; // a press, then SYN_REPORT
//! ```
//!
//! Force feedback: a reader's `EVIOCSFF`/`EVIOCRMFF` block until the uinput
//! owner answers a `UI_FF_UPLOAD`/`UI_FF_ERASE` request with the
//! `UI_BEGIN_*`/`UI_END_*` ioctls. A device with rumble runs a thread that
//! answers them (with success, or the errno given to
//! [`VirtualDevice::refuse_uploads`]) and logs every request, and every
//! effect played, as an [`FfRequest`].

use super::evdev::EventNode;
use super::sys::{self, AbsInfo, InputEvent, InputId};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::raw::c_ulong;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// A thumb stick axis: 16-bit range, some noise (`fuzz`) and a dead zone.
pub const STICK: AbsInfo = AbsInfo {
    value: 0,
    minimum: -32768,
    maximum: 32767,
    fuzz: 16,
    flat: 128,
    resolution: 0,
};
/// An analog trigger, released at 0.
pub const TRIGGER: AbsInfo = AbsInfo {
    value: 0,
    minimum: 0,
    maximum: 255,
    fuzz: 0,
    flat: 0,
    resolution: 0,
};
/// A d-pad direction as a hat: -1, 0 or 1.
pub const HAT: AbsInfo = AbsInfo {
    value: 0,
    minimum: -1,
    maximum: 1,
    fuzz: 0,
    flat: 0,
    resolution: 0,
};

/// The buttons of the standard gamepad layout.
pub const GAMEPAD_BUTTONS: [u16; 11] = [
    sys::BTN_SOUTH,
    sys::BTN_EAST,
    sys::BTN_NORTH,
    sys::BTN_WEST,
    sys::BTN_TL,
    sys::BTN_TR,
    sys::BTN_SELECT,
    sys::BTN_START,
    sys::BTN_MODE,
    sys::BTN_THUMBL,
    sys::BTN_THUMBR,
];

/// The axes of the standard gamepad layout: two sticks, two analog
/// triggers (`ABS_Z`, `ABS_RZ`) and the d-pad as a hat.
pub const GAMEPAD_AXES: [(u16, AbsInfo); 8] = [
    (sys::ABS_X, STICK),
    (sys::ABS_Y, STICK),
    (sys::ABS_RX, STICK),
    (sys::ABS_RY, STICK),
    (sys::ABS_Z, TRIGGER),
    (sys::ABS_RZ, TRIGGER),
    (sys::ABS_HAT0X, HAT),
    (sys::ABS_HAT0Y, HAT),
];

/// How many effects [`Builder::gamepad`] holds at once.
pub const GAMEPAD_EFFECTS: u32 = 4;

/// What a virtual device is made of; [`Builder::create`] makes it.
#[derive(Clone, Debug)]
pub struct Builder {
    name: String,
    id: InputId,
    keys: Vec<u16>,
    rels: Vec<u16>,
    axes: Vec<(u16, AbsInfo)>,
    leds: Vec<u16>,
    ff_effects_max: u32,
}

impl Builder {
    /// A device with no capabilities, on the virtual bus.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            id: InputId {
                bustype: sys::BUS_VIRTUAL,
                ..InputId::default()
            },
            keys: Vec::new(),
            rels: Vec::new(),
            axes: Vec::new(),
            leds: Vec::new(),
            ff_effects_max: 0,
        }
    }

    /// The standard Linux gamepad: [`GAMEPAD_BUTTONS`], [`GAMEPAD_AXES`],
    /// rumble with room for [`GAMEPAD_EFFECTS`] effects.
    pub fn gamepad(name: &str) -> Self {
        let mut b = Self::new(name).rumble(GAMEPAD_EFFECTS);
        b.keys.extend(GAMEPAD_BUTTONS);
        b.axes.extend(GAMEPAD_AXES);
        b
    }

    /// A keyboard: every key from `KEY_ESC` to `KEY_MICMUTE`, and the num,
    /// caps and scroll lock LEDs. No autorepeat (its timing is the
    /// kernel's, not the test's).
    pub fn keyboard(name: &str) -> Self {
        let mut b = Self::new(name);
        b.keys.extend(sys::KEY_ESC..=sys::KEY_MICMUTE);
        b.leds
            .extend([sys::LED_NUML, sys::LED_CAPSL, sys::LED_SCROLLL]);
        b
    }

    /// A mouse: three buttons, X/Y motion and a wheel.
    pub fn mouse(name: &str) -> Self {
        let mut b = Self::new(name);
        b.keys
            .extend([sys::BTN_LEFT, sys::BTN_RIGHT, sys::BTN_MIDDLE]);
        b.rels.extend([sys::REL_X, sys::REL_Y, sys::REL_WHEEL]);
        b
    }

    /// The ids `EVIOCGID` reports.
    pub fn id(mut self, bustype: u16, vendor: u16, product: u16, version: u16) -> Self {
        self.id = InputId {
            bustype,
            vendor,
            product,
            version,
        };
        self
    }

    /// Adds a key or button.
    pub fn key(mut self, code: u16) -> Self {
        self.keys.push(code);
        self
    }

    /// Adds (or redefines) an absolute axis.
    pub fn axis(mut self, code: u16, info: AbsInfo) -> Self {
        self.axes.retain(|&(c, _)| c != code);
        self.axes.push((code, info));
        self
    }

    /// `FF_RUMBLE` with room for `effects` effects; 0 removes force feedback.
    pub fn rumble(mut self, effects: u32) -> Self {
        self.ff_effects_max = effects;
        self
    }

    /// Makes the device and waits for its event node to appear.
    pub fn create(self) -> io::Result<VirtualDevice> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(sys::O_NONBLOCK)
            .open("/dev/uinput")
            .map_err(|e| sys::context(e, "open /dev/uinput (is the uinput module loaded?)"))?;
        let set = |request: c_ulong, code: u16, what: &str| -> io::Result<()> {
            sys::ioctl_int(&file, request, code.into(), what).map(drop)
        };
        if !self.keys.is_empty() {
            set(sys::UI_SET_EVBIT, sys::EV_KEY, "UI_SET_EVBIT EV_KEY")?;
        }
        for &key in &self.keys {
            set(sys::UI_SET_KEYBIT, key, "UI_SET_KEYBIT")?;
        }
        if !self.rels.is_empty() {
            set(sys::UI_SET_EVBIT, sys::EV_REL, "UI_SET_EVBIT EV_REL")?;
        }
        for &rel in &self.rels {
            set(sys::UI_SET_RELBIT, rel, "UI_SET_RELBIT")?;
        }
        if !self.axes.is_empty() {
            set(sys::UI_SET_EVBIT, sys::EV_ABS, "UI_SET_EVBIT EV_ABS")?;
        }
        for &(code, absinfo) in &self.axes {
            set(sys::UI_SET_ABSBIT, code, "UI_SET_ABSBIT")?;
            let mut setup = sys::UinputAbsSetup { code, absinfo };
            sys::ioctl_ptr(&file, sys::UI_ABS_SETUP, &mut setup, "UI_ABS_SETUP")?;
        }
        if !self.leds.is_empty() {
            set(sys::UI_SET_EVBIT, sys::EV_LED, "UI_SET_EVBIT EV_LED")?;
        }
        for &led in &self.leds {
            set(sys::UI_SET_LEDBIT, led, "UI_SET_LEDBIT")?;
        }
        if self.ff_effects_max > 0 {
            set(sys::UI_SET_EVBIT, sys::EV_FF, "UI_SET_EVBIT EV_FF")?;
            set(sys::UI_SET_FFBIT, sys::FF_RUMBLE, "UI_SET_FFBIT FF_RUMBLE")?;
        }
        let mut setup = sys::UinputSetup {
            id: self.id,
            name: [0; sys::UINPUT_MAX_NAME_SIZE],
            ff_effects_max: self.ff_effects_max,
        };
        let name = self.name.as_bytes();
        let len = name.len().min(sys::UINPUT_MAX_NAME_SIZE - 1); // keep a NUL
        setup.name[..len].copy_from_slice(&name[..len]);
        sys::ioctl_ptr(&file, sys::UI_DEV_SETUP, &mut setup, "UI_DEV_SETUP")?;
        sys::ioctl_int(&file, sys::UI_DEV_CREATE, 0, "UI_DEV_CREATE")?;
        // From here on, closing `file` (on any error too) destroys the device.

        let mut buf = [0u8; 64];
        sys::ioctl_buf(
            &file,
            sys::ui_get_sysname(buf.len()),
            &mut buf,
            "UI_GET_SYSNAME",
        )?;
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        let sysname = String::from_utf8_lossy(&buf[..end]).into_owned();
        let event_path = event_node(&sysname)?;

        let file = Arc::new(file);
        let ff = Arc::new(FfState::default());
        let stop = Arc::new(AtomicBool::new(false));
        let server = (self.ff_effects_max > 0).then(|| {
            let (file, ff, stop) = (file.clone(), ff.clone(), stop.clone());
            thread::spawn(move || serve_ff(&file, &ff, &stop))
        });
        Ok(VirtualDevice {
            file,
            sysname,
            event_path,
            ff,
            stop,
            server,
        })
    }
}

/// The `/dev/input/eventN` of uinput device `sysname` (`inputN`), once
/// udev-less devtmpfs has made it.
fn event_node(sysname: &str) -> io::Result<PathBuf> {
    let dir = Path::new("/sys/devices/virtual/input").join(sysname);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name();
            if name.to_string_lossy().starts_with("event") {
                let path = Path::new("/dev/input").join(name);
                if path.exists() {
                    return Ok(path);
                }
            }
        }
        if Instant::now() > deadline {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no /dev/input/event* for {} after 5 s", dir.display()),
            ));
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// A force-feedback request the device received, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FfRequest {
    /// `EVIOCSFF` of a rumble effect (answered with the upload result).
    Upload {
        id: i16,
        strong: u16,
        weak: u16,
        length_ms: u16,
    },
    /// A reader wrote `EV_FF` `id` with `count` (0 stops it).
    Play { id: u16, count: i32 },
    /// `EVIOCRMFF` (answered with success).
    Erase { id: u32 },
    /// Answering failed: the server thread's error.
    Error(String),
}

#[derive(Default)]
struct FfState {
    log: Mutex<Vec<FfRequest>>,
    logged: Condvar,
    /// 0, or the errno (positive) to answer uploads with.
    refuse: AtomicI32,
}

impl FfState {
    fn push(&self, request: FfRequest) {
        self.log.lock().unwrap().push(request);
        self.logged.notify_all();
    }
}

/// Answers the uinput requests of `file` until `stop` (or the device goes).
fn serve_ff(file: &File, ff: &FfState, stop: &AtomicBool) {
    let mut buf = [0u8; InputEvent::SIZE];
    while !stop.load(Ordering::Acquire) {
        match sys::poll_in(file, 20) {
            Ok(false) => continue,
            Ok(true) => {}
            Err(e) => return ff.push(FfRequest::Error(e.to_string())),
        }
        loop {
            match (&*file).read(&mut buf) {
                Ok(n) if n == buf.len() => {}
                Ok(n) => return ff.push(FfRequest::Error(format!("uinput read {n} bytes"))),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.raw_os_error() == Some(19) => return, // ENODEV: unplugged
                Err(e) => return ff.push(FfRequest::Error(format!("uinput read: {e}"))),
            }
            let ev = InputEvent::from_bytes(&buf);
            let answered = match (ev.kind, ev.code) {
                (sys::EV_UINPUT, sys::UI_FF_UPLOAD) => answer_upload(file, ev.value as u32, ff),
                (sys::EV_UINPUT, sys::UI_FF_ERASE) => answer_erase(file, ev.value as u32, ff),
                (sys::EV_FF, id) => {
                    ff.push(FfRequest::Play {
                        id,
                        count: ev.value,
                    });
                    Ok(())
                }
                _ => Ok(()), // LED changes and the like: not logged
            };
            if let Err(e) = answered {
                ff.push(FfRequest::Error(e.to_string()));
            }
        }
    }
}

fn answer_upload(file: &File, request_id: u32, ff: &FfState) -> io::Result<()> {
    let mut up = sys::UinputFfUpload {
        request_id,
        ..Default::default()
    };
    sys::ioctl_ptr(file, sys::UI_BEGIN_FF_UPLOAD, &mut up, "UI_BEGIN_FF_UPLOAD")?;
    let e = up.effect;
    ff.push(FfRequest::Upload {
        id: e.id,
        strong: e.rumble[0],
        weak: e.rumble[1],
        length_ms: e.replay[0],
    });
    up.retval = -ff.refuse.load(Ordering::Relaxed);
    sys::ioctl_ptr(file, sys::UI_END_FF_UPLOAD, &mut up, "UI_END_FF_UPLOAD").map(drop)
}

fn answer_erase(file: &File, request_id: u32, ff: &FfState) -> io::Result<()> {
    let mut er = sys::UinputFfErase {
        request_id,
        ..Default::default()
    };
    sys::ioctl_ptr(file, sys::UI_BEGIN_FF_ERASE, &mut er, "UI_BEGIN_FF_ERASE")?;
    ff.push(FfRequest::Erase { id: er.effect_id });
    er.retval = 0;
    sys::ioctl_ptr(file, sys::UI_END_FF_ERASE, &mut er, "UI_END_FF_ERASE").map(drop)
}

/// A live virtual device; dropping it unplugs it.
#[derive(Debug)]
pub struct VirtualDevice {
    file: Arc<File>,
    sysname: String,
    event_path: PathBuf,
    ff: Arc<FfState>,
    stop: Arc<AtomicBool>,
    server: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for FfState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FfState")
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}

impl VirtualDevice {
    /// Its event node, e.g. `/dev/input/event3`.
    pub fn event_path(&self) -> &Path {
        &self.event_path
    }

    /// Opens its event node, as a reader would.
    pub fn open_node(&self) -> io::Result<EventNode> {
        EventNode::open(&self.event_path)
    }

    /// Its name under `/sys/devices/virtual/input`, e.g. `input3`.
    pub fn sysname(&self) -> &str {
        &self.sysname
    }

    /// Sends one event (readers see it after the next `SYN_REPORT`).
    pub fn emit(&self, kind: u16, code: u16, value: i32) -> io::Result<()> {
        (&*self.file)
            .write_all(&InputEvent::new(kind, code, value).to_bytes())
            .map_err(|e| sys::context(e, format!("write to uinput {}", self.sysname)))
    }

    /// Sends `events` as one frame: each, then `SYN_REPORT`.
    pub fn frame(&self, events: &[(u16, u16, i32)]) -> io::Result<()> {
        for &(kind, code, value) in events {
            self.emit(kind, code, value)?;
        }
        self.emit(sys::EV_SYN, sys::SYN_REPORT, 0)
    }

    /// The force-feedback requests so far.
    pub fn ff_requests(&self) -> Vec<FfRequest> {
        self.ff.log.lock().unwrap().clone()
    }

    /// Waits until `n` requests are logged or `timeout` passed; returns them.
    pub fn wait_ff(&self, n: usize, timeout: Duration) -> Vec<FfRequest> {
        let log = self.ff.log.lock().unwrap();
        let (log, _) = self
            .ff
            .logged
            .wait_timeout_while(log, timeout, |l| l.len() < n)
            .unwrap();
        log.clone()
    }

    /// Answers later uploads with `errno` (e.g. 28, `ENOSPC`); 0 accepts.
    pub fn refuse_uploads(&self, errno: i32) {
        self.ff.refuse.store(errno, Ordering::Relaxed);
    }

    /// `UI_DEV_DESTROY`: unplugs the device now (readers get `ENODEV`).
    pub fn unplug(&self) -> io::Result<()> {
        sys::ioctl_int(&*self.file, sys::UI_DEV_DESTROY, 0, "UI_DEV_DESTROY").map(drop)
    }
}

impl Drop for VirtualDevice {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(server) = self.server.take() {
            // A panic in the server already failed the test: nothing to add.
            let _ = server.join();
        }
        // Closing the last reference to the uinput fd destroys the device.
    }
}
