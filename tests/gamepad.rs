//! `pasts::linux::gamepad`, and the input devices under it.
//!
//! - Host: the test support's ABI (ioctl numbers, event bytes); decoding and
//!   normalisation of recorded `input_event` byte streams fed through a pipe
//!   (`Pad::from_recording`): frames, hats, triggers, `SYN_DROPPED`,
//!   truncated and garbage input.
//! - Guest (`scripts/vm-test --test gamepad`; `#[ignore]`d elsewhere): the
//!   kernel's side through uinput (evdev queries, reads, force feedback),
//!   then `Gamepads` and `Pad` on real nodes: hotplug, classification,
//!   permissions, events, rumble, unplug and replug, two pads, foreign
//!   executors, and the latency figures (printed).
#![cfg(feature = "gamepad")]

mod common;
mod support;

use common::{park_block_on, within};
use pasts::linux::gamepad::{Axis, Button, Event, Gamepads, Pad, PadId};
use pasts::linux::{Device, Timer, Watch};
use pasts::prelude::*;
use std::collections::HashMap;
use std::future::Future;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};
use support::evdev::{self, EventNode};
use support::sys::{self, bit, InputEvent};
use support::uinput::{self, Builder, FfRequest, VirtualDevice};

/// A bound for a hang, not a speed check (the guest is emulated).
const LIMIT: Duration = Duration::from_secs(20);

// ------------------------------------------------------------------ host: ABI

#[test]
#[cfg(target_arch = "x86_64")]
fn uinput_ioctl_numbers() {
    let ours = [
        sys::UI_DEV_CREATE,
        sys::UI_DEV_DESTROY,
        sys::UI_DEV_SETUP,
        sys::UI_ABS_SETUP,
        sys::UI_SET_EVBIT,
        sys::UI_SET_KEYBIT,
        sys::UI_SET_RELBIT,
        sys::UI_SET_ABSBIT,
        sys::UI_SET_FFBIT,
        sys::UI_SET_LEDBIT,
        sys::UI_BEGIN_FF_UPLOAD,
        sys::UI_END_FF_UPLOAD,
        sys::UI_BEGIN_FF_ERASE,
        sys::UI_END_FF_ERASE,
        sys::ui_get_sysname(64),
    ];
    // linux-lab/consts/evdev_consts.txt (x86_64).
    let kernel = [
        0x5501, 0x5502, 0x405c5503, 0x401c5504, 0x40045564, 0x40045565, 0x40045566, 0x40045567,
        0x4004556b, 0x40045569, 0xc06855c8, 0x406855c9, 0xc00c55ca, 0x400c55cb, 0x8040552c,
    ];
    assert_eq!(ours, kernel);
}

#[test]
#[cfg(target_arch = "x86_64")]
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
    let time = InputEvent::SIZE - 8;
    assert_eq!(
        &bytes[..time],
        &vec![0; time][..],
        "time zero: the kernel stamps it"
    );
    if cfg!(target_endian = "little") {
        assert_eq!(&bytes[time..], &[3, 0, 0x11, 0, 0xff, 0xff, 0xff, 0xff]);
    }
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

// ------------------------------------------------------------ host: recordings

/// The Xbox layout's axes as `(code, min, max, flat)`.
const XBOX: [(u16, i32, i32, i32); 8] = [
    (sys::ABS_X, -32768, 32767, 128),
    (sys::ABS_Y, -32768, 32767, 128),
    (sys::ABS_RX, -32768, 32767, 128),
    (sys::ABS_RY, -32768, 32767, 128),
    (sys::ABS_Z, 0, 255, 0),
    (sys::ABS_RZ, 0, 255, 0),
    (sys::ABS_HAT0X, -1, 1, 0),
    (sys::ABS_HAT0Y, -1, 1, 0),
];

const SYN: (u16, u16, i32) = (sys::EV_SYN, sys::SYN_REPORT, 0);

/// The bytes of `events`, as a device would send them.
fn record(events: &[(u16, u16, i32)]) -> Vec<u8> {
    events
        .iter()
        .flat_map(|&(kind, code, value)| InputEvent::new(kind, code, value).to_bytes())
        .collect()
}

/// Writes all of `bytes` to a non-blocking pipe, waiting while it is full.
fn write_all_waiting(mut tx: &std::fs::File, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        match tx.write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(1))
            }
            Err(e) => panic!("write to pipe: {e}"),
        }
    }
}

/// A pad reading a pipe, and the pipe's write end.
fn recorded_pad(axes: &[(u16, i32, i32, i32)]) -> (Pad, std::fs::File) {
    let (rx, tx) = sys::pipe();
    let pad = Pad::from_recording(rx, axes).unwrap();
    (pad, std::fs::File::from(tx))
}

/// Every event of `pad` up to and including `Disconnected` (the writer
/// must be closed).
fn all_events(pad: &mut Pad) -> Vec<Event> {
    pasts::block_on(async {
        let mut got = Vec::new();
        loop {
            let event = (&mut *pad).await;
            got.push(event);
            if event == Event::Disconnected {
                return got;
            }
        }
    })
}

/// Polls `fut` once with a waker that counts; `(ready?, wakes so far)`.
fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    let (_, waker) = common::Counter::new();
    Pin::new(fut).poll(&mut Context::from_waker(&waker))
}

