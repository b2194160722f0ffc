//! libasound, loaded at run time: the crate's only `dlopen`/`dlsym`
//! declarations and its table of ALSA functions, with safe wrappers for
//! what `audio` needs.
//!
//! - **Loaded once, on first use.** `libasound.so.2` is opened with
//!   `dlopen(RTLD_NOW | RTLD_LOCAL)` and never closed; every symbol is
//!   resolved at that moment into [`Lib`], a struct of function pointers
//!   kept in a `OnceLock`. A missing library is `ErrorKind::NotFound`
//!   naming it and its packages; a missing symbol names the symbol. The
//!   outcome is kept, so a missing library is reported, not retried.
//! - **Nothing reaches stderr.** The same moment, libasound's error printer
//!   is replaced (`snd_lib_error_set_handler`) by one that ignores the
//!   message: every failure is also a negative return value, which the
//!   wrappers turn into an [`io::Error`] naming the call and the PCM.
//! - **`dlopen` and glibc.** On glibc before 2.34 `dlopen`, `dlsym` and
//!   `dlerror` live in `libdl`, hence the `link(name = "dl")` on glibc
//!   targets; from 2.34 on they are in libc and `libdl.so.2` is an empty
//!   stub that the same line still finds (and the linker drops). musl has
//!   them in libc.
//! - **Test hook.** The environment variable `PASTS_LIBASOUND`, read on
//!   first use, names another file to open instead (the tests use it to
//!   check the missing-library error). Not a public interface.
//! - **Types.** `snd_pcm_uframes_t`/`snd_pcm_sframes_t` are C
//!   `unsigned long`/`long` (pointer-sized on Linux, 32-bit targets
//!   included); the only struct passed is `struct pollfd` ([`PollFd`],
//!   whose layout `sys` asserts for every target).
#![allow(unsafe_code)]

use core::ffi::{c_char, c_int, c_long, c_uint, c_ulong, c_ushort, c_void};
use core::fmt;
use core::mem::size_of;
use core::ptr::{self, NonNull};
use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::string::{String, ToString};
use std::sync::OnceLock;
use std::vec::Vec;

use super::sys::{self, PollFd};

/// The file `dlopen` looks for.
pub(crate) const LIBRARY: &str = "libasound.so.2";
/// The environment variable that names another file (for tests; ignored
/// by a privileged process).
const LIBRARY_ENV: &str = "PASTS_LIBASOUND";

// ---------------------------------------------------------------- constants

const RTLD_NOW: c_int = 2;
const RTLD_LOCAL: c_int = 0;

/// `snd_pcm_stream_t`.
pub(crate) const SND_PCM_STREAM_PLAYBACK: c_int = 0;
pub(crate) const SND_PCM_STREAM_CAPTURE: c_int = 1;
/// `snd_pcm_open` mode.
const SND_PCM_NONBLOCK: c_int = 1;
/// `snd_pcm_access_t`.
const SND_PCM_ACCESS_RW_INTERLEAVED: c_int = 3;
/// `snd_pcm_format_t` values the crate converts to and from.
pub(crate) const SND_PCM_FORMAT_S16_LE: c_int = 2;
pub(crate) const SND_PCM_FORMAT_S16_BE: c_int = 3;
pub(crate) const SND_PCM_FORMAT_S32_LE: c_int = 10;
pub(crate) const SND_PCM_FORMAT_S32_BE: c_int = 11;
pub(crate) const SND_PCM_FORMAT_FLOAT_LE: c_int = 14;
pub(crate) const SND_PCM_FORMAT_FLOAT_BE: c_int = 15;
/// `snd_pcm_state_t` values the crate reacts to.
pub(crate) const SND_PCM_STATE_PREPARED: c_int = 2;
pub(crate) const SND_PCM_STATE_DISCONNECTED: c_int = 8;
/// ALSA's own error codes start here; below are negated `errno` values.
const SND_ERROR_BEGIN: c_int = 500_000;
/// `poll` events, as `snd_pcm_poll_descriptors_revents` reports them.
pub(crate) const POLLIN: c_ushort = sys::POLLIN as c_ushort;
pub(crate) const POLLOUT: c_ushort = sys::POLLOUT as c_ushort;
pub(crate) const POLLERR: c_ushort = sys::POLLERR as c_ushort;
pub(crate) const POLLNVAL: c_ushort = sys::POLLNVAL as c_ushort;
/// `errno` values of ALSA calls the crate reacts to.
pub(crate) const EPIPE: c_int = 32;
pub(crate) const ESTRPIPE: c_int = 86;

// `snd_pcm_uframes_t` is `unsigned long`, which the wrappers convert from
// and to `usize`: the same size on every Linux target.
const _: () = assert!(size_of::<c_ulong>() == size_of::<usize>());
const _: () = assert!(size_of::<c_long>() == size_of::<isize>());
#[cfg(target_pointer_width = "64")]
const _: () = assert!(size_of::<c_ulong>() == 8);
#[cfg(target_pointer_width = "32")]
const _: () = assert!(size_of::<c_ulong>() == 4);
// `struct pollfd` is passed in arrays: 8 bytes on every target.
const _: () = assert!(size_of::<PollFd>() == 8 && core::mem::align_of::<PollFd>() == 4);

// ---------------------------------------------------------------- declarations

