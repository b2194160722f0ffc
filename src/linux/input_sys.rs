//! The kernel's input ABI (`<linux/input.h>`, `<linux/input-event-codes.h>`):
//! event codes, the `#[repr(C)]` structs with their layouts asserted at
//! compile time for 64- and 32-bit targets, the `EVIOC*` ioctl numbers
//! built with [`sys::ioc`], and safe wrappers around the ioctls the gamepad
//! module makes (the `unsafe` is here, next to the layouts it relies on).
//!
//! **32-bit targets.** `struct input_event` holds its time as two
//! `__kernel_ulong_t`s (the uapi header's `__USE_TIME_BITS64` branch), so
//! the kernel reads and writes 16-byte events to 32-bit processes whatever
//! the C library's `time_t` (glibc's 64-bit `time_t` included), 24 bytes to
//! 64-bit ones: a `c_ulong` pair here. `struct ff_effect` ends with a union
//! whose largest member, `ff_periodic_effect`, holds a pointer: 48 bytes
//! (union at 16, 8-aligned) on 64-bit targets, 44 (4-aligned) on i686 and
//! other ILP32 targets, so `EVIOCSFF` differs too (`0x4030_4580` /
//! `0x402c_4580`).
#![allow(unsafe_code, dead_code)]

use core::ffi::{c_int, c_ulong, c_void};
use core::fmt;
use core::mem::size_of;
use std::io;
use std::os::fd::BorrowedFd;
use std::string::String;

use super::sys::{self, ior, iow};

// ---------------------------------------------------------------- event codes

/// Event types.
pub(crate) const EV_SYN: u16 = 0x00;
pub(crate) const EV_KEY: u16 = 0x01;
pub(crate) const EV_REL: u16 = 0x02;
pub(crate) const EV_ABS: u16 = 0x03;
pub(crate) const EV_FF: u16 = 0x15;
pub(crate) const EV_MAX: u16 = 0x1f;

/// `EV_SYN` codes.
pub(crate) const SYN_REPORT: u16 = 0;
pub(crate) const SYN_DROPPED: u16 = 3;

/// Keys that keyboards have (udev's "well-known keyboard keys").
pub(crate) const KEY_LEFTCTRL: u16 = 29;
pub(crate) const KEY_CAPSLOCK: u16 = 58;
pub(crate) const KEY_NUMLOCK: u16 = 69;
pub(crate) const KEY_INSERT: u16 = 110;
pub(crate) const KEY_MUTE: u16 = 113;
pub(crate) const KEY_CALC: u16 = 140;
pub(crate) const KEY_FILE: u16 = 144;
pub(crate) const KEY_MAIL: u16 = 155;
pub(crate) const KEY_PLAYPAUSE: u16 = 164;
pub(crate) const KEY_BRIGHTNESSDOWN: u16 = 224;

/// Buttons.
pub(crate) const BTN_MISC: u16 = 0x100;
pub(crate) const BTN_MOUSE: u16 = 0x110;
pub(crate) const BTN_JOYSTICK: u16 = 0x120;
pub(crate) const BTN_SOUTH: u16 = 0x130;
pub(crate) const BTN_EAST: u16 = 0x131;
pub(crate) const BTN_NORTH: u16 = 0x133;
pub(crate) const BTN_WEST: u16 = 0x134;
pub(crate) const BTN_TL: u16 = 0x136;
pub(crate) const BTN_TR: u16 = 0x137;
pub(crate) const BTN_TL2: u16 = 0x138;
pub(crate) const BTN_TR2: u16 = 0x139;
pub(crate) const BTN_SELECT: u16 = 0x13a;
pub(crate) const BTN_START: u16 = 0x13b;
pub(crate) const BTN_MODE: u16 = 0x13c;
pub(crate) const BTN_THUMBL: u16 = 0x13d;
pub(crate) const BTN_THUMBR: u16 = 0x13e;
pub(crate) const BTN_DIGI: u16 = 0x140;
pub(crate) const BTN_TOOL_PEN: u16 = 0x140;
pub(crate) const BTN_TOOL_FINGER: u16 = 0x145;
pub(crate) const BTN_TOUCH: u16 = 0x14a;
pub(crate) const BTN_STYLUS: u16 = 0x14b;
pub(crate) const BTN_DPAD_UP: u16 = 0x220;
pub(crate) const BTN_DPAD_DOWN: u16 = 0x221;
pub(crate) const BTN_DPAD_LEFT: u16 = 0x222;
pub(crate) const BTN_DPAD_RIGHT: u16 = 0x223;
pub(crate) const BTN_TRIGGER_HAPPY1: u16 = 0x2c0;
pub(crate) const BTN_TRIGGER_HAPPY40: u16 = 0x2e7;
pub(crate) const KEY_MAX: u16 = 0x2ff;