#[test]
#[cfg_attr(miri, ignore = "pipes and epoll")]
fn recording_frames_decode_in_order() {
    let (mut pad, mut tx) = recorded_pad(&XBOX);
    tx.write_all(&record(&[
        (sys::EV_KEY, sys::BTN_SOUTH, 1),
        (sys::EV_ABS, sys::ABS_X, 32767),
        (sys::EV_ABS, sys::ABS_Y, -32768),
        (sys::EV_ABS, sys::ABS_RY, 32767),
        SYN,
        (sys::EV_ABS, sys::ABS_X, 0), // dead zone
        (sys::EV_KEY, sys::BTN_SOUTH, 0),
        SYN,
        (sys::EV_ABS, sys::ABS_RX, 100), // inside the dead zone: no event
        SYN,
    ]))
    .unwrap();
    drop(tx);
    assert_eq!(
        all_events(&mut pad),
        [
            Event::Button(Button::South, true),
            Event::Axis(Axis::LeftX, 1.0),
            Event::Axis(Axis::LeftY, 1.0), // up is positive
            Event::Axis(Axis::RightY, -1.0),
            Event::Axis(Axis::LeftX, 0.0),
            Event::Button(Button::South, false),
            Event::Disconnected,
        ]
    );
    assert_eq!(pad.axis(Axis::RightY), -1.0);
    assert!(!pad.pressed(Button::South));
}

#[test]
#[cfg_attr(miri, ignore = "pipes and epoll")]
fn recording_hats_and_triggers() {
    let (mut pad, mut tx) = recorded_pad(&XBOX);
    tx.write_all(&record(&[
        (sys::EV_ABS, sys::ABS_HAT0X, -1),
        (sys::EV_ABS, sys::ABS_Z, 255),
        (sys::EV_ABS, sys::ABS_RZ, 0),
        SYN,
        (sys::EV_ABS, sys::ABS_HAT0X, 1),
        (sys::EV_KEY, sys::BTN_TR2, 1), // a digital trigger as well
        SYN,
    ]))
    .unwrap();
    drop(tx);
    assert_eq!(
        all_events(&mut pad),
        [
            Event::Button(Button::DpadLeft, true),
            Event::Axis(Axis::LeftTrigger, 1.0),
            Event::Button(Button::DpadLeft, false),
            Event::Button(Button::DpadRight, true),
            Event::Button(Button::RightTrigger, true),
            Event::Disconnected,
        ]
    );
    // Triggers on HAT2 (the kernel's gamepad layout): HAT2Y is the left.
    let (mut pad, mut tx) = recorded_pad(&[
        (sys::ABS_X, -128, 127, 0),
        (sys::ABS_Y, -128, 127, 0),
        (sys::ABS_HAT2X, 0, 1023, 0),
        (sys::ABS_HAT2Y, 0, 1023, 0),
    ]);
    tx.write_all(&record(&[(sys::EV_ABS, sys::ABS_HAT2Y, 1023), SYN]))
        .unwrap();
    drop(tx);
    assert_eq!(
        all_events(&mut pad),
        [Event::Axis(Axis::LeftTrigger, 1.0), Event::Disconnected]
    );
}

#[test]
#[cfg_attr(miri, ignore = "pipes and epoll")]
fn recording_split_anywhere_is_reassembled() {
    let (mut pad, tx) = recorded_pad(&XBOX);
    let bytes = record(&[
        (sys::EV_KEY, sys::BTN_EAST, 1),
        (sys::EV_ABS, sys::ABS_RX, -32768),
        SYN,
        (sys::EV_KEY, sys::BTN_EAST, 0),
        SYN,
        (sys::EV_KEY, sys::BTN_WEST, 1), // a frame cut short: never delivered
    ]);
    let cut = bytes.len() - 3; // and a truncated last event
                               // Odd-sized writes from another thread, so events straddle reads.
    let writer = thread::spawn(move || {
        let mut tx = tx;
        for chunk in bytes[..cut].chunks(7) {
            tx.write_all(chunk).unwrap();
            thread::sleep(Duration::from_millis(1));
        }
    });
    let got = within(LIMIT, move || all_events(&mut pad));
    writer.join().unwrap();
    assert_eq!(
        got,
        [
            Event::Button(Button::East, true),
            Event::Axis(Axis::RightX, -1.0),
            Event::Button(Button::East, false),
            Event::Disconnected,
        ]
    );
}

#[test]
#[cfg_attr(miri, ignore = "pipes and epoll")]
fn recording_syn_dropped_skips_to_the_next_report() {
    let (mut pad, mut tx) = recorded_pad(&XBOX);
    tx.write_all(&record(&[
        (sys::EV_KEY, sys::BTN_NORTH, 1),
        SYN,
        (sys::EV_KEY, sys::BTN_SOUTH, 1),
        (sys::EV_SYN, sys::SYN_DROPPED, 0),
        (sys::EV_KEY, sys::BTN_EAST, 1), // after the drop: partial, ignored
        SYN,
        (sys::EV_KEY, sys::BTN_WEST, 1),
        SYN,
    ]))
    .unwrap();
    drop(tx);
    // A pipe has no state to resync from: the state stays as it was.
    assert_eq!(
        all_events(&mut pad),
        [
            Event::Button(Button::North, true),
            Event::Button(Button::West, true),
            Event::Disconnected,
        ]
    );
    assert!(!pad.pressed(Button::South) && !pad.pressed(Button::East));
}

#[test]
#[cfg_attr(miri, ignore = "pipes and epoll")]
fn recording_garbage_never_panics() {
    let (mut pad, tx) = recorded_pad(&XBOX);
    // A deterministic pseudo-random byte stream, SYN_REPORTs included now
    // and then through the value of some events.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut bytes = vec![0u8; 64 * 1024];
    for b in bytes.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = (x >> 24) as u8;
    }
    let mut frames = Vec::new();
    for i in 0..2000 {
        let kind = [sys::EV_KEY, sys::EV_ABS, sys::EV_SYN, 0x7777][i % 4];
        let code = (x.rotate_left(i as u32) % 0x400) as u16;
        frames.push((kind, code, (x >> (i % 32)) as i32));
        if i % 7 == 0 {
            frames.push(SYN);
        }
    }
    bytes.extend(record(&frames));
    let writer = thread::spawn(move || write_all_waiting(&tx, &bytes));
    let got = within(LIMIT, move || all_events(&mut pad));
    writer.join().unwrap();
    assert_eq!(got.last(), Some(&Event::Disconnected));
    assert_eq!(got.iter().filter(|e| **e == Event::Disconnected).count(), 1);
    for event in got {
        if let Event::Axis(axis, value) = event {
            let range = match axis {
                Axis::LeftTrigger | Axis::RightTrigger => 0.0..=1.0,
                _ => -1.0..=1.0,
            };
            assert!(range.contains(&value), "{axis:?} = {value}");
        }
    }
}