#[cfg_attr(all(target_os = "linux", target_env = "gnu"), link(name = "dl"))]
extern "C" {
    fn dlopen(file: *const c_char, mode: c_int) -> *mut c_void;
    fn dlsym(handle: *mut c_void, name: *const c_char) -> *mut c_void;
    fn dlerror() -> *mut c_char;
}

extern "C" {
    /// libc's `free`, for the strings `snd_device_name_get_hint` returns.
    fn free(ptr: *mut c_void);
    /// libc's `getauxval`: `AT_SECURE` says whether the process runs with
    /// privileges it was given (setuid, file capabilities).
    fn getauxval(kind: c_ulong) -> c_ulong;
}

/// `getauxval`'s key for "secure mode" (`<elf.h>`).
const AT_SECURE: c_ulong = 23;

/// Whether the process runs setuid/setgid or with file capabilities: then,
/// as glibc does for `LD_*`, no environment variable names code to load.
fn privileged() -> bool {
    // SAFETY: `getauxval` reads the process's auxiliary vector; any key is
    // allowed (an unknown one gives 0).
    unsafe { getauxval(AT_SECURE) != 0 }
}

/// Opaque libasound objects.
type SndPcm = c_void;
type SndHwParams = c_void;
type SndSwParams = c_void;

/// libasound's error printer as this crate declares it: the C type is
/// `void (*)(const char *file, int line, const char *function, int err,
/// const char *fmt, ...)`. See [`silent`] for why the varargs may be left
/// out.
type ErrorHandler = unsafe extern "C" fn(*const c_char, c_int, *const c_char, c_int, *const c_char);

/// The table of libasound functions: `fn name(args) -> ret;` declares the
/// field `name`, resolved from the symbol of the same name.
macro_rules! library {
    ($(fn $name:ident($($arg:ty),* $(,)?) -> $ret:ty;)*) => {
        /// libasound's functions, resolved once.
        #[allow(non_snake_case)]
        pub(crate) struct Lib {
            $($name: unsafe extern "C" fn($($arg),*) -> $ret,)*
        }

        impl Lib {
            /// Resolve every symbol in `handle`.
            ///
            /// # Safety
            ///
            /// `handle` is a live `dlopen` handle of libasound, never
            /// closed.
            unsafe fn resolve(handle: *mut c_void) -> Result<Lib, String> {
                Ok(Lib {
                    $($name: {
                        // SAFETY: `handle` is live (this function's
                        // contract); the name gets its NUL here.
                        let address = unsafe {
                            symbol(handle, concat!(stringify!($name), "\0"))
                        }?;
                        // SAFETY: the symbol is libasound's function of that
                        // name, whose C prototype (alsa/pcm.h, alsa/error.h,
                        // alsa/control.h) this table spells out with C types
                        // of the same size; a data pointer and a function
                        // pointer have the same size on every Linux target.
                        unsafe {
                            core::mem::transmute::<
                                *mut c_void,
                                unsafe extern "C" fn($($arg),*) -> $ret,
                            >(address)
                        }
                    },)*
                })
            }
        }
    };
}