/// Relative axes.
pub(crate) const REL_X: u16 = 0x00;
pub(crate) const REL_Y: u16 = 0x01;
pub(crate) const REL_MAX: u16 = 0x0f;

/// Absolute axes.
pub(crate) const ABS_X: u16 = 0x00;
pub(crate) const ABS_Y: u16 = 0x01;
pub(crate) const ABS_Z: u16 = 0x02;
pub(crate) const ABS_RX: u16 = 0x03;
pub(crate) const ABS_RY: u16 = 0x04;
pub(crate) const ABS_RZ: u16 = 0x05;
pub(crate) const ABS_GAS: u16 = 0x09;
pub(crate) const ABS_BRAKE: u16 = 0x0a;
pub(crate) const ABS_HAT0X: u16 = 0x10;
pub(crate) const ABS_HAT0Y: u16 = 0x11;
pub(crate) const ABS_HAT2X: u16 = 0x14;
pub(crate) const ABS_HAT2Y: u16 = 0x15;
pub(crate) const ABS_PRESSURE: u16 = 0x18;
pub(crate) const ABS_MT_SLOT: u16 = 0x2f;
pub(crate) const ABS_MT_POSITION_X: u16 = 0x35;
pub(crate) const ABS_MT_POSITION_Y: u16 = 0x36;
pub(crate) const ABS_MAX: u16 = 0x3f;

/// Force feedback.
pub(crate) const FF_RUMBLE: u16 = 0x50;
pub(crate) const FF_MAX: u16 = 0x7f;

/// Device properties (`EVIOCGPROP`).
pub(crate) const INPUT_PROP_DIRECT: u16 = 0x01;
pub(crate) const INPUT_PROP_ACCELEROMETER: u16 = 0x06;
pub(crate) const INPUT_PROP_MAX: u16 = 0x1f;

// ---------------------------------------------------------------- bitmaps

/// Bits per word of a kernel bitmap as this process sees it: the kernel
/// hands 32-bit processes 32-bit words (`EVIOCGBIT` and sysfs alike).
pub(crate) const WORD_BITS: usize = c_ulong::BITS as usize;

/// Words of a bitmap for codes `0..=max`.
pub(crate) const fn words(max: u16) -> usize {
    (max as usize + WORD_BITS) / WORD_BITS
}

/// A kernel bitmap (`unsigned long[]`) of codes `0..N * WORD_BITS`, in the
/// kernel's own word order, so it is right on big-endian targets too.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bits<const N: usize>(pub(crate) [c_ulong; N]);

impl<const N: usize> Bits<N> {
    /// No bits set.
    pub(crate) const EMPTY: Self = Self([0; N]);

    /// Whether bit `code` is set; out of range is unset.
    pub(crate) fn get(&self, code: u16) -> bool {
        let (word, bit) = (usize::from(code) / WORD_BITS, usize::from(code) % WORD_BITS);
        self.0.get(word).is_some_and(|w| w >> bit & 1 == 1)
    }

    /// Set (or clear) bit `code`; out of range is ignored.
    pub(crate) fn set(&mut self, code: u16, on: bool) {
        let (word, bit) = (usize::from(code) / WORD_BITS, usize::from(code) % WORD_BITS);
        if let Some(w) = self.0.get_mut(word) {
            if on {
                *w |= 1 << bit;
            } else {
                *w &= !(1 << bit);
            }
        }
    }

    /// How many of the codes in `range` are set.
    pub(crate) fn count(&self, range: core::ops::RangeInclusive<u16>) -> usize {
        range.filter(|&c| self.get(c)).count()
    }
}

