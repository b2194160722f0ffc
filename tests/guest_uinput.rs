//! A uinput device appears under /dev/input with the name, ids and
//! capabilities it was made with, as the evdev ioctls report them.
//! Needs the device guest (scripts/vm-test); skipped elsewhere.

mod support;

use support::evdev::EventNode;
use support::sys::{self, bit};
use support::uinput::{self, Builder};

#[test]
fn gamepad_answers_evdev_queries() {
    if !support::in_guest() {
        return;
    }
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
fn keyboard_answers_evdev_queries() {
    if !support::in_guest() {
        return;
    }
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
fn dropping_the_device_removes_its_node() {
    if !support::in_guest() {
        return;
    }
    let pad = Builder::gamepad("pasts test pad (unplugged)")
        .create()
        .unwrap();
    // Event node numbers are reused by the next device; input numbers are not.
    let sys_dir = std::path::Path::new("/sys/devices/virtual/input").join(pad.sysname());
    assert!(sys_dir.exists(), "{}", sys_dir.display());
    drop(pad);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while sys_dir.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(
        !sys_dir.exists(),
        "{} still there after unplug",
        sys_dir.display()
    );
}
