//! Which input devices are gamepads or joysticks: udev's `input_id` rules
//! (`ID_INPUT_JOYSTICK`) on a device's capability bitmaps, read from sysfs
//! (so keyboards, mice, touchpads and accelerometers are never opened) or,
//! for an open node, from `EVIOCGBIT`.

use std::io;
use std::os::fd::BorrowedFd;
use std::path::Path;

use crate::linux::input_sys::{
    self as input, AbsBits, Bits, EvBits, FfBits, KeyBits, PropBits, RelBits, WORD_BITS,
};

/// A device's capabilities: which event types and codes it can send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Caps {
    pub(crate) ev: EvBits,
    pub(crate) key: KeyBits,
    pub(crate) rel: RelBits,
    pub(crate) abs: AbsBits,
    pub(crate) ff: FfBits,
    pub(crate) props: PropBits,
}

impl Caps {
    /// No capabilities.
    pub(crate) const EMPTY: Caps = Caps {
        ev: Bits::EMPTY,
        key: Bits::EMPTY,
        rel: Bits::EMPTY,
        abs: Bits::EMPTY,
        ff: Bits::EMPTY,
        props: Bits::EMPTY,
    };

    /// The capabilities of an open event node (`EVIOCGBIT`, `EVIOCGPROP`).
    pub(crate) fn query(fd: BorrowedFd<'_>) -> io::Result<Caps> {
        let mut caps = Caps::EMPTY;
        input::get_bits(fd, 0, &mut caps.ev)?;
        input::get_bits(fd, input::EV_KEY, &mut caps.key)?;
        input::get_bits(fd, input::EV_REL, &mut caps.rel)?;
        input::get_bits(fd, input::EV_ABS, &mut caps.abs)?;
        input::get_bits(fd, input::EV_FF, &mut caps.ff)?;
        // Old kernels lack EVIOCGPROP: no properties then.
        let _ = input::get_props(fd, &mut caps.props);
        Ok(caps)
    }

    /// The capabilities sysfs shows for event node `name` (`event3`):
    /// `/sys/class/input/event3/device/{capabilities/*,properties}`.
    pub(crate) fn from_sysfs(name: &str) -> io::Result<Caps> {
        let dir = Path::new("/sys/class/input").join(name).join("device");
        let read = |file: &str| std::fs::read_to_string(dir.join(file));
        let mut caps = Caps::EMPTY;
        parse_bitmap(&read("capabilities/ev")?, &mut caps.ev);
        parse_bitmap(&read("capabilities/key")?, &mut caps.key);
        parse_bitmap(&read("capabilities/rel")?, &mut caps.rel);
        parse_bitmap(&read("capabilities/abs")?, &mut caps.abs);
        parse_bitmap(&read("capabilities/ff")?, &mut caps.ff);
        if let Ok(props) = read("properties") {
            parse_bitmap(&props, &mut caps.props);
        }
        Ok(caps)
    }

    /// Whether udev would tag the device `ID_INPUT_JOYSTICK` (its
    /// `test_pointers`): absolute X and Y with a joystick button or axis
    /// (or joystick buttons/axes alone), but not an accelerometer, tablet,
    /// touchpad, touchscreen or absolute mouse, nor a keyboard that happens
    /// to have joystick buttons.
    pub(crate) fn is_joystick(&self) -> bool {
        let has_keys = self.ev.get(input::EV_KEY);
        let has_xy = self.abs.get(input::ABS_X) && self.abs.get(input::ABS_Y);
        if self.props.get(input::INPUT_PROP_ACCELEROMETER)
            || (!has_keys && has_xy && self.abs.get(input::ABS_Z))
        {
            return false;
        }
        let key = |code| self.key.get(code);
        let has_stylus = key(input::BTN_STYLUS);
        let has_pen = key(input::BTN_TOOL_PEN);
        let finger_but_no_pen = key(input::BTN_TOOL_FINGER) && !has_pen;
        let has_mouse_button = self.key.count(input::BTN_MOUSE..=input::BTN_JOYSTICK - 1) > 0;
        let is_direct = self.props.get(input::INPUT_PROP_DIRECT);
        let has_touch = key(input::BTN_TOUCH);

        // A mouse with more than 16 buttons runs into the joystick range.
        let buttons = if key(input::BTN_JOYSTICK - 1) {
            0
        } else {
            self.key.count(input::BTN_JOYSTICK..=input::BTN_DIGI - 1)
                + self
                    .key
                    .count(input::BTN_TRIGGER_HAPPY1..=input::BTN_TRIGGER_HAPPY40)
                + self.key.count(input::BTN_DPAD_UP..=input::BTN_DPAD_RIGHT)
        };
        let axes = self.abs.count(input::ABS_RX..=input::ABS_PRESSURE - 1);
        let has_joystick_parts = buttons > 0 || axes > 0;

        // With absolute X/Y, udev tests these first: a tablet (stylus, pen),
        // a touchpad (finger, indirect), an absolute mouse (mouse buttons),
        // a touchscreen (touch or direct: a direct finger device too).
        let other_pointer = has_stylus
            || has_pen
            || finger_but_no_pen
            || has_mouse_button
            || has_touch
            || is_direct;
        let joystick = has_joystick_parts && !(has_xy && other_pointer);
        if !joystick {
            return false;
        }
        // Keyboards with stray joystick bits.
        let well_known = [
            input::KEY_LEFTCTRL,
            input::KEY_CAPSLOCK,
            input::KEY_NUMLOCK,
            input::KEY_INSERT,
            input::KEY_MUTE,
            input::KEY_CALC,
            input::KEY_FILE,
            input::KEY_MAIL,
            input::KEY_PLAYPAUSE,
            input::KEY_BRIGHTNESSDOWN,
        ];
        let keyboard_keys = if has_keys {
            well_known.iter().filter(|&&k| key(k)).count()
        } else {
            0
        };
        keyboard_keys < 4 && buttons + axes >= 2
    }
}

