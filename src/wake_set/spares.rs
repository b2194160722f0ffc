//! Without `std`: dropped sets kept for reuse in a few static slots, each
//! slot owning one count. Reusing one saves the allocation, and more: a
//! branch that stored its waker from the last select of the same size finds
//! the new one equal (`will_wake`) and does not clone it. A wake from such an
//! old waker is a spurious wake of the new select, which any future must
//! tolerate.
//!
//! A select picks its slot from its own address, so a loop that selects at
//! the same place finds its last set again (threads on different stacks
//! mostly use different slots).

use super::{Header, Shared};
use core::ptr::{null_mut, NonNull};
use core::sync::atomic::{AtomicPtr, Ordering};

/// Slots in all.
const SLOTS: usize = 8;

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: AtomicPtr<Header> = AtomicPtr::new(null_mut());

static SPARES: [AtomicPtr<Header>; SLOTS] = [EMPTY; SLOTS];

/// The slot for an owner living at address `place`.
#[inline]
fn slot(place: usize) -> &'static AtomicPtr<Header> {
    &SPARES[((place >> 6) ^ (place >> 14) ^ (place >> 22)) % SLOTS]
}

/// Take the set kept for an owner at `place`, if any.
#[inline]
pub(super) fn take(place: usize) -> Option<Shared> {
    // Acquire: the last owner's use of the set happens before ours.
    NonNull::new(slot(place).swap(null_mut(), Ordering::Acquire)).map(Shared)
}

/// Keep `shared` (and its count) for an owner at `place`; gives back the
/// set it displaces, whose count the caller owns.
#[inline]
pub(super) fn put(place: usize, shared: Shared) -> Option<Shared> {
    // Release: our use of the set happens before the next owner's.
    NonNull::new(slot(place).swap(shared.0.as_ptr(), Ordering::AcqRel)).map(Shared)
}
