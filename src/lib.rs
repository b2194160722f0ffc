#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
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

#[cfg(all(feature = "linux", not(target_os = "linux")))]
compile_error!("feature `linux` needs a Linux target (target_os = \"linux\")");

#[cfg(feature = "std")]
mod blocking;
#[cfg(feature = "alloc")]
mod dyn_fut;
mod interrupt;
mod join;
#[cfg(all(feature = "linux", target_os = "linux"))]
pub mod linux;
#[cfg(feature = "alloc")]
mod pinned;
pub mod prelude;
mod schedule;
mod select;
#[cfg(feature = "alloc")]
mod selector;
#[cfg(feature = "alloc")]
mod tasks;
#[cfg(feature = "std")]
mod thread;
#[cfg(feature = "alloc")]
mod wake_set;

#[cfg(feature = "std")]
pub use blocking::{spawn_blocking, Blocking};
#[cfg(feature = "alloc")]
pub use dyn_fut::DynFut;
pub use interrupt::Interrupt;
pub use join::Join;
pub use select::Select;
#[cfg(feature = "alloc")]
pub use selector::Selector;
#[cfg(feature = "alloc")]
pub use tasks::Tasks;
#[cfg(feature = "std")]
pub use thread::{block_on, ThreadInterrupt};
