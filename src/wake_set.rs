//! Per-branch wakers from one shared allocation (feature `alloc`).
//!
//! A combinator over N branches allocates one [`WakeSet`]: a header, N
//! *entries* and a two-level bitset of woken branches. The waker of branch
//! `j` is a pointer to entry `j`, which holds `j`; from it the header is
//! found by pointer arithmetic on the allocation's own pointer (so
//! provenance covers the whole allocation). A waker may outlive the
//! combinator (stored in another thread, in a static, leaked) and must stay
//! sound, so the allocation lives at least as long as its wakers:
//! - with `std`, a set of at most `SPARE_MAX` branches made on a thread
//!   that is not ending is never freed: it goes back to a pool for the
//!   next combinator (see [`pool`]), and its wakers are not counted;
//! - any other set is counted: every waker clone owns a count, the
//!   combinator's [`WakeSet`] owns one too, and the last count frees it.
//!
//! ```text
//! Header | entries [usize; cap] | shared: summary [S], words [W] | local: summary [S], words [W]
//! ```
//!
//! Bit `j` of a bitset's `words` is set while branch `j` is woken and not
//! yet taken; bit `w` of its `summary` while word `w` may have bits set:
//!
//! ```text
//!   clear --branch waker sets it--> set --owner takes the word--> clear
//! ```
//!
//! A waker that sets a bit, or a summary bit, that was clear is the first
//! since the owner last took them: it wakes the parent task. One that finds
//! its bit already set stops there: the first setter wakes the parent after
//! it, and the owner's take of the first bit comes after that wake, so it
//! also takes this one. With a single word (`cap <= BITS`) there is no
//! summary: the owner looks at the word itself.
//!
//! Two bitsets: a set has a *home*, the thread that made it (by an id no
//! two running threads share: an id passes on only when its thread ends,
//! see [`pool`]). Wakes on the home thread go to the *local* bitset with
//! plain loads and stores, and read the parent waker directly: one thread,
//! so no read-modify-write at all (the common case: a branch woken by the
//! thread that polls, as a device or timer woken by the `block_on` thread
//! that waits in epoll). Wakes on any other thread go to the *shared*
//! bitset with read-modify-writes. The owner takes from both,
//! on the home thread only: an owner polled on another thread (its future
//! was moved) first trades its set for one homed there, with every branch
//! woken ([`WakeSet::register`]), and never touches the old local bitset
//! again. Without `std` nothing has a home: every wake is shared.
//!
//! The parent waker sits in the header, written only by the owner, on the
//! home thread. Local wakes read it on that thread too, so between the
//! owner's writes, unless the parent's wake polls the owner inline (an
//! executor may): a local reader is counted in `local_readers`, with plain
//! loads and stores, and the owner does not write while one is (as for a
//! shared reader below). A shared wake that must wake the parent announces
//! itself in `state` while it reads it, and the owner writes it only when
//! no such reader is in flight:
//!
//! ```text
//! state = readers * READER | WRITING
//!   reader: +READER, wake the parent unless WRITING, -READER (also if
//!           the parent's wake panics)
//!           (under WRITING the owner is in its poll: the walk after the
//!           write takes the reader's bit, so no wake is needed)
//!   owner:  0 --CAS--> WRITING --store the waker, -WRITING--> 0
//!           (readers in flight, shared or local: no CAS, or it fails; the
//!           owner keeps the old waker this time and wakes the new one
//!           itself, so it is polled again and retries)
//! ```
//!
//! A dropped set is kept for the next combinator (see [`pool`], or `spares`
//! without `std`): then the branches' stored wakers still match, and need no
//! new clone.
#![allow(unsafe_code)]

use alloc::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use core::cell::UnsafeCell;
use core::mem::{size_of, ManuallyDrop};
use core::ptr::NonNull;
use core::sync::atomic::{fence, AtomicUsize, Ordering};
use core::task::{RawWaker, RawWakerVTable, Waker};

/// Branches per bitset word.
pub(crate) const BITS: usize = usize::BITS as usize;

