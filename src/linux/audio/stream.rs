//! [`Stream`]: what speakers and microphones share — an open PCM, its
//! poll descriptors as [`Device`]s, the sample buffers, xrun recovery.
//!
//! Readiness is the PCM's own: a stream is ready when `snd_pcm_avail_update`
//! says a period can be moved (the software `avail_min` is one period, so
//! that is also when its poll descriptors fire). Until then each descriptor
//! (a duplicate of the fd, owned by its `Device`) waits in the reactor; when
//! one fires, the fds' `revents` (a zero-timeout `poll`) are passed to
//! `snd_pcm_poll_descriptors_revents`, which plugins need to see, and the
//! count is checked again. Descriptors epoll refuses (`null`, `file`) are
//! always ready, and such PCMs always have room.

use core::ffi::c_int;
use core::fmt;
use core::future::Future;
use core::ops::Range;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::io;
use std::os::fd::AsFd;
use std::string::String;
use std::vec::Vec;

use super::super::alsa_sys::{self as alsa, Pcm};
use super::super::sys::{self, PollFd};
use super::super::{Device, Watch};
use super::config::{negotiate, Config};
use super::convert::Format;
use super::Direction;

/// How many times one poll checks the count and the fds again before
/// giving up the turn: a fd that fires with no period to move is followed
/// by a second look, and only always-ready fds (which have no timing) can
/// use up the rounds.
const ROUNDS: usize = 4;

pub(crate) struct Stream {
    pcm: Pcm,
    dir: Direction,
    config: Config,
    format: Format,
    /// Device buffer in frames: the most one call moves.
    buffer: usize,
    /// One per poll descriptor, in the PCM's order.
    devices: Vec<Device>,
    /// The PCM's poll descriptors (libasound's fds), for `revents`.
    pfds: Vec<PollFd>,
    /// `buffer` frames of samples, handed out as `Sink`/`Source`.
    samples: Vec<f32>,
    /// `buffer` frames in the device format.
    bytes: Vec<u8>,
    /// Playback: frames of `bytes` not yet written.
    pending: Range<usize>,
    xruns: u64,
    /// An error of a write in `Sink::drop`, returned by the next `play`.
    error: Option<io::Error>,
    /// Set once the PCM is gone: every later call fails the same way (the
    /// PCM's state can still look runnable to some calls).
    gone: Option<(io::ErrorKind, String)>,
}

impl Stream {
    pub(crate) fn open(name: &str, config: Config, dir: Direction) -> io::Result<Stream> {
        let mut pcm = Pcm::open(name, dir.alsa())?;
        let negotiated = negotiate(&mut pcm, config, dir)?;
        let config = negotiated.config;
        let period = config.period as usize;
        // Playback starts once a period is queued: the first `Sink` holds
        // the whole buffer, so the stream never waits in PREPARED for a
        // threshold nobody reaches.
        pcm.set_sw_params(period, period)?;
        if dir == Direction::Capture {
            pcm.start()?;
        }
        let mut devices = Vec::new();
        let mut pfds = Vec::new();
        for (pfd, fd) in pcm.poll_fds()? {
            let events = pfd.events as u16;
            let mut watch = None;
            if events & alsa::POLLIN != 0 {
                watch = Some(Watch::INPUT);
            }
            if events & alsa::POLLOUT != 0 {
                watch = Some(watch.map_or(Watch::OUTPUT, |w| w | Watch::OUTPUT));
            }
            devices.push(Device::new(fd, watch.unwrap_or(Watch::INPUT))?);
            pfds.push(pfd);
        }
        let samples_len = negotiated.buffer * usize::from(config.channels);
        Ok(Stream {
            pcm,
            dir,
            config,
            format: negotiated.format,
            buffer: negotiated.buffer,
            devices,
            pfds,
            samples: std::vec![0.0; samples_len],
            bytes: std::vec![0; samples_len * negotiated.format.bytes()],
            pending: 0..0,
            xruns: 0,
            error: None,
            gone: None,
        })
    }

    pub(crate) fn config(&self) -> Config {
        self.config
    }

