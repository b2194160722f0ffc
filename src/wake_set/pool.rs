//! With `std`: thread ids, and the pools where sets wait for reuse.
//!
//! A set with room for at most `SPARE_MAX` branches is *immortal*: never
//! freed, so its wakers need no count (no read-modify-write to clone or drop
//! one); a stale waker of a reused set wakes the new select spuriously,
//! which any future must tolerate. Reuse also keeps the branch wakers equal
//! from one select to the next in a loop (`will_wake`: no new clone).
//!
//! Each set belongs to its home thread's id. A dropped set goes back to its
//! home: the home thread's own lists (one per power-of-two size, no
//! atomics), or, when dropped on another thread, the home's *mail* (under a
//! lock), which the home takes back into its lists when it runs short. So
//! the sets kept are at most as many as were ever in use at once. A kept
//! set still holds the last task waker registered with it until it is
//! reused (then the next select in a loop needs no clone of it): at most
//! one task kept alive per kept set.
//!
//! Ids are reused: a thread that ends gives its id back with all its sets
//! (its lists go to its mail), and the next thread to start takes both.
//! That is safe because the ending thread first drops its id (`GONE`): from
//! then on its wakes are shared, and no set is at home there.
//!
//! ```text
//! id:  UNSET --first set made--> n (from the free ids, or a new one)
//!        n --thread ends--> GONE (lists to mail[n], n to the free ids)
//! ```

use super::Shared;
use core::cell::Cell;
use core::ptr::{null_mut, NonNull};
use core::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::vec::Vec;

/// The thread has not taken an id yet.
const UNSET: usize = usize::MAX;
/// The thread is ending: no id (no home) any more.
const GONE: usize = 0;

/// One list per power-of-two size, 1 to `SPARE_MAX`.
const CLASSES: usize = super::SPARE_MAX.trailing_zeros() as usize + 1;

/// Ids and the sets mailed to them.
struct Homes {
    /// The next id never given out.
    next: usize,
    /// Ids given back by threads that ended.
    free: Vec<usize>,
    /// `mail[n]`: sets of home `n` dropped elsewhere, or left by its last
    /// thread.
    mail: Vec<Vec<Shared>>,
}

// SAFETY: a mailed set is owned by nobody but the list: whoever takes it
// out owns it, on any thread (its shared parts are atomics or `Send`, the
// rest is used by its home only).
unsafe impl Send for Homes {}

static HOMES: Mutex<Homes> = Mutex::new(Homes {
    next: 1,
    free: Vec::new(),
    mail: Vec::new(),
});

/// Sets in all mail: a plain load tells a thread whether to look.
static MAILED: AtomicUsize = AtomicUsize::new(0);

fn homes() -> MutexGuard<'static, Homes> {
    // Nothing panics while the lock is held; a poisoned lock is still whole.
    HOMES.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A thread's pooled sets: the head of one list per size, linked through
/// `Header::next`.
struct Lists([Cell<Option<Shared>>; CLASSES]);

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Cell<Option<Shared>> = Cell::new(None);

std::thread_local! {
    /// No destructor: readable to the thread's very end.
    static ID: Cell<usize> = const { Cell::new(UNSET) };
    static LISTS: Lists = const { Lists([EMPTY; CLASSES]) };
}

impl Lists {
    fn push(&self, shared: Shared) {
        let head = &self.0[class(shared.header().cap)];
        let next = head.take().map_or(null_mut(), |s| s.0.as_ptr());
        shared.header().next.store(next, Ordering::Relaxed);
        head.set(Some(shared));
    }

    fn pop(&self, cap: usize) -> Option<Shared> {
        let head = &self.0[class(cap)];
        let shared = head.take()?;
        head.set(NonNull::new(shared.header().next.load(Ordering::Relaxed)).map(Shared));
        Some(shared)
    }

    /// Take the sets mailed to `id` into the lists.
    fn adopt(&self, homes: &mut Homes, id: usize) {
        if let Some(mail) = homes.mail.get_mut(id) {
            MAILED.fetch_sub(mail.len(), Ordering::Relaxed);
            for shared in mail.drain(..) {
                self.push(shared);
            }
        }
    }
}

impl Drop for Lists {
    /// The thread ends: its id and its sets go to the next thread.
    fn drop(&mut self) {
        let id = ID.with(|id| id.replace(GONE));
        if id == UNSET || id == GONE {
            return;
        }
        let mut homes = homes();
        for class in 0..CLASSES {
            while let Some(shared) = self.pop(1 << class) {
                mail(&mut homes, id, shared);
            }
        }
        homes.free.push(id);
    }
}

/// The list of sets with room for `cap` (a power of two) branches.
#[inline]
fn class(cap: usize) -> usize {
    cap.trailing_zeros() as usize
}

fn mail(homes: &mut Homes, id: usize, shared: Shared) {
    if homes.mail.len() <= id {
        homes.mail.resize_with(id + 1, Vec::new);
    }
    homes.mail[id].push(shared);
    MAILED.fetch_add(1, Ordering::Relaxed);
}

/// This thread's id if it has one (0 if not: no set is at home here).
#[inline]
pub(super) fn here() -> usize {
    match ID.with(Cell::get) {
        UNSET => GONE,
        id => id,
    }
}

/// This thread's id, taken (with the sets mailed to it) on first use; 0
/// once the thread is ending.
#[inline]
pub(super) fn id() -> usize {
    match ID.with(Cell::get) {
        UNSET => first_id(),
        id => id,
    }
}

#[cold]
fn first_id() -> usize {
    // The lists first: their destructor gives the id back.
    LISTS
        .try_with(|lists| {
            let mut homes = homes();
            let id = match homes.free.pop() {
                Some(id) => id,
                None => {
                    let id = homes.next;
                    homes.next += 1;
                    id
                }
            };
            lists.adopt(&mut homes, id);
            ID.with(|cell| cell.set(id));
            id
        })
        .unwrap_or(GONE)
}

/// A pooled set with room for `cap` (a power of two) branches, homed on
/// this thread (which has an id).
#[inline]
pub(super) fn take(cap: usize) -> Option<Shared> {
    LISTS
        .try_with(|lists| {
            lists.pop(cap).or_else(|| {
                if MAILED.load(Ordering::Relaxed) == 0 {
                    return None;
                }
                lists.adopt(&mut homes(), here());
                lists.pop(cap)
            })
        })
        .ok()
        .flatten()
}

/// Keep an immortal set (homed, `cap` a power of two) for its home's next
/// select or join.
#[inline]
pub(super) fn put(shared: Shared) {
    let home = shared.header().home;
    if home == here() && LISTS.try_with(|lists| lists.push(shared)).is_ok() {
        return;
    }
    mail(&mut homes(), home, shared);
}
