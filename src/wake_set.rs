//! Per-branch wakers from one shared allocation (feature `alloc`).
//!
//! A combinator over N branches allocates one [`WakeSet`]: a header, N
//! *entries* and a two-level bitset of woken branches. The waker of branch
//! `j` is a pointer to entry `j`, which holds `j`; from it the header is
//! found by pointer arithmetic on the allocation's own pointer (so
//! provenance covers the whole allocation). Every waker clone owns a count
//! of the allocation, so a waker that outlives the combinator (stored in
//! another thread, in a static, leaked) stays sound; the combinator's
//! [`WakeSet`] owns one count too. The last count frees it.
//!
//! ```text
//! Header | entries [usize; cap] | summary [AtomicUsize; S] | words [AtomicUsize; W]
//! ```
//!
//! Waking branch `j` sets bit `j` in `words` and, if it was clear, bit
//! `j / BITS` in `summary`; if that was clear too, it wakes the parent task.
//! The owner swaps summary words, then the words they name, to zero, and
//! polls the branches whose bits it took. A setter that finds its bit (or
//! summary bit) already set skips the rest: whoever set it wakes the parent
//! after it, and the owner's swap that takes the earlier bit comes after
//! that wake, so it also takes this one. With a single word
//! (`cap <= BITS`) there is no summary: the owner looks at the word itself.
//!
//! A dropped set is kept for the next combinator of the same size (see
//! [`SPARES`]): then the branches' stored wakers still match, and need no
//! new clone.
//!
//! The parent waker sits in the header behind a small lock, as in
//! `futures`' `AtomicWaker`:
//!
//! ```text
//!   IDLE --register--> REGISTERING --done--> IDLE
//!   IDLE --wake------> WAKING      --done--> IDLE   (wake_by_ref the waker)
//!   REGISTERING --wake--> REGISTERING|WAKING: the registering owner wakes
//!                         the new waker itself before going back to IDLE.
//!   WAKING --register--> (unchanged): the owner wakes its new waker at once.
//!   WAKING --wake--> (unchanged): the wake under way covers this one.
//! ```
#![allow(unsafe_code)]

use alloc::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use core::cell::UnsafeCell;
use core::mem::{size_of, ManuallyDrop};
use core::ptr::{null_mut, NonNull};
use core::sync::atomic::{fence, AtomicPtr, AtomicUsize, Ordering};
use core::task::{RawWaker, RawWakerVTable, Waker};

/// Branches per bitset word.
pub(crate) const BITS: usize = usize::BITS as usize;

/// Parent slot: nobody holds the lock.
const IDLE: usize = 0;
/// Parent slot: the owner is storing a new parent waker.
const REGISTERING: usize = 0b01;
/// Parent slot: a branch waker is waking the parent.
const WAKING: usize = 0b10;

/// A count this high means clones were leaked on purpose: stop counting and
/// never free (instead of overflowing into a use-after-free).
const SATURATED: usize = usize::MAX / 2;

/// A dropped [`WakeSet`] with room for at most this many branches is kept
/// for the next select or join of the same size.
const SPARE_MAX: usize = 4096;

/// Kept sets, each owning one count. Reusing one saves the allocation, and
/// more: a branch that stored its waker from the last select of the same
/// size finds the new one equal (`will_wake`) and does not clone it. A wake
/// from such an old waker is a spurious wake of the new select, which any
/// future must tolerate.
///
/// A select picks its slot from its own address, so a loop that selects at
/// the same place finds its last set again, and threads (on different
/// stacks) mostly use different slots instead of contending for one.
static SPARES: [AtomicPtr<Header>; 8] = [
    AtomicPtr::new(null_mut()),
    AtomicPtr::new(null_mut()),
    AtomicPtr::new(null_mut()),
    AtomicPtr::new(null_mut()),
    AtomicPtr::new(null_mut()),
    AtomicPtr::new(null_mut()),
    AtomicPtr::new(null_mut()),
    AtomicPtr::new(null_mut()),
];

/// The spare slot for an owner living at address `place`.
#[inline]
fn spare_slot(place: usize) -> &'static AtomicPtr<Header> {
    let hash = (place >> 6) ^ (place >> 14) ^ (place >> 22);
    &SPARES[hash % SPARES.len()]
}