    pub(crate) fn xruns(&self) -> u64 {
        self.xruns
    }

    fn channels(&self) -> usize {
        usize::from(self.config.channels)
    }

    fn frame_bytes(&self) -> usize {
        self.channels() * self.format.bytes()
    }

    /// The first `frames` frames of samples.
    pub(crate) fn samples(&self, frames: usize) -> &[f32] {
        &self.samples[..frames * self.channels()]
    }

    pub(crate) fn samples_mut(&mut self, frames: usize) -> &mut [f32] {
        let n = frames * self.channels();
        &mut self.samples[..n]
    }

    /// Playback: ready when a period can be written (and what an earlier
    /// `Sink` left is written). Returns the frames to hand out (see
    /// `poll_avail`), with the samples zeroed (silence).
    pub(crate) fn poll_play(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if let Some(err) = self.error.take() {
            return Poll::Ready(Err(err));
        }
        let frames = match self.poll_avail(cx) {
            Poll::Ready(Ok(frames)) => frames,
            other => return other,
        };
        self.samples_mut(frames).fill(0.0);
        Poll::Ready(Ok(frames))
    }

    /// Playback: convert and write the first `frames` frames of samples
    /// (the `Sink` being dropped). What the device cannot take now stays
    /// pending and is written before the next `Sink` is handed out.
    pub(crate) fn commit(&mut self, frames: usize) {
        let n = frames * self.channels();
        self.format.encode(&self.samples[..n], &mut self.bytes);
        self.pending = 0..frames;
        if let Err(err) = self.flush() {
            if let Err(err) = self.recover(err) {
                self.error = Some(err);
            }
        }
    }

