//! Sample formats and the conversions between them and `f32`.
//!
//! Samples are `f32` in [-1, 1]. Towards the device, each is first clamped
//! to [-1, 1] (NaN becomes 0), then:
//! - S16: `round(x * 32767)` (ties away from zero), so ±1 is ±32767 and
//!   -32768 is never produced;
//! - S32: `round(x * 2147483647)`, computed in `f64` (exact for every
//!   `f32`: a 24-bit by 31-bit product fits the 53-bit mantissa);
//! - FLOAT: the clamped value itself.
//!
//! From the device: S16 `v / 32767`, S32 `v / 2147483647` (in `f64`,
//! rounded once to `f32`), FLOAT as is; then clamped to [-1, 1] (so -32768
//! reads as -1) with NaN as 0. S16 therefore round-trips bit-exactly:
//! decoding then encoding gives back every value but -32768 (which becomes
//! -32767).

use super::super::alsa_sys as alsa;
use core::ffi::c_int;

/// A device sample format the crate converts to and from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    F32Le,
    F32Be,
    S32Le,
    S32Be,
    S16Le,
    S16Be,
}

impl Format {
    /// The order in which formats are tried: the most precise first, the
    /// CPU's own byte order before the other.
    pub(crate) const PREFERENCE: [Format; 6] = if cfg!(target_endian = "little") {
        [
            Format::F32Le,
            Format::S32Le,
            Format::S16Le,
            Format::F32Be,
            Format::S32Be,
            Format::S16Be,
        ]
    } else {
        [
            Format::F32Be,
            Format::S32Be,
            Format::S16Be,
            Format::F32Le,
            Format::S32Le,
            Format::S16Le,
        ]
    };

    /// The `SND_PCM_FORMAT_*` value.
    pub(crate) fn alsa(self) -> c_int {
        match self {
            Format::F32Le => alsa::SND_PCM_FORMAT_FLOAT_LE,
            Format::F32Be => alsa::SND_PCM_FORMAT_FLOAT_BE,
            Format::S32Le => alsa::SND_PCM_FORMAT_S32_LE,
            Format::S32Be => alsa::SND_PCM_FORMAT_S32_BE,
            Format::S16Le => alsa::SND_PCM_FORMAT_S16_LE,
            Format::S16Be => alsa::SND_PCM_FORMAT_S16_BE,
        }
    }

    /// Bytes per sample.
    pub(crate) fn bytes(self) -> usize {
        match self {
            Format::S16Le | Format::S16Be => 2,
            _ => 4,
        }
    }

    /// Convert `samples` into `out` (`samples.len() * self.bytes()` bytes).
    pub(crate) fn encode(self, samples: &[f32], out: &mut [u8]) {
        let out = &mut out[..samples.len() * self.bytes()];
        match self {
            Format::F32Le => put(samples, out, |x| clamp(x).to_le_bytes()),
            Format::F32Be => put(samples, out, |x| clamp(x).to_be_bytes()),
            Format::S32Le => put(samples, out, |x| to_s32(x).to_le_bytes()),
            Format::S32Be => put(samples, out, |x| to_s32(x).to_be_bytes()),
            Format::S16Le => put(samples, out, |x| to_s16(x).to_le_bytes()),
            Format::S16Be => put(samples, out, |x| to_s16(x).to_be_bytes()),
        }
    }

    /// Convert `bytes` into `out` (`bytes.len() / self.bytes()` samples).
    pub(crate) fn decode(self, bytes: &[u8], out: &mut [f32]) {
        match self {
            Format::F32Le => get(bytes, out, |b| clamp(f32::from_le_bytes(b))),
            Format::F32Be => get(bytes, out, |b| clamp(f32::from_be_bytes(b))),
            Format::S32Le => get(bytes, out, |b| from_s32(i32::from_le_bytes(b))),
            Format::S32Be => get(bytes, out, |b| from_s32(i32::from_be_bytes(b))),
            Format::S16Le => get(bytes, out, |b| from_s16(i16::from_le_bytes(b))),
            Format::S16Be => get(bytes, out, |b| from_s16(i16::from_be_bytes(b))),
        }
    }
}

fn put<const N: usize>(samples: &[f32], out: &mut [u8], f: impl Fn(f32) -> [u8; N]) {
    for (x, chunk) in samples.iter().zip(out.chunks_exact_mut(N)) {
        chunk.copy_from_slice(&f(*x));
    }
}

