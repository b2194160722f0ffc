//! Speakers and microphones as futures over ALSA (feature `audio`).
//!
//! [`Speakers`] hands out a [`Sink`] to fill each time a period of the
//! device buffer is free; [`Microphone`] hands out a [`Source`] each time
//! a period was captured. Samples are `f32` in [-1, 1], interleaved.
//!
//! ```rust
//! use pasts::linux::audio::{Config, Speakers};
//!
//! # fn main() -> std::io::Result<()> {
//! # if pasts::linux::audio::pcms().is_err() { return Ok(()); } // no libasound
//! // A 440 Hz tone for a tenth of a second ("null" discards it; use
//! // "default" to hear it).
//! let mut speakers = Speakers::open("null", Config::default())?;
//! let rate = speakers.config().rate as f32;
//! let mut t = 0;
//! pasts::block_on(async {
//!     while t < 4_800 {
//!         let mut sink = speakers.play().await?;
//!         for frame in sink.chunks_mut(2) {
//!             let x = (t as f32 * 440.0 * std::f32::consts::TAU / rate).sin();
//!             frame.fill(0.2 * x);
//!             t += 1;
//!         }
//!     }
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok(())
//! # }
//! ```
//!
//! # How it works
//!
//! - **No build-time libasound.** `libasound.so.2` is opened with `dlopen`
//!   on first use, so the crate builds on any Linux; without it, opening a
//!   stream is an [`ErrorKind::NotFound`](std::io::ErrorKind::NotFound)
//!   error naming the library and the package to install (`libasound2` on
//!   Debian and Ubuntu, `alsa-lib` on Fedora). libasound's own messages
//!   (it prints to stderr by default) are silenced for the whole process:
//!   every failure comes back as an error value instead.
//! - **No thread per stream.** The PCM is non-blocking, and its own poll
//!   descriptors wake the task through [`Device`](super::Device), on any
//!   executor. PCMs whose descriptors epoll refuses (`null`, `file`) are
//!   always ready: they have no timing and always have room.
//! - **No stall at start.** A [`Sink`] holds all the whole periods the
//!   buffer has room for (the whole buffer at first) and playback starts
//!   once a period is queued. Whole periods, so the next period is due at
//!   the device's next period wake-up: a stream is served every period.
//! - **Xruns recover.** An underrun, an overrun or a suspend is recovered
//!   by itself (prepare, or resume) and counted
//!   ([`Speakers::xruns`], [`Microphone::xruns`]); the audio of the gap is
//!   lost. An unplugged device is an error (never a hang), on every call
//!   from then on.
//! - **Negotiation.** The rate and channel count asked are required (an
//!   [`InvalidInput`](std::io::ErrorKind::InvalidInput) error names what
//!   the device supports; `plug:` PCMs and `"default"` convert); the
//!   period is the nearest the device allows, reported by `config()`; the
//!   buffer is four periods. The sample format is the first of FLOAT, S32,
//!   S16 the device takes, the CPU's byte order first.
//! - **Conversions** (exact; samples are first clamped to [-1, 1], NaN
//!   played as 0): S16 `round(x * 32767)`, S32 `round(x * 2147483647)`,
//!   FLOAT as is. Captured: S16 `v / 32767`, S32 `v / 2147483647`, clamped
//!   (so S16 -32768 reads as -1). S16 survives a round trip bit-exactly.
//! - **No allocation per period**: the sample and device-format buffers
//!   are made once, when the stream opens.
//! - **Dropping** a stream closes the PCM without waiting: queued frames
//!   are discarded.

mod config;
mod convert;
mod microphone;
mod speakers;
mod stream;

use std::io;
use std::string::String;
use std::vec::Vec;

use super::alsa_sys as alsa;

pub use config::Config;
pub use microphone::{Microphone, Record, Source};
pub use speakers::{Play, Sink, Speakers};

/// Which way a stream moves samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direction {
    Playback,
    Capture,
}

impl Direction {
    fn alsa(self) -> core::ffi::c_int {
        match self {
            Direction::Playback => alsa::SND_PCM_STREAM_PLAYBACK,
            Direction::Capture => alsa::SND_PCM_STREAM_CAPTURE,
        }
    }

    /// For error messages: "cannot {verb} at 1 Hz".
    fn verb(self) -> &'static str {
        match self {
            Direction::Playback => "play",
            Direction::Capture => "record",
        }
    }
}

/// A PCM that ALSA lists: see [`pcms`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Pcm {
    name: String,
    description: String,
    playback: bool,
    capture: bool,
}

impl Pcm {
    /// The name to open it with, e.g. `"default"`, `"hw:CARD=PCH,DEV=0"`.
    ///
    /// ```rust
    /// # if let Ok(pcms) = pasts::linux::audio::pcms() {
    /// for pcm in pcms {
    ///     assert!(!pcm.name().is_empty());
    /// }
    /// # }
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// ALSA's description (may hold several lines; empty if none).
    ///
    /// ```rust
    /// # if let Ok(pcms) = pasts::linux::audio::pcms() {
    /// if let Some(null) = pcms.iter().find(|p| p.name() == "null") {
    ///     assert!(!null.description().is_empty());
    /// }
    /// # }
    /// ```
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Whether it can play ([`Speakers`]).
    ///
    /// ```rust
    /// # if let Ok(pcms) = pasts::linux::audio::pcms() {
    /// let speakers = pcms.iter().filter(|p| p.playback());
    /// # drop(speakers);
    /// # }
    /// ```
    pub fn playback(&self) -> bool {
        self.playback
    }

    /// Whether it can record ([`Microphone`]).
    ///
    /// ```rust
    /// # if let Ok(pcms) = pasts::linux::audio::pcms() {
    /// let microphones = pcms.iter().filter(|p| p.capture());
    /// # drop(microphones);
    /// # }
    /// ```
    pub fn capture(&self) -> bool {
        self.capture
    }
}

/// The PCMs ALSA lists (`snd_device_name_hint`): those its configuration
/// defines and those of each card, with their direction.
///
/// ```rust
/// use pasts::linux::audio;
///
/// match audio::pcms() {
///     Ok(pcms) => {
///         for pcm in pcms {
///             let way = match (pcm.playback(), pcm.capture()) {
///                 (true, true) => "both",
///                 (true, false) => "playback",
///                 _ => "capture",
///             };
///             let first_line = pcm.description().lines().next().unwrap_or("");
///             println!("{} ({way}): {first_line}", pcm.name());
///         }
///     }
///     // NotFound: libasound is not installed.
///     Err(err) => println!("no ALSA: {err}"),
/// }
/// ```
pub fn pcms() -> io::Result<Vec<Pcm>> {
    Ok(alsa::pcm_hints()?
        .into_iter()
        .map(|hint| Pcm {
            playback: hint.ioid.as_deref() != Some("Input"),
            capture: hint.ioid.as_deref() != Some("Output"),
            name: hint.name,
            description: hint.description,
        })
        .collect())
}
