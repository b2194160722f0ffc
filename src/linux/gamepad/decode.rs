//! From kernel events to [`Event`]s: which axis is which (the layout), the
//! normalisation of each axis from its own range, `SYN_REPORT` framing and
//! the `SYN_DROPPED` resync. Pure state, no I/O: the pad reads the fd and
//! answers [`Step::Resync`] with the device's state.

use std::collections::VecDeque;
use std::vec::Vec;

use super::{Axis, Button, Event};
use crate::linux::input_sys::{self as input, AbsBits, AbsInfo, InputEvent, KeyBits};

/// Raw events held for one frame before it is dropped as garbage (a
/// stream with no `SYN_REPORT`): the memory a broken device can take.
const MAX_FRAME: usize = 1024;

/// The axes a pad can have (`ABS_X..=ABS_MAX`).
const ABS_COUNT: usize = input::ABS_MAX as usize + 1;

/// What an absolute axis is on this pad.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Role {
    /// The pad has no such axis: its events are ignored.
    Absent,
    /// [-1, 1] around the centre, `flat` as dead zone, optionally
    /// inverted (Y axes: the kernel's down is positive, ours is up).
    Centred { axis: Axis, invert: bool },
    /// [0, 1] from the minimum, `flat` as dead zone.
    Trigger(Axis),
    /// A hat's X or Y: d-pad buttons (`negative`, `positive` direction).
    Hat { negative: u16, positive: u16 },
}

/// One absolute axis: its role, normalisation constants and last value.
#[derive(Clone, Copy, Debug)]
struct Slot {
    role: Role,
    min: i32,
    max: i32,
    /// Centre, half range and dead zone, for centred axes.
    centre: f64,
    flat: f64,
    /// `1 / (half range - flat)` (centred) or `1 / (range - flat)`
    /// (triggers); 0 for an empty range.
    scale: f64,
    /// The last normalised value.
    value: f32,
}

impl Slot {
    const ABSENT: Slot = Slot {
        role: Role::Absent,
        min: 0,
        max: 0,
        centre: 0.0,
        flat: 0.0,
        scale: 0.0,
        value: 0.0,
    };

    fn new(role: Role, info: &AbsInfo) -> Slot {
        let (min, max) = (
            info.minimum.min(info.maximum),
            info.maximum.max(info.minimum),
        );
        let range = f64::from(max) - f64::from(min);
        let flat = f64::from(info.flat.max(0));
        let span = match role {
            Role::Trigger(_) => range - flat,
            _ => range / 2.0 - flat,
        };
        let mut slot = Slot {
            role,
            min,
            max,
            centre: (f64::from(min) + f64::from(max)) / 2.0,
            flat,
            scale: if span > 0.0 { 1.0 / span } else { 0.0 },
            value: 0.0,
        };
        slot.value = slot.normalise(info.value);
        slot
    }

    /// `raw` on this axis's scale (0 for hats: they are buttons).
    fn normalise(&self, raw: i32) -> f32 {
        let raw = f64::from(raw.clamp(self.min, self.max));
        let n = match self.role {
            Role::Absent | Role::Hat { .. } => 0.0,
            Role::Trigger(_) => {
                let above = raw - f64::from(self.min) - self.flat;
                if above <= 0.0 {
                    0.0
                } else if self.scale == 0.0 {
                    1.0
                } else {
                    (above * self.scale).min(1.0)
                }
            }
            Role::Centred { invert, .. } => {
                let d = raw - self.centre;
                let out = d.abs() - self.flat;
                let n = if out <= 0.0 {
                    0.0
                } else if self.scale == 0.0 {
                    1.0
                } else {
                    (out * self.scale).min(1.0)
                };
                let n = n.copysign(d);
                if invert {
                    -n
                } else {
                    n
                }
            }
        };
        // `+ 0.0` turns -0.0 into 0.0.
        n as f32 + 0.0
    }

    /// For a hat: whether `raw` points the negative / positive way.
    fn hat_directions(&self, raw: i32) -> (bool, bool) {
        let twice = i64::from(raw) * 2;
        let mid = i64::from(self.min) + i64::from(self.max);
        (twice < mid, twice > mid)
    }
}