impl<const N: usize> fmt::Debug for Bits<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let max = u16::try_from(N * WORD_BITS).unwrap_or(u16::MAX);
        f.debug_set()
            .entries((0..max).filter(|&c| self.get(c)))
            .finish()
    }
}

/// Bitmaps of each kind of code.
pub(crate) type EvBits = Bits<{ words(EV_MAX) }>;
pub(crate) type KeyBits = Bits<{ words(KEY_MAX) }>;
pub(crate) type RelBits = Bits<{ words(REL_MAX) }>;
pub(crate) type AbsBits = Bits<{ words(ABS_MAX) }>;
pub(crate) type FfBits = Bits<{ words(FF_MAX) }>;
pub(crate) type PropBits = Bits<{ words(INPUT_PROP_MAX) }>;

// ---------------------------------------------------------------- C structs

/// `struct input_event`: the time as two `unsigned long`s (see the module
/// docs), then type, code and value.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct InputEvent {
    pub(crate) sec: c_ulong,
    pub(crate) usec: c_ulong,
    pub(crate) kind: u16,
    pub(crate) code: u16,
    pub(crate) value: i32,
}

/// The size of one event in a read or write.
pub(crate) const EVENT_SIZE: usize = size_of::<InputEvent>();
/// Where `type` starts in an event's bytes.
const KIND_AT: usize = 2 * size_of::<c_ulong>();

impl InputEvent {
    /// An event with a zero time (the kernel stamps what it forwards).
    pub(crate) const fn new(kind: u16, code: u16, value: i32) -> Self {
        Self {
            sec: 0,
            usec: 0,
            kind,
            code,
            value,
        }
    }

    /// The event in `bytes`, as `read` returned it; the time is not kept.
    pub(crate) fn from_bytes(bytes: &[u8; EVENT_SIZE]) -> Self {
        let at = |i: usize| bytes[KIND_AT + i];
        Self::new(
            u16::from_ne_bytes([at(0), at(1)]),
            u16::from_ne_bytes([at(2), at(3)]),
            i32::from_ne_bytes([at(4), at(5), at(6), at(7)]),
        )
    }

    /// The event's bytes for `write` (time zero).
    pub(crate) fn to_bytes(self) -> [u8; EVENT_SIZE] {
        let mut bytes = [0; EVENT_SIZE];
        bytes[KIND_AT..KIND_AT + 2].copy_from_slice(&self.kind.to_ne_bytes());
        bytes[KIND_AT + 2..KIND_AT + 4].copy_from_slice(&self.code.to_ne_bytes());
        bytes[KIND_AT + 4..KIND_AT + 8].copy_from_slice(&self.value.to_ne_bytes());
        bytes
    }
}

/// `struct input_id` (`EVIOCGID`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct InputIdRaw {
    pub(crate) bustype: u16,
    pub(crate) vendor: u16,
    pub(crate) product: u16,
    pub(crate) version: u16,
}

/// `struct input_absinfo` (`EVIOCGABS`): an axis's value and range.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct AbsInfo {
    pub(crate) value: i32,
    pub(crate) minimum: i32,
    pub(crate) maximum: i32,
    pub(crate) fuzz: i32,
    pub(crate) flat: i32,
    pub(crate) resolution: i32,
}

/// `struct ff_replay`: milliseconds; a length of 0 plays until stopped.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct FfReplay {
    pub(crate) length: u16,
    pub(crate) delay: u16,
}

/// `struct ff_trigger`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct FfTrigger {
    pub(crate) button: u16,
    pub(crate) interval: u16,
}

/// `struct ff_rumble_effect`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct FfRumbleEffect {
    pub(crate) strong_magnitude: u16,
    pub(crate) weak_magnitude: u16,
}

/// `struct ff_envelope`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct FfEnvelope {
    pub(crate) attack_length: u16,
    pub(crate) attack_level: u16,
    pub(crate) fade_length: u16,
    pub(crate) fade_level: u16,
}

/// `struct ff_periodic_effect`: here for its size and alignment, which
/// make the union's (it is the largest member, and holds a pointer).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct FfPeriodicEffect {
    pub(crate) waveform: u16,
    pub(crate) period: u16,
    pub(crate) magnitude: i16,
    pub(crate) offset: i16,
    pub(crate) phase: u16,
    pub(crate) envelope: FfEnvelope,
    /// The C struct's implicit padding, named so that it is initialised.
    pub(crate) _pad: u16,
    pub(crate) custom_len: u32,
    pub(crate) custom_data: *mut i16,
}