/// `state`: the owner is writing the parent waker.
const WRITING: usize = 0b1;
/// `state`: one waker reading the parent waker (a count in the other bits).
const READER: usize = 0b10;

/// A count this high means the set is never freed: made so (a pooled set,
/// see [`pool`]) or clones were leaked on purpose (the count stops instead
/// of overflowing into a use-after-free). Such a set is not counted.
const SATURATED: usize = usize::MAX / 2;

/// A dropped [`WakeSet`] with room for at most this many branches is kept
/// for the next select or join.
const SPARE_MAX: usize = 4096;

/// Start of the shared allocation.
#[repr(C)]
struct Header {
    /// Owners: the [`WakeSet`] and every cloned branch waker.
    refs: AtomicUsize,
    /// Readers of `parent` in flight, and `WRITING` (see the module docs).
    state: AtomicUsize,
    /// Local wakes reading `parent` (home thread only: plain loads and
    /// stores).
    local_readers: AtomicUsize,
    /// The waker of the task that polls the combinator.
    parent: UnsafeCell<Option<Waker>>,
    /// Number of entries (branches this allocation can hold).
    cap: usize,
    /// Number of summary words (0 with a single word).
    summaries: usize,
    /// Number of bitset words.
    words: usize,
    /// The thread whose wakes use the local bitset (see [`here`]); 0: none.
    home: usize,
    /// The next set in a pool's list (the pool's holder only).
    #[cfg(feature = "std")]
    next: core::sync::atomic::AtomicPtr<Header>,
}

/// Byte offset of entry 0 (a multiple of `usize`'s alignment, since the
/// header holds `usize`s).
const ENTRIES: usize = size_of::<Header>();

/// The layout of an allocation with `cap` entries, and its word counts.
fn layout(cap: usize) -> (Layout, usize, usize) {
    let words = cap.div_ceil(BITS).max(1);
    let summaries = if words == 1 { 0 } else { words.div_ceil(BITS) };
    let tail = cap
        .checked_add(2 * (summaries + words))
        .and_then(|n| n.checked_mul(size_of::<usize>()))
        .and_then(|n| n.checked_add(ENTRIES));
    match tail.map(|size| Layout::from_size_align(size, core::mem::align_of::<Header>())) {
        Some(Ok(layout)) => (layout, summaries, words),
        _ => capacity_overflow(),
    }
}