library! {
    fn snd_strerror(c_int) -> *const c_char;
    fn snd_lib_error_set_handler(Option<ErrorHandler>) -> c_int;
    fn snd_pcm_open(*mut *mut SndPcm, *const c_char, c_int, c_int) -> c_int;
    fn snd_pcm_close(*mut SndPcm) -> c_int;
    fn snd_pcm_hw_params_malloc(*mut *mut SndHwParams) -> c_int;
    fn snd_pcm_hw_params_free(*mut SndHwParams) -> ();
    fn snd_pcm_hw_params_any(*mut SndPcm, *mut SndHwParams) -> c_int;
    fn snd_pcm_hw_params_set_access(*mut SndPcm, *mut SndHwParams, c_int) -> c_int;
    fn snd_pcm_hw_params_test_format(*mut SndPcm, *mut SndHwParams, c_int) -> c_int;
    fn snd_pcm_hw_params_set_format(*mut SndPcm, *mut SndHwParams, c_int) -> c_int;
    fn snd_pcm_hw_params_test_channels(*mut SndPcm, *mut SndHwParams, c_uint) -> c_int;
    fn snd_pcm_hw_params_set_channels(*mut SndPcm, *mut SndHwParams, c_uint) -> c_int;
    fn snd_pcm_hw_params_get_channels_min(*const SndHwParams, *mut c_uint) -> c_int;
    fn snd_pcm_hw_params_get_channels_max(*const SndHwParams, *mut c_uint) -> c_int;
    fn snd_pcm_hw_params_test_rate(*mut SndPcm, *mut SndHwParams, c_uint, c_int) -> c_int;
    fn snd_pcm_hw_params_set_rate(*mut SndPcm, *mut SndHwParams, c_uint, c_int) -> c_int;
    fn snd_pcm_hw_params_get_rate_min(*const SndHwParams, *mut c_uint, *mut c_int) -> c_int;
    fn snd_pcm_hw_params_get_rate_max(*const SndHwParams, *mut c_uint, *mut c_int) -> c_int;
    fn snd_pcm_hw_params_set_period_size_near(
        *mut SndPcm, *mut SndHwParams, *mut c_ulong, *mut c_int,
    ) -> c_int;
    fn snd_pcm_hw_params_set_buffer_size_near(*mut SndPcm, *mut SndHwParams, *mut c_ulong) -> c_int;
    fn snd_pcm_hw_params_get_period_size(*const SndHwParams, *mut c_ulong, *mut c_int) -> c_int;
    fn snd_pcm_hw_params_get_buffer_size(*const SndHwParams, *mut c_ulong) -> c_int;
    fn snd_pcm_hw_params(*mut SndPcm, *mut SndHwParams) -> c_int;
    fn snd_pcm_sw_params_malloc(*mut *mut SndSwParams) -> c_int;
    fn snd_pcm_sw_params_free(*mut SndSwParams) -> ();
    fn snd_pcm_sw_params_current(*mut SndPcm, *mut SndSwParams) -> c_int;
    fn snd_pcm_sw_params_set_avail_min(*mut SndPcm, *mut SndSwParams, c_ulong) -> c_int;
    fn snd_pcm_sw_params_set_start_threshold(*mut SndPcm, *mut SndSwParams, c_ulong) -> c_int;
    fn snd_pcm_sw_params(*mut SndPcm, *mut SndSwParams) -> c_int;
    fn snd_pcm_poll_descriptors_count(*mut SndPcm) -> c_int;
    fn snd_pcm_poll_descriptors(*mut SndPcm, *mut PollFd, c_uint) -> c_int;
    fn snd_pcm_poll_descriptors_revents(*mut SndPcm, *mut PollFd, c_uint, *mut c_ushort) -> c_int;
    fn snd_pcm_avail_update(*mut SndPcm) -> c_long;
    fn snd_pcm_writei(*mut SndPcm, *const c_void, c_ulong) -> c_long;
    fn snd_pcm_frames_to_bytes(*mut SndPcm, c_long) -> c_long;
    fn snd_pcm_readi(*mut SndPcm, *mut c_void, c_ulong) -> c_long;
    fn snd_pcm_prepare(*mut SndPcm) -> c_int;
    fn snd_pcm_start(*mut SndPcm) -> c_int;
    fn snd_pcm_resume(*mut SndPcm) -> c_int;
    fn snd_pcm_state(*mut SndPcm) -> c_int;
    fn snd_device_name_hint(c_int, *const c_char, *mut *mut *mut c_void) -> c_int;
    fn snd_device_name_get_hint(*const c_void, *const c_char) -> *mut c_char;
    fn snd_device_name_free_hint(*mut *mut c_void) -> c_int;
}

/// The text of the last `dl*` failure on this thread.
fn dl_error() -> String {
    // SAFETY: `dlerror` returns NULL or a NUL-terminated string valid until
    // the next dl* call on this thread; it is copied at once.
    let err = unsafe { dlerror() };
    if err.is_null() {
        return "unknown error".into();
    }
    // SAFETY: non-NULL and NUL-terminated (above), read before any other
    // dl* call.
    unsafe { CStr::from_ptr(err) }
        .to_string_lossy()
        .into_owned()
}

/// The address of `name` in `handle`.
///
/// # Safety
///
/// - `handle` is a live `dlopen` handle;
/// - `name` ends with a NUL byte.
unsafe fn symbol(handle: *mut c_void, name: &'static str) -> Result<*mut c_void, String> {
    debug_assert!(name.ends_with('\0'));
    // SAFETY: both from the caller's contract.
    let address = unsafe { dlsym(handle, name.as_ptr().cast()) };
    if address.is_null() {
        let name = name.trim_end_matches('\0');
        return Err(std::format!(
            "{LIBRARY} has no {name} (alsa-lib too old?): {}",
            dl_error()
        ));
    }
    Ok(address)
}

/// libasound's error printer, replaced: ignores the message (the failing
/// call also returns an error code, which becomes the error value).
///
/// Declared without the C prototype's trailing `...`: stable Rust cannot
/// define a variadic function. Calling it through the variadic pointer
/// type is sound on the C ABIs of Linux targets: the five fixed arguments
/// are passed exactly as for a non-variadic call (registers on x86_64
/// SysV and AAPCS64, where the extra `%al` count on x86_64 is ignored by a
/// non-variadic callee; the stack on i386 cdecl), and the variadic ones
/// come after them and are removed by the caller (caller-cleanup), so a
/// callee that never reads them leaves the stack as the caller expects.
/// No argument is read here at all.
extern "C" fn silent(
    _file: *const c_char,
    _line: c_int,
    _function: *const c_char,
    _err: c_int,
    _fmt: *const c_char,
) {
}

/// Why loading failed, kept to be reported again (`io::Error` is not
/// `Clone`).
struct LoadError {
    kind: io::ErrorKind,
    message: String,
}

/// The loaded library, or why it is not: loaded once per process.
fn lib() -> io::Result<&'static Lib> {
    static LIB: OnceLock<Result<Lib, LoadError>> = OnceLock::new();
    match LIB.get_or_init(load) {
        Ok(lib) => Ok(lib),
        Err(err) => Err(io::Error::new(err.kind, err.message.as_str())),
    }
}

