//! [`Speakers`]: playback, one [`Sink`] of samples at a time.

use core::fmt;
use core::future::Future;
use core::ops::{Deref, DerefMut};
use core::pin::Pin;
use core::task::{Context, Poll};
use std::io;

use super::stream::Stream;
use super::{Config, Direction};

/// A playback stream on an ALSA PCM, fed by awaiting [`Speakers::play`].
///
/// Non-blocking and driven by the PCM's own poll descriptors through the
/// crate's reactor: no thread per stream, any executor. An underrun (the
/// buffer ran dry) or a suspend is recovered by itself and counted in
/// [`Speakers::xruns`]; an unplugged device is an error, every time.
///
/// Dropping the speakers closes the PCM at once: what is still queued in
/// the device buffer (a few periods) is discarded, never waited for. To
/// let the end of a sound out, play a buffer of silence after it.
///
/// ```rust
/// use pasts::linux::audio::{Config, Speakers};
///
/// # fn main() -> std::io::Result<()> {
/// # if pasts::linux::audio::pcms().is_err() { return Ok(()); } // no libasound
/// // "null" discards what it is given; "default" is the usual choice.
/// let mut speakers = Speakers::open("null", Config::default())?;
/// pasts::block_on(async {
///     let mut sink = speakers.play().await?;
///     for frame in sink.chunks_mut(2) {
///         frame.copy_from_slice(&[0.25, -0.25]); // left, right
///     }
///     Ok::<(), std::io::Error>(())
/// })?; // the sink was written when dropped
/// assert_eq!(speakers.xruns(), 0);
/// # Ok(())
/// # }
/// ```
pub struct Speakers {
    stream: Stream,
}

impl Speakers {
    /// Open playback PCM `pcm` (`"default"`, `"hw:0"`, `"plughw:1,0"`,
    /// `"null"`, any name ALSA knows) with `config`.
    ///
    /// Errors: no libasound (`NotFound`, naming the library and its
    /// package); an unknown PCM (naming it); a rate or channel count the
    /// device cannot do (`InvalidInput`, naming what it supports).
    ///
    /// ```rust
    /// use pasts::linux::audio::{Config, Speakers};
    ///
    /// # if pasts::linux::audio::pcms().is_err() { return; } // no libasound
    /// let err = Speakers::open("no such pcm", Config::default()).unwrap_err();
    /// assert!(err.to_string().contains("no such pcm"));
    /// ```
    pub fn open(pcm: &str, config: Config) -> io::Result<Speakers> {
        Ok(Speakers {
            stream: Stream::open(pcm, config, Direction::Playback)?,
        })
    }

    /// Wait until at least one period can be written, then hand out a
    /// [`Sink`] to fill.
    ///
    /// ```rust
    /// # use pasts::linux::audio::{Config, Speakers};
    /// # fn main() -> std::io::Result<()> {
    /// # if pasts::linux::audio::pcms().is_err() { return Ok(()); } // no libasound
    /// let mut speakers = Speakers::open("null", Config::default())?;
    /// let sink = pasts::block_on(speakers.play())?;
    /// assert!(sink.len() >= 256 * 2); // at least a period of stereo frames
    /// # Ok(())
    /// # }
    /// ```
    pub fn play(&mut self) -> Play<'_> {
        Play {
            speakers: Some(self),
        }
    }

    /// What was negotiated: the rate and channels asked, the period the
    /// device chose (the nearest it allows to the one asked).
    ///
    /// ```rust
    /// # use pasts::linux::audio::{Config, Speakers};
    /// # fn main() -> std::io::Result<()> {
    /// # if pasts::linux::audio::pcms().is_err() { return Ok(()); } // no libasound
    /// let speakers = Speakers::open("null", Config::default())?;
    /// assert_eq!(speakers.config().rate, 48_000);
    /// # Ok(())
    /// # }
    /// ```
    pub fn config(&self) -> Config {
        self.stream.config()
    }

    /// How many underruns and suspends were recovered from.
    ///
    /// ```rust
    /// # use pasts::linux::audio::{Config, Speakers};
    /// # fn main() -> std::io::Result<()> {
    /// # if pasts::linux::audio::pcms().is_err() { return Ok(()); } // no libasound
    /// let speakers = Speakers::open("null", Config::default())?;
    /// assert_eq!(speakers.xruns(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn xruns(&self) -> u64 {
        self.stream.xruns()
    }
}

impl fmt::Debug for Speakers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Speakers")
            .field("stream", &self.stream)
            .finish()
    }
}

/// The future of [`Speakers::play`].
#[must_use = "futures do nothing unless you .await or poll them"]
#[derive(Debug)]
pub struct Play<'a> {
    /// Taken when the sink is handed out.
    speakers: Option<&'a mut Speakers>,
}

impl<'a> Future for Play<'a> {
    type Output = io::Result<Sink<'a>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(speakers) = this.speakers.take() else {
            crate::schedule::polled_after_completion("`Play` (call `play()` again)");
        };
        match speakers.stream.poll_play(cx) {
            Poll::Ready(Ok(frames)) => Poll::Ready(Ok(Sink {
                stream: &mut speakers.stream,
                frames,
            })),
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => {
                this.speakers = Some(speakers);
                Poll::Pending
            }
        }
    }
}

/// Samples to play: interleaved frames, as many whole periods as the
/// device buffer has room for (at least one; the whole buffer at first),
/// silent until filled, written to the device when dropped.
///
/// Derefs to `&mut [f32]`; samples are clamped to [-1, 1] and converted
/// to the device's format (see the [module docs](super) for the exact
/// conversions).
///
/// ```rust
/// # use pasts::linux::audio::{Config, Speakers};
/// # fn main() -> std::io::Result<()> {
/// # if pasts::linux::audio::pcms().is_err() { return Ok(()); } // no libasound
/// let mut speakers = Speakers::open("null", Config::default())?;
/// let mut sink = pasts::block_on(speakers.play())?;
/// assert!(sink.iter().all(|&s| s == 0.0));
/// sink.fill(0.5);
/// drop(sink); // written here
/// # Ok(())
/// # }
/// ```
pub struct Sink<'a> {
    stream: &'a mut Stream,
    frames: usize,
}

impl Deref for Sink<'_> {
    type Target = [f32];

    fn deref(&self) -> &[f32] {
        self.stream.samples(self.frames)
    }
}

impl DerefMut for Sink<'_> {
    fn deref_mut(&mut self) -> &mut [f32] {
        self.stream.samples_mut(self.frames)
    }
}

impl Drop for Sink<'_> {
    fn drop(&mut self) {
        self.stream.commit(self.frames);
    }
}

impl fmt::Debug for Sink<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sink")
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}