/// Like `Vec`'s capacity overflow: the size of the allocation would not fit
/// in `isize`, which needs more branches than the futures themselves could
/// occupy in memory, so no program can reach it with real futures.
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
    #[inline]
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
        // initialized; it is only ever shared (atomics, and the parent waker
        // under the rule of the module docs).
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

    /// The shared bitset (`Bitset::Shared`) or the home thread's one.
    #[inline]
    fn bitset(&self, which: Bitset) -> (&[AtomicUsize], &[AtomicUsize]) {
        let h = self.header();
        let from = h.cap + which as usize * (h.summaries + h.words);
        (
            self.tail_words(from, h.summaries),
            self.tail_words(from + h.summaries, h.words),
        )
    }

    /// The one word of `which` bitset, when each has a single word and no
    /// summary (`summaries == 0`): a shortcut past [`Self::bitset`].
    #[inline]
    fn single_word(&self, which: Bitset) -> &AtomicUsize {
        let h = self.header();
        &self.tail_words(h.cap + which as usize * h.words, 1)[0]
    }

    /// `true` on the set's home thread: its wakes and takes use the local
    /// bitset, with plain loads and stores.
    #[inline]
    fn at_home(&self) -> bool {
        let home = self.header().home;
        home != 0 && home == here()
    }

    /// `true` if the set has a home and this thread is not it: the owner
    /// must not touch the local bitset here.
    #[inline]
    fn away(&self) -> bool {
        let home = self.header().home;
        home != 0 && home != here()
    }

    /// A pointer to entry `j` (`j < cap`), with the allocation's provenance.
    #[inline]
    fn entry(&self, j: usize) -> *const usize {
        let entries = self.0.as_ptr().cast::<u8>().wrapping_add(ENTRIES);
        entries.cast::<usize>().wrapping_add(j)
    }

    /// `true` if the set is never freed, so not counted.
    #[inline]
    fn immortal(&self) -> bool {
        self.header().refs.load(Ordering::Relaxed) >= SATURATED
    }

    /// Take one more count.
    #[inline]
    fn acquire(&self) {
        if self.immortal() {
            return;
        }
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
    #[inline]
    unsafe fn release(self) {
        if self.immortal() || self.header().refs.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        // Every other owner's last use happens before this (as in `Arc`).
        fence(Ordering::Acquire);
        // SAFETY: this was the last count.
        unsafe { self.free() };
    }

    /// A fresh allocation with room for `cap` branches, homed on thread
    /// `home` (0: none), never freed if `immortal`, else owning one count.
    #[cold]
    fn allocate(cap: usize, home: usize, immortal: bool) -> Self {
        let (layout, summaries, words) = layout(cap);
        // SAFETY: the layout has a non-zero size (the header).
        let ptr = unsafe { alloc(layout) };
        let Some(ptr) = NonNull::new(ptr.cast::<Header>()) else {
            handle_alloc_error(layout)
        };
        let header = Header {
            refs: AtomicUsize::new(if immortal { SATURATED } else { 1 }),
            state: AtomicUsize::new(0),
            local_readers: AtomicUsize::new(0),
            parent: UnsafeCell::new(None),
            cap,
            summaries,
            words,
            home,
            #[cfg(feature = "std")]
            next: core::sync::atomic::AtomicPtr::new(core::ptr::null_mut()),
        };
        // SAFETY: `ptr` is a fresh allocation of `layout`, aligned for
        // `Header` and big enough for it.
        unsafe { ptr.as_ptr().write(header) };
        let tail = ptr
            .as_ptr()
            .cast::<u8>()
            .wrapping_add(ENTRIES)
            .cast::<usize>();
        for k in 0..cap + 2 * (summaries + words) {
            // Entries hold their index; the bitset levels start clear.
            let value = if k < cap { k } else { 0 };
            // SAFETY: `k` indexes the `cap + 2 * (summaries + words)` words after
            // the header, all inside `layout`; nobody else sees them yet.
            unsafe { tail.wrapping_add(k).write(value) };
        }
        Self(ptr)
    }

    /// Drop the parent waker and free the memory.
    ///
    /// # Safety
    ///
    /// Nobody else can reach the allocation any more, and `self` is not
    /// used afterwards.
    #[cold]
    unsafe fn free(self) {
        let cap = self.header().cap;
        // SAFETY: nobody else can reach the allocation (contract): the
        // parent waker is dropped once, then the memory is freed with the
        // layout it was allocated with.
        unsafe {
            core::ptr::drop_in_place(self.header().parent.get());
            dealloc(self.0.as_ptr().cast(), layout(cap).0);
        }
    }

    /// Set bit `j` in `which` bitset; `true` if the parent must be woken
    /// (see the module docs).
    #[inline]
    fn set_in(&self, which: Bitset, j: usize) -> bool {
        if self.header().summaries == 0 {
            let bit = 1 << (j % BITS);
            return which.or(self.single_word(which), bit) & bit == 0;
        }
        let (summary, words) = self.bitset(which);
        let bit = 1 << (j % BITS);
        let w = j / BITS;
        if which.or(&words[w], bit) & bit != 0 {
            return false;
        }
        let Some(summary) = summary.get(w / BITS) else {
            return true;
        };
        let bit = 1 << (w % BITS);
        which.or(summary, bit) & bit == 0
    }

    /// Mark branch `j` woken without waking the parent.
    #[inline]
    fn mark(&self, j: usize) {
        let which = if self.at_home() {
            Bitset::Local
        } else {
            Bitset::Shared
        };
        self.set_in(which, j);
    }

    /// Mark branch `j` woken, and wake the parent task if this is the first
    /// wake since the owner last took the bits.
    #[inline]
    fn wake(&self, j: usize) {
        if self.at_home() {
            if self.set_in(Bitset::Local, j) {
                let h = self.header();
                let _reader = LocalReader::new(&h.local_readers);
                // SAFETY: the owner writes `parent` only on the home thread
                // (`WakeSet::register` trades away a set polled elsewhere),
                // runs no other code while it writes, and does not write
                // while a local reader is counted (should the parent's wake
                // poll it), so nobody writes it during our read; the set is
                // not freed while a waker of it runs (the waker's count, or
                // never).
                if let Some(parent) = unsafe { &*h.parent.get() } {
                    parent.wake_by_ref();
                }
            }
            return;
        }
        if !self.set_in(Bitset::Shared, j) {
            return;
        }
        let h = self.header();
        // AcqRel: if the owner is writing, its walk after the write sees
        // our bit; otherwise its last write happens before our read.
        let state = h.state.fetch_add(READER, Ordering::AcqRel);
        // Uncounted when dropped, also if the parent's wake panics (else the
        // owner could never replace the parent again).
        let _reader = Reader(&h.state);
        if state & WRITING == 0 {
            // SAFETY: a reader is counted in `state` and WRITING was clear,
            // so the owner does not write `parent` until we leave.
            if let Some(parent) = unsafe { &*h.parent.get() } {
                parent.wake_by_ref();
            }
        }
    }
}

