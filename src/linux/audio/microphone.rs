//! [`Microphone`]: capture, one [`Source`] of samples at a time.

use core::fmt;
use core::future::Future;
use core::ops::Deref;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::io;

use super::stream::Stream;
use super::{Config, Direction};

/// A capture stream on an ALSA PCM, read by awaiting
/// [`Microphone::record`].
///
/// Started when opened, non-blocking and driven by the PCM's own poll
/// descriptors (no thread per stream, any executor). An overrun (frames
/// not read in time) or a suspend is recovered by itself and counted in
/// [`Microphone::xruns`]; an unplugged device is an error, every time.
///
/// ```rust
/// use pasts::linux::audio::{Config, Microphone};
///
/// # fn main() -> std::io::Result<()> {
/// # if pasts::linux::audio::pcms().is_err() { return Ok(()); } // no libasound
/// // "null" records silence.
/// let mut mic = Microphone::open("null", Config::default())?;
/// let source = pasts::block_on(mic.record())?;
/// assert!(source.len() >= 256 * 2);
/// # Ok(())
/// # }
/// ```
pub struct Microphone {
    stream: Stream,
}

impl Microphone {
    /// Open capture PCM `pcm` with `config` and start it. Errors as for
    /// [`Speakers::open`](super::Speakers::open).
    ///
    /// ```rust
    /// use pasts::linux::audio::{Config, Microphone};
    ///
    /// # if pasts::linux::audio::pcms().is_err() { return; } // no libasound
    /// let config = Config { rate: 0, ..Config::default() };
    /// let err = Microphone::open("null", config).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// ```
    pub fn open(pcm: &str, config: Config) -> io::Result<Microphone> {
        Ok(Microphone {
            stream: Stream::open(pcm, config, Direction::Capture)?,
        })
    }

    /// Wait until at least one period was captured, then hand out the
    /// whole periods captured since the last call (up to the device
    /// buffer; the rest of a period comes with the next).
    ///
    /// ```rust
    /// # use pasts::linux::audio::{Config, Microphone};
    /// # fn main() -> std::io::Result<()> {
    /// # if pasts::linux::audio::pcms().is_err() { return Ok(()); } // no libasound
    /// let mut mic = Microphone::open("null", Config::default())?;
    /// let source = pasts::block_on(mic.record())?;
    /// assert_eq!(source.len() % 2, 0); // whole stereo frames
    /// # Ok(())
    /// # }
    /// ```
    pub fn record(&mut self) -> Record<'_> {
        Record {
            microphone: Some(self),
        }
    }

    /// What was negotiated (see [`Speakers::config`](super::Speakers::config)).
    ///
    /// ```rust
    /// # use pasts::linux::audio::{Config, Microphone};
    /// # fn main() -> std::io::Result<()> {
    /// # if pasts::linux::audio::pcms().is_err() { return Ok(()); } // no libasound
    /// let mic = Microphone::open("null", Config { channels: 1, ..Config::default() })?;
    /// assert_eq!(mic.config().channels, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn config(&self) -> Config {
        self.stream.config()
    }

    /// How many overruns and suspends were recovered from.
    ///
    /// ```rust
    /// # use pasts::linux::audio::{Config, Microphone};
    /// # fn main() -> std::io::Result<()> {
    /// # if pasts::linux::audio::pcms().is_err() { return Ok(()); } // no libasound
    /// let mic = Microphone::open("null", Config::default())?;
    /// assert_eq!(mic.xruns(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn xruns(&self) -> u64 {
        self.stream.xruns()
    }
}

impl fmt::Debug for Microphone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Microphone")
            .field("stream", &self.stream)
            .finish()
    }
}

/// The future of [`Microphone::record`].
#[must_use = "futures do nothing unless you .await or poll them"]
#[derive(Debug)]
pub struct Record<'a> {
    /// Taken when the source is handed out.
    microphone: Option<&'a mut Microphone>,
}

impl<'a> Future for Record<'a> {
    type Output = io::Result<Source<'a>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(microphone) = this.microphone.take() else {
            crate::schedule::polled_after_completion("`Record` (call `record()` again)");
        };
        match microphone.stream.poll_record(cx) {
            Poll::Ready(Ok(frames)) => Poll::Ready(Ok(Source {
                stream: &microphone.stream,
                frames,
            })),
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => {
                this.microphone = Some(microphone);
                Poll::Pending
            }
        }
    }
}

/// Captured samples: interleaved frames, converted to `f32` in [-1, 1].
/// Derefs to `&[f32]`.
///
/// ```rust
/// # use pasts::linux::audio::{Config, Microphone};
/// # fn main() -> std::io::Result<()> {
/// # if pasts::linux::audio::pcms().is_err() { return Ok(()); } // no libasound
/// let mut mic = Microphone::open("null", Config::default())?;
/// let source = pasts::block_on(mic.record())?;
/// let loudest = source.iter().fold(0.0f32, |m, s| m.max(s.abs()));
/// assert!(loudest <= 1.0);
/// # Ok(())
/// # }
/// ```
pub struct Source<'a> {
    stream: &'a Stream,
    frames: usize,
}

impl Deref for Source<'_> {
    type Target = [f32];

    fn deref(&self) -> &[f32] {
        self.stream.samples(self.frames)
    }
}

impl fmt::Debug for Source<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Source")
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}