/// Start of the shared allocation.
#[repr(C)]
struct Header {
    /// Owners: the [`WakeSet`] and every cloned branch waker.
    refs: AtomicUsize,
    /// Lock of `parent`: `IDLE`, `REGISTERING`, `WAKING`.
    state: AtomicUsize,
    /// The waker of the task that polls the combinator.
    parent: UnsafeCell<Option<Waker>>,
    /// Number of entries (branches this allocation can hold).
    cap: usize,
    /// Number of summary words (0 with a single word).
    summaries: usize,
    /// Number of bitset words.
    words: usize,
}

/// Byte offset of entry 0 (a multiple of `usize`'s alignment, since the
/// header holds `usize`s).
const ENTRIES: usize = size_of::<Header>();

/// The layout of an allocation with `cap` entries, and its word counts.
fn layout(cap: usize) -> (Layout, usize, usize) {
    let words = cap.div_ceil(BITS).max(1);
    let summaries = if words == 1 { 0 } else { words.div_ceil(BITS) };
    let tail = cap
        .checked_add(summaries + words)
        .and_then(|n| n.checked_mul(size_of::<usize>()))
        .and_then(|n| n.checked_add(ENTRIES));
    match tail.map(|size| Layout::from_size_align(size, core::mem::align_of::<Header>())) {
        Some(Ok(layout)) => (layout, summaries, words),
        _ => capacity_overflow(),
    }
}

#[cold]
fn capacity_overflow() -> ! {
    panic!("pasts: too many branches for one select/join (capacity overflow)")
}

/// A pointer to a live shared allocation. Whoever holds one owns a count of
/// it or borrows from someone who does, for as long as it is used.
#[derive(Clone, Copy)]
struct Shared(NonNull<Header>);

impl Shared {
    /// The shared allocation of a branch waker and the branch's index.
    ///
    /// # Safety
    ///
    /// `data` is the data pointer of a branch waker made by
    /// [`WakeSet::with_waker`] (or a clone of it), and a count of its
    /// allocation is held for as long as the result is used.
    unsafe fn from_entry(data: *const ()) -> (Self, usize) {
        let entry = data.cast::<usize>();
        // SAFETY: per the contract `entry` points at an initialized entry of
        // a live allocation; entries are written once, before any waker
        // exists, and only read afterwards.
        let j = unsafe { entry.read() };
        // Entry `j` starts `ENTRIES` bytes plus `j` words into the
        // allocation: walk back on the waker's pointer, whose provenance is
        // the whole allocation's.
        let header = entry.wrapping_sub(j).cast::<u8>().wrapping_sub(ENTRIES);
        // SAFETY: `header` is the start of the allocation, never null.
        (
            Self(unsafe { NonNull::new_unchecked(header.cast_mut().cast()) }),
            j,
        )
    }

    #[inline]
    fn header(&self) -> &Header {
        // SAFETY: the allocation is live (type invariant) and its header is
        // initialized; it is only ever shared (atomics and the locked cell).
        unsafe { self.0.as_ref() }
    }

    /// Words `from..from + len` of the tail (entries, summary, bitset).
    #[inline]
    fn tail_words(&self, from: usize, len: usize) -> &[AtomicUsize] {
        let start = self.0.as_ptr().cast::<u8>().wrapping_add(ENTRIES);
        let start = start.cast::<AtomicUsize>().wrapping_add(from);
        // SAFETY: callers pass a range inside the tail laid out by
        // `layout(cap)`; those words are initialized atomics, only shared.
        unsafe { core::slice::from_raw_parts(start, len) }
    }

    #[inline]
    fn summary(&self) -> &[AtomicUsize] {
        let h = self.header();
        self.tail_words(h.cap, h.summaries)
    }

    #[inline]
    fn words(&self) -> &[AtomicUsize] {
        let h = self.header();
        self.tail_words(h.cap + h.summaries, h.words)
    }

    /// A pointer to entry `j` (`j < cap`), with the allocation's provenance.
    #[inline]
    fn entry(&self, j: usize) -> *const usize {
        let entries = self.0.as_ptr().cast::<u8>().wrapping_add(ENTRIES);
        entries.cast::<usize>().wrapping_add(j)
    }

    /// Take one more count.
    fn acquire(&self) {
        // Relaxed: a count is only taken from a live one (as `Arc::clone`).
        let old = self.header().refs.fetch_add(1, Ordering::Relaxed);
        if old >= SATURATED {
            self.header().refs.store(SATURATED, Ordering::Relaxed);
        }
    }