/// The union `ff_effect.u`, with the members the crate uses.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) union FfEffectUnion {
    pub(crate) rumble: FfRumbleEffect,
    pub(crate) periodic: FfPeriodicEffect,
}

/// `struct ff_effect` (`EVIOCSFF`).
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct FfEffect {
    pub(crate) kind: u16,
    /// -1 asks the kernel for a new id; an existing id updates that effect.
    pub(crate) id: i16,
    pub(crate) direction: u16,
    pub(crate) trigger: FfTrigger,
    pub(crate) replay: FfReplay,
    /// The C struct's implicit padding, named so that it is initialised:
    /// the kernel copies every byte to a uinput device's owner.
    pub(crate) _pad: u16,
    pub(crate) u: FfEffectUnion,
}

impl FfEffect {
    /// A rumble effect that plays until stopped (`replay.length` 0, the
    /// kernel's "infinite": ff-memless and hid-pidff), every other byte
    /// zero.
    pub(crate) fn rumble(id: i16, strong: u16, weak: u16) -> Self {
        let mut u = FfEffectUnion {
            // The largest member, all zero, padding named: no byte of the
            // union is left uninitialised when the kernel copies it.
            periodic: FfPeriodicEffect {
                waveform: 0,
                period: 0,
                magnitude: 0,
                offset: 0,
                phase: 0,
                envelope: FfEnvelope::default(),
                _pad: 0,
                custom_len: 0,
                custom_data: core::ptr::null_mut(),
            },
        };
        u.rumble = FfRumbleEffect {
            strong_magnitude: strong,
            weak_magnitude: weak,
        };
        Self {
            kind: FF_RUMBLE,
            id,
            direction: 0,
            trigger: FfTrigger::default(),
            replay: FfReplay::default(),
            _pad: 0,
            u,
        }
    }
}

impl fmt::Debug for FfEffect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FfEffect")
            .field("kind", &self.kind)
            .field("id", &self.id)
            .field("replay", &self.replay)
            .finish_non_exhaustive()
    }
}

// Layouts, with `sys`'s `assert_layout!`.
// The same everywhere (linux-lab/consts/evdev_consts.txt, uapi headers).
assert_layout!(InputIdRaw, size 8, align 2, bustype @ 0, vendor @ 2, product @ 4, version @ 6);
assert_layout!(AbsInfo, size 24, align 4, value @ 0, minimum @ 4, maximum @ 8, fuzz @ 12,
    flat @ 16, resolution @ 20);
assert_layout!(FfReplay, size 4, align 2, length @ 0, delay @ 2);
assert_layout!(FfTrigger, size 4, align 2, button @ 0, interval @ 2);
assert_layout!(FfRumbleEffect, size 4, align 2, strong_magnitude @ 0, weak_magnitude @ 2);

// 64-bit: 24-byte events, a 48-byte ff_effect with its union at 16.
#[cfg(target_pointer_width = "64")]
assert_layout!(InputEvent, size 24, align 8, sec @ 0, usec @ 8, kind @ 16, code @ 18, value @ 20);
#[cfg(target_pointer_width = "64")]
assert_layout!(FfPeriodicEffect, size 32, align 8, custom_len @ 20, custom_data @ 24);
#[cfg(target_pointer_width = "64")]
assert_layout!(FfEffect, size 48, align 8, kind @ 0, id @ 2, direction @ 4, trigger @ 6,
    replay @ 10, u @ 16);

// 32-bit: 16-byte events, a 44-byte ff_effect, 4-aligned.
#[cfg(target_pointer_width = "32")]
assert_layout!(InputEvent, size 16, align 4, sec @ 0, usec @ 4, kind @ 8, code @ 10, value @ 12);
#[cfg(target_pointer_width = "32")]
assert_layout!(FfPeriodicEffect, size 28, align 4, custom_len @ 20, custom_data @ 24);
#[cfg(target_pointer_width = "32")]
assert_layout!(FfEffect, size 44, align 4, kind @ 0, id @ 2, direction @ 4, trigger @ 6,
    replay @ 10, u @ 16);

