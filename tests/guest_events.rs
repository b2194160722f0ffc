//! Events written to a uinput device are read back, in order and framed by
//! SYN_REPORT, from its event node. Needs the device guest
//! (scripts/vm-test); skipped elsewhere.

mod support;

use std::time::Duration;
use support::evdev::EventNode;
use support::sys::{self, InputEvent};
use support::uinput::Builder;

#[test]
fn written_events_are_read_back() {
    if !support::in_guest("written_events_are_read_back") {
        return;
    }
    let pad = Builder::gamepad("pasts test pad (events)")
        .create()
        .unwrap();
    let node = EventNode::open(pad.event_path()).unwrap();
    assert_eq!(
        node.read_now().unwrap(),
        [],
        "nothing before the first write"
    );

    pad.frame(&[
        (sys::EV_KEY, sys::BTN_SOUTH, 1),
        (sys::EV_ABS, sys::ABS_X, 12345),
        (sys::EV_ABS, sys::ABS_HAT0Y, -1),
    ])
    .unwrap();
    pad.frame(&[(sys::EV_KEY, sys::BTN_SOUTH, 0)]).unwrap();

    let got = node.read_for(6, Duration::from_secs(5)).unwrap();
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
    assert_eq!(node.read_now().unwrap(), [], "nothing after the last frame");
}

#[test]
fn unchanged_values_are_not_repeated() {
    if !support::in_guest("unchanged_values_are_not_repeated") {
        return;
    }
    // The input core drops an event that repeats the current state; a
    // reader must not wait for one.
    let pad = Builder::gamepad("pasts test pad (repeat)")
        .create()
        .unwrap();
    let node = EventNode::open(pad.event_path()).unwrap();
    pad.frame(&[(sys::EV_ABS, sys::ABS_RY, 500)]).unwrap();
    pad.frame(&[(sys::EV_ABS, sys::ABS_RY, 500)]).unwrap();
    pad.frame(&[(sys::EV_ABS, sys::ABS_RY, -500)]).unwrap();
    let got = node.read_for(4, Duration::from_secs(5)).unwrap();
    let values: Vec<_> = got
        .iter()
        .filter(|e| e.kind == sys::EV_ABS)
        .map(|e| e.value)
        .collect();
    assert_eq!(values, [500, -500]);
}