    /// Give up one count; the last one frees the allocation.
    ///
    /// # Safety
    ///
    /// The caller owns a count and does not use `self` afterwards.
    unsafe fn release(self) {
        let refs = &self.header().refs;
        if refs.load(Ordering::Relaxed) >= SATURATED || refs.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        // Every other owner's last use happens before this (as in `Arc`).
        fence(Ordering::Acquire);
        let cap = self.header().cap;
        // SAFETY: this was the last count, so nobody else can reach the
        // allocation: the parent waker is dropped once, then the memory is
        // freed with the layout it was allocated with.
        unsafe {
            core::ptr::drop_in_place(self.header().parent.get());
            dealloc(self.0.as_ptr().cast(), layout(cap).0);
        }
    }

    /// Set bit `j`; `true` if the parent must be woken (see the module docs).
    ///
    /// Each test is of the one bit set (`lock bts` on x86, not a
    /// compare-exchange loop).
    #[inline]
    fn set(&self, j: usize) -> bool {
        let bit = 1 << (j % BITS);
        let w = j / BITS;
        if self.words()[w].fetch_or(bit, Ordering::AcqRel) & bit != 0 {
            return false;
        }
        let Some(summary) = self.summary().get(w / BITS) else {
            return true;
        };
        let bit = 1 << (w % BITS);
        summary.fetch_or(bit, Ordering::AcqRel) & bit == 0
    }

    /// Wake the parent task, unless a wake or a registration is under way
    /// (that one wakes it).
    fn wake_parent(&self) {
        let h = self.header();
        let mut state = IDLE;
        loop {
            match h.state.compare_exchange(
                state,
                state | WAKING,
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(IDLE) => break,
                // The owner is registering: it delivers the flagged wake.
                Ok(_) => return,
                // Another wake is under way, or already flagged.
                Err(actual) if actual & WAKING != 0 => return,
                Err(actual) => state = actual,
            }
        }
        let _unlock = Unlock(&h.state);
        // SAFETY: the swap from IDLE to WAKING gives this thread the lock of
        // `parent` until `_unlock` stores IDLE again.
        if let Some(waker) = unsafe { &*h.parent.get() } {
            waker.wake_by_ref();
        }
    }
}

/// Gives the parent lock back when dropped, also if the parent's waker
/// panics. A plain store: while WAKING is held nobody else changes the state
/// (a registration finds it taken and wakes its own waker instead).
struct Unlock<'a>(&'a AtomicUsize);

impl Drop for Unlock<'_> {
    #[inline]
    fn drop(&mut self) {
        self.0.store(IDLE, Ordering::Release);
    }
}

/// The vtable of branch wakers. Each waker's data pointer is an entry; every
/// waker but the lent one owns a count.
static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop);

/// # Safety
///
/// `data` is a branch waker's entry pointer whose allocation is kept alive
/// for the call.
unsafe fn clone(data: *const ()) -> RawWaker {
    // SAFETY: the waker being cloned keeps the allocation alive (contract).
    let (shared, _) = unsafe { Shared::from_entry(data) };
    shared.acquire();
    RawWaker::new(data, &VTABLE)
}

/// # Safety
///
/// `data` is a branch waker's entry pointer and this waker owns a count.
unsafe fn wake(data: *const ()) {
    // SAFETY: the waker owns a count, so the allocation is live here.
    unsafe { wake_by_ref(data) };
    // SAFETY: the waker is consumed: its count is released last.
    unsafe { drop(data) };
}

/// # Safety
///
/// `data` is a branch waker's entry pointer whose allocation is kept alive
/// for the call.
unsafe fn wake_by_ref(data: *const ()) {
    // SAFETY: the waker keeps the allocation alive (contract).
    let (shared, j) = unsafe { Shared::from_entry(data) };
    if shared.set(j) {
        shared.wake_parent();
    }
}

/// # Safety
///
/// `data` is a branch waker's entry pointer and this waker owns a count.
unsafe fn drop(data: *const ()) {
    // SAFETY: the waker owns a count (contract) ...
    let (shared, _) = unsafe { Shared::from_entry(data) };
    // SAFETY: ... which it gives up here, its last use of `data`.
    unsafe { shared.release() };
}

/// The owner's handle on a shared allocation: registers the parent waker,
/// lends branch wakers and takes the woken bits.
pub(crate) struct WakeSet {
    shared: Shared,
    /// Where the set goes when dropped.
    spare: &'static AtomicPtr<Header>,
}

// SAFETY: everything shared is atomic, or the parent waker (`Send + Sync`)
// behind the `state` lock; entries are immutable after construction.
unsafe impl Send for WakeSet {}
// SAFETY: as for `Send`; `&WakeSet` methods only use atomics and the lock.
unsafe impl Sync for WakeSet {}