fn get<const N: usize>(bytes: &[u8], out: &mut [f32], f: impl Fn([u8; N]) -> f32) {
    for (chunk, x) in bytes.chunks_exact(N).zip(out.iter_mut()) {
        let mut b = [0; N];
        b.copy_from_slice(chunk);
        *x = f(b);
    }
}

/// `x` clamped to [-1, 1], NaN as 0.
#[inline]
pub(crate) fn clamp(x: f32) -> f32 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(-1.0, 1.0)
    }
}

/// `round(clamp(x) * 32767)`.
#[inline]
pub(crate) fn to_s16(x: f32) -> i16 {
    // In range after the clamp: the cast cannot saturate.
    (clamp(x) * 32767.0).round() as i16
}

/// `round(clamp(x) * 2147483647)`, in `f64`.
#[inline]
pub(crate) fn to_s32(x: f32) -> i32 {
    (f64::from(clamp(x)) * 2_147_483_647.0).round() as i32
}

/// `v / 32767`, clamped (-32768 reads as -1).
#[inline]
pub(crate) fn from_s16(v: i16) -> f32 {
    clamp(f32::from(v) / 32767.0)
}

/// `v / 2147483647` in `f64`, rounded to `f32`, clamped.
#[inline]
pub(crate) fn from_s32(v: i32) -> f32 {
    clamp((f64::from(v) / 2_147_483_647.0) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    #[test]
    fn s16_is_rounded_and_clamped() {
        assert_eq!(to_s16(1.0), 32767);
        assert_eq!(to_s16(-1.0), -32767);
        assert_eq!(to_s16(2.0), 32767);
        assert_eq!(to_s16(-7.5), -32767);
        assert_eq!(to_s16(f32::NAN), 0);
        assert_eq!(to_s16(f32::INFINITY), 32767);
        assert_eq!(to_s16(0.5 / 32767.0), 1); // ties away from zero
        assert_eq!(to_s16(0.49 / 32767.0), 0);
        assert_eq!(from_s16(i16::MIN), -1.0);
        assert_eq!(from_s16(32767), 1.0);
    }

    #[test]
    fn s16_round_trips_every_value() {
        let step = if cfg!(miri) { 97 } else { 1 };
        for v in (-32767..=i16::MAX).step_by(step) {
            assert_eq!(to_s16(from_s16(v)), v);
        }
    }

    #[test]
    fn s32_ends_and_middle() {
        assert_eq!(to_s32(1.0), i32::MAX);
        assert_eq!(to_s32(-1.0), -i32::MAX);
        assert_eq!(to_s32(0.5), 1_073_741_824); // 1073741823.5 rounded up
        assert_eq!(to_s32(f32::NAN), 0);
        assert_eq!(from_s32(i32::MIN), -1.0);
        assert_eq!(from_s32(i32::MAX), 1.0);
        assert_eq!(from_s32(to_s32(0.25)), 0.25);
    }

    #[test]
    fn byte_orders() {
        let samples = [1.0, -1.0, 0.5, f32::NAN];
        let mut le = vec![0; 16];
        let mut be = vec![0; 16];
        Format::S16Le.encode(&samples, &mut le);
        Format::S16Be.encode(&samples, &mut be);
        assert_eq!(&le[..8], &[0xff, 0x7f, 0x01, 0x80, 0x00, 0x40, 0, 0]);
        assert_eq!(&be[..8], &[0x7f, 0xff, 0x80, 0x01, 0x40, 0x00, 0, 0]);
        Format::F32Be.encode(&samples, &mut be);
        assert_eq!(&be[..4], &1.0f32.to_be_bytes());
        assert_eq!(&be[12..], &0.0f32.to_be_bytes());
        for format in Format::PREFERENCE {
            let mut bytes = vec![0; samples.len() * format.bytes()];
            format.encode(&samples, &mut bytes);
            let mut back = [9.0; 4];
            format.decode(&bytes, &mut back);
            assert_eq!(back[..2], [1.0, -1.0], "{format:?}");
            assert!((back[2] - 0.5).abs() < 1e-4, "{format:?}");
            assert_eq!(back[3], 0.0, "{format:?}");
        }
    }
}