fn load() -> Result<Lib, LoadError> {
    let file = std::env::var_os(LIBRARY_ENV)
        .filter(|_| !privileged())
        .and_then(|name| name.into_string().ok())
        .unwrap_or_else(|| LIBRARY.into());
    let not_found = |why: String| LoadError {
        kind: io::ErrorKind::NotFound,
        message: std::format!(
            "cannot load {file}, ALSA's library (install the libasound2 package on \
             Debian/Ubuntu, alsa-lib on Fedora): {why}"
        ),
    };
    let c_file = CString::new(file.as_str()).map_err(|_| not_found("NUL in the name".into()))?;
    // SAFETY: `c_file` is NUL-terminated; the handle is never closed, so
    // the symbols resolved from it stay valid for the whole process.
    let handle = unsafe { dlopen(c_file.as_ptr(), RTLD_NOW | RTLD_LOCAL) };
    if handle.is_null() {
        return Err(not_found(dl_error()));
    }
    // SAFETY: `handle` is libasound, opened above and never closed.
    let lib = unsafe { Lib::resolve(handle) }.map_err(|message| LoadError {
        kind: io::ErrorKind::Unsupported,
        message,
    })?;
    // SAFETY: `silent` has the handler's fixed parameters (see its docs for
    // the varargs) and never unwinds; it stays valid (a plain function).
    unsafe { (lib.snd_lib_error_set_handler)(Some(silent)) };
    Ok(lib)
}

impl Lib {
    /// `ret` as a result: an error code becomes an [`io::Error`] saying
    /// what failed (with `errno` kept for `sys::errno`); `-EAGAIN`,
    /// `-EPIPE` and `-ESTRPIPE` stay bare OS errors.
    /// `T` is `c_int` or `c_long` (the same type on 32-bit targets).
    fn check<T: Copy + Into<i64>>(&self, ret: T, what: fmt::Arguments<'_>) -> io::Result<T> {
        let value: i64 = ret.into();
        if value >= 0 {
            return Ok(ret);
        }
        // A negative return is a (small) negated error code.
        let code = c_int::try_from(value).unwrap_or(c_int::MIN);
        let errno = code.checked_neg().unwrap_or(c_int::MAX);
        if matches!(errno, EPIPE | ESTRPIPE) {
            // Recovered from by the caller, as often as it happens: bare,
            // which allocates nothing (like `EAGAIN` in `sys::context`).
            return Err(io::Error::from_raw_os_error(errno));
        }
        if errno < SND_ERROR_BEGIN {
            return Err(sys::context(what, io::Error::from_raw_os_error(errno)));
        }
        // SAFETY: snd_strerror returns a static NUL-terminated string for
        // any code.
        let text = unsafe { CStr::from_ptr((self.snd_strerror)(code)) }.to_string_lossy();
        Err(io::Error::other(std::format!("{what}: {text}")))
    }
}

// ---------------------------------------------------------------- PCM

/// An open PCM (non-blocking), closed when dropped.
///
/// Every method that calls libasound takes `&mut self`: the handle is used
/// by one thread at a time, which is all libasound asks.
pub(crate) struct Pcm {
    raw: NonNull<SndPcm>,
    lib: &'static Lib,
    name: String,
}

// SAFETY: a `snd_pcm_t` is not tied to the thread that opened it; libasound
// only requires that one thread at a time uses it, which `&mut self` on
// every call guarantees.
unsafe impl Send for Pcm {}
// SAFETY: `&Pcm` gives access to nothing that calls libasound (only the
// name), see above.
unsafe impl Sync for Pcm {}