#[test]
#[cfg_attr(miri, ignore = "pipes and epoll")]
fn recording_end_is_disconnected_once_then_pending() {
    let (mut pad, tx) = recorded_pad(&XBOX);
    assert!(poll_once(&mut pad).is_pending(), "nothing written yet");
    drop(tx);
    assert_eq!(pasts::block_on(&mut pad), Event::Disconnected);
    for _ in 0..3 {
        assert!(poll_once(&mut pad).is_pending());
    }
    let err = pad.rumble(1.0, 1.0).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Unsupported, "{err}");
}

#[test]
#[cfg_attr(miri, ignore = "pipes and epoll")]
fn recording_reads_every_queued_event_per_wake() {
    let (mut pad, mut tx) = recorded_pad(&XBOX);
    let mut frames = Vec::new();
    for i in 0..300 {
        frames.push((sys::EV_KEY, sys::BTN_SOUTH, (i % 2 == 0) as i32));
        frames.push(SYN);
    }
    tx.write_all(&record(&frames)).unwrap();
    // One wake drains the pipe: the next 299 events need no other.
    assert_eq!(
        pasts::block_on(&mut pad),
        Event::Button(Button::South, true)
    );
    let mut n = 1;
    while let Poll::Ready(event) = poll_once(&mut pad) {
        assert_eq!(event, Event::Button(Button::South, n % 2 == 0));
        n += 1;
    }
    assert_eq!(n, 300);
}

#[global_allocator]
static GLOBAL: support::counting::Counting = support::counting::Counting;

#[test]
#[cfg_attr(miri, ignore = "pipes and epoll")]
fn decoding_allocates_nothing_after_start() {
    let (mut pad, mut tx) = recorded_pad(&XBOX);
    let mut frames = Vec::new();
    for i in 0..100 {
        let v: i32 = if i % 2 == 0 { 30000 } else { -30000 };
        frames.extend([
            (sys::EV_ABS, sys::ABS_X, v),
            (sys::EV_ABS, sys::ABS_HAT0X, v.signum()),
            (sys::EV_KEY, sys::BTN_SOUTH, i % 2),
            SYN,
        ]);
    }
    let bytes = record(&frames);
    let (_, waker) = common::Counter::new();
    let mut cx = Context::from_waker(&waker);
    let mut drain = |pad: &mut Pad, tx: &mut std::fs::File| {
        tx.write_all(&bytes).unwrap();
        // The first waits for the reactor's wake; the rest are read.
        assert_ne!(pasts::block_on(&mut *pad), Event::Disconnected);
        let mut n = 1;
        while let Poll::Ready(event) = Pin::new(&mut *pad).poll(&mut cx) {
            assert_ne!(event, Event::Disconnected);
            n += 1;
        }
        n
    };
    let first = drain(&mut pad, &mut tx); // buffers grow to size here
    let before = support::counting::allocs();
    let second = drain(&mut pad, &mut tx);
    let allocs = support::counting::allocs() - before;
    // The first frame presses no button and moves the hat from its centre.
    assert_eq!((first, second), (398, 400));
    assert_eq!(allocs, 0, "{allocs} allocations for {second} events");
}

#[test]
fn futures_are_send_sync_unpin_debug() {
    fn check<T: Send + Sync + Unpin + std::fmt::Debug>() {}
    check::<Gamepads>();
    check::<Pad>();
    check::<Event>();
    check::<PadId>();
}

#[test]
#[cfg_attr(miri, ignore = "inotify")]
fn gamepads_start_with_or_without_dev_input() {
    let mut pads = Gamepads::new().unwrap();
    if Path::new("/dev/input").exists() {
        // Whatever is plugged in here: every item is an event or an error
        // naming its device; nothing blocks.
        while let Poll::Ready(item) = poll_once(&mut pads) {
            match item {
                Ok((id, Event::Connected)) => assert!(pads.get(id).is_some()),
                Ok(_) => {}
                Err(e) => assert!(e.to_string().contains("/dev/input"), "{e}"),
            }
        }
    } else {
        // A container: no pads, pending, no error.
        assert!(poll_once(&mut pads).is_pending());
        assert!(format!("{pads:?}").contains("watching: None"), "{pads:?}");
    }
}

#[test]
#[cfg_attr(miri, ignore = "inotify, epoll, timerfd")]
fn idle_gamepads_sleep() {
    // Whatever pads exist here (in the guest: those of other tests, which
    // may send a few events), waiting is sleeping: a busy loop would poll
    // thousands of times in the window.
    let mut pads = Gamepads::new().unwrap();
    let (events, polls, _) = park_block_on(async {
        let mut timer = Timer::new(Duration::from_millis(300)).unwrap();
        let mut events = 0;
        loop {
            let next = async { Some((&mut pads).await) };
            let end = async {
                (&mut timer).await;
                None
            };
            match (next, end).select().await.1 {
                Some(_) => events += 1,
                None => return events,
            }
        }
    });
    assert!(
        polls <= 2 * events + 20,
        "{polls} polls for {events} events"
    );
}

// ------------------------------------------------------ guest: kernel + uinput