/// Parse a sysfs bitmap into `bits`: hex words separated by spaces, most
/// significant first, each `WORD_BITS` wide (the kernel prints 32-bit words
/// to 32-bit processes). Anything unparsable counts as no bits; words past
/// `bits`' end are ignored.
pub(crate) fn parse_bitmap<const N: usize>(text: &str, bits: &mut Bits<N>) {
    *bits = Bits::EMPTY;
    for (i, word) in text.split_whitespace().rev().enumerate() {
        let Ok(value) = u64::from_str_radix(word, 16) else {
            continue;
        };
        for bit in 0..WORD_BITS.min(64) {
            if value >> bit & 1 == 1 {
                if let Ok(code) = u16::try_from(i * WORD_BITS + bit) {
                    bits.set(code, true);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::input_sys::*;
    use std::vec::Vec;

    fn caps(ev: &[u16], key: &[u16], abs: &[u16], rel: &[u16]) -> Caps {
        let mut c = Caps::EMPTY;
        ev.iter().for_each(|&e| c.ev.set(e, true));
        key.iter().for_each(|&k| c.key.set(k, true));
        abs.iter().for_each(|&a| c.abs.set(a, true));
        rel.iter().for_each(|&r| c.rel.set(r, true));
        c
    }

    const PAD_KEYS: [u16; 6] = [BTN_SOUTH, BTN_EAST, BTN_NORTH, BTN_WEST, BTN_TL, BTN_START];
    const PAD_ABS: [u16; 6] = [ABS_X, ABS_Y, ABS_RX, ABS_RY, ABS_HAT0X, ABS_HAT0Y];

    #[test]
    fn a_gamepad_is_a_joystick() {
        let pad = caps(&[EV_SYN, EV_KEY, EV_ABS], &PAD_KEYS, &PAD_ABS, &[]);
        assert!(pad.is_joystick());
        // Buttons alone (a dance mat) and a stick with one button too.
        assert!(caps(&[EV_KEY], &PAD_KEYS, &[], &[]).is_joystick());
        assert!(caps(
            &[EV_KEY, EV_ABS],
            &[BTN_JOYSTICK],
            &[ABS_X, ABS_Y, ABS_RX],
            &[]
        )
        .is_joystick());
    }

    #[test]
    fn other_devices_are_not() {
        let keyboard: Vec<u16> = (1..=248).collect();
        assert!(!caps(&[EV_KEY], &keyboard, &[], &[]).is_joystick());
        // A keyboard with stray gamepad buttons.
        let mut keys = keyboard.clone();
        keys.extend(PAD_KEYS);
        assert!(!caps(&[EV_KEY], &keys, &[], &[]).is_joystick());
        let mouse = caps(
            &[EV_KEY, EV_REL],
            &[0x110, 0x111, 0x112],
            &[],
            &[REL_X, REL_Y],
        );
        assert!(!mouse.is_joystick());
        let touchpad = caps(
            &[EV_KEY, EV_ABS],
            &[BTN_TOOL_FINGER, BTN_TOUCH, 0x110],
            &[
                ABS_X,
                ABS_Y,
                ABS_PRESSURE,
                ABS_MT_POSITION_X,
                ABS_MT_POSITION_Y,
            ],
            &[],
        );
        assert!(!touchpad.is_joystick());
        let accelerometer = caps(&[EV_ABS], &[], &[ABS_X, ABS_Y, ABS_Z], &[]);
        assert!(!accelerometer.is_joystick());
        let mut flagged = caps(&[EV_KEY, EV_ABS], &PAD_KEYS, &PAD_ABS, &[]);
        flagged.props.set(INPUT_PROP_ACCELEROMETER, true);
        assert!(!flagged.is_joystick());
        // Only one joystick part: udev says no.
        assert!(!caps(&[EV_KEY, EV_ABS], &[BTN_SOUTH], &[ABS_X, ABS_Y], &[]).is_joystick());
        // The power button and the PC speaker.
        assert!(!caps(&[EV_KEY], &[116], &[], &[]).is_joystick());
        assert!(!Caps::EMPTY.is_joystick());
    }

    #[test]
    fn sysfs_bitmaps() {
        let mut key = KeyBits::EMPTY;
        // BTN_SOUTH..BTN_THUMBR is bits 48..=62 of word 4 (64-bit words) or
        // 16..=30 of word 9 (32-bit words).
        let text = if WORD_BITS == 64 {
            "7fff000000000000 0 0 0 0\n"
        } else {
            "7fff0000 0 0 0 0 0 0 0 0\n"
        };
        parse_bitmap(text, &mut key);
        assert!(key.get(BTN_SOUTH) && key.get(BTN_THUMBR));
        assert!(!key.get(BTN_THUMBR + 1) && !key.get(BTN_SOUTH - 1));
        assert_eq!(key.count(0..=KEY_MAX), 15);
        let mut ev = EvBits::EMPTY;
        parse_bitmap("20000b", &mut ev);
        assert!(ev.get(EV_SYN) && ev.get(EV_KEY) && ev.get(EV_ABS) && ev.get(EV_FF));
        assert!(!ev.get(EV_REL));
        // Garbage and too many words: no panic.
        parse_bitmap("zz 1", &mut ev);
        assert!(ev.get(0));
        let long = "ffffffff ".repeat(40);
        parse_bitmap(&long, &mut ev);
        parse_bitmap("", &mut ev);
        assert_eq!(ev, EvBits::EMPTY);
    }
}