impl Pcm {
    /// `snd_pcm_open(name, stream, SND_PCM_NONBLOCK)`; `stream` is
    /// `SND_PCM_STREAM_PLAYBACK` or `_CAPTURE`.
    pub(crate) fn open(name: &str, stream: c_int) -> io::Result<Pcm> {
        let lib = lib()?;
        let c_name = CString::new(name).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                std::format!("PCM name {name:?} contains a NUL byte"),
            )
        })?;
        let mut raw = ptr::null_mut();
        // SAFETY: `raw` is a valid out-pointer, `c_name` NUL-terminated and
        // alive for the call (libasound copies the name).
        let ret =
            unsafe { (lib.snd_pcm_open)(&mut raw, c_name.as_ptr(), stream, SND_PCM_NONBLOCK) };
        lib.check(ret, format_args!("cannot open ALSA PCM {name:?}"))?;
        let raw = NonNull::new(raw).ok_or_else(|| {
            io::Error::other(std::format!("cannot open ALSA PCM {name:?}: no handle"))
        })?;
        Ok(Pcm {
            raw,
            lib,
            name: name.to_string(),
        })
    }

    /// The name it was opened with.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    fn ptr(&mut self) -> *mut SndPcm {
        self.raw.as_ptr()
    }

    /// The full configuration space (`snd_pcm_hw_params_any`), to narrow
    /// down and [`HwParams::apply`].
    pub(crate) fn hw_params(&mut self) -> io::Result<HwParams<'_>> {
        let mut raw = ptr::null_mut();
        // SAFETY: `raw` is a valid out-pointer.
        let ret = unsafe { (self.lib.snd_pcm_hw_params_malloc)(&mut raw) };
        self.lib
            .check(ret, format_args!("snd_pcm_hw_params_malloc"))?;
        let raw = NonNull::new(raw).ok_or_else(|| io::Error::from(io::ErrorKind::OutOfMemory))?;
        let params = HwParams { pcm: self, raw };
        let pcm = params.pcm.ptr();
        // SAFETY: both pointers are live (the PCM open, the params just
        // allocated).
        let ret = unsafe { (params.pcm.lib.snd_pcm_hw_params_any)(pcm, params.raw.as_ptr()) };
        params.check(ret, "snd_pcm_hw_params_any")?;
        Ok(params)
    }

    /// Software parameters: wake when `avail_min` frames can be moved;
    /// start playback once `start_threshold` frames are queued.
    pub(crate) fn set_sw_params(
        &mut self,
        avail_min: usize,
        start_threshold: usize,
    ) -> io::Result<()> {
        let lib = self.lib;
        let mut raw = ptr::null_mut();
        // SAFETY: `raw` is a valid out-pointer.
        let ret = unsafe { (lib.snd_pcm_sw_params_malloc)(&mut raw) };
        lib.check(ret, format_args!("snd_pcm_sw_params_malloc"))?;
        let Some(sw) = NonNull::new(raw) else {
            return Err(io::ErrorKind::OutOfMemory.into());
        };
        let pcm = self.ptr();
        let sw = sw.as_ptr();
        let name = &self.name;
        let result = (|| {
            // SAFETY: `pcm` is open, `sw` allocated above and freed only
            // after this call and the three below.
            let ret = unsafe { (lib.snd_pcm_sw_params_current)(pcm, sw) };
            lib.check(ret, format_args!("snd_pcm_sw_params_current({name:?})"))?;
            // SAFETY: as above.
            let ret =
                unsafe { (lib.snd_pcm_sw_params_set_avail_min)(pcm, sw, avail_min as c_ulong) };
            lib.check(
                ret,
                format_args!("snd_pcm_sw_params_set_avail_min({name:?}, {avail_min})"),
            )?;
            // SAFETY: as above.
            let ret = unsafe {
                (lib.snd_pcm_sw_params_set_start_threshold)(pcm, sw, start_threshold as c_ulong)
            };
            lib.check(
                ret,
                format_args!("snd_pcm_sw_params_set_start_threshold({name:?})"),
            )?;
            // SAFETY: as above.
            let ret = unsafe { (lib.snd_pcm_sw_params)(pcm, sw) };
            lib.check(ret, format_args!("snd_pcm_sw_params({name:?})"))
                .map(drop)
        })();
        // SAFETY: allocated by snd_pcm_sw_params_malloc, freed once.
        unsafe { (lib.snd_pcm_sw_params_free)(sw) };
        result
    }

    /// The PCM's poll descriptors, each with a duplicate of its fd
    /// (`F_DUPFD_CLOEXEC`) that the caller owns, so it can register it.
    pub(crate) fn poll_fds(&mut self) -> io::Result<Vec<(PollFd, OwnedFd)>> {
        let lib = self.lib;
        let pcm = self.ptr();
        // SAFETY: `pcm` is open.
        let count = unsafe { (lib.snd_pcm_poll_descriptors_count)(pcm) };
        let count = lib.check(
            count,
            format_args!("snd_pcm_poll_descriptors_count({:?})", self.name),
        )?;
        let mut fds = std::vec![PollFd::default(); count as usize];
        // SAFETY: `fds` has room for `count` entries, the PCM is open.
        let filled =
            unsafe { (lib.snd_pcm_poll_descriptors)(pcm, fds.as_mut_ptr(), count as c_uint) };
        let filled = lib.check(
            filled,
            format_args!("snd_pcm_poll_descriptors({:?})", self.name),
        )?;
        fds.truncate(filled as usize);
        fds.into_iter()
            .map(|pfd| {
                // SAFETY: libasound keeps this fd open while the PCM is
                // open, which outlasts this borrow.
                let fd = unsafe { BorrowedFd::borrow_raw(pfd.fd) };
                let owned = fd.try_clone_to_owned().map_err(|e| {
                    sys::context(
                        format_args!("dup of {:?}'s poll fd {}", self.name, pfd.fd),
                        e,
                    )
                })?;
                Ok((pfd, owned))
            })
            .collect()
    }

    /// `snd_pcm_poll_descriptors_revents`: what `pfds` (as filled by
    /// [`Pcm::poll_fds`], with `revents` from `poll`) mean for the stream.
    pub(crate) fn revents(&mut self, pfds: &mut [PollFd]) -> io::Result<c_ushort> {
        let mut revents = 0;
        let pcm = self.ptr();
        // SAFETY: `pfds` is valid for `pfds.len()` entries, `revents` for
        // writing; the PCM is open.
        let ret = unsafe {
            (self.lib.snd_pcm_poll_descriptors_revents)(
                pcm,
                pfds.as_mut_ptr(),
                pfds.len() as c_uint,
                &mut revents,
            )
        };
        self.lib.check(
            ret,
            format_args!("snd_pcm_poll_descriptors_revents({:?})", self.name),
        )?;
        Ok(revents)
    }

    /// `snd_pcm_avail_update`: frames that can be written (playback) or
    /// read (capture) now.
    pub(crate) fn avail(&mut self) -> io::Result<usize> {
        let pcm = self.ptr();
        // SAFETY: `pcm` is open.
        let ret = unsafe { (self.lib.snd_pcm_avail_update)(pcm) };
        let n = self
            .lib
            .check(ret, format_args!("snd_pcm_avail_update({:?})", self.name))?;
        Ok(n as usize)
    }

    /// Bytes in one frame of the installed format and channel count (0
    /// before hw params are installed).
    fn frame_bytes(&mut self) -> usize {
        let pcm = self.ptr();
        // SAFETY: `ssize_t snd_pcm_frames_to_bytes(pcm, frames)` on an open
        // PCM only reads its configuration.
        let ret = unsafe { (self.lib.snd_pcm_frames_to_bytes)(pcm, 1) };
        usize::try_from(ret).unwrap_or(0)
    }

    /// `snd_pcm_writei`: write up to `frames` frames from `bytes` (no more
    /// than it holds, in frames of the PCM's own format); returns the
    /// frames written.
    pub(crate) fn write(&mut self, bytes: &[u8], frames: usize) -> io::Result<usize> {
        let frames = frames.min(bytes.len().checked_div(self.frame_bytes()).unwrap_or(0));
        let pcm = self.ptr();
        // SAFETY: `bytes` holds at least `frames` whole frames of the PCM's
        // format (bounded above with the PCM's own frame size) and is only
        // read; the PCM is open.
        let ret =
            unsafe { (self.lib.snd_pcm_writei)(pcm, bytes.as_ptr().cast(), frames as c_ulong) };
        let n = self
            .lib
            .check(ret, format_args!("snd_pcm_writei({:?})", self.name))?;
        Ok(n as usize)
    }

    /// `snd_pcm_readi`: read up to `frames` frames into `bytes` (no more
    /// than it has room for, in frames of the PCM's own format); returns
    /// the frames read.
    pub(crate) fn read(&mut self, bytes: &mut [u8], frames: usize) -> io::Result<usize> {
        let frames = frames.min(bytes.len().checked_div(self.frame_bytes()).unwrap_or(0));
        let pcm = self.ptr();
        // SAFETY: `bytes` has room for at least `frames` whole frames of the
        // PCM's format (bounded above with the PCM's own frame size); the
        // PCM is open.
        let ret =
            unsafe { (self.lib.snd_pcm_readi)(pcm, bytes.as_mut_ptr().cast(), frames as c_ulong) };
        let n = self
            .lib
            .check(ret, format_args!("snd_pcm_readi({:?})", self.name))?;
        Ok(n as usize)
    }

    /// Call `f`, named `call`, on the PCM: `int f(snd_pcm_t *)`.
    ///
    /// # Safety
    ///
    /// `f` is a function of the table that takes an open PCM and nothing
    /// else.
    unsafe fn call(
        &mut self,
        f: unsafe extern "C" fn(*mut SndPcm) -> c_int,
        call: &str,
    ) -> io::Result<()> {
        let pcm = self.ptr();
        // SAFETY: `pcm` is open; `f` takes just that (the caller's contract).
        let ret = unsafe { f(pcm) };
        self.lib
            .check(ret, format_args!("{call}({:?})", self.name))
            .map(drop)
    }

    /// `snd_pcm_prepare`: out of an xrun, ready to start again.
    pub(crate) fn prepare(&mut self) -> io::Result<()> {
        // SAFETY: `int snd_pcm_prepare(snd_pcm_t *)`.
        unsafe { self.call(self.lib.snd_pcm_prepare, "snd_pcm_prepare") }
    }

    /// `snd_pcm_start`.
    pub(crate) fn start(&mut self) -> io::Result<()> {
        // SAFETY: `int snd_pcm_start(snd_pcm_t *)`.
        unsafe { self.call(self.lib.snd_pcm_start, "snd_pcm_start") }
    }

    /// `snd_pcm_resume` (once: `-EAGAIN` is returned, not waited out).
    pub(crate) fn resume(&mut self) -> io::Result<()> {
        // SAFETY: `int snd_pcm_resume(snd_pcm_t *)`.
        unsafe { self.call(self.lib.snd_pcm_resume, "snd_pcm_resume") }
    }

    /// `snd_pcm_state`.
    pub(crate) fn state(&mut self) -> c_int {
        let pcm = self.ptr();
        // SAFETY: `pcm` is open.
        unsafe { (self.lib.snd_pcm_state)(pcm) }
    }
}

