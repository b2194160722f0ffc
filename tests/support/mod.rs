//! Test support shared by the files in `tests/` (include with `mod support;`).
//!
//! - [`sys`]: the raw Linux ABI the helpers need (ioctl numbers, structs).
//! - [`uinput`]: virtual input devices (a gamepad with rumble, a keyboard).
//! - [`evdev`]: queries on an event node (`EVIOCG*`), as a reader sees it.
//! - [`sound`]: the snd-dummy and snd-aloop cards and their PCM names.
//!
//! Real devices exist only in the QEMU guest of `scripts/vm-test`, which
//! sets [`GUEST_ENV`]; tests that need them start with [`in_guest`].
#![allow(dead_code)] // each test file uses a different part

pub mod evdev;
pub mod sound;
pub mod sys;
pub mod uinput;

use std::io::Write;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

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

/// Runs `f` on a thread and returns its result, failing the test if it
/// takes longer than `limit` (a hang would otherwise stall the whole guest
/// until its timeout). A panic in `f` is re-raised.
pub fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let worker = thread::spawn(move || tx.send(f()));
    match rx.recv_timeout(limit) {
        Ok(out) => out,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("no result after {limit:?}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(worker.join().unwrap_err())
        }
    }
}
