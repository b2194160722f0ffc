//! Device support of the `guest_*` tests (include with `mod support;`);
//! generic helpers are in `common/`.
//!
//! - [`sys`]: the raw Linux ABI the tests need (fds, ioctl numbers, structs);
//!   other tests include it alone (`#[path = "support/sys.rs"] mod sys;`).
//! - [`uinput`]: virtual input devices (a gamepad with rumble, a keyboard).
//! - [`evdev`]: queries on an event node (`EVIOCG*`), as a reader sees it.
//! - [`sound`]: the snd-dummy and snd-aloop cards and their PCM names.
//! - [`counting`]: an allocator that counts each thread's allocations.
//!
//! Real devices exist only in the QEMU guest of `scripts/vm-test`, which
//! sets [`GUEST_ENV`] and runs ignored tests too: a test that needs them is
//! `#[ignore = "needs devices: run by scripts/vm-test"]` (older ones start
//! with [`in_guest`]).
#![allow(dead_code)] // each test file uses a different part

pub mod counting;
pub mod evdev;
pub mod sound;
pub mod sys;
pub mod uinput;

use std::io::Write;
use std::thread;

/// Set (to `1`) by the guest's init in `scripts/vm-test`.
pub const GUEST_ENV: &str = "PASTS_GUEST";

/// Whether this test runs in the device guest. On any other machine, says
/// on stderr that the test is skipped and why, and returns `false`; in the
/// guest a missing device is then a failure, not a skip.
pub fn in_guest() -> bool {
    if std::env::var_os(GUEST_ENV).is_some() {
        return true;
    }
    // libtest names each test's thread after the test.
    let thread = thread::current();
    let test = thread.name().unwrap_or("test");
    // Straight to the stream: the test harness captures `eprintln!`. A skip
    // note that cannot be written changes nothing, hence `let _`.
    let _ = writeln!(
        std::io::stderr(),
        "skipped {test}: needs real devices; run scripts/vm-test ({GUEST_ENV} unset)"
    );
    false
}