/// Which of a set's two bitsets (see the module docs).
#[derive(Clone, Copy)]
enum Bitset {
    /// Set by wakes on other threads than the home thread:
    /// read-modify-writes.
    Shared = 0,
    /// Set by wakes on the home thread and taken by the owner there: one
    /// thread, so plain loads and stores.
    Local = 1,
}

impl Bitset {
    /// `word |= bits`; the old value.
    #[inline]
    fn or(self, word: &AtomicUsize, bits: usize) -> usize {
        match self {
            Self::Shared => word.fetch_or(bits, Ordering::AcqRel),
            Self::Local => {
                let old = word.load(Ordering::Relaxed);
                word.store(old | bits, Ordering::Relaxed);
                old
            }
        }
    }

    /// `word & !keep`, leaving `word & keep` (the owner's take).
    #[inline]
    fn take(self, word: &AtomicUsize, keep: usize) -> usize {
        match self {
            Self::Shared => word.fetch_and(keep, Ordering::AcqRel) & !keep,
            Self::Local => {
                let old = word.load(Ordering::Relaxed);
                word.store(old & keep, Ordering::Relaxed);
                old & !keep
            }
        }
    }
}

#[cfg(feature = "std")]
mod pool;
#[cfg(feature = "std")]
use pool::here;

#[cfg(not(feature = "std"))]
mod spares;

/// Without `std` no thread has a home: every wake is shared.
#[cfg(not(feature = "std"))]
#[inline]
fn here() -> usize {
    0
}

/// A reader counted in `state`, uncounted on drop.
struct Reader<'a>(&'a AtomicUsize);

impl Drop for Reader<'_> {
    #[inline]
    fn drop(&mut self) {
        // Release: our read happens before the owner's next write.
        self.0.fetch_sub(READER, Ordering::Release);
    }
}

/// A local wake reading the parent waker: counted in `local_readers` (on
/// the home thread: plain loads and stores), uncounted on drop.
struct LocalReader<'a>(&'a AtomicUsize);

impl<'a> LocalReader<'a> {
    #[inline]
    fn new(readers: &'a AtomicUsize) -> Self {
        readers.store(readers.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        Self(readers)
    }
}

impl Drop for LocalReader<'_> {
    #[inline]
    fn drop(&mut self) {
        let readers = self.0.load(Ordering::Relaxed);
        self.0.store(readers - 1, Ordering::Relaxed);
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
    let (shared, j) = unsafe { Shared::from_entry(data) };
    // The waker is consumed: its count is released last, also if the
    // parent's wake panics.
    let count = Count(shared);
    count.0.wake(j);
}

/// An owned count, released on drop.
struct Count(Shared);

impl Drop for Count {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: `self` owns the count and is not used afterwards.
        unsafe { self.0.release() };
    }
}

