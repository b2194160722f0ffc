//! Device support of the tests that need input or sound devices (include
//! with `mod support;`); generic helpers are in `common/`.
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
//! `#[ignore = "needs devices: run by scripts/vm-test"]`.
#![allow(dead_code)] // each test file uses a different part

pub mod counting;
pub mod evdev;
pub mod sound;
pub mod sys;
pub mod uinput;

/// Set (to `1`) by the guest's init in `scripts/vm-test`.
pub const GUEST_ENV: &str = "PASTS_GUEST";