// ---------------------------------------------------------------- ioctl numbers

pub(crate) const EVIOCGID: u32 = ior(b'E', 0x02, size_of::<InputIdRaw>());
pub(crate) const EVIOCSFF: u32 = iow(b'E', 0x80, size_of::<FfEffect>());
pub(crate) const EVIOCRMFF: u32 = iow(b'E', 0x81, size_of::<c_int>());

/// `EVIOCGNAME(len)`: the device name, NUL-terminated if it fits.
pub(crate) const fn eviocgname(len: usize) -> u32 {
    ior(b'E', 0x06, len)
}

/// `EVIOCGPROP(len)`: the property bitmap.
pub(crate) const fn eviocgprop(len: usize) -> u32 {
    ior(b'E', 0x09, len)
}

/// `EVIOCGKEY(len)`: the bitmap of keys held down now.
pub(crate) const fn eviocgkey(len: usize) -> u32 {
    ior(b'E', 0x18, len)
}

/// `EVIOCGBIT(ev, len)`: the codes of type `ev` the device has (the event
/// types for `ev == 0`).
pub(crate) const fn eviocgbit(ev: u16, len: usize) -> u32 {
    ior(b'E', 0x20 + ev as u8, len)
}

/// `EVIOCGABS(code)`: an axis's `input_absinfo`.
pub(crate) const fn eviocgabs(code: u16) -> u32 {
    ior(b'E', 0x40 + code as u8, size_of::<AbsInfo>())
}

// Against linux-lab/consts/evdev_consts.txt (x86_64) and the i386 headers.
const _: () = if !cfg!(any(
    target_arch = "powerpc",
    target_arch = "powerpc64",
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "sparc",
    target_arch = "sparc64"
)) {
    assert!(EVIOCGID == 0x8008_4502);
    assert!(eviocgname(256) == 0x8100_4506);
    assert!(eviocgbit(EV_KEY, 96) == 0x8060_4521);
    assert!(eviocgkey(96) == 0x8060_4518);
    assert!(eviocgabs(ABS_HAT0X) == 0x8018_4550);
    assert!(EVIOCRMFF == 0x4004_4581);
    #[cfg(target_pointer_width = "64")]
    assert!(EVIOCSFF == 0x4030_4580);
    #[cfg(target_pointer_width = "32")]
    assert!(EVIOCSFF == 0x402c_4580);
};

// ---------------------------------------------------------------- ioctls

/// `EVIOCGID`.
pub(crate) fn get_id(fd: BorrowedFd<'_>) -> io::Result<InputIdRaw> {
    let mut id = InputIdRaw::default();
    // SAFETY: EVIOCGID writes one `input_id`, the size it encodes, into
    // `id`; the kernel keeps no pointer.
    unsafe { sys::ioctl_ptr(fd, EVIOCGID, (&mut id as *mut InputIdRaw).cast()) }?;
    Ok(id)
}

/// `EVIOCGNAME`: the name, lossily as UTF-8 (empty if the device has none).
pub(crate) fn get_name(fd: BorrowedFd<'_>) -> io::Result<String> {
    let mut buf = [0u8; 256];
    // SAFETY: EVIOCGNAME(len) writes at most `len` bytes, `buf`'s length;
    // the kernel keeps no pointer.
    let n = unsafe { sys::ioctl_ptr(fd, eviocgname(buf.len()), buf.as_mut_ptr().cast()) }?;
    let bytes = buf.get(..usize::try_from(n).unwrap_or(0)).unwrap_or(&[]);
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    Ok(String::from_utf8_lossy(&bytes[..end]).into_owned())
}

/// Fill `bits` through `request`, a read of exactly its size.
///
/// # Safety
///
/// `request` must be an `_IOR` request that writes at most
/// `size_of_val(bits)` bytes (a bitmap request built with that length).
unsafe fn get_bitmap<const N: usize>(
    fd: BorrowedFd<'_>,
    request: u32,
    bits: &mut Bits<N>,
) -> io::Result<()> {
    *bits = Bits::EMPTY;
    // SAFETY: `bits` is writable for its whole size, which is all the
    // caller's request writes; the kernel keeps no pointer.
    unsafe { sys::ioctl_ptr(fd, request, bits.0.as_mut_ptr().cast::<c_void>()) }.map(drop)
}