/// # Safety
///
/// `data` is a branch waker's entry pointer whose allocation is kept alive
/// for the call.
unsafe fn wake_by_ref(data: *const ()) {
    // SAFETY: the waker keeps the allocation alive (contract).
    let (shared, j) = unsafe { Shared::from_entry(data) };
    shared.wake(j);
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
    /// The owner's address: picks its spare slot without `std` (see `spares`).
    place: usize,
}

// SAFETY: everything shared is atomic, or the parent waker (`Send + Sync`),
// written only through `&mut WakeSet` while no reader is counted (module
// docs); entries are immutable after construction.
unsafe impl Send for WakeSet {}
// SAFETY: as for `Send`; `&WakeSet` methods only use atomics and read the
// parent waker.
unsafe impl Sync for WakeSet {}

impl WakeSet {
    /// Room for at least `cap` branches, with branches `0..marked` woken,
    /// for an owner at address `place` (which picks its spare without
    /// `std`, see `spares`).
    #[inline]
    pub(crate) fn new(cap: usize, marked: usize, place: usize) -> Self {
        let set = Self {
            shared: Self::obtain(cap, place),
            place,
        };
        set.reset(marked.min(set.cap()));
        set
    }

    /// A pooled set homed on this thread, with room for `cap` rounded up to
    /// a power of two; a counted one if `cap` is too big for the pools or
    /// the thread is ending.
    #[cfg(feature = "std")]
    #[inline]
    fn obtain(cap: usize, _place: usize) -> Shared {
        let home = pool::id();
        if cap <= SPARE_MAX && home != 0 {
            let cap = cap.next_power_of_two();
            return pool::take(cap).unwrap_or_else(|| Shared::allocate(cap, home, true));
        }
        Shared::allocate(cap, home, false)
    }

    /// The spare kept for `place` if it has room for exactly `cap`, or a
    /// new counted set.
    #[cfg(not(feature = "std"))]
    #[inline]
    fn obtain(cap: usize, place: usize) -> Shared {
        match spares::take(place) {
            Some(shared) if shared.header().cap == cap => shared,
            other => {
                if let Some(shared) = other {
                    // SAFETY: the count the spare slot owned is ours now;
                    // `shared` is not used after giving it up.
                    unsafe { shared.release() };
                }
                Shared::allocate(cap, 0, false)
            }
        }
    }

    /// Mark branches `0..marked` woken (in the owner's bitset: the local
    /// one if the set has a home) and every other one not.
    #[inline]
    fn reset(&self, marked: usize) {
        let home = self.shared.header().home != 0;
        if self.summaries() == 0 {
            let (own, other) = if home {
                (Bitset::Local, Bitset::Shared)
            } else {
                (Bitset::Shared, Bitset::Local)
            };
            self.shared.single_word(other).store(0, Ordering::Release);
            let own = self.shared.single_word(own);
            own.store(prefix_bits(0, marked), Ordering::Release);
            return;
        }
        for which in [Bitset::Shared, Bitset::Local] {
            let marked = if home == matches!(which, Bitset::Local) {
                marked
            } else {
                0
            };
            let (summary, words) = self.shared.bitset(which);
            // Plain stores: only stale wakers (of an earlier select) can
            // race with them, and a bit they set or lose is a spurious
            // wake. But a bit kept must keep its summary bit: the summary is
            // stored first, and Release makes a waker that sets a bit after
            // the word's store set its summary bit after the summary's store
            // too.
            for (k, word) in summary.iter().enumerate() {
                word.store(prefix_bits(k, marked.div_ceil(BITS)), Ordering::Relaxed);
            }
            for (k, word) in words.iter().enumerate() {
                word.store(prefix_bits(k, marked), Ordering::Release);
            }
        }
    }

    /// The number of branches it has room for.
    #[inline]
    pub(crate) fn cap(&self) -> usize {
        self.shared.header().cap
    }

    /// The number of summary words (each covers `BITS` bitset words), or 0
    /// with a single bitset word.
    #[inline]
    pub(crate) fn summaries(&self) -> usize {
        self.shared.header().summaries
    }