/// A kernel event without its time stamp: what decoding needs.
#[derive(Clone, Copy, Debug)]
struct Raw {
    kind: u16,
    code: u16,
    value: i32,
}

/// What the caller must do after [`Decoder::feed`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Nothing.
    Continue,
    /// Events were lost (`SYN_DROPPED`): read the device's state and pass
    /// it to [`Decoder::resync`].
    Resync,
}

/// A pad's decoder: feed it the kernel's events in order; pop whole frames
/// of [`Event`]s.
#[derive(Clone, Debug)]
pub(crate) struct Decoder {
    slots: [Slot; ABS_COUNT],
    /// Which axis code plays each named axis (index: [`named`]).
    named: [Option<u16>; 6],
    /// Buttons held, by key code (hats set the `BTN_DPAD_*` bits).
    keys: KeyBits,
    /// Raw events since the last `SYN_REPORT`.
    frame: Vec<Raw>,
    /// Decoded events of complete frames, oldest first.
    ready: VecDeque<Event>,
    /// After `SYN_DROPPED`: ignore events up to the next `SYN_REPORT`.
    dropping: bool,
}

/// The index of a named axis in `Decoder::named`.
fn named(axis: Axis) -> Option<usize> {
    Some(match axis {
        Axis::LeftX => 0,
        Axis::LeftY => 1,
        Axis::RightX => 2,
        Axis::RightY => 3,
        Axis::LeftTrigger => 4,
        Axis::RightTrigger => 5,
        Axis::Other(_) => return None,
    })
}

impl Decoder {
    /// A decoder for a pad with the axes in `abs` (each with its
    /// `EVIOCGABS` answer, looked up by `info`), and `keys` held now.
    ///
    /// The layout, as SDL guesses it on Linux: left stick `ABS_X`/`ABS_Y`;
    /// triggers on `ABS_HAT2Y`/`ABS_HAT2X` (left/right, the kernel's
    /// gamepad layout), else `ABS_BRAKE`/`ABS_GAS`, else `ABS_Z`/`ABS_RZ`
    /// when the right stick is on `ABS_RX`/`ABS_RY`; right stick on
    /// `ABS_RX`/`ABS_RY`, else on `ABS_Z`/`ABS_RZ` when those are not the
    /// triggers; `ABS_HAT0X`/`ABS_HAT0Y` are the d-pad; every other axis is
    /// [`Axis::Other`] on [-1, 1].
    pub(crate) fn new(
        abs: &AbsBits,
        mut info: impl FnMut(u16) -> AbsInfo,
        keys: &KeyBits,
    ) -> Decoder {
        use input::*;
        let has = |code| abs.get(code);
        let right_on_r = has(ABS_RX) || has(ABS_RY);
        let triggers = if has(ABS_HAT2X) || has(ABS_HAT2Y) {
            Some((ABS_HAT2Y, ABS_HAT2X))
        } else if has(ABS_GAS) || has(ABS_BRAKE) {
            Some((ABS_BRAKE, ABS_GAS))
        } else if right_on_r && (has(ABS_Z) || has(ABS_RZ)) {
            Some((ABS_Z, ABS_RZ))
        } else {
            None
        };
        let right = if right_on_r {
            Some((ABS_RX, ABS_RY))
        } else if triggers != Some((ABS_Z, ABS_RZ)) && (has(ABS_Z) || has(ABS_RZ)) {
            Some((ABS_Z, ABS_RZ))
        } else {
            None
        };
        let role = |code: u16| -> Role {
            let centred = |axis, invert| Role::Centred { axis, invert };
            match code {
                ABS_X => centred(Axis::LeftX, false),
                ABS_Y => centred(Axis::LeftY, true),
                ABS_HAT0X => Role::Hat {
                    negative: BTN_DPAD_LEFT,
                    positive: BTN_DPAD_RIGHT,
                },
                ABS_HAT0Y => Role::Hat {
                    negative: BTN_DPAD_UP,
                    positive: BTN_DPAD_DOWN,
                },
                _ if right.is_some_and(|(x, _)| x == code) => centred(Axis::RightX, false),
                _ if right.is_some_and(|(_, y)| y == code) => centred(Axis::RightY, true),
                _ if triggers.is_some_and(|(l, _)| l == code) => Role::Trigger(Axis::LeftTrigger),
                _ if triggers.is_some_and(|(_, r)| r == code) => Role::Trigger(Axis::RightTrigger),
                _ => centred(Axis::Other(code), false),
            }
        };
        let mut decoder = Decoder {
            slots: [Slot::ABSENT; ABS_COUNT],
            named: [None; 6],
            keys: KeyBits::EMPTY,
            frame: Vec::with_capacity(64),
            ready: VecDeque::with_capacity(64),
            dropping: false,
        };
        for code in 0..=ABS_MAX {
            if !has(code) {
                continue;
            }
            let slot = Slot::new(role(code), &info(code));
            if let Role::Centred { axis, .. } | Role::Trigger(axis) = slot.role {
                if let Some(i) = named(axis) {
                    decoder.named[i] = Some(code);
                }
            }
            if let Role::Hat { negative, positive } = slot.role {
                let (neg, pos) = slot.hat_directions(info(code).value);
                decoder.keys.set(negative, neg);
                decoder.keys.set(positive, pos);
            }
            decoder.slots[usize::from(code)] = slot;
        }
        for code in 0..=KEY_MAX {
            if keys.get(code) {
                decoder.keys.set(code, true);
            }
        }
        decoder
    }

