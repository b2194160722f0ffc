//! The guest's sound cards: snd-dummy (a playback and capture card paced in
//! real time by the kernel, data discarded / silence) and snd-aloop (a
//! loopback: what is played on device 0 subdevice N is captured, bit-exact,
//! from device 1 subdevice N, and the other way round). Found by driver in
//! `/proc/asound/cards`, so their card numbers do not matter.

use std::fs;
use std::io;
use std::path::PathBuf;

/// A sound card as `/proc/asound/cards` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Card {
    /// The card number (`N` in `hw:N`, `/dev/snd/pcmCN...`).
    pub index: u32,
    /// The card id (`Dummy` in `hw:Dummy`).
    pub id: String,
    /// The driver (`Dummy`, `Loopback`).
    pub driver: String,
}

/// Which way a PCM moves samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Playback,
    Capture,
}

impl Card {
    /// The ALSA name of a PCM device of this card, e.g. `hw:Dummy,0`.
    pub fn hw(&self, device: u32) -> String {
        format!("hw:{},{device}", self.id)
    }

    /// The ALSA name of one subdevice, e.g. `hw:Loopback,1,0`.
    pub fn hw_sub(&self, device: u32, subdevice: u32) -> String {
        format!("hw:{},{device},{subdevice}", self.id)
    }

    /// The device node of a PCM, e.g. `/dev/snd/pcmC0D0p`.
    pub fn node(&self, device: u32, stream: Stream) -> PathBuf {
        let dir = match stream {
            Stream::Playback => 'p',
            Stream::Capture => 'c',
        };
        PathBuf::from(format!("/dev/snd/pcmC{}D{device}{dir}", self.index))
    }

    /// The PCM device numbers of this card (from `/proc/asound/pcm`).
    pub fn pcm_devices(&self) -> io::Result<Vec<u32>> {
        let pcm = read("/proc/asound/pcm")?;
        Ok(pcm_devices(&pcm, self.index))
    }
}

/// Every card, from `/proc/asound/cards` (none if ALSA is not loaded).
pub fn cards() -> io::Result<Vec<Card>> {
    match fs::read_to_string("/proc/asound/cards") {
        Ok(text) => Ok(parse_cards(&text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(super::sys::context(e, "read /proc/asound/cards")),
    }
}

/// The first card of `driver`, or an error that says the module is missing.
pub fn card(driver: &str, module: &str) -> io::Result<Card> {
    cards()?
        .into_iter()
        .find(|c| c.driver == driver)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("no {driver} sound card (is {module} loaded?)"),
            )
        })
}

/// The snd-dummy card.
pub fn dummy() -> io::Result<Card> {
    card("Dummy", "snd-dummy")
}

/// The snd-aloop card.
pub fn loopback() -> io::Result<Card> {
    card("Loopback", "snd-aloop")
}

/// The ALSA names of a loopback pair on snd-aloop: what is played on the
/// first is captured from the second.
pub fn loopback_pair(card: &Card) -> (String, String) {
    (card.hw_sub(0, 0), card.hw_sub(1, 0))
}

fn read(path: &str) -> io::Result<String> {
    fs::read_to_string(path).map_err(|e| super::sys::context(e, format!("read {path}")))
}

/// Parses lines like ` 0 [Dummy          ]: Dummy - Dummy`; the indented
/// second line of each card (its long name) is skipped.
pub fn parse_cards(text: &str) -> Vec<Card> {
    text.lines()
        .filter_map(|line| {
            let (index, rest) = line.trim_start().split_once(" [")?;
            let (id, rest) = rest.split_once("]: ")?;
            let driver = rest.split(" - ").next()?;
            Some(Card {
                index: index.trim().parse().ok()?,
                id: id.trim().into(),
                driver: driver.trim().into(),
            })
        })
        .collect()
}

/// Parses `/proc/asound/pcm` lines like `01-00: Loopback PCM : ...` for
/// the device numbers of card `index`.
pub fn pcm_devices(text: &str, index: u32) -> Vec<u32> {
    text.lines()
        .filter_map(|line| {
            let (card, rest) = line.split_once('-')?;
            let card: u32 = card.trim().parse().ok()?;
            let device: u32 = rest.split_once(':')?.0.trim().parse().ok()?;
            (card == index).then_some(device)
        })
        .collect()
}

