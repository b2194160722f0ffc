//! # pasts
//!
//! A minimal, zero-dependency, `no_std` async executor for application
//! authors: block on a future with no allocation, `select` and `join` without
//! macros, move blocking work to a reusable thread pool, and (on Linux) await
//! file descriptors and timers from any executor.
//!
//! ```rust
//! async fn identity(arg: usize) -> usize {
//!     arg
//! }
//!
//! let out = pasts::block_on(async { identity(7).await + 1 });
//! assert_eq!(out, 8);
//! ```
//!
//! The platform-independent core is the [`Interrupt`] trait: "sleep until
//! woken". Anything that can sleep and be woken (a `Condvar`, a `WFE`
//! instruction, an atomic flag) runs futures through
//! [`Interrupt::block_on`].
//!
//! ## Features
//!
//! | feature | default | gives |
//! |---------|---------|-------|
//! | `std` | yes | [`ThreadInterrupt`], [`block_on`] (implies `alloc`) |
//! | `alloc` | with `std` | boxed futures, `Vec` forms |
//! | `linux` | no | the `linux` module (implies `std`) |
#![no_std]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]
#![deny(unsafe_code, unsafe_op_in_unsafe_fn)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    clippy::undocumented_unsafe_blocks
)]
#![doc(test(attr(deny(warnings))))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "std")]
mod blocking;
mod interrupt;
pub mod prelude;
#[cfg(feature = "std")]
mod thread;

#[cfg(feature = "std")]
pub use blocking::{spawn_blocking, Blocking};
pub use interrupt::Interrupt;
#[cfg(feature = "std")]
pub use thread::{block_on, ThreadInterrupt};