    /// Make branch wakers wake `waker`'s task (or, if wakers are reading
    /// the stored one right now, wake `waker` to be polled again).
    ///
    /// On a thread other than the set's home, the set is first traded for
    /// a new one homed here, with every branch woken: the old home's wakes
    /// would go to a bitset this thread must not read. The caller's walk
    /// then visits every branch once more.
    #[inline]
    pub(crate) fn register(&mut self, waker: &Waker) {
        if self.shared.away() {
            self.rehome();
        }
        let h = self.shared.header();
        // SAFETY: only the owner (`&mut self`) writes `parent`, so it may
        // read it at any time.
        if let Some(stored) = unsafe { &*h.parent.get() } {
            if stored.will_wake(waker) {
                return;
            }
        }
        self.replace_parent(waker);
    }

    #[cold]
    fn rehome(&mut self) {
        let cap = self.cap();
        *self = Self::new(cap, cap, self.place);
    }

    #[cold]
    fn replace_parent(&mut self, waker: &Waker) {
        let h = self.shared.header();
        // Cloned first: user code, which must not run (or panic) while
        // WRITING is held.
        let new = waker.clone();
        // On the home thread (or with no home: no local reader), a local
        // reader in flight is a wake that polled us inline. Acquire: the
        // shared readers that left happen before our write.
        if h.local_readers.load(Ordering::Relaxed) != 0
            || h.state
                .compare_exchange(0, WRITING, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
        {
            // Readers in flight: keep the old waker for now, and come back.
            waker.wake_by_ref();
            return;
        }
        // SAFETY: WRITING is set and no reader was counted, shared or local:
        // shared readers that come now see WRITING and skip the read, local
        // ones are on this thread, which runs no other code until the write
        // is done, so nobody reads `parent` during it; `&mut self` excludes
        // the owner's other uses.
        let old = unsafe { (*h.parent.get()).replace(new) };
        // AcqRel: our write happens before the next reader's read, and the
        // bits of readers that skipped are seen by the walk after this.
        h.state.fetch_sub(WRITING, Ordering::AcqRel);
        // Dropped outside the write: it may run any code.
        core::mem::drop(old);
    }

    /// Mark branch `j` woken without waking the parent: for an owner that
    /// will be polled anyway (a winner to re-poll, a new source).
    #[inline]
    pub(crate) fn mark(&self, j: usize) {
        self.shared.mark(j);
    }

    /// Take the bits outside `keep` of word `k` of both bitsets' `level`
    /// (0: summary, 1: words). The owner calls it on the home thread (after
    /// [`Self::register`], or on a set it just made there): the local
    /// bitset is its own. A plain load first: finding nothing costs no
    /// read-modify-write.
    #[inline]
    fn take(&self, level: usize, k: usize, keep: usize) -> usize {
        let mut bits = 0;
        for which in [Bitset::Local, Bitset::Shared] {
            let (summary, words) = self.shared.bitset(which);
            let word = [summary, words][level].get(k);
            if let Some(word) = word.filter(|w| w.load(Ordering::Acquire) & !keep != 0) {
                bits |= which.take(word, keep);
            }
        }
        bits
    }

    /// Take summary word `k` (bit `b` set: bitset word `k * BITS + b` may
    /// have woken branches). Only with `summaries() > 0`.
    #[inline]
    pub(crate) fn take_summary(&self, k: usize) -> usize {
        self.take(0, k, 0)
    }

    /// Take bitset word `w` (bit `b` set: branch `w * BITS + b` was woken).
    #[inline]
    pub(crate) fn take_word(&self, w: usize) -> usize {
        self.take(1, w, 0)
    }

    /// Take the single bitset word (with `summaries() == 0`).
    #[inline]
    pub(crate) fn take_single(&self) -> usize {
        self.take(1, 0, 0)
    }

    /// Take the bits of bitset word `w` outside `keep`, leaving the rest.
    #[inline]
    pub(crate) fn split_word(&self, w: usize, keep: usize) -> usize {
        self.take(1, w, keep)
    }

    /// Take the bits of summary word `k` outside `keep`, leaving the rest
    /// (with a single word: nothing to take).
    ///
    /// A read-modify-write on the shared bitset: a plain store could erase
    /// the summary bit of a stale wake whose word bit stays set, and a later
    /// wake of that branch would then find its bit set and wake nobody.
    #[inline]
    pub(crate) fn split_summary(&self, k: usize, keep: usize) -> usize {
        self.take(0, k, keep)
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
    /// Keep the set for the next select or join, or give up the count.
    ///
    /// The parent waker stays stored until it is replaced or the set is
    /// freed: a branch waker that outlives the combinator may wake that task
    /// once more, spuriously (later wakes find their bit set and stop).
    #[inline]
    fn drop(&mut self) {
        // Only the pools' sets (made immortal, homed, a power-of-two size):
        // a counted set saturated by leaked clones is never freed either,
        // and stays where it is.
        #[cfg(feature = "std")]
        let release = if self.shared.immortal()
            && self.shared.header().home != 0
            && self.cap() <= SPARE_MAX
            && self.cap().is_power_of_two()
        {
            pool::put(self.shared);
            None
        } else {
            Some(self.shared)
        };
        #[cfg(not(feature = "std"))]
        let release = if self.cap() <= SPARE_MAX {
            spares::put(self.place, self.shared)
        } else {
            Some(self.shared)
        };
        if let Some(shared) = release {
            // SAFETY: `shared` is this handle's count, or the count the
            // spare slot owned and handed back; neither is used afterwards.
            unsafe { shared.release() };
        }
    }
}

impl core::fmt::Debug for WakeSet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WakeSet").field("cap", &self.cap()).finish()
    }
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

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::{Bitset, WakeSet, BITS};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Spin until `go` is `value` (the race needs both threads running),
    /// yielding now and then should the other thread not be running.
    fn wait_for(go: &AtomicUsize, value: usize) {
        let mut spins = 0u32;
        while go.load(Ordering::Acquire) != value {
            spins = spins.wrapping_add(1);
            if spins % 4096 == 0 {
                std::thread::yield_now();
            }
            std::hint::spin_loop();
        }
    }