    /// Capture: wait for a period, read the whole periods that are there
    /// (up to the buffer) and convert them; returns the frames read.
    pub(crate) fn poll_record(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        for _ in 0..ROUNDS {
            let frames = match self.poll_avail(cx) {
                Poll::Ready(Ok(frames)) => frames,
                other => return other,
            };
            let frame_bytes = self.frame_bytes();
            match self.pcm.read(&mut self.bytes, frames) {
                Ok(0) => {}
                Ok(read) => {
                    let n = read * self.channels();
                    self.format
                        .decode(&self.bytes[..read * frame_bytes], &mut self.samples[..n]);
                    return Poll::Ready(Ok(read));
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                Err(err) => {
                    if let Err(err) = self.recover(err) {
                        return Poll::Ready(Err(err));
                    }
                }
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// Wait until at least a period can be moved (playback: after writing
    /// what is pending); returns how many frames to move: whole periods,
    /// all there are room for (or data for), up to the buffer.
    ///
    /// Whole periods, not all that is available: the device wakes its
    /// poller at period boundaries, when the count has grown by one period
    /// since the last one. Moving a period and a bit would leave the count
    /// just short of a period at the next boundary, and the stream would be
    /// served every other period.
    fn poll_avail(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if let Some((kind, message)) = &self.gone {
            return Poll::Ready(Err(io::Error::new(*kind, message.clone())));
        }
        let period = self.config.period as usize;
        for _ in 0..ROUNDS {
            if let Err(err) = self.flush() {
                match self.recover(err) {
                    Ok(()) => continue,
                    Err(err) => return Poll::Ready(Err(err)),
                }
            }
            if self.pending.is_empty() {
                match self.pcm.avail() {
                    Ok(n) if n >= period => {
                        // Whole periods: what is left (less than one) then
                        // tops up the next period, which is there at the
                        // device's next period wake-up.
                        return Poll::Ready(Ok(n.min(self.buffer) / period * period));
                    }
                    Ok(_) => {}
                    Err(err) => match self.recover(err) {
                        Ok(()) => continue,
                        Err(err) => return Poll::Ready(Err(err)),
                    },
                }
            }
            match self.poll_devices(cx) {
                Poll::Ready(Ok(())) => {}
                other => return other.map_ok(|()| 0),
            }
        }
        // Only fds that are always ready (no timing) get here: try again
        // on the next turn of the executor.
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// Write pending frames until done or the device is full.
    fn flush(&mut self) -> io::Result<()> {
        let frame_bytes = self.frame_bytes();
        while !self.pending.is_empty() {
            let from = self.pending.start * frame_bytes;
            match self.pcm.write(&self.bytes[from..], self.pending.len()) {
                Ok(0) => break,
                Ok(n) => self.pending.start += n.min(self.pending.len()),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(err) => return Err(err),
            }
        }
        Ok(())
    }

    /// Wait on the poll descriptors. `Ready(Ok)` when one fired (and its
    /// `revents` went through libasound): the caller checks again.
    fn poll_devices(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut fired = false;
        for device in &mut self.devices {
            fired |= Pin::new(device).poll(cx).is_ready();
        }
        if !fired {
            return Poll::Pending;
        }
        let devices = &self.devices;
        let polled = self
            .pfds
            .iter_mut()
            .zip(devices)
            .try_for_each(|(pfd, device)| {
                // A zero timeout: never waits.
                pfd.revents = sys::poll(device.as_fd(), pfd.events, 0)?;
                Ok(())
            });
        let revents = match polled.and_then(|()| self.pcm.revents(&mut self.pfds)) {
            Ok(revents) => revents,
            Err(err) => return Poll::Ready(Err(self.describe(err))),
        };
        if revents & alsa::POLLNVAL != 0 {
            let name = self.pcm.name();
            let err = io::Error::other(std::format!("PCM {name:?}: its poll descriptor is closed"));
            return Poll::Ready(Err(self.describe(err)));
        }
        // An unplugged card reports an error on its fds; its count may not.
        if revents & alsa::POLLERR != 0 && self.pcm.state() == alsa::SND_PCM_STATE_DISCONNECTED {
            let err = io::Error::from_raw_os_error(sys::ENODEV);
            return Poll::Ready(Err(self.describe(err)));
        }
        Poll::Ready(Ok(()))
    }

    /// Recover from an xrun (`EPIPE`) or a suspend (`ESTRPIPE`) and count
    /// it; any other error (an unplugged device: `ENODEV`, `EBADFD`) is
    /// returned. Never waits: a resume that is not possible yet falls back
    /// to a prepare (what `snd_pcm_recover` would do after sleeping).
    fn recover(&mut self, err: io::Error) -> io::Result<()> {
        let recovered = match sys::errno(&err) {
            Some(alsa::EPIPE) => self.pcm.prepare(),
            Some(alsa::ESTRPIPE) => self.pcm.resume().or_else(|_| self.pcm.prepare()),
            _ => Err(err),
        };
        let restarted = recovered.and_then(|()| {
            if self.dir == Direction::Capture && self.pcm.state() == alsa::SND_PCM_STATE_PREPARED {
                self.pcm.start()?;
            }
            Ok(())
        });
        // An unplug can come in the middle: the recovery fails then.
        restarted.map_err(|err| self.describe(err))?;
        self.xruns += 1;
        Ok(())
    }

    /// `err`, said to be a disconnect when the PCM is gone (`ENODEV`, or its
    /// state says so: then kept for every later call) or allows no I/O
    /// (`EBADFD`, which some plugins also give while they wait for a
    /// server: not kept).
    fn describe(&mut self, err: io::Error) -> io::Error {
        let errno = sys::errno(&err);
        let state: c_int = self.pcm.state();
        let gone = errno == Some(sys::ENODEV) || state == alsa::SND_PCM_STATE_DISCONNECTED;
        if !gone && errno != Some(EBADFD) {
            return err;
        }
        let message = std::format!("PCM {:?} disconnected: {err}", self.pcm.name());
        if gone {
            self.gone = Some((err.kind(), message.clone()));
        }
        io::Error::new(err.kind(), message)
    }
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stream")
            .field("pcm", &self.pcm.name())
            .field("config", &self.config)
            .field("format", &self.format)
            .field("buffer", &self.buffer)
            .field("devices", &self.devices)
            .field("xruns", &self.xruns)
            .finish_non_exhaustive()
    }
}

/// `EBADFD`: the PCM is in a state that allows no I/O (unplugged).
const EBADFD: c_int = 77;