#[test]
#[ignore = "needs devices: run by scripts/vm-test"]
fn uinput_gamepad_answers_evdev_queries() {
    let pad = Builder::gamepad("pasts test pad")
        .id(sys::BUS_USB, 0x045e, 0x028e, 0x0110)
        .create()
        .unwrap();
    let path = pad.event_path();
    assert!(path.starts_with("/dev/input"), "{}", path.display());
    let node = EventNode::open(path).unwrap();

    assert_eq!(node.name().unwrap(), "pasts test pad");
    let id = node.id().unwrap();
    assert_eq!(
        (id.bustype, id.vendor, id.product, id.version),
        (sys::BUS_USB, 0x045e, 0x028e, 0x0110)
    );
    assert_eq!(node.version().unwrap(), 0x010001, "evdev protocol version");

    let types = node.bits(0).unwrap();
    for ev in [sys::EV_SYN, sys::EV_KEY, sys::EV_ABS, sys::EV_FF] {
        assert!(bit(&types, ev), "event type {ev:#x} missing");
    }
    let keys = node.bits(sys::EV_KEY).unwrap();
    for button in uinput::GAMEPAD_BUTTONS {
        assert!(bit(&keys, button), "button {button:#x} missing");
    }
    assert!(!bit(&keys, sys::KEY_A), "a gamepad has no KEY_A");

    let axes = node.bits(sys::EV_ABS).unwrap();
    for (axis, info) in uinput::GAMEPAD_AXES {
        assert!(bit(&axes, axis), "axis {axis:#x} missing");
        assert_eq!(node.abs(axis).unwrap(), info, "EVIOCGABS({axis:#x})");
    }
    assert_eq!(node.abs(sys::ABS_X).unwrap().flat, 128);

    let ff = node.bits(sys::EV_FF).unwrap();
    assert!(bit(&ff, sys::FF_RUMBLE), "FF_RUMBLE missing");
    assert_eq!(node.effects().unwrap(), uinput::GAMEPAD_EFFECTS as i32);
}

#[test]
#[ignore = "needs devices: run by scripts/vm-test"]
fn uinput_keyboard_answers_evdev_queries() {
    let kbd = Builder::keyboard("pasts test keyboard").create().unwrap();
    let node = kbd.open_node().unwrap();

    assert_eq!(node.name().unwrap(), "pasts test keyboard");
    assert_eq!(node.id().unwrap().bustype, sys::BUS_VIRTUAL);
    let types = node.bits(0).unwrap();
    assert!(bit(&types, sys::EV_KEY) && bit(&types, sys::EV_LED));
    assert!(!bit(&types, sys::EV_ABS) && !bit(&types, sys::EV_FF));
    let keys = node.bits(sys::EV_KEY).unwrap();
    assert!(bit(&keys, sys::KEY_ESC) && bit(&keys, sys::KEY_A) && bit(&keys, sys::KEY_MICMUTE));
    assert!(
        !bit(&keys, sys::BTN_SOUTH),
        "a keyboard has no gamepad buttons"
    );
}

#[test]
#[ignore = "needs devices: run by scripts/vm-test"]
fn uinput_dropping_the_device_removes_its_node() {
    let pad = Builder::gamepad("pasts test pad (unplugged)")
        .create()
        .unwrap();
    // Event node numbers are reused by the next device; input numbers are not.
    let sys_dir = Path::new("/sys/devices/virtual/input").join(pad.sysname());
    assert!(sys_dir.exists(), "{}", sys_dir.display());
    drop(pad);
    common::eventually(5, "the sysfs entry to go", || !sys_dir.exists());
}

#[test]
#[ignore = "needs devices: run by scripts/vm-test"]
fn uinput_device_wakes_for_written_events() {
    let pad = Builder::gamepad("pasts test pad (events)")
        .create()
        .unwrap();
    let path = pad.event_path().to_path_buf();
    let node = EventNode::open(&path).unwrap();
    assert_eq!(
        node.read_now().unwrap(),
        [],
        "nothing before the first write"
    );
    let reader = node.file().try_clone().unwrap();
    let mut device =
        Device::<std::os::fd::OwnedFd>::new(node.into_file().into(), Watch::INPUT).unwrap();

    // The pad sends while the reader is already waiting.
    let writer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(100));
        pad.frame(&[
            (sys::EV_KEY, sys::BTN_SOUTH, 1),
            (sys::EV_ABS, sys::ABS_X, 12345),
            (sys::EV_ABS, sys::ABS_HAT0Y, -1),
        ])
        .unwrap();
        pad.frame(&[(sys::EV_KEY, sys::BTN_SOUTH, 0)]).unwrap();
        pad // unplugged only once the reader is done
    });
    let (got, wakes) = within(LIMIT, move || {
        pasts::block_on(async {
            let (mut got, mut wakes) = (Vec::new(), 0);
            while got.len() < 6 {
                (&mut device).await;
                wakes += 1;
                got.extend(evdev::read_events(&reader, &path).unwrap());
            }
            (got, wakes)
        })
    });
    let _pad = writer.join().unwrap();

    let syn = InputEvent::new(sys::EV_SYN, sys::SYN_REPORT, 0);
    assert_eq!(
        got,
        [
            InputEvent::new(sys::EV_KEY, sys::BTN_SOUTH, 1),
            InputEvent::new(sys::EV_ABS, sys::ABS_X, 12345),
            InputEvent::new(sys::EV_ABS, sys::ABS_HAT0Y, -1),
            syn,
            InputEvent::new(sys::EV_KEY, sys::BTN_SOUTH, 0),
            syn,
        ]
    );
    assert!((1..=6).contains(&wakes), "{wakes} wakes for 2 frames");
}

#[test]
#[ignore = "needs devices: run by scripts/vm-test"]
fn uinput_unchanged_values_are_not_repeated() {
    // The input core drops an event that repeats the current state; a
    // reader must not wait for one.
    let pad = Builder::gamepad("pasts test pad (repeat)")
        .create()
        .unwrap();
    let node = pad.open_node().unwrap();
    pad.frame(&[(sys::EV_ABS, sys::ABS_RY, 500)]).unwrap();
    pad.frame(&[(sys::EV_ABS, sys::ABS_RY, 500)]).unwrap();
    pad.frame(&[(sys::EV_ABS, sys::ABS_RY, -500)]).unwrap();
    let got = node.read_for(4, LIMIT).unwrap();
    let values: Vec<_> = got
        .iter()
        .filter(|e| e.kind == sys::EV_ABS)
        .map(|e| e.value)
        .collect();
    assert_eq!(values, [500, -500]);
    assert_eq!(node.read_now().unwrap().len(), 0, "two frames, no more");
}