/// `EVIOCGBIT(ev)` into `bits` (shorter answers leave the rest zero).
pub(crate) fn get_bits<const N: usize>(
    fd: BorrowedFd<'_>,
    ev: u16,
    bits: &mut Bits<N>,
) -> io::Result<()> {
    let request = eviocgbit(ev, size_of::<Bits<N>>());
    // SAFETY: the request encodes `bits`' size.
    unsafe { get_bitmap(fd, request, bits) }
}

/// `EVIOCGPROP` into `bits`.
pub(crate) fn get_props(fd: BorrowedFd<'_>, bits: &mut PropBits) -> io::Result<()> {
    let request = eviocgprop(size_of::<PropBits>());
    // SAFETY: the request encodes `bits`' size.
    unsafe { get_bitmap(fd, request, bits) }
}

/// `EVIOCGKEY`: the keys held down now.
pub(crate) fn get_key_state(fd: BorrowedFd<'_>, bits: &mut KeyBits) -> io::Result<()> {
    let request = eviocgkey(size_of::<KeyBits>());
    // SAFETY: the request encodes `bits`' size.
    unsafe { get_bitmap(fd, request, bits) }
}

/// `EVIOCGABS(code)`.
pub(crate) fn get_abs(fd: BorrowedFd<'_>, code: u16) -> io::Result<AbsInfo> {
    let mut info = AbsInfo::default();
    // SAFETY: EVIOCGABS writes one `input_absinfo`, the size it encodes,
    // into `info`; the kernel keeps no pointer.
    unsafe { sys::ioctl_ptr(fd, eviocgabs(code), (&mut info as *mut AbsInfo).cast()) }?;
    Ok(info)
}

/// `EVIOCSFF`: upload `effect` (a new one when `id` is -1, which the kernel
/// then sets). Blocks until the driver answers (for uinput, the device's
/// owner).
pub(crate) fn upload_effect(fd: BorrowedFd<'_>, effect: &mut FfEffect) -> io::Result<()> {
    // SAFETY: EVIOCSFF reads one `ff_effect` (its encoded size, asserted
    // above) and writes back its `id`; the kernel keeps no pointer to it
    // (the union's pointer member is null and unused by rumble effects).
    unsafe { sys::ioctl_ptr(fd, EVIOCSFF, (effect as *mut FfEffect).cast()) }.map(drop)
}

/// `EVIOCRMFF`: erase effect `id`.
pub(crate) fn erase_effect(fd: BorrowedFd<'_>, id: i16) -> io::Result<()> {
    // SAFETY: EVIOCRMFF takes the effect id as an `int` by value.
    unsafe { sys::ioctl_int(fd, EVIOCRMFF, c_int::from(id)) }.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_bytes_round_trip() {
        let ev = InputEvent::new(EV_ABS, ABS_HAT0Y, -1);
        let bytes = ev.to_bytes();
        assert_eq!(&bytes[..KIND_AT], &[0; KIND_AT][..], "time zero");
        assert_eq!(InputEvent::from_bytes(&bytes), ev);
    }

    #[test]
    fn bits_get_set_count() {
        let mut bits = KeyBits::EMPTY;
        bits.set(BTN_SOUTH, true);
        bits.set(KEY_MAX, true);
        bits.set(u16::MAX, true); // ignored
        assert!(bits.get(BTN_SOUTH) && bits.get(KEY_MAX));
        assert!(!bits.get(BTN_EAST) && !bits.get(u16::MAX));
        assert_eq!(bits.count(0..=KEY_MAX), 2);
        bits.set(BTN_SOUTH, false);
        assert!(!bits.get(BTN_SOUTH));
        assert_eq!(std::format!("{bits:?}"), "{767}");
    }

    #[test]
    fn rumble_effect_fields() {
        let e = FfEffect::rumble(-1, 0xc000, 0x4000);
        // SAFETY: `rumble` was the last member written.
        let r = unsafe { e.u.rumble };
        assert_eq!((e.kind, e.id, e.replay.length), (FF_RUMBLE, -1, 0));
        assert_eq!((r.strong_magnitude, r.weak_magnitude), (0xc000, 0x4000));
    }
}