/// Opens and closes PCM `name` through the system's libasound (loaded with
/// `dlopen`, as the audio module does), non-blocking; the error is ALSA's
/// message. Proves the library and its configuration are usable.
pub fn alsa_open(name: &str, stream: Stream) -> Result<(), String> {
    alsa::open_close(name, stream)
}

mod alsa {
    use super::Stream;
    use std::ffi::{c_char, c_int, c_void, CStr, CString};

    extern "C" {
        fn dlopen(file: *const c_char, mode: c_int) -> *mut c_void;
        fn dlsym(handle: *mut c_void, name: *const c_char) -> *mut c_void;
        fn dlerror() -> *const c_char;
    }
    const RTLD_NOW: c_int = 2;
    const SND_PCM_NONBLOCK: c_int = 1;

    type Open = unsafe extern "C" fn(*mut *mut c_void, *const c_char, c_int, c_int) -> c_int;
    type Close = unsafe extern "C" fn(*mut c_void) -> c_int;
    type StrError = unsafe extern "C" fn(c_int) -> *const c_char;

    fn last_dl_error() -> String {
        // SAFETY: dlerror returns NULL or a NUL-terminated string that stays
        // valid until the next dl* call on this thread; it is copied at once.
        let err = unsafe { dlerror() };
        if err.is_null() {
            return "unknown dl error".into();
        }
        // SAFETY: non-NULL, NUL-terminated, valid for this statement (above).
        unsafe { CStr::from_ptr(err) }
            .to_string_lossy()
            .into_owned()
    }

    /// The address of `name` in `lib`, or the dl error.
    fn symbol(lib: *mut c_void, name: &str) -> Result<*mut c_void, String> {
        let name = CString::new(name).map_err(|e| e.to_string())?;
        // SAFETY: `lib` is a live dlopen handle (never closed) and `name`
        // is NUL-terminated.
        let sym = unsafe { dlsym(lib, name.as_ptr()) };
        if sym.is_null() {
            return Err(format!("dlsym {name:?}: {}", last_dl_error()));
        }
        Ok(sym)
    }

    pub fn open_close(name: &str, stream: Stream) -> Result<(), String> {
        let file = CString::new("libasound.so.2").map_err(|e| e.to_string())?;
        // SAFETY: `file` is NUL-terminated; the handle is never closed, so
        // symbols from it stay valid for the process.
        let lib = unsafe { dlopen(file.as_ptr(), RTLD_NOW) };
        if lib.is_null() {
            return Err(format!("dlopen libasound.so.2: {}", last_dl_error()));
        }
        // SAFETY (three transmutes): each symbol is the libasound function
        // of that name, whose C signature the target type spells out.
        let open: Open = unsafe { std::mem::transmute(symbol(lib, "snd_pcm_open")?) };
        let close: Close = unsafe { std::mem::transmute(symbol(lib, "snd_pcm_close")?) };
        let strerror: StrError = unsafe { std::mem::transmute(symbol(lib, "snd_strerror")?) };

        let c_name = CString::new(name).map_err(|e| format!("PCM name {name:?}: {e}"))?;
        let dir = match stream {
            Stream::Playback => 0,
            Stream::Capture => 1,
        };
        let mut pcm = std::ptr::null_mut();
        // SAFETY: `pcm` is a valid out-pointer, `c_name` NUL-terminated.
        let ret = unsafe { open(&mut pcm, c_name.as_ptr(), dir, SND_PCM_NONBLOCK) };
        if ret < 0 {
            // SAFETY: snd_strerror returns a static NUL-terminated string.
            let msg = unsafe { CStr::from_ptr(strerror(ret)) }.to_string_lossy();
            return Err(format!("snd_pcm_open {name}: {msg}"));
        }
        // SAFETY: `pcm` was opened above and is closed once.
        let ret = unsafe { close(pcm) };
        if ret < 0 {
            return Err(format!("snd_pcm_close {name}: error {ret}"));
        }
        Ok(())
    }
}