#[test]
#[ignore = "needs devices: run by scripts/vm-test"]
fn uinput_rumble_upload_play_erase_round_trip() {
    let pad = Builder::gamepad("pasts test pad (rumble)")
        .create()
        .unwrap();
    let node = pad.open_node().unwrap();

    let id = node.upload_rumble(0xc000, 0x4000, 500).unwrap();
    assert!(id >= 0, "the kernel assigns an effect id, got {id}");
    node.play(id, 1).unwrap();
    node.play(id, 0).unwrap();
    node.erase(id).unwrap();

    let log = pad.wait_ff(5, Duration::from_secs(5));
    let (play, eid) = (id as u16, id as u32);
    assert_eq!(
        log,
        [
            FfRequest::Upload {
                id,
                strong: 0xc000,
                weak: 0x4000,
                length_ms: 500
            },
            FfRequest::Play { id: play, count: 1 },
            FfRequest::Play { id: play, count: 0 },
            // Erasing stops the effect first (ff-core's erase_effect).
            FfRequest::Play { id: play, count: 0 },
            FfRequest::Erase { id: eid },
        ]
    );
}

#[test]
#[ignore = "needs devices: run by scripts/vm-test"]
fn uinput_refused_upload_fails_the_reader() {
    let pad = Builder::gamepad("pasts test pad (refusing)")
        .create()
        .unwrap();
    pad.refuse_uploads(28); // ENOSPC
    let node = pad.open_node().unwrap();
    let err = node.upload_rumble(0xffff, 0, 100).unwrap_err();
    assert_eq!(sys::errno(&err), Some(28), "{err}");
}

#[test]
#[ignore = "needs devices: run by scripts/vm-test"]
fn uinput_pad_holds_at_most_its_effects() {
    let pad = Builder::gamepad("pasts test pad (full)")
        .rumble(2)
        .create()
        .unwrap();
    let node = pad.open_node().unwrap();
    node.upload_rumble(1, 1, 10).unwrap();
    node.upload_rumble(2, 2, 10).unwrap();
    // The input core refuses the third itself; the owner never hears of it.
    let err = node.upload_rumble(3, 3, 10).unwrap_err();
    assert_eq!(sys::errno(&err), Some(28), "{err}"); // ENOSPC
    assert_eq!(pad.wait_ff(2, Duration::from_secs(5)).len(), 2);
}

// ------------------------------------------------------ guest: Gamepads, Pad

/// What a test sees of the pads whose names start with its prefix (the
/// guest runs tests in parallel, and every test sees every pad).
struct Seen {
    pads: Gamepads,
    prefix: String,
    /// The test's pads, by id, with their names.
    mine: HashMap<PadId, String>,
}

/// One item for the test: an event of one of its pads, or an error about
/// one of its paths.
#[derive(Debug, PartialEq)]
enum Item {
    Event(String, Event),
    Error(io::ErrorKind, String),
}

impl Seen {
    fn new(prefix: &str) -> Seen {
        Seen {
            pads: Gamepads::new().unwrap(),
            prefix: prefix.into(),
            mine: HashMap::new(),
        }
    }

    /// The next item for this test, or `None` after `wait`; errors are
    /// kept if they name one of `paths`.
    fn next_within(&mut self, wait: Duration, paths: &[&Path]) -> Option<(Option<PadId>, Item)> {
        let deadline = Instant::now() + wait;
        pasts::block_on(async {
            loop {
                let mut timer = Timer::at(deadline).unwrap();
                let pads = &mut self.pads;
                let next = async { Some((&mut *pads).await) };
                let timeout = async {
                    (&mut timer).await;
                    None
                };
                let (_, item) = (next, timeout).select().await;
                match item? {
                    Err(e) => {
                        let msg = e.to_string();
                        if paths.iter().any(|p| msg.contains(&*p.to_string_lossy())) {
                            return Some((None, Item::Error(e.kind(), msg)));
                        }
                    }
                    Ok((id, Event::Connected)) => {
                        let name = self.pads.get(id).unwrap().name().to_string();
                        if name.starts_with(&self.prefix) {
                            self.mine.insert(id, name.clone());
                            return Some((Some(id), Item::Event(name, Event::Connected)));
                        }
                    }
                    Ok((id, event)) => {
                        if let Some(name) = self.mine.get(&id) {
                            let item = Item::Event(name.clone(), event);
                            if event == Event::Disconnected {
                                self.mine.remove(&id);
                            }
                            return Some((Some(id), item));
                        }
                    }
                }
            }
        })
    }

    /// The next item, which must come within [`LIMIT`].
    fn next(&mut self) -> (PadId, String, Event) {
        match self.next_within(LIMIT, &[]) {
            Some((Some(id), Item::Event(name, event))) => (id, name, event),
            other => panic!("expected an event of a {}* pad, got {other:?}", self.prefix),
        }
    }

    /// Nothing more for this test within `wait`.
    fn quiet_for(&mut self, wait: Duration) {
        if let Some(item) = self.next_within(wait, &[]) {
            panic!("unexpected {item:?}");
        }
    }
}

/// A pad of the standard layout named `name`.
fn plug(name: &str) -> VirtualDevice {
    Builder::gamepad(name).create().unwrap()
}