    /// Take one event from the device, in order.
    pub(crate) fn feed(&mut self, ev: InputEvent) -> Step {
        match (ev.kind, ev.code) {
            (input::EV_SYN, input::SYN_REPORT) => {
                if self.dropping {
                    self.dropping = false;
                    return Step::Resync;
                }
                let mut frame = core::mem::take(&mut self.frame);
                for ev in frame.drain(..) {
                    self.apply(ev);
                }
                // The same buffer again: no allocation per frame.
                self.frame = frame;
            }
            (input::EV_SYN, input::SYN_DROPPED) => {
                self.frame.clear();
                self.dropping = true;
            }
            (input::EV_KEY | input::EV_ABS, _) if !self.dropping => {
                if self.frame.len() == MAX_FRAME {
                    // No SYN_REPORT in sight: garbage. Start over from the
                    // device's state at the next one.
                    self.frame.clear();
                    self.dropping = true;
                } else {
                    self.frame.push(Raw {
                        kind: ev.kind,
                        code: ev.code,
                        value: ev.value,
                    });
                }
            }
            // Other types (EV_MSC, EV_FF status, …) say nothing we report.
            _ => {}
        }
        Step::Continue
    }

    /// Bring the state to the device's after lost events: `keys` held now,
    /// `abs(code)` the value of each axis (`None` if unknown). Reports what
    /// changed, as one frame.
    pub(crate) fn resync(&mut self, keys: &KeyBits, mut abs: impl FnMut(u16) -> Option<i32>) {
        self.frame.clear();
        let old_keys = self.keys;
        for (w, (&new, &old)) in keys.0.iter().zip(old_keys.0.iter()).enumerate() {
            let mut diff = new ^ old;
            while diff != 0 {
                let bit = diff.trailing_zeros() as usize;
                diff &= diff - 1;
                let Ok(code) = u16::try_from(w * input::WORD_BITS + bit) else {
                    continue;
                };
                // Hats own the d-pad bits: their axes below set them.
                if self.is_hat_button(code) {
                    continue;
                }
                self.apply(Raw {
                    kind: input::EV_KEY,
                    code,
                    value: i32::from(new >> bit & 1 == 1),
                });
            }
        }
        for code in 0..=input::ABS_MAX {
            if self.slots[usize::from(code)].role == Role::Absent {
                continue;
            }
            if let Some(value) = abs(code) {
                self.apply(Raw {
                    kind: input::EV_ABS,
                    code,
                    value,
                });
            }
        }
    }

