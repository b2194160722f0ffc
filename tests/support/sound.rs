//! The guest's sound cards: snd-dummy (a playback and capture card paced in
//! real time by the kernel, data discarded / silence) and snd-aloop (a
//! loopback: what is played on device 0 subdevice N is captured, bit-exact,
//! from device 1 subdevice N, and the other way round). Found by driver in
//! `/proc/asound/cards`, so their card numbers do not matter.

use std::env;
use std::fs;
use std::io;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::Duration;
use std::time::Instant;

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

/// snd-dummy's platform driver and device in sysfs.
const DUMMY_DRIVER: &str = "/sys/bus/platform/drivers/snd_dummy";
const DUMMY_DEVICE: &str = "snd_dummy.0";

/// Unplugs the snd-dummy card by unbinding its driver: the card is
/// disconnected at once (its PCMs fail with `ENODEV`); returns once every
/// file of it is closed.
pub fn unplug_dummy() -> io::Result<()> {
    let path = format!("{DUMMY_DRIVER}/unbind");
    fs::write(&path, DUMMY_DEVICE).map_err(|e| super::sys::context(e, format!("write {path}")))
}

/// Plugs snd-dummy back (bind) and waits until its card is listed again.
pub fn replug_dummy() -> io::Result<()> {
    let path = format!("{DUMMY_DRIVER}/bind");
    fs::write(&path, DUMMY_DEVICE).map_err(|e| super::sys::context(e, format!("write {path}")))?;
    for _ in 0..100 {
        if dummy().is_ok() {
            return Ok(());
        }
        thread::sleep(Duration::from_millis(50));
    }
    dummy().map(drop)
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

/// How long a child of [`isolated`] may run.
pub const CHILD_LIMIT: Duration = Duration::from_secs(60);

/// Set, for a test re-run in a child process, to the name of that test.
pub const CHILD_ENV: &str = "PASTS_AUDIO_CHILD";

/// Runs the calling test's `body` in a child process: this test binary
/// re-run for this one test, with `envs` added (e.g. `ALSA_CONFIG_PATH`,
/// which libasound reads once per process). Fails unless the child passes
/// and writes nothing on its stderr (libasound prints there when left to
/// itself; libtest captures the test's own prints). In the child, runs
/// `body` and returns `None`; the parent gets `Some` of the child's output.
pub fn isolated(envs: &[(&str, &str)], body: impl FnOnce()) -> Option<Output> {
    // libtest names each test's thread after the test.
    let test = thread::current()
        .name()
        .expect("a libtest thread has the test's name")
        .to_string();
    if env::var(CHILD_ENV).ok().as_deref() == Some(test.as_str()) {
        body();
        return None;
    }
    let exe = env::current_exe().expect("the test binary's path");
    let mut child = Command::new(exe)
        .args([
            test.as_str(),
            "--exact",
            "--include-ignored",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(CHILD_ENV, &test)
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("re-run the test binary");
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                pipe.read_to_end(&mut bytes)
                    .expect("read the child's output");
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    // A hang (a stalled stream) becomes a failure: the child is killed.
    let deadline = Instant::now() + CHILD_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if Instant::now() > deadline {
            // Ignored: the child may have ended just now.
            let _ = child.kill();
            let _ = child.wait();
            panic!("child {test} still running after {CHILD_LIMIT:?}: killed (a hang?)");
        }
        thread::sleep(Duration::from_millis(10));
    };
    let out = Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child {test} failed ({}):\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    assert!(stderr.is_empty(), "child {test} wrote on stderr:\n{stderr}");
    Some(out)
}

/// A scratch directory for `test` under the target's tmp dir, made fresh
/// by the parent process of [`isolated`] (its child sees the same one).
pub fn scratch(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("audio-{test}"));
    if env::var_os(CHILD_ENV).is_none() {
        let _ = fs::remove_dir_all(&dir); // a leftover of an earlier run, if any
        fs::create_dir_all(&dir).expect("create the scratch directory");
    }
    dir
}

/// Writes an ALSA configuration that holds the system's (so `null`,
/// `hw:...` and the rest keep working) followed by `pcms`, and returns its
/// path, for `ALSA_CONFIG_PATH`.
pub fn alsa_config(dir: &std::path::Path, pcms: &str) -> String {
    let path = dir.join("asound.conf");
    fs::write(&path, format!("</usr/share/alsa/alsa.conf>\n{pcms}\n")).expect("write the config");
    path.to_str().expect("a UTF-8 path").to_string()
}

/// CPU time this process has used (user and system, all threads).
pub fn process_cpu() -> Duration {
    alsa::cpu_clock(alsa::CLOCK_PROCESS_CPUTIME_ID)
}

/// CPU time the calling thread has used.
pub fn thread_cpu() -> Duration {
    alsa::cpu_clock(alsa::CLOCK_THREAD_CPUTIME_ID)
}

/// The reference for the performance figures: a plain libasound playback
/// loop (what `aplay` does, which the guest lacks): non-blocking, S16_LE
/// stereo 48 kHz, `snd_pcm_set_params` with a latency of four `period`s,
/// `poll` on the PCM's descriptors, write the whole periods that are free,
/// `frames` long. Returns what it did.
pub fn raw_play(name: &str, frames: usize, period: u32) -> Result<RawRun, String> {
    alsa::raw_play(name, frames, period)
}

/// What [`raw_play`] did.
#[derive(Debug)]
pub struct RawRun {
    /// Frames written.
    pub frames: usize,
    /// Process CPU time used.
    pub cpu: Duration,
    /// Underruns recovered from (`snd_pcm_recover`).
    pub xruns: usize,
    /// Returns from `poll`.
    pub wakes: usize,
}

/// Opens and closes PCM `name` through the system's libasound (loaded with
/// `dlopen`, as the audio module does), non-blocking; the error is ALSA's
/// message. Proves the library and its configuration are usable.
pub fn alsa_open(name: &str, stream: Stream) -> Result<(), String> {
    alsa::open_close(name, stream)
}

mod alsa {
    use super::Stream;
    use std::ffi::{
        c_char, c_int, c_long, c_short, c_uint, c_ulong, c_ushort, c_void, CStr, CString,
    };

    extern "C" {
        fn dlopen(file: *const c_char, mode: c_int) -> *mut c_void;
        fn dlsym(handle: *mut c_void, name: *const c_char) -> *mut c_void;
        fn dlerror() -> *const c_char;
        fn clock_gettime(clock: c_int, ts: *mut [std::os::raw::c_long; 2]) -> c_int;
    }
    pub const CLOCK_PROCESS_CPUTIME_ID: c_int = 2;
    pub const CLOCK_THREAD_CPUTIME_ID: c_int = 3;

    pub fn cpu_clock(clock: c_int) -> std::time::Duration {
        let mut ts = [0; 2];
        // SAFETY: `ts` is a `struct timespec` (two longs on LP64 Linux).
        let ret = unsafe { clock_gettime(clock, &mut ts) };
        assert_eq!(ret, 0, "clock_gettime({clock})");
        std::time::Duration::new(ts[0] as u64, ts[1] as u32)
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

    type SetParams =
        unsafe extern "C" fn(*mut c_void, c_int, c_int, c_uint, c_uint, c_int, c_uint) -> c_int;
    type Count = unsafe extern "C" fn(*mut c_void) -> c_int;
    type Descriptors = unsafe extern "C" fn(*mut c_void, *mut PollFd, c_uint) -> c_int;
    type Revents = unsafe extern "C" fn(*mut c_void, *mut PollFd, c_uint, *mut c_ushort) -> c_int;
    type Avail = unsafe extern "C" fn(*mut c_void) -> c_long;
    type Write = unsafe extern "C" fn(*mut c_void, *const c_void, c_ulong) -> c_long;
    type Recover = unsafe extern "C" fn(*mut c_void, c_int, c_int) -> c_int;
    type GetParams = unsafe extern "C" fn(*mut c_void, *mut c_ulong, *mut c_ulong) -> c_int;

    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    pub struct PollFd {
        fd: c_int,
        events: c_short,
        revents: c_short,
    }
    const _: () = assert!(std::mem::size_of::<PollFd>() == 8);

    extern "C" {
        fn poll(fds: *mut PollFd, n: c_ulong, timeout: c_int) -> c_int;
    }

    fn library() -> Result<*mut c_void, String> {
        let file = CString::new("libasound.so.2").map_err(|e| e.to_string())?;
        // SAFETY: `file` is NUL-terminated; the handle is never closed, so
        // symbols from it stay valid for the process.
        let lib = unsafe { dlopen(file.as_ptr(), RTLD_NOW) };
        if lib.is_null() {
            return Err(format!("dlopen libasound.so.2: {}", last_dl_error()));
        }
        Ok(lib)
    }

    pub fn raw_play(name: &str, total: usize, period: u32) -> Result<super::RawRun, String> {
        let lib = library()?;
        // SAFETY (each transmute): the symbol is the libasound function of
        // that name, whose C signature the target type spells out.
        let open: Open = unsafe { std::mem::transmute(symbol(lib, "snd_pcm_open")?) };
        let close: Close = unsafe { std::mem::transmute(symbol(lib, "snd_pcm_close")?) };
        let set_params: SetParams =
            unsafe { std::mem::transmute(symbol(lib, "snd_pcm_set_params")?) };
        let count: Count =
            unsafe { std::mem::transmute(symbol(lib, "snd_pcm_poll_descriptors_count")?) };
        let descriptors: Descriptors =
            unsafe { std::mem::transmute(symbol(lib, "snd_pcm_poll_descriptors")?) };
        let revents: Revents =
            unsafe { std::mem::transmute(symbol(lib, "snd_pcm_poll_descriptors_revents")?) };
        let avail: Avail = unsafe { std::mem::transmute(symbol(lib, "snd_pcm_avail_update")?) };
        let write: Write = unsafe { std::mem::transmute(symbol(lib, "snd_pcm_writei")?) };
        let recover: Recover = unsafe { std::mem::transmute(symbol(lib, "snd_pcm_recover")?) };
        let get_params: GetParams =
            unsafe { std::mem::transmute(symbol(lib, "snd_pcm_get_params")?) };

        let c_name = CString::new(name).map_err(|e| e.to_string())?;
        let mut pcm = std::ptr::null_mut();
        // SAFETY: valid out-pointer, NUL-terminated name.
        let ret = unsafe { open(&mut pcm, c_name.as_ptr(), 0, SND_PCM_NONBLOCK) };
        if ret < 0 {
            return Err(format!("snd_pcm_open {name}: {ret}"));
        }
        let latency_us = 4 * period * 1_000_000 / 48_000;
        // SAFETY: `pcm` is open. S16_LE (2), RW interleaved (3).
        let ret = unsafe { set_params(pcm, 2, 3, 2, 48_000, 1, latency_us) };
        if ret < 0 {
            return Err(format!("snd_pcm_set_params {name}: {ret}"));
        }
        // The period ALSA chose (the wake-up unit), in frames.
        let (mut buffer_size, mut period_size) = (0, 0);
        // SAFETY: `pcm` is set up; both are valid out-pointers.
        let ret = unsafe { get_params(pcm, &mut buffer_size, &mut period_size) };
        if ret < 0 || period_size == 0 {
            return Err(format!("snd_pcm_get_params {name}: {ret}"));
        }
        let mut fds = [PollFd::default(); 8];
        // SAFETY: `pcm` is open; `fds` has room for 8.
        let n = unsafe { descriptors(pcm, fds.as_mut_ptr(), 8.min(count(pcm) as c_uint)) };
        let n = n.max(0) as usize;
        let zeros = vec![0u8; 4 * 48_000];
        let cpu = super::process_cpu();
        let (mut done, mut xruns, mut wakes) = (0, 0, 0);
        while done < total {
            // SAFETY: `fds[..n]` are the PCM's descriptors.
            if unsafe { poll(fds.as_mut_ptr(), n as c_ulong, 2_000) } <= 0 {
                return Err(format!("poll timed out after {done} frames"));
            }
            let mut ready: c_ushort = 0;
            // SAFETY: as above; `ready` is a valid out-pointer.
            unsafe { revents(pcm, fds.as_mut_ptr(), n as c_uint, &mut ready) };
            // SAFETY: `pcm` is open.
            let free = unsafe { avail(pcm) };
            if free < 0 {
                xruns += 1;
                // SAFETY: `pcm` is open.
                unsafe { recover(pcm, free as c_int, 1) };
                continue;
            }
            // Whole periods, as aplay writes them.
            let period = period_size as usize;
            let frames = (free as usize / period * period)
                .min(total - done)
                .min(48_000);
            wakes += 1;
            if frames == 0 {
                continue;
            }
            // SAFETY: `zeros` holds at least `frames` S16 stereo frames.
            let wrote = unsafe { write(pcm, zeros.as_ptr().cast(), frames as c_ulong) };
            if wrote < 0 {
                xruns += 1;
                // SAFETY: `pcm` is open.
                unsafe { recover(pcm, wrote as c_int, 1) };
                continue;
            }
            done += wrote as usize;
        }
        let cpu = super::process_cpu() - cpu;
        // SAFETY: opened above, closed once.
        unsafe { close(pcm) };
        Ok(super::RawRun {
            frames: done,
            cpu,
            xruns,
            wakes,
        })
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
