//! [`Pinned`]: a heap slice whose elements never move, for the `Vec` forms
//! of select and join and the slots of `Tasks`. Reached through a raw
//! pointer, not a `Box` (whose uses assert unique access to the whole slice,
//! invalidating the pointers an `async fn` keeps into itself).
#![allow(unsafe_code)]

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::pin::Pin;
use core::ptr::NonNull;

/// A boxed slice of `T` whose elements are pinned: never moved, dropped in
/// place with the slice.
pub(crate) struct Pinned<T>(NonNull<[T]>);

// SAFETY: it owns its elements, as `Box<[T]>` does.
unsafe impl<T: Send> Send for Pinned<T> {}
// SAFETY: as for `Send`.
unsafe impl<T: Sync> Sync for Pinned<T> {}

impl<T> Pinned<T> {
    pub(crate) fn new(items: Vec<T>) -> Self {
        Self(NonNull::from(Box::leak(items.into_boxed_slice())))
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// Element `i`, pinned (panics if `i` is out of bounds).
    pub(crate) fn get(&mut self, i: usize) -> Pin<&mut T> {
        assert!(i < self.len(), "pasts: index out of bounds");
        // SAFETY: `i` is in bounds of the slice `self` owns; `&mut self`
        // makes the borrow unique; elements are never moved (only dropped
        // in place by `drop`), so pinning them holds.
        unsafe { Pin::new_unchecked(&mut *self.0.as_ptr().cast::<T>().add(i)) }
    }
}

impl<T> Drop for Pinned<T> {
    fn drop(&mut self) {
        // SAFETY: the slice leaked by `new`, freed once, in place.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}