    /// Whether `code` is a d-pad button that a hat of this pad drives.
    fn is_hat_button(&self, code: u16) -> bool {
        let hat = |axis: u16| match self.slots[usize::from(axis)].role {
            Role::Hat { negative, positive } => code == negative || code == positive,
            _ => false,
        };
        hat(input::ABS_HAT0X) || hat(input::ABS_HAT0Y)
    }

    /// Update the state with one event; queue what changed.
    fn apply(&mut self, ev: Raw) {
        match ev.kind {
            input::EV_KEY => self.set_key(ev.code, ev.value != 0),
            input::EV_ABS => {
                let Some(slot) = self.slots.get_mut(usize::from(ev.code)) else {
                    return;
                };
                match slot.role {
                    Role::Absent => {}
                    Role::Hat { negative, positive } => {
                        let (neg, pos) = slot.hat_directions(ev.value);
                        // Release before press, so a d-pad never shows
                        // both directions at once.
                        let (first, second) = if neg {
                            ((positive, pos), (negative, neg))
                        } else {
                            ((negative, neg), (positive, pos))
                        };
                        self.set_key(first.0, first.1);
                        self.set_key(second.0, second.1);
                    }
                    Role::Centred { axis, .. } | Role::Trigger(axis) => {
                        let value = slot.normalise(ev.value);
                        if value != slot.value {
                            slot.value = value;
                            self.ready.push_back(Event::Axis(axis, value));
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn set_key(&mut self, code: u16, pressed: bool) {
        if code > input::KEY_MAX || self.keys.get(code) == pressed {
            return;
        }
        self.keys.set(code, pressed);
        self.ready
            .push_back(Event::Button(Button::from_code(code), pressed));
    }

    /// The oldest decoded event.
    pub(crate) fn pop(&mut self) -> Option<Event> {
        self.ready.pop_front()
    }

    /// Whether decoded events wait to be popped.
    pub(crate) fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Whether `button` is held.
    pub(crate) fn pressed(&self, button: Button) -> bool {
        self.keys.get(button.code())
    }

    /// `axis`'s last normalised value (0 if the pad has no such axis). A
    /// pad with digital triggers only reports them as 0 or 1.
    pub(crate) fn axis(&self, axis: Axis) -> f32 {
        let code = match named(axis) {
            Some(i) => self.named[i],
            None => match axis {
                Axis::Other(code) => Some(code),
                _ => None,
            },
        };
        match code.and_then(|c| self.slots.get(usize::from(c))) {
            Some(slot) if matches!(slot.role, Role::Centred { .. } | Role::Trigger(_)) => {
                slot.value
            }
            _ => match axis {
                Axis::LeftTrigger => f32::from(u8::from(self.pressed(Button::LeftTrigger))),
                Axis::RightTrigger => f32::from(u8::from(self.pressed(Button::RightTrigger))),
                _ => 0.0,
            },
        }
    }

    /// The codes of the axes this pad has.
    pub(crate) fn axes(&self) -> impl Iterator<Item = u16> + '_ {
        (0..=input::ABS_MAX).filter(|&c| self.slots[usize::from(c)].role != Role::Absent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::input_sys::*;
    use std::vec;

    const STICK: AbsInfo = AbsInfo {
        value: 0,
        minimum: -32768,
        maximum: 32767,
        fuzz: 16,
        flat: 128,
        resolution: 0,
    };
    const TRIGGER: AbsInfo = AbsInfo {
        value: 0,
        minimum: 0,
        maximum: 255,
        fuzz: 0,
        flat: 0,
        resolution: 0,
    };
    const HAT: AbsInfo = AbsInfo {
        value: 0,
        minimum: -1,
        maximum: 1,
        fuzz: 0,
        flat: 0,
        resolution: 0,
    };

    /// An Xbox-layout decoder: sticks on X/Y/RX/RY, triggers on Z/RZ.
    fn xbox() -> Decoder {
        decoder(&[
            (ABS_X, STICK),
            (ABS_Y, STICK),
            (ABS_RX, STICK),
            (ABS_RY, STICK),
            (ABS_Z, TRIGGER),
            (ABS_RZ, TRIGGER),
            (ABS_HAT0X, HAT),
            (ABS_HAT0Y, HAT),
        ])
    }

    fn decoder(axes: &[(u16, AbsInfo)]) -> Decoder {
        let mut abs = AbsBits::EMPTY;
        axes.iter().for_each(|&(c, _)| abs.set(c, true));
        let info = |code| axes.iter().find(|a| a.0 == code).map_or(STICK, |a| a.1);
        Decoder::new(&abs, info, &KeyBits::EMPTY)
    }

    /// Feed `(type, code, value)`s as their bytes would arrive; collect.
    fn run(d: &mut Decoder, events: &[(u16, u16, i32)]) -> Vec<Event> {
        for &(kind, code, value) in events {
            let bytes = InputEvent::new(kind, code, value).to_bytes();
            assert_eq!(d.feed(InputEvent::from_bytes(&bytes)), Step::Continue);
        }
        core::iter::from_fn(|| d.pop()).collect()
    }

    const SYN: (u16, u16, i32) = (EV_SYN, SYN_REPORT, 0);

    #[test]
    fn frames_are_delivered_whole_and_in_order() {
        let mut d = xbox();
        let got = run(&mut d, &[(EV_KEY, BTN_SOUTH, 1), (EV_ABS, ABS_X, 32767)]);
        assert_eq!(got, [], "nothing before SYN_REPORT");
        assert!(!d.pressed(Button::South), "state follows delivered frames");
        let got = run(&mut d, &[(EV_ABS, ABS_Y, -32768), SYN]);
        assert_eq!(
            got,
            [
                Event::Button(Button::South, true),
                Event::Axis(Axis::LeftX, 1.0),
                Event::Axis(Axis::LeftY, 1.0), // up is positive
            ]
        );
        assert!(d.pressed(Button::South));
        assert_eq!((d.axis(Axis::LeftX), d.axis(Axis::LeftY)), (1.0, 1.0));
    }

    #[test]
    fn sticks_normalise_with_dead_zone_and_inverted_y() {
        let mut d = xbox();
        let got = run(
            &mut d,
            &[
                (EV_ABS, ABS_RX, -32768),
                (EV_ABS, ABS_RY, 32767),
                SYN,
                (EV_ABS, ABS_RX, 100), // inside the dead zone (flat 128)
                SYN,
                (EV_ABS, ABS_RX, 16447), // (16447.5 - 128) / (32767.5 - 128)
                SYN,
            ],
        );
        assert_eq!(
            got[..3],
            [
                Event::Axis(Axis::RightX, -1.0),
                Event::Axis(Axis::RightY, -1.0),
                Event::Axis(Axis::RightX, 0.0),
            ]
        );
        let Event::Axis(Axis::RightX, half) = got[3] else {
            panic!("{got:?}")
        };
        assert!((half - 0.5).abs() < 1e-4, "{half}");
        assert_eq!(got.len(), 4);
    }

    #[test]
    fn only_changes_are_reported() {
        let mut d = xbox();
        let got = run(
            &mut d,
            &[
                (EV_ABS, ABS_X, 50),
                SYN, // dead zone: still 0
                (EV_ABS, ABS_X, -50),
                SYN,
                (EV_KEY, BTN_EAST, 1),
                SYN,
                (EV_KEY, BTN_EAST, 2), // autorepeat: still held
                SYN,
                (EV_KEY, BTN_EAST, 0),
                SYN,
            ],
        );
        assert_eq!(
            got,
            [
                Event::Button(Button::East, true),
                Event::Button(Button::East, false)
            ]
        );
    }

    #[test]
    fn triggers_from_z_hat2_or_gas() {
        let mut d = xbox();
        let got = run(&mut d, &[(EV_ABS, ABS_Z, 255), (EV_ABS, ABS_RZ, 51), SYN]);
        assert_eq!(
            got,
            [
                Event::Axis(Axis::LeftTrigger, 1.0),
                Event::Axis(Axis::RightTrigger, 0.2)
            ]
        );
        // HAT2Y is the left trigger, HAT2X the right; Z/RZ are the right
        // stick then (no RX/RY).
        let mut d = decoder(&[
            (ABS_X, STICK),
            (ABS_Y, STICK),
            (ABS_Z, STICK),
            (ABS_RZ, STICK),
            (ABS_HAT2X, TRIGGER),
            (ABS_HAT2Y, TRIGGER),
        ]);
        let got = run(
            &mut d,
            &[
                (EV_ABS, ABS_HAT2Y, 255),
                (EV_ABS, ABS_Z, 32767),
                (EV_ABS, ABS_RZ, 32767),
                SYN,
            ],
        );
        assert_eq!(
            got,
            [
                Event::Axis(Axis::LeftTrigger, 1.0),
                Event::Axis(Axis::RightX, 1.0),
                Event::Axis(Axis::RightY, -1.0),
            ]
        );
        let mut d = decoder(&[
            (ABS_X, STICK),
            (ABS_Y, STICK),
            (ABS_GAS, TRIGGER),
            (ABS_BRAKE, TRIGGER),
        ]);
        let got = run(
            &mut d,
            &[(EV_ABS, ABS_GAS, 255), (EV_ABS, ABS_BRAKE, 0), SYN],
        );
        assert_eq!(got, [Event::Axis(Axis::RightTrigger, 1.0)]);
        assert_eq!(d.axis(Axis::LeftTrigger), 0.0);
    }

    #[test]
    fn digital_triggers_are_buttons_and_read_as_axes() {
        let mut d = decoder(&[(ABS_X, STICK), (ABS_Y, STICK)]);
        let got = run(&mut d, &[(EV_KEY, BTN_TL2, 1), SYN]);
        assert_eq!(got, [Event::Button(Button::LeftTrigger, true)]);
        assert_eq!(d.axis(Axis::LeftTrigger), 1.0);
        assert_eq!(d.axis(Axis::RightTrigger), 0.0);
    }

    #[test]
    fn hats_are_dpad_buttons() {
        let mut d = xbox();
        let got = run(
            &mut d,
            &[
                (EV_ABS, ABS_HAT0Y, -1),
                SYN,
                (EV_ABS, ABS_HAT0Y, 1),
                (EV_ABS, ABS_HAT0X, 1),
                SYN,
                (EV_ABS, ABS_HAT0Y, 0),
                (EV_ABS, ABS_HAT0X, 0),
                SYN,
            ],
        );
        assert_eq!(
            got,
            [
                Event::Button(Button::DpadUp, true),
                Event::Button(Button::DpadUp, false),
                Event::Button(Button::DpadDown, true),
                Event::Button(Button::DpadRight, true),
                Event::Button(Button::DpadDown, false),
                Event::Button(Button::DpadRight, false),
            ]
        );
        assert!(!d.pressed(Button::DpadUp));
    }

    #[test]
    fn unknown_codes_are_other() {
        let mut d = decoder(&[(ABS_X, STICK), (ABS_Y, STICK), (0x06, TRIGGER)]);
        let got = run(
            &mut d,
            &[
                (EV_KEY, 0x2c0, 1),
                (EV_KEY, 30, 1),
                (EV_ABS, 0x06, 255),
                SYN,
            ],
        );
        assert_eq!(
            got,
            [
                Event::Button(Button::Other(0x2c0), true),
                Event::Button(Button::Other(30), true),
                Event::Axis(Axis::Other(0x06), 1.0),
            ]
        );
        assert!(d.pressed(Button::Other(0x2c0)));
        assert_eq!(d.axis(Axis::Other(0x06)), 1.0);
    }

    #[test]
    fn garbage_is_ignored() {
        let mut d = xbox();
        let got = run(
            &mut d,
            &[
                (EV_ABS, 0x3f, 7),   // an axis the pad lacks
                (EV_ABS, 0xffff, 7), // past ABS_MAX
                (EV_KEY, 0xffff, 1), // past KEY_MAX
                (0x1234, 5, 6),      // no such type
                (EV_SYN, 0x77, 0),   // no such SYN code
                (EV_ABS, ABS_X, i32::MAX),
                SYN,
                (EV_ABS, ABS_X, i32::MIN),
                SYN,
            ],
        );
        assert_eq!(
            got,
            [
                Event::Axis(Axis::LeftX, 1.0),
                Event::Axis(Axis::LeftX, -1.0)
            ]
        );
    }

    #[test]
    fn an_endless_frame_is_dropped_and_resynced() {
        let mut d = xbox();
        for i in 0..MAX_FRAME + 10 {
            let value = i32::from(i % 2 == 0);
            assert_eq!(
                d.feed(InputEvent::new(EV_KEY, BTN_SOUTH, value)),
                Step::Continue
            );
        }
        assert_eq!(d.feed(InputEvent::new(EV_SYN, SYN_REPORT, 0)), Step::Resync);
        assert!(d.frame.capacity() <= MAX_FRAME * 2);
        assert_eq!(d.pop(), None);
    }

    #[test]
    fn syn_dropped_resyncs_and_reports_changes() {
        let mut d = xbox();
        run(
            &mut d,
            &[(EV_KEY, BTN_SOUTH, 1), (EV_ABS, ABS_HAT0X, -1), SYN],
        );
        // Lost events; then the partial frame after the drop is ignored.
        assert_eq!(d.feed(InputEvent::new(EV_ABS, ABS_X, 900)), Step::Continue);
        assert_eq!(
            d.feed(InputEvent::new(EV_SYN, SYN_DROPPED, 0)),
            Step::Continue
        );
        assert_eq!(
            d.feed(InputEvent::new(EV_KEY, BTN_NORTH, 1)),
            Step::Continue
        );
        assert_eq!(d.feed(InputEvent::new(EV_SYN, SYN_REPORT, 0)), Step::Resync);
        assert_eq!(d.pop(), None);
        // The device now: South released, West held, stick right, hat
        // centred.
        let mut keys = KeyBits::EMPTY;
        keys.set(BTN_WEST, true);
        keys.set(BTN_DPAD_LEFT, true); // stale key bit of a hat: the hat wins
        d.resync(&keys, |code| match code {
            ABS_X => Some(32767),
            ABS_HAT0X => Some(0),
            _ => None,
        });
        let got: Vec<_> = core::iter::from_fn(|| d.pop()).collect();
        assert_eq!(
            got,
            [
                Event::Button(Button::South, false),
                Event::Button(Button::West, true),
                Event::Axis(Axis::LeftX, 1.0),
                Event::Button(Button::DpadLeft, false),
            ]
        );
        // Later frames decode as usual.
        let got = run(&mut d, &[(EV_KEY, BTN_WEST, 0), SYN]);
        assert_eq!(got, [Event::Button(Button::West, false)]);
    }

    #[test]
    fn initial_state_is_known_without_events() {
        let mut abs = AbsBits::EMPTY;
        abs.set(ABS_X, true);
        abs.set(ABS_Y, true);
        abs.set(ABS_HAT0Y, true);
        let mut keys = KeyBits::EMPTY;
        keys.set(BTN_START, true);
        let d = Decoder::new(
            &abs,
            |code| AbsInfo {
                value: if code == ABS_HAT0Y { -1 } else { 32767 },
                ..STICK
            },
            &keys,
        );
        assert!(d.pressed(Button::Start) && d.pressed(Button::DpadUp));
        assert_eq!(d.axis(Axis::LeftX), 1.0);
        assert_eq!(d.axis(Axis::LeftY), -1.0);
        assert_eq!(d.axes().collect::<Vec<_>>(), vec![ABS_X, ABS_Y, ABS_HAT0Y]);
    }

    #[test]
    fn odd_ranges_do_not_divide_by_zero() {
        let flat_all = AbsInfo {
            flat: 40_000,
            ..STICK
        };
        let empty = AbsInfo {
            minimum: 5,
            maximum: 5,
            ..TRIGGER
        };
        let mut d = decoder(&[(ABS_X, flat_all), (ABS_Y, empty), (ABS_Z, empty)]);
        let got = run(&mut d, &[(EV_ABS, ABS_X, 32767), (EV_ABS, ABS_Y, 9), SYN]);
        assert_eq!(got, []);
        for ev in core::iter::from_fn(|| d.pop()) {
            if let Event::Axis(_, v) = ev {
                assert!(v.is_finite());
            }
        }
    }
}
