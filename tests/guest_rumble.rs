//! Force feedback on a uinput gamepad: a reader's rumble upload, play and
//! erase reach the device's owner, which answers them. Needs the device
//! guest (scripts/vm-test); skipped elsewhere.

mod support;

use std::time::Duration;
use support::sys;
use support::uinput::{Builder, FfRequest};

const WAIT: Duration = Duration::from_secs(5);

#[test]
fn rumble_upload_play_erase_round_trip() {
    if !support::in_guest() {
        return;
    }
    let pad = Builder::gamepad("pasts test pad (rumble)")
        .create()
        .unwrap();
    let node = pad.open_node().unwrap();

    let id = node.upload_rumble(0xc000, 0x4000, 500).unwrap();
    assert!(id >= 0, "the kernel assigns an effect id, got {id}");
    node.play(id, 1).unwrap();
    node.play(id, 0).unwrap();
    node.erase(id).unwrap();

    let log = pad.wait_ff(4, WAIT);
    assert_eq!(
        log,
        [
            FfRequest::Upload {
                id,
                strong: 0xc000,
                weak: 0x4000,
                length_ms: 500
            },
            FfRequest::Play {
                id: id as u16,
                count: 1
            },
            FfRequest::Play {
                id: id as u16,
                count: 0
            },
            // Erasing stops the effect first (ff-core's erase_effect).
            FfRequest::Play {
                id: id as u16,
                count: 0
            },
            FfRequest::Erase { id: id as u32 },
        ]
    );
}

#[test]
fn refused_upload_fails_the_reader() {
    if !support::in_guest() {
        return;
    }
    let pad = Builder::gamepad("pasts test pad (refusing)")
        .create()
        .unwrap();
    pad.refuse_uploads(28); // ENOSPC
    let node = pad.open_node().unwrap();
    let err = node.upload_rumble(0xffff, 0, 100).unwrap_err();
    assert_eq!(sys::errno(&err), Some(28), "{err}");
}

#[test]
fn a_pad_holds_at_most_its_effects() {
    if !support::in_guest() {
        return;
    }
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
    assert_eq!(pad.wait_ff(2, WAIT).len(), 2);
}