impl Drop for Pcm {
    fn drop(&mut self) {
        let pcm = self.ptr();
        // Ignored: the handle is freed whatever close returns, and a drop
        // has no one to report to. Close discards queued frames (it does
        // not drain) and does not block on a non-blocking PCM.
        // SAFETY: `pcm` is open and closed exactly once, here.
        let _ = unsafe { (self.lib.snd_pcm_close)(pcm) };
    }
}

impl fmt::Debug for Pcm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pcm").field("name", &self.name).finish()
    }
}

/// A hardware configuration space of a PCM, narrowed down step by step,
/// then installed with [`HwParams::apply`]; freed when dropped.
pub(crate) struct HwParams<'a> {
    pcm: &'a mut Pcm,
    raw: NonNull<SndHwParams>,
}

impl HwParams<'_> {
    fn check(&self, ret: c_int, call: &str) -> io::Result<c_int> {
        let name = &self.pcm.name;
        self.pcm.lib.check(ret, format_args!("{call}({name:?})"))
    }

    /// Both pointers of a call: the open PCM and these params.
    fn ptrs(&mut self) -> (*mut SndPcm, *mut SndHwParams) {
        (self.pcm.ptr(), self.raw.as_ptr())
    }

    /// `f(pcm, params, arg)`, for the `snd_pcm_hw_params_{test,set}_*`
    /// functions that take one value.
    ///
    /// # Safety
    ///
    /// `f` is a function of the table of the C type `int (*)(snd_pcm_t *,
    /// snd_pcm_hw_params_t *, A)`, taking the PCM and these params.
    unsafe fn with<A>(
        &mut self,
        f: unsafe extern "C" fn(*mut SndPcm, *mut SndHwParams, A) -> c_int,
        arg: A,
    ) -> c_int {
        let (pcm, hw) = self.ptrs();
        // SAFETY: both pointers live (see `ptrs`); `f` takes them and a
        // value (the caller's contract).
        unsafe { f(pcm, hw, arg) }
    }

    /// Interleaved read/write access.
    pub(crate) fn set_access_interleaved(&mut self) -> io::Result<()> {
        let f = self.pcm.lib.snd_pcm_hw_params_set_access;
        // SAFETY: `int snd_pcm_hw_params_set_access(pcm, params, int)`.
        let ret = unsafe { self.with(f, SND_PCM_ACCESS_RW_INTERLEAVED) };
        self.check(ret, "snd_pcm_hw_params_set_access").map(drop)
    }

    /// Whether the space holds `format` (an `SND_PCM_FORMAT_*`).
    pub(crate) fn test_format(&mut self, format: c_int) -> bool {
        let f = self.pcm.lib.snd_pcm_hw_params_test_format;
        // SAFETY: `int snd_pcm_hw_params_test_format(pcm, params, int)`.
        unsafe { self.with(f, format) == 0 }
    }

    pub(crate) fn set_format(&mut self, format: c_int) -> io::Result<()> {
        let f = self.pcm.lib.snd_pcm_hw_params_set_format;
        // SAFETY: `int snd_pcm_hw_params_set_format(pcm, params, int)`.
        let ret = unsafe { self.with(f, format) };
        self.check(ret, "snd_pcm_hw_params_set_format").map(drop)
    }

    pub(crate) fn test_channels(&mut self, channels: u32) -> bool {
        let f = self.pcm.lib.snd_pcm_hw_params_test_channels;
        // SAFETY: `int snd_pcm_hw_params_test_channels(pcm, params, uint)`.
        unsafe { self.with(f, channels) == 0 }
    }

    pub(crate) fn set_channels(&mut self, channels: u32) -> io::Result<()> {
        let f = self.pcm.lib.snd_pcm_hw_params_set_channels;
        // SAFETY: `int snd_pcm_hw_params_set_channels(pcm, params, uint)`.
        let ret = unsafe { self.with(f, channels) };
        self.check(ret, "snd_pcm_hw_params_set_channels").map(drop)
    }

    /// The smallest and largest channel counts in the space.
    pub(crate) fn channels_range(&mut self) -> io::Result<(u32, u32)> {
        let (mut min, mut max) = (0, 0);
        let hw = self.raw.as_ptr();
        // SAFETY: `hw` is live, `min` a valid out-pointer.
        let ret = unsafe { (self.pcm.lib.snd_pcm_hw_params_get_channels_min)(hw, &mut min) };
        self.check(ret, "snd_pcm_hw_params_get_channels_min")?;
        // SAFETY: as above.
        let ret = unsafe { (self.pcm.lib.snd_pcm_hw_params_get_channels_max)(hw, &mut max) };
        self.check(ret, "snd_pcm_hw_params_get_channels_max")?;
        Ok((min, max))
    }

    pub(crate) fn test_rate(&mut self, rate: u32) -> bool {
        let (pcm, hw) = self.ptrs();
        // SAFETY: both pointers live.
        unsafe { (self.pcm.lib.snd_pcm_hw_params_test_rate)(pcm, hw, rate, 0) == 0 }
    }

    pub(crate) fn set_rate(&mut self, rate: u32) -> io::Result<()> {
        let (pcm, hw) = self.ptrs();
        // SAFETY: both pointers live.
        let ret = unsafe { (self.pcm.lib.snd_pcm_hw_params_set_rate)(pcm, hw, rate, 0) };
        self.check(ret, "snd_pcm_hw_params_set_rate").map(drop)
    }

    /// The lowest and highest rates in the space (Hz).
    pub(crate) fn rate_range(&mut self) -> io::Result<(u32, u32)> {
        let (mut min, mut max) = (0, 0);
        let hw = self.raw.as_ptr();
        // SAFETY: `hw` is live, `min` a valid out-pointer; a NULL `dir` is
        // allowed.
        let ret =
            unsafe { (self.pcm.lib.snd_pcm_hw_params_get_rate_min)(hw, &mut min, ptr::null_mut()) };
        self.check(ret, "snd_pcm_hw_params_get_rate_min")?;
        // SAFETY: as above.
        let ret =
            unsafe { (self.pcm.lib.snd_pcm_hw_params_get_rate_max)(hw, &mut max, ptr::null_mut()) };
        self.check(ret, "snd_pcm_hw_params_get_rate_max")?;
        Ok((min, max))
    }

    /// The period nearest `frames` the space allows; returns it.
    pub(crate) fn set_period_near(&mut self, frames: usize) -> io::Result<usize> {
        let mut value = frames as c_ulong;
        let (pcm, hw) = self.ptrs();
        // SAFETY: both pointers live, `value` a valid in/out pointer, a
        // NULL `dir` is allowed.
        let ret = unsafe {
            (self.pcm.lib.snd_pcm_hw_params_set_period_size_near)(
                pcm,
                hw,
                &mut value,
                ptr::null_mut(),
            )
        };
        self.check(ret, "snd_pcm_hw_params_set_period_size_near")?;
        Ok(value as usize)
    }

    /// The buffer size nearest `frames` the space allows; returns it.
    pub(crate) fn set_buffer_near(&mut self, frames: usize) -> io::Result<usize> {
        let mut value = frames as c_ulong;
        let (pcm, hw) = self.ptrs();
        // SAFETY: both pointers live, `value` a valid in/out pointer.
        let ret =
            unsafe { (self.pcm.lib.snd_pcm_hw_params_set_buffer_size_near)(pcm, hw, &mut value) };
        self.check(ret, "snd_pcm_hw_params_set_buffer_size_near")?;
        Ok(value as usize)
    }

    /// Install the configuration (`snd_pcm_hw_params`, which also prepares
    /// the stream); returns the period and buffer sizes it chose (frames).
    pub(crate) fn apply(mut self) -> io::Result<(usize, usize)> {
        let (pcm, hw) = self.ptrs();
        // SAFETY: both pointers live.
        let ret = unsafe { (self.pcm.lib.snd_pcm_hw_params)(pcm, hw) };
        self.check(ret, "snd_pcm_hw_params")?;
        let (mut period, mut buffer) = (0, 0);
        // SAFETY: `hw` is live, the out-pointers valid, a NULL `dir` allowed.
        let ret = unsafe {
            (self.pcm.lib.snd_pcm_hw_params_get_period_size)(hw, &mut period, ptr::null_mut())
        };
        self.check(ret, "snd_pcm_hw_params_get_period_size")?;
        // SAFETY: as above.
        let ret = unsafe { (self.pcm.lib.snd_pcm_hw_params_get_buffer_size)(hw, &mut buffer) };
        self.check(ret, "snd_pcm_hw_params_get_buffer_size")?;
        Ok((period as usize, buffer as usize))
    }
}

