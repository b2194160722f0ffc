//! Events written to a uinput device are read back, in order and framed by
//! SYN_REPORT, from its event node awaited through `pasts::linux::Device`.
//! Needs the device guest (scripts/vm-test); skipped elsewhere.
#![cfg(feature = "linux")]

mod common;
mod support;

use pasts::linux::{Device, Watch};
use std::time::Duration;
use support::evdev::{self, EventNode};
use support::sys::{self, InputEvent};
use support::uinput::Builder;

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn device_wakes_for_written_events() {
    if !support::in_guest() {
        return;
    }
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
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        pad.frame(&[
            (sys::EV_KEY, sys::BTN_SOUTH, 1),
            (sys::EV_ABS, sys::ABS_X, 12345),
            (sys::EV_ABS, sys::ABS_HAT0Y, -1),
        ])
        .unwrap();
        pad.frame(&[(sys::EV_KEY, sys::BTN_SOUTH, 0)]).unwrap();
        pad // unplugged only once the reader is done
    });
    let (got, wakes) = common::within(LIMIT, move || {
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
fn unchanged_values_are_not_repeated() {
    if !support::in_guest() {
        return;
    }
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