#[test]
#[ignore = "needs devices: run by scripts/vm-test"]
fn pads_are_found_at_start_and_when_plugged_later() {
    let before = plug("found:before");
    let kbd = Builder::keyboard("found:keyboard").create().unwrap();
    let mouse = Builder::mouse("found:mouse").create().unwrap();
    // No keys, three absolute axes: udev's accelerometer.
    let accel = Builder::new("found:accelerometer")
        .axis(sys::ABS_X, uinput::STICK)
        .axis(sys::ABS_Y, uinput::STICK)
        .axis(sys::ABS_Z, uinput::STICK)
        .create()
        .unwrap();
    // A finger tool, touch, a click and multi-touch axes: a touchpad.
    let touchpad = Builder::new("found:touchpad")
        .key(0x145) // BTN_TOOL_FINGER
        .key(0x14a) // BTN_TOUCH
        .key(sys::BTN_LEFT)
        .axis(sys::ABS_X, uinput::STICK)
        .axis(sys::ABS_Y, uinput::STICK)
        .axis(0x35, uinput::STICK) // ABS_MT_POSITION_X
        .axis(0x36, uinput::STICK) // ABS_MT_POSITION_Y
        .create()
        .unwrap();
    let mut seen = Seen::new("found:");
    let (id1, name, event) = seen.next();
    assert_eq!((name.as_str(), event), ("found:before", Event::Connected));
    let pad = seen.pads.get(id1).unwrap();
    assert_eq!(pad.id().bus, sys::BUS_VIRTUAL);

    // Plugged in while watching: a keyboard and a mouse, then a pad.
    let kbd2 = Builder::keyboard("found:keyboard2").create().unwrap();
    let mouse2 = Builder::mouse("found:mouse2").create().unwrap();
    let later = plug("found:later");
    let (id2, name, event) = seen.next();
    assert_eq!((name.as_str(), event), ("found:later", Event::Connected));
    assert_ne!(id1, id2);
    // Nothing of the keyboards' and mice's: not opened at all.
    seen.quiet_for(Duration::from_millis(300));
    let open: Vec<PathBuf> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .collect();
    for dev in [&kbd, &mouse, &accel, &touchpad, &kbd2, &mouse2] {
        let node = dev.event_path().to_path_buf();
        assert!(!open.contains(&node), "{} is open", node.display());
    }
    for dev in [&before, &later] {
        let node = dev.event_path().to_path_buf();
        assert!(open.contains(&node), "{} is not open", node.display());
    }
}

#[test]
#[ignore = "needs devices: run by scripts/vm-test"]
fn events_arrive_normalised_and_in_order() {
    let dev = plug("order:pad");
    let mut seen = Seen::new("order:");
    let (id, _, event) = seen.next();
    assert_eq!(event, Event::Connected);
    dev.frame(&[
        (sys::EV_KEY, sys::BTN_SOUTH, 1),
        (sys::EV_ABS, sys::ABS_X, 32767),
        (sys::EV_ABS, sys::ABS_Y, -32768),
        (sys::EV_ABS, sys::ABS_Z, 255),
        (sys::EV_ABS, sys::ABS_HAT0Y, -1),
    ])
    .unwrap();
    dev.frame(&[
        (sys::EV_ABS, sys::ABS_RX, 100), // dead zone: no event
        (sys::EV_ABS, sys::ABS_RZ, 51),
        (sys::EV_ABS, sys::ABS_HAT0Y, 1),
        (sys::EV_KEY, sys::BTN_SOUTH, 0),
    ])
    .unwrap();
    let expected = [
        Event::Button(Button::South, true),
        Event::Axis(Axis::LeftX, 1.0),
        Event::Axis(Axis::LeftY, 1.0),
        Event::Axis(Axis::LeftTrigger, 1.0),
        Event::Button(Button::DpadUp, true),
        Event::Axis(Axis::RightTrigger, 51.0 / 255.0),
        Event::Button(Button::DpadUp, false),
        Event::Button(Button::DpadDown, true),
        Event::Button(Button::South, false),
    ];
    let got: Vec<Event> = expected.iter().map(|_| seen.next().2).collect();
    assert_eq!(got, expected);
    seen.quiet_for(Duration::from_millis(200));
    let pad = seen.pads.get(id).unwrap();
    assert!(pad.pressed(Button::DpadDown) && !pad.pressed(Button::South));
    assert_eq!(pad.axis(Axis::LeftY), 1.0);
    assert_eq!(pad.axis(Axis::RightX), 0.0);
}

#[test]
#[ignore = "needs devices: run by scripts/vm-test"]
fn rumble_reaches_the_device_and_is_erased_on_drop() {
    let dev = plug("rumble:pad");
    let pad = Pad::open(dev.event_path()).unwrap();
    assert_eq!(pad.name(), "rumble:pad");
    pad.rumble(1.0, 0.5).unwrap();
    pad.rumble(0.25, 0.0).unwrap(); // same effect, new magnitudes
    pad.rumble(0.0, 0.0).unwrap(); // stop
    pad.rumble(0.0, 0.0).unwrap(); // stopped already: nothing sent
    let log = dev.wait_ff(4, Duration::from_secs(5));
    let FfRequest::Upload { id, .. } = log[0] else {
        panic!("{log:?}")
    };
    assert!(id >= 0);
    let up = |strong, weak| FfRequest::Upload {
        id,
        strong,
        weak,
        length_ms: 0, // until stopped
    };
    let play = |count| FfRequest::Play {
        id: id as u16,
        count,
    };
    assert_eq!(log, [up(0xffff, 0x8000), play(1), up(0x4000, 0), play(0)]);
    drop(pad);
    let log = dev.wait_ff(6, Duration::from_secs(5));
    assert_eq!(log[4..], [play(0), FfRequest::Erase { id: id as u32 }]);

    // No force feedback: Unsupported, naming the pad.
    let plain = Builder::gamepad("rumble:none").rumble(0).create().unwrap();
    let pad = Pad::open(plain.event_path()).unwrap();
    let err = pad.rumble(1.0, 1.0).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Unsupported);
    assert!(err.to_string().contains("rumble:none"), "{err}");
    // A driver that refuses: the error names the pad too.
    let refusing = plug("rumble:refusing");
    refusing.refuse_uploads(28); // ENOSPC
    let pad = Pad::open(refusing.event_path()).unwrap();
    let err = pad.rumble(1.0, 1.0).unwrap_err();
    assert!(err.to_string().contains("rumble:refusing"), "{err}");
}

