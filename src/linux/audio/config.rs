//! [`Config`] and its negotiation with a PCM's hardware parameters.

use std::io;
use std::string::{String, ToString};
use std::vec::Vec;

use super::super::alsa_sys::Pcm;
use super::convert::Format;
use super::Direction;

/// What a stream asks of its device: sample rate, channels and period.
///
/// The period is the number of frames (one sample per channel) moved per
/// wake-up: the latency knob. The device may round it;
/// [`Speakers::config`](super::Speakers::config) tells what it chose.
///
/// ```rust
/// use pasts::linux::audio::Config;
///
/// let config = Config::default();
/// assert_eq!((config.rate, config.channels, config.period), (48_000, 2, 256));
/// let mono = Config { channels: 1, ..Config::default() };
/// assert_eq!(mono.channels, 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Config {
    /// Frames per second (Hz).
    pub rate: u32,
    /// Samples per frame, interleaved.
    pub channels: u16,
    /// Frames per period.
    pub period: u32,
}

impl Default for Config {
    /// 48,000 Hz, 2 channels, 256 frames a period.
    fn default() -> Self {
        Config {
            rate: 48_000,
            channels: 2,
            period: 256,
        }
    }
}

/// Periods in the device's buffer: enough to ride out a late wake-up, few
/// enough to keep the latency near a few periods.
const PERIODS: usize = 4;

/// Common rates, listed in an error when the asked one is refused.
const RATES: [u32; 11] = [
    8_000, 11_025, 16_000, 22_050, 32_000, 44_100, 48_000, 88_200, 96_000, 176_400, 192_000,
];

/// What a stream runs with.
#[derive(Debug)]
pub(crate) struct Negotiated {
    pub(crate) config: Config,
    pub(crate) format: Format,
    /// The device buffer, in frames.
    pub(crate) buffer: usize,
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// Set `pcm` up for `config`: interleaved access, the channels and rate
/// asked (or `InvalidInput` naming what the device supports), the first
/// format of [`Format::PREFERENCE`] the device takes, and the period
/// nearest the one asked with a buffer of [`PERIODS`] periods.
pub(crate) fn negotiate(pcm: &mut Pcm, config: Config, dir: Direction) -> io::Result<Negotiated> {
    let name = pcm.name().to_string();
    let verb = dir.verb();
    if config.rate == 0 || config.channels == 0 || config.period == 0 {
        return Err(invalid(std::format!(
            "PCM {name:?}: rate, channels and period must not be 0 ({config:?})"
        )));
    }
    let mut hw = pcm.hw_params()?;
    hw.set_access_interleaved().map_err(|e| {
        io::Error::new(
            io::ErrorKind::Unsupported,
            std::format!("PCM {name:?} does not take interleaved read/write access: {e}"),
        )
    })?;

    let channels = u32::from(config.channels);
    if !hw.test_channels(channels) {
        let (min, max) = hw.channels_range()?;
        return Err(invalid(std::format!(
            "PCM {name:?} cannot {verb} {channels} channels: it supports {min} to {max}"
        )));
    }
    hw.set_channels(channels)?;

    if !hw.test_rate(config.rate) {
        let (min, max) = hw.rate_range()?;
        let usual: Vec<String> = RATES
            .iter()
            .filter(|&&r| (min..=max).contains(&r) && hw.test_rate(r))
            .map(|r| r.to_string())
            .collect();
        return Err(invalid(std::format!(
            "PCM {name:?} cannot {verb} at {} Hz: it supports {min} to {max} Hz{}{}",
            config.rate,
            if usual.is_empty() { "" } else { ", e.g. " },
            usual.join(", ")
        )));
    }
    hw.set_rate(config.rate)?;

    let format = Format::PREFERENCE
        .into_iter()
        .find(|f| hw.test_format(f.alsa()))
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::Unsupported,
                std::format!(
                    "PCM {name:?} takes none of the sample formats FLOAT, S32, S16 (either \
                     byte order); a \"plug:\" PCM converts"
                ),
            )
        })?;
    hw.set_format(format.alsa())?;

    let period = hw.set_period_near(config.period as usize)?;
    hw.set_buffer_near(period.saturating_mul(PERIODS))?;
    let (period, buffer) = hw.apply()?;
    let period = u32::try_from(period).unwrap_or(u32::MAX);
    Ok(Negotiated {
        config: Config { period, ..config },
        format,
        buffer: buffer.max(period as usize),
    })
}