impl WakeSet {
    /// Room for `cap` branches, with branches `0..marked` woken, for an
    /// owner at address `place` (it picks the spare slot).
    #[inline]
    pub(crate) fn new(cap: usize, marked: usize, place: usize) -> Self {
        let marked = marked.min(cap);
        let spare = spare_slot(place);
        match take_spare(spare, cap) {
            Some(shared) => {
                let set = Self { shared, spare };
                set.reset(marked);
                set
            }
            None => Self::allocate(cap, marked, spare),
        }
    }

    /// A fresh allocation (no spare of this size).
    #[cold]
    fn allocate(cap: usize, marked: usize, spare: &'static AtomicPtr<Header>) -> Self {
        let (layout, summaries, words) = layout(cap);
        // SAFETY: the layout has a non-zero size (the header).
        let ptr = unsafe { alloc(layout) };
        let Some(ptr) = NonNull::new(ptr.cast::<Header>()) else {
            handle_alloc_error(layout)
        };
        let header = Header {
            refs: AtomicUsize::new(1),
            state: AtomicUsize::new(IDLE),
            parent: UnsafeCell::new(None),
            cap,
            summaries,
            words,
        };
        // SAFETY: `ptr` is a fresh allocation of `layout`, aligned for
        // `Header` and big enough for it.
        unsafe { ptr.as_ptr().write(header) };
        let tail = ptr
            .as_ptr()
            .cast::<u8>()
            .wrapping_add(ENTRIES)
            .cast::<usize>();
        let marked_words = marked.div_ceil(BITS);
        for k in 0..cap + summaries + words {
            let value = if k < cap {
                k
            } else if k < cap + summaries {
                prefix_bits(k - cap, marked_words)
            } else {
                prefix_bits(k - cap - summaries, marked)
            };
            // SAFETY: `k` indexes the `cap + summaries + words` words after
            // the header, all inside `layout`; nobody else sees them yet.
            unsafe { tail.wrapping_add(k).write(value) };
        }
        Self {
            shared: Shared(ptr),
            spare,
        }
    }

    /// Mark branches `0..marked` woken and every other one not.
    #[inline]
    fn reset(&self, marked: usize) {
        // Plain stores: only stale wakers (of an earlier select) can race
        // with them, and a bit they set or lose is a spurious wake.
        for (k, word) in self.shared.words().iter().enumerate() {
            word.store(prefix_bits(k, marked), Ordering::Relaxed);
        }
        for (k, word) in self.shared.summary().iter().enumerate() {
            word.store(prefix_bits(k, marked.div_ceil(BITS)), Ordering::Relaxed);
        }
    }

    /// The number of branches it has room for.
    #[inline]
    pub(crate) fn cap(&self) -> usize {
        self.shared.header().cap
    }

    /// The number of summary words: each covers `BITS` bitset words.
    #[inline]
    pub(crate) fn summaries(&self) -> usize {
        self.shared.header().summaries.max(1)
    }

    /// Store the parent's waker (if it differs from the stored one).
    #[inline]
    pub(crate) fn register(&self, waker: &Waker) {
        let h = self.shared.header();
        // SAFETY: only the owner writes `parent` (here, under the lock);
        // branch wakers only read it. So the owner may read it unlocked.
        if let Some(stored) = unsafe { &*h.parent.get() } {
            if stored.will_wake(waker) {
                return;
            }
        }
        self.replace_parent(waker);
    }

    #[cold]
    fn replace_parent(&self, waker: &Waker) {
        let h = self.shared.header();
        match h
            .state
            .compare_exchange(IDLE, REGISTERING, Ordering::Acquire, Ordering::Acquire)
        {
            Ok(_) => {
                // SAFETY: the swap from IDLE to REGISTERING gives the owner
                // the lock of `parent` until it leaves REGISTERING.
                let slot = unsafe { &mut *h.parent.get() };
                let old = match slot {
                    Some(stored) if stored.will_wake(waker) => None,
                    _ => slot.replace(waker.clone()),
                };
                if h.state
                    .compare_exchange(REGISTERING, IDLE, Ordering::AcqRel, Ordering::Acquire)
                    .is_err()
                {
                    // A branch woke while the lock was held: wake for it.
                    h.state.store(IDLE, Ordering::Release);
                    waker.wake_by_ref();
                }
                core::mem::drop(old);
            }
            // A branch is waking the old waker right now: make sure the task
            // behind the new one is polled again too.
            Err(_) => waker.wake_by_ref(),
        }
    }

    /// Mark branch `j` woken without waking the parent: for an owner that
    /// will be polled anyway (a winner to re-poll, a new source).
    #[inline]
    pub(crate) fn mark(&self, j: usize) {
        self.shared.set(j);
    }