/// `pad`'s events until none comes for `quiet`.
fn events_until_quiet(pad: &mut Pad, quiet: Duration) -> Vec<Event> {
    pasts::block_on(async {
        let mut got = Vec::new();
        loop {
            let mut timer = Timer::new(quiet).unwrap();
            let next = async { Some((&mut *pad).await) };
            let timeout = async {
                (&mut timer).await;
                None
            };
            match (next, timeout).select().await.1 {
                Some(event) => got.push(event),
                None => return got,
            }
        }
    })
}

#[test]
#[ignore = "needs devices: run by scripts/vm-test"]
fn syn_dropped_resyncs_from_the_device() {
    let dev = plug("dropped:pad");
    let mut pad = Pad::open(dev.event_path()).unwrap();
    // West pressed and the stick moved, then a flood that overflows the
    // reader's queue (the kernel then keeps SYN_DROPPED and the newest
    // events): the press is lost from the queue, not from the state.
    dev.frame(&[
        (sys::EV_KEY, sys::BTN_WEST, 1),
        (sys::EV_ABS, sys::ABS_X, 32767),
    ])
    .unwrap();
    for i in 0..300 {
        dev.frame(&[(sys::EV_KEY, sys::BTN_NORTH, (i + 1) % 2)])
            .unwrap();
    }
    let got = events_until_quiet(&mut pad, Duration::from_millis(300));
    assert!(got.len() < 300, "no overflow? {} events", got.len());
    assert!(got.contains(&Event::Button(Button::West, true)), "{got:?}");
    assert!(got.contains(&Event::Axis(Axis::LeftX, 1.0)), "{got:?}");
    assert!(pad.pressed(Button::West) && !pad.pressed(Button::North));
    assert_eq!(pad.axis(Axis::LeftX), 1.0);
    // Decoding goes on after the resync.
    dev.frame(&[(sys::EV_KEY, sys::BTN_WEST, 0)]).unwrap();
    let got = events_until_quiet(&mut pad, Duration::from_millis(300));
    assert_eq!(got, [Event::Button(Button::West, false)]);
}

#[test]
#[ignore = "needs devices: run by scripts/vm-test"]
fn unplug_is_disconnected_once_and_replug_a_new_id() {
    let dev = plug("replug:pad");
    let mut seen = Seen::new("replug:");
    let (id1, _, event) = seen.next();
    assert_eq!(event, Event::Connected);
    dev.unplug().unwrap();
    assert_eq!(seen.next(), (id1, "replug:pad".into(), Event::Disconnected));
    seen.quiet_for(Duration::from_millis(300));
    assert!(seen.pads.get(id1).is_none());
    drop(dev);
    let again = plug("replug:pad");
    let (id2, _, event) = seen.next();
    assert_eq!(event, Event::Connected);
    assert_ne!(id1, id2, "a replugged pad gets a new id");
    again.frame(&[(sys::EV_KEY, sys::BTN_MODE, 1)]).unwrap();
    assert_eq!(
        seen.next(),
        (id2, "replug:pad".into(), Event::Button(Button::Mode, true))
    );
}

#[test]
#[ignore = "needs devices: run by scripts/vm-test"]
fn two_pads_keep_their_events_apart() {
    let a = plug("two:a");
    let b = plug("two:b");
    let mut seen = Seen::new("two:");
    let mut ids = HashMap::new();
    for _ in 0..2 {
        let (id, name, event) = seen.next();
        assert_eq!(event, Event::Connected);
        ids.insert(name, id);
    }
    for i in 0..5 {
        a.frame(&[(sys::EV_KEY, sys::BTN_SOUTH, (i + 1) % 2)])
            .unwrap();
        b.frame(&[
            (sys::EV_KEY, sys::BTN_EAST, (i + 1) % 2),
            (sys::EV_ABS, sys::ABS_X, 32767 * ((i + 1) % 2)),
        ])
        .unwrap();
    }
    let mut per_pad: HashMap<String, Vec<Event>> = HashMap::new();
    for _ in 0..15 {
        let (id, name, event) = seen.next();
        assert_eq!(ids[&name], id);
        per_pad.entry(name).or_default().push(event);
    }
    let press = |button, i: i32| Event::Button(button, (i + 1) % 2 == 1);
    let a_expected: Vec<_> = (0..5).map(|i| press(Button::South, i)).collect();
    let b_expected: Vec<_> = (0..5)
        .flat_map(|i| {
            [
                press(Button::East, i),
                Event::Axis(Axis::LeftX, ((i + 1) % 2) as f32),
            ]
        })
        .collect();
    assert_eq!(per_pad["two:a"], a_expected);
    assert_eq!(per_pad["two:b"], b_expected);
}