    /// Race a stale waker of branch `BITS + 1` (bitset word 1) with `owner`
    /// on a clear set, `rounds` times; after each, word 1 must be clear, or
    /// summary bit 1 set or taken (`owner` returns the summary bits it
    /// took). Else a later wake of that branch would find its bit set, wake
    /// nobody, and never be walked.
    fn race_a_stale_wake(rounds: usize, owner: impl Fn(&WakeSet) -> usize) {
        let set = Arc::new(WakeSet::new(3 * BITS, 0, 0));
        // Round `r`: 2r + 1 when the owner starts it, 2r + 2 when the
        // stale waker has woken.
        let go = Arc::new(AtomicUsize::new(0));
        let stale = {
            let (set, go) = (set.clone(), go.clone());
            std::thread::spawn(move || {
                for r in 0..rounds {
                    wait_for(&go, 2 * r + 1);
                    set.shared.set_in(Bitset::Shared, BITS + 1);
                    go.store(2 * r + 2, Ordering::Release);
                }
            })
        };
        for r in 0..rounds {
            set.reset(0);
            go.store(2 * r + 1, Ordering::Release);
            let taken = owner(&set);
            wait_for(&go, 2 * r + 2);
            let (summary, words) = set.shared.bitset(Bitset::Shared);
            let word = words[1].load(Ordering::Relaxed);
            let summary = summary[0].load(Ordering::Relaxed) | taken;
            assert!(
                word == 0 || summary & 0b10 != 0,
                "round {r}: a bit with no summary"
            );
        }
        stale.join().unwrap();
    }

    #[test]
    #[cfg_attr(miri, ignore = "a race found by repetition")]
    fn reset_keeps_the_summary_of_a_stale_bit() {
        race_a_stale_wake(20_000, |set| {
            set.reset(0);
            0
        });
    }

    #[test]
    #[cfg_attr(miri, ignore = "a race found by repetition")]
    fn split_summary_keeps_the_summary_of_a_stale_bit() {
        race_a_stale_wake(20_000, |set| set.split_summary(0, 0b1));
    }
}
