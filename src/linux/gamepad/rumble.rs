//! Rumble: one force-feedback effect per pad, uploaded with `EVIOCSFF`,
//! played and stopped with `EV_FF` writes, erased when the pad drops.

use std::io;
use std::os::fd::BorrowedFd;
use std::sync::{Mutex, PoisonError};

use crate::linux::input_sys::{self as input, FfEffect, InputEvent};
use crate::linux::sys;

/// A pad's rumble: whether it has one, and its effect.
#[derive(Debug)]
pub(crate) struct Rumble {
    supported: bool,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// The effect's id, -1 before the first upload.
    effect: i16,
    playing: bool,
}

/// Why a rumble failed: the step, and the OS error.
pub(crate) enum Failure {
    /// The pad has no `FF_RUMBLE`.
    Unsupported,
    Os(&'static str, io::Error),
}

impl Rumble {
    /// Rumble for a pad that has `FF_RUMBLE` (`supported`) or not.
    pub(crate) fn new(supported: bool) -> Rumble {
        Rumble {
            supported,
            state: Mutex::new(State {
                effect: -1,
                playing: false,
            }),
        }
    }

    /// Whether the pad can rumble.
    pub(crate) fn supported(&self) -> bool {
        self.supported
    }

    /// Play `strong`, `weak` (0..=1) on `fd` until changed; both 0 stops.
    pub(crate) fn set(&self, fd: BorrowedFd<'_>, strong: f32, weak: f32) -> Result<(), Failure> {
        if !self.supported {
            return Err(Failure::Unsupported);
        }
        let (strong, weak) = (magnitude(strong), magnitude(weak));
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if strong == 0 && weak == 0 {
            if state.playing {
                play(fd, state.effect, false)?;
                state.playing = false;
            }
            return Ok(());
        }
        // The same id again updates the effect, playing or not.
        let mut effect = FfEffect::rumble(state.effect, strong, weak);
        input::upload_effect(fd, &mut effect).map_err(|e| Failure::Os("EVIOCSFF (rumble)", e))?;
        state.effect = effect.id;
        if !state.playing {
            play(fd, effect.id, true)?;
            state.playing = true;
        }
        Ok(())
    }

    /// Erase the effect, if one was uploaded.
    pub(crate) fn erase(&mut self, fd: BorrowedFd<'_>) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        if state.effect >= 0 {
            // Ignored: the pad may be unplugged, and closing the fd erases
            // the effects it uploaded anyway; this only does it first.
            let _ = input::erase_effect(fd, state.effect);
            state.effect = -1;
        }
    }
}

/// Start or stop effect `id` (an `EV_FF` write).
fn play(fd: BorrowedFd<'_>, id: i16, on: bool) -> Result<(), Failure> {
    let code = u16::try_from(id).unwrap_or(0);
    let bytes = InputEvent::new(input::EV_FF, code, i32::from(on)).to_bytes();
    match sys::write(fd, &bytes) {
        Ok(n) if n == bytes.len() => Ok(()),
        Ok(n) => Err(Failure::Os(
            "play rumble",
            io::Error::new(io::ErrorKind::WriteZero, std::format!("wrote {n} bytes")),
        )),
        Err(e) => Err(Failure::Os("play rumble", e)),
    }
}

/// 0..=1 as a force-feedback magnitude (NaN is 0).
fn magnitude(x: f32) -> u16 {
    // A float-to-int `as` saturates and maps NaN to 0.
    (x.clamp(0.0, 1.0) * f32::from(u16::MAX)).round() as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magnitudes() {
        assert_eq!(magnitude(0.0), 0);
        assert_eq!(magnitude(1.0), 0xffff);
        assert_eq!(magnitude(0.5), 0x8000);
        assert_eq!(magnitude(-3.0), 0);
        assert_eq!(magnitude(7.0), 0xffff);
        assert_eq!(magnitude(f32::NAN), 0);
    }
}