#[test]
#[ignore = "needs devices: run by scripts/vm-test"]
fn a_denied_pad_is_one_error_then_arrives_once_permitted() {
    let dev = plug("denied:pad");
    let path = dev.event_path().to_path_buf();
    sys::chmod(&path, 0o000).unwrap();
    let (to_main, from_thread) = mpsc::channel();
    let watched = path.clone();
    let watcher = thread::spawn(move || {
        // This thread opens files as nobody: root's override is gone.
        sys::set_thread_fsuid(65534);
        assert_eq!(sys::set_thread_fsuid(65534), 65534);
        let mut seen = Seen::new("denied:");
        let mut items = Vec::new();
        while let Some((_, item)) = seen.next_within(LIMIT, &[&watched]) {
            let done = matches!(item, Item::Event(_, Event::Connected));
            if let Item::Error(..) = item {
                // Tell the main thread once; it opens the node up.
                let _ = to_main.send(());
            }
            items.push(item);
            if done {
                break;
            }
        }
        items
    });
    from_thread
        .recv_timeout(LIMIT)
        .expect("no error for the denied pad");
    // Attribute changes that leave it closed: retried, not reported again.
    sys::chmod(&path, 0o000).unwrap();
    sys::chmod(&path, 0o400).unwrap();
    thread::sleep(Duration::from_millis(200));
    sys::chmod(&path, 0o666).unwrap();
    let items = watcher.join().unwrap();
    let shown = path.display().to_string();
    assert_eq!(items.len(), 2, "{items:?}");
    match &items[0] {
        Item::Error(kind, msg) => {
            assert_eq!(*kind, io::ErrorKind::PermissionDenied, "{msg}");
            assert!(msg.contains(&shown), "{msg}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(items[1], Item::Event("denied:pad".into(), Event::Connected));
}

/// A tokio-like executor: the future runs on a worker thread, and a wake
/// (from any thread) queues it on a channel the worker sleeps on.
fn worker_block_on<F>(fut: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    struct Queue(Mutex<mpsc::Sender<()>>);
    impl Wake for Queue {
        fn wake(self: Arc<Self>) {
            // The worker may be done: nothing to wake then.
            let _ = self.0.lock().unwrap().send(());
        }
    }
    let worker = thread::spawn(move || {
        let (tx, rx) = mpsc::channel();
        let waker = Waker::from(Arc::new(Queue(Mutex::new(tx))));
        let mut fut = Box::pin(fut);
        loop {
            if let Poll::Ready(out) = fut.as_mut().poll(&mut Context::from_waker(&waker)) {
                return out;
            }
            rx.recv().unwrap();
        }
    });
    worker.join().unwrap()
}

#[test]
#[ignore = "needs devices: run by scripts/vm-test"]
fn gamepads_run_on_foreign_executors() {
    let dev = Arc::new(plug("exec:pad"));
    /// Connected, then a button press sent from another thread (released
    /// by the test before the next session starts).
    async fn session(mut pads: Gamepads, dev: Arc<VirtualDevice>) -> Vec<Event> {
        let mut mine = None;
        let mut got = Vec::new();
        while got.len() < 2 {
            let Ok((id, event)) = (&mut pads).await else {
                continue;
            };
            if event == Event::Connected && pads.get(id).unwrap().name() == "exec:pad" {
                mine = Some(id);
                let dev = dev.clone();
                thread::spawn(move || {
                    thread::sleep(Duration::from_millis(50));
                    dev.frame(&[(sys::EV_KEY, sys::BTN_SELECT, 1)]).unwrap();
                });
            }
            if mine == Some(id) {
                got.push(event);
            }
        }
        got
    }
    let expected = [Event::Connected, Event::Button(Button::Select, true)];
    let d = dev.clone();
    let got = within(LIMIT, move || {
        park_block_on(session(Gamepads::new().unwrap(), d)).0
    });
    assert_eq!(got, expected, "futures-like (park) executor");
    let release = || dev.frame(&[(sys::EV_KEY, sys::BTN_SELECT, 0)]).unwrap();
    release();
    let d = dev.clone();
    let got = within(LIMIT, move || {
        worker_block_on(session(Gamepads::new().unwrap(), d))
    });
    assert_eq!(got, expected, "tokio-like (worker thread) executor");
    release();
    let d = dev.clone();
    let got = within(LIMIT, move || {
        pasts::block_on(session(Gamepads::new().unwrap(), d))
    });
    assert_eq!(got, expected, "pasts");
}

/// p50 and p99 of `samples`, in microseconds.
fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
    (at(0.50), at(0.99))
}

/// Sends `n` events from another thread, one at a time, each after the
/// previous one arrived; `receive` waits for one. Returns the latencies
/// from the write to the arrival.
fn latencies(dev: Arc<VirtualDevice>, n: usize, mut receive: impl FnMut()) -> Vec<Duration> {
    let (sent_tx, sent_rx) = mpsc::channel();
    let (ack_tx, ack_rx) = mpsc::channel::<()>();
    let writer = thread::spawn(move || {
        for i in 0..n {
            let value = if i % 2 == 0 { 20000 } else { -20000 };
            let at = Instant::now();
            dev.frame(&[(sys::EV_ABS, sys::ABS_X, value)]).unwrap();
            sent_tx.send(at).unwrap();
            if ack_rx.recv().is_err() {
                return;
            }
        }
    });
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        receive();
        let arrived = Instant::now();
        let sent = sent_rx.recv().unwrap();
        out.push(arrived.saturating_duration_since(sent));
        ack_tx.send(()).unwrap();
    }
    writer.join().unwrap();
    out
}

#[test]
#[ignore = "needs devices: run by scripts/vm-test"]
fn latency_uinput_write_to_event() {
    const N: usize = 1000;
    let dev = Arc::new(plug("latency:pad"));

    // Raw: epoll_wait + read on the event node.
    let node = dev.open_node().unwrap();
    let epoll = sys::epoll_for(node.file()).unwrap();
    let raw = latencies(dev.clone(), N, || loop {
        sys::epoll_wait_one(&epoll).unwrap();
        if node
            .read_now()
            .unwrap()
            .iter()
            .any(|e| e.kind == sys::EV_ABS)
        {
            return;
        }
    });
    drop((epoll, node));

    // Gamepads in pasts::block_on.
    let mut seen = Seen::new("latency:");
    let (id, _, event) = seen.next();
    assert_eq!(event, Event::Connected);
    let mut pads = seen.pads;
    let ours = latencies(dev.clone(), N, || {
        pasts::block_on(async {
            loop {
                if let Ok((from, Event::Axis(Axis::LeftX, _))) = (&mut pads).await {
                    if from == id {
                        return;
                    }
                }
            }
        })
    });
    let (raw50, raw99) = percentiles(raw);
    let (our50, our99) = percentiles(ours);
    let mut out = std::io::stderr();
    // The figures for the report; not asserted (the guest is emulated).
    let _ = writeln!(
        out,
        "RESULT gamepad latency (uinput write -> event, {N} events, µs): \
         raw epoll_wait+read p50 {raw50:.0} p99 {raw99:.0}; \
         Gamepads p50 {our50:.0} p99 {our99:.0}"
    );
}