impl Drop for HwParams<'_> {
    fn drop(&mut self) {
        // SAFETY: allocated by snd_pcm_hw_params_malloc, freed once, here.
        unsafe { (self.pcm.lib.snd_pcm_hw_params_free)(self.raw.as_ptr()) };
    }
}

// ---------------------------------------------------------------- device names

/// One entry of `snd_device_name_hint(-1, "pcm")`: its `NAME`, `DESC` and
/// `IOID` (`None` for both directions, `Input`, `Output`).
pub(crate) struct Hint {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) ioid: Option<String>,
}

/// The PCMs ALSA's configuration and cards list.
pub(crate) fn pcm_hints() -> io::Result<Vec<Hint>> {
    let lib = lib()?;
    let mut hints: *mut *mut c_void = ptr::null_mut();
    // SAFETY: the interface name is NUL-terminated, `hints` a valid
    // out-pointer; card -1 means every card.
    let ret = unsafe { (lib.snd_device_name_hint)(-1, b"pcm\0".as_ptr().cast(), &mut hints) };
    lib.check(ret, format_args!("snd_device_name_hint(pcm)"))?;
    if hints.is_null() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for index in 0.. {
        // SAFETY: `hints` is the NULL-terminated array snd_device_name_hint
        // made, alive until freed below; `index` stops at its NULL.
        let hint = unsafe { *hints.add(index) };
        if hint.is_null() {
            break;
        }
        // SAFETY: `hint` is an entry of the live array; the ids below are
        // NUL-terminated.
        let get = |id: &[u8]| unsafe { hint_text(lib, hint, id) };
        if let Some(name) = get(b"NAME\0") {
            out.push(Hint {
                name,
                description: get(b"DESC\0").unwrap_or_default(),
                ioid: get(b"IOID\0"),
            });
        }
    }
    // Ignored: freeing cannot fail in a way that matters once copied.
    // SAFETY: `hints` came from snd_device_name_hint and is freed once.
    let _ = unsafe { (lib.snd_device_name_free_hint)(hints) };
    Ok(out)
}

/// The text of field `id` of one name hint, copied.
///
/// # Safety
///
/// - `hint` is an entry of a live `snd_device_name_hint` array;
/// - `id` ends with a NUL byte.
unsafe fn hint_text(lib: &Lib, hint: *mut c_void, id: &[u8]) -> Option<String> {
    debug_assert_eq!(id.last(), Some(&0));
    // SAFETY: both from the caller's contract.
    let text = unsafe { (lib.snd_device_name_get_hint)(hint, id.as_ptr().cast()) };
    if text.is_null() {
        return None;
    }
    // SAFETY: a non-NULL result is a NUL-terminated string, ours to free.
    let owned = unsafe { CStr::from_ptr(text) }
        .to_string_lossy()
        .into_owned();
    // SAFETY: malloc'ed by libasound for the caller, freed once.
    unsafe { free(text.cast()) };
    Some(owned)
}
