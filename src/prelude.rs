//! Everything an application's `main` needs: `use pasts::prelude::*;`.
//!
//! ```rust
//! use pasts::prelude::*;
//!
//! struct Spin;
//! # impl Interrupt for Spin { fn interrupt(&self) {} fn wait_for(&self) {} }
//! static SPIN: Spin = Spin;
//! assert_eq!(SPIN.block_on(async { 3 }), 3);
//! ```

pub use crate::{Interrupt, Join, Select};

#[cfg(feature = "alloc")]
pub use crate::DynFut;
