//! The test support speaks the kernel's ABI: its ioctl numbers and event
//! encoding match `<linux/input.h>`/`<linux/uinput.h>` (values printed from
//! the headers on x86_64). Runs anywhere; a mistake here would otherwise
//! surface as baffling EINVALs in the guest.

mod support;

use support::sys::{self, bit, InputEvent};

#[test]
fn uinput_ioctl_numbers() {
    let ours = [
        sys::UI_DEV_CREATE,
        sys::UI_DEV_DESTROY,
        sys::UI_DEV_SETUP,
        sys::UI_ABS_SETUP,
        sys::UI_SET_EVBIT,
        sys::UI_SET_KEYBIT,
        sys::UI_SET_ABSBIT,
        sys::UI_SET_FFBIT,
        sys::UI_SET_LEDBIT,
        sys::UI_BEGIN_FF_UPLOAD,
        sys::UI_END_FF_UPLOAD,
        sys::UI_BEGIN_FF_ERASE,
        sys::UI_END_FF_ERASE,
        sys::ui_get_sysname(64),
    ];
    let kernel = [
        0x5501, 0x5502, 0x405c5503, 0x401c5504, 0x40045564, 0x40045565, 0x40045567, 0x4004556b,
        0x40045569, 0xc06855c8, 0x406855c9, 0xc00c55ca, 0x400c55cb, 0x8040552c,
    ];
    assert_eq!(ours, kernel);
}

#[test]
fn evdev_ioctl_numbers() {
    let ours = [
        sys::EVIOCGVERSION,
        sys::EVIOCGID,
        sys::eviocgname(256),
        sys::eviocgbit(0, 4),
        sys::eviocgbit(sys::EV_KEY, 96),
        sys::eviocgabs(sys::ABS_X),
        sys::eviocgabs(sys::ABS_HAT0X),
        sys::EVIOCSFF,
        sys::EVIOCRMFF,
        sys::EVIOCGEFFECTS,
    ];
    let kernel = [
        0x80044501, 0x80084502, 0x81004506, 0x80044520, 0x80604521, 0x80184540, 0x80184550,
        0x40304580, 0x40044581, 0x80044584,
    ];
    assert_eq!(ours, kernel);
}

#[test]
fn input_event_bytes() {
    let ev = InputEvent::new(sys::EV_ABS, sys::ABS_HAT0Y, -1);
    let bytes = ev.to_bytes();
    assert_eq!(&bytes[..16], &[0; 16], "time zero: the kernel stamps it");
    assert_eq!(&bytes[16..], &[3, 0, 0x11, 0, 0xff, 0xff, 0xff, 0xff]);
    assert_eq!(InputEvent::from_bytes(&bytes), ev);
}

#[test]
fn bitmap_bits() {
    let mut bits = [0u8; sys::BITS_LEN];
    bits[usize::from(sys::BTN_SOUTH / 8)] = 1 << (sys::BTN_SOUTH % 8);
    assert!(bit(&bits, sys::BTN_SOUTH));
    assert!(!bit(&bits, sys::BTN_EAST));
    assert!(!bit(&bits, 60_000), "past the end is unset, not a panic");
}