    /// Take summary word `k` (bit `b` set: bitset word `k * BITS + b` has
    /// woken branches).
    #[inline]
    pub(crate) fn take_summary(&self, k: usize) -> usize {
        match self.shared.summary().get(k) {
            Some(word) => word.swap(0, Ordering::AcqRel),
            // A single word: its own emptiness is the summary.
            None => usize::from(k == 0 && self.shared.words()[0].load(Ordering::Acquire) != 0),
        }
    }

    /// Take bitset word `w` (bit `b` set: branch `w * BITS + b` was woken).
    #[inline]
    pub(crate) fn take_word(&self, w: usize) -> usize {
        self.shared
            .words()
            .get(w)
            .map_or(0, |word| word.swap(0, Ordering::AcqRel))
    }

    /// Take the bits of bitset word `w` outside `keep`, leaving the rest.
    ///
    /// Before the first branch waker is lent, so only stale wakes (of an
    /// earlier use of the set) can race: a plain load and store will do.
    #[inline]
    pub(crate) fn split_word(&self, w: usize, keep: usize) -> usize {
        split(self.shared.words().get(w), keep)
    }

    /// Take the bits of summary word `k` outside `keep`, leaving the rest
    /// (with a single word: nothing to take). As [`Self::split_word`].
    #[inline]
    pub(crate) fn split_summary(&self, k: usize, keep: usize) -> usize {
        split(self.shared.summary().get(k), keep)
    }

    /// Lend `f` the waker of branch `j`, without touching the count.
    #[inline]
    pub(crate) fn with_waker<R>(&self, j: usize, f: impl FnOnce(&Waker) -> R) -> R {
        assert!(j < self.cap(), "pasts: branch index out of the wake set");
        let raw = RawWaker::new(self.shared.entry(j).cast(), &VTABLE);
        // SAFETY: entry `j < cap` of an allocation that `self` keeps alive
        // for all of `f`, the only place the lent waker is used; the vtable
        // upholds the `RawWaker` contract and is `Send + Sync` (atomics).
        // `ManuallyDrop`: the lent waker owns no count, and `f` gets only a
        // `&Waker`, so it cannot be woken by value either; its clones take
        // counts of their own.
        let waker = ManuallyDrop::new(unsafe { Waker::from_raw(raw) });
        f(&waker)
    }
}

impl Drop for WakeSet {
    /// Keep a small set for the next select or join, or give up the count.
    ///
    /// The parent waker stays stored until it is replaced or the set is
    /// freed: a branch waker that outlives the combinator may wake that task
    /// once more, spuriously (later wakes find their bit set and stop).
    #[inline]
    fn drop(&mut self) {
        let mut release = self.shared;
        if self.cap() <= SPARE_MAX {
            // Release: our use of the set happens before the next owner's.
            match NonNull::new(self.spare.swap(self.shared.0.as_ptr(), Ordering::AcqRel)) {
                Some(old) => release = Shared(old),
                None => return,
            }
        }
        // SAFETY: `release` is this handle's count, or the count the slot
        // owned and handed to us by the swap; neither is used afterwards.
        unsafe { release.release() };
    }
}

impl core::fmt::Debug for WakeSet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WakeSet").field("cap", &self.cap()).finish()
    }
}

/// The set kept in `slot`, if it has room for exactly `cap` branches.
#[inline]
fn take_spare(slot: &AtomicPtr<Header>, cap: usize) -> Option<Shared> {
    // Acquire: the last owner's use of the set happens before ours.
    let spare = Shared(NonNull::new(slot.swap(null_mut(), Ordering::Acquire))?);
    if spare.header().cap == cap {
        return Some(spare);
    }
    // SAFETY: the count the slot owned is ours now; `spare` is not used
    // after giving it up.
    unsafe { spare.release() };
    None
}

/// Take the bits of `word` outside `keep` with a plain load and store.
#[inline]
fn split(word: Option<&AtomicUsize>, keep: usize) -> usize {
    let Some(word) = word else { return 0 };
    let bits = word.load(Ordering::Relaxed);
    word.store(bits & keep, Ordering::Relaxed);
    bits & !keep
}

/// Word `k` of a bitset whose first `n` bits are set.
#[inline]
fn prefix_bits(k: usize, n: usize) -> usize {
    match n.saturating_sub(k * BITS) {
        0 => 0,
        r if r >= BITS => usize::MAX,
        r => (1 << r) - 1,
    }
}
