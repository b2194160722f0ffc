//! The waker core (feature `alloc`): per-branch wakers for select, join,
//! [`Selector`](crate::Selector) and [`Tasks`](crate::Tasks).
//!
//! A header plus node segments (never moved: growing adds one), one node
//! per branch: branch `j`'s waker points at node `j`, which holds `j` and
//! the header's address. The [`WakeSet`] and each waker clone own one count;
//! the last frees it all, so a waker may outlive its combinator.
//!
//! **Woken stack.** `head` is a Treiber stack of woken nodes, linked through
//! their `state`:
//!
//! ```text
//!   IDLE --wake: CAS--> CLAIMED --push: CAS on head--> link (queued)
//!   link --owner takes the whole stack (swap), serves the node--> IDLE
//! ```
//!
//! A wake that finds its node claimed or queued does nothing more. Only the
//! owner pops, always the whole stack (no ABA), and only it writes a queued
//! node's `state`: it reads the link, stores `IDLE`, then polls, so a wake
//! during the poll queues the node for the next batch. The owner may queue a
//! node itself (`again`) without waking the parent: it takes the stack
//! before it next returns `Pending`. A new combinator's first poll visits
//! every branch (a *sweep*).
//!
//! **Parent waker.** Only the owner writes it, only while no wake reads it;
//! `lock` counts readers (`READER` each) and holds `WRITING`:
//!
//! ```text
//!   wake:    +READER; unless WRITING, wake the parent (by reference); -READER
//!   replace: 0 --CAS--> WRITING --store the new waker, -WRITING--> 0
//!            (CAS fails: a reader is in; keep the old waker, wake the new)
//!   drop:    0 --CAS--> WRITING --take the waker; WRITING stays
//!   first:   WRITING --store the waker, -WRITING--> 0
//! ```
//!
//! So a set with no parent (a new one, or one whose owner dropped it) holds
//! `WRITING` and wakes have nobody to wake. Storing a parent ends with a
//! read-modify-write, so a wake that skipped the read (it saw `WRITING`)
//! happens before the owner's next take.
//!
//! **No lost wake.** A push onto an empty stack wakes the parent; onto a
//! non-empty one it needn't: the bottom node's pusher wakes it after its
//! push, and the owner takes the stack after that. The owner returns
//! `Pending` only after registering the parent and then finding the stack
//! empty, so a later push finds it empty and wakes the registered parent; a
//! wake that skipped the read pushed before the write ended, so the owner's
//! take finds it. No step waits for another thread: a wake may come from any
//! thread, any number of times, after the owner is gone, or from a signal
//! handler that interrupted the owner or another wake (on the terms of
//! [`Select`'s waking](crate::Select#waking)).
//!
//! With `std`, a dropped set of at most `SPARE_MAX` branches is kept, quiet
//! (no parent, so `WRITING`; nothing queued), as the thread's spare for its
//! next select or join; its old wakers at worst cause a spurious poll of the
//! new owner's branch of that index.
#![allow(unsafe_code)]

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::mem::ManuallyDrop;
use core::ptr::NonNull;
use core::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use core::sync::atomic::{fence, AtomicU32, AtomicUsize};
use core::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

/// Node `state`: not queued; a wake queues it.
const IDLE: u32 = u32::MAX;
/// Node `state`: a wake claimed it and is pushing it.
const CLAIMED: u32 = u32::MAX - 1;
/// End of a list; `head` of an empty stack.
const NIL: u32 = u32::MAX - 2;

/// `lock`: the owner writes the parent waker.
const WRITING: usize = 1;
/// `lock`: one wake reads the parent waker (a count in the other bits).
const READER: usize = 2;

/// The shared part: the woken stack, the parent waker and the nodes.
struct Header {
    /// Owners: the `WakeSet` and every cloned branch waker.
    refs: AtomicUsize,
    /// Top of the woken stack (a node index), or `NIL`.
    head: AtomicU32,
    /// Who uses `parent` (see the module docs).
    lock: AtomicUsize,
    parent: UnsafeCell<Option<Waker>>,
    /// Boxed node segments: segment 0 holds `cap0` nodes (a power of two if
    /// the set grows), segment `k + 1` nodes `cap0 << k..cap0 << (k + 1)`.
    /// Only the owner touches the list (and the last `release`).
    segs: UnsafeCell<Vec<NonNull<[Node]>>>,
}

struct Node {
    header: NonNull<Header>,
    index: u32,
    /// `IDLE`, `CLAIMED`, or while queued the next node's index (or `NIL`).
    state: AtomicU32,
}
const _: () = assert!(core::mem::size_of::<Node>() <= 16);

/// A boxed segment of nodes `from..to` of `header`. Indices are `u32`, so a
/// node is 16 bytes (fewer cache misses in large sets).
#[inline]
fn segment(header: NonNull<Header>, from: usize, to: usize) -> NonNull<[Node]> {
    assert!(to <= NIL as usize, "pasts: more than 2^32 - 3 branches");
    let nodes: Box<[Node]> = (from as u32..to as u32)
        .map(|index| Node {
            header,
            index,
            state: AtomicU32::new(IDLE),
        })
        .collect();
    NonNull::from(Box::leak(nodes))
}

impl Header {
    /// A new set: one count (the caller's), `cap0` idle nodes.
    #[cold]
    #[inline]
    fn allocate(cap0: usize) -> NonNull<Self> {
        let header = NonNull::from(Box::leak(Box::new(Self {
            refs: AtomicUsize::new(1),
            head: AtomicU32::new(NIL),
            // No parent yet (see the module docs).
            lock: AtomicUsize::new(WRITING),
            parent: UnsafeCell::new(None),
            segs: UnsafeCell::new(Vec::new()),
        })));
        let first = segment(header, 0, cap0);
        // SAFETY: nobody else sees the new header yet.
        unsafe { (*header.as_ref().segs.get()).push(first) };
        header
    }

    /// Wake the parent task, if one is registered (see the module docs).
    #[inline]
    fn wake_parent(&self) {
        /// Leaves, also if the parent's wake panics.
        struct Leave<'a>(&'a AtomicUsize);
        impl Drop for Leave<'_> {
            #[inline]
            fn drop(&mut self) {
                self.0.fetch_sub(READER, Release);
            }
        }
        let before = self.lock.fetch_add(READER, AcqRel);
        let _leave = Leave(&self.lock);
        if before & WRITING == 0 {
            // SAFETY: a reader counted while nobody wrote: the owner does
            // not write `parent` until the count is back to zero.
            if let Some(parent) = unsafe { &*self.parent.get() } {
                parent.wake_by_ref();
            }
        }
    }

    /// Store `waker` as the parent (`None`: drop the stored one and keep
    /// holding `WRITING`), unless it is stored already. Owner only. `false`
    /// when a wake was reading the old one, which is then kept.
    #[inline]
    fn register(&self, waker: Option<&Waker>) -> bool {
        // SAFETY: only the owner writes `parent`: reading it races with
        // reads only.
        let had = match (unsafe { &*self.parent.get() }, waker) {
            (Some(old), Some(new)) if old.will_wake(new) => return true,
            (None, None) => return true,
            (old, _) => old.is_some(),
        };
        // Cloned first: user code, which could panic while a CAS below
        // holds WRITING (held already with no parent: that stays sound).
        let new = waker.cloned();
        // With no parent, the owner holds WRITING already.
        let write = || self.lock.compare_exchange(0, WRITING, Acquire, Relaxed);
        if had && write().is_err() {
            // A wake reads the old one: keep it, and poll again to retry.
            if let Some(waker) = waker {
                waker.wake_by_ref();
            }
            return false;
        }
        // SAFETY: WRITING with no reader: wakes that come now skip `parent`.
        let old = unsafe { core::mem::replace(&mut *self.parent.get(), new) };
        if waker.is_some() {
            self.lock.fetch_sub(WRITING, AcqRel);
        }
        // It may run any code: dropped after the write (or, with no new
        // parent, while WRITING stays held, which only makes wakes skip).
        drop(old);
        true
    }

    /// Give up one count; the last one frees the allocation.
    ///
    /// # Safety
    ///
    /// The caller owns a count of `this` and does not use it afterwards.
    #[inline]
    unsafe fn release(this: NonNull<Self>) {
        // SAFETY: the caller's count keeps the header alive until here.
        let refs = &unsafe { this.as_ref() }.refs;
        if refs.fetch_sub(1, Release) != 1 {
            return;
        }
        // Every other owner's last use happens before the free (as `Arc`).
        fence(Acquire);
        // SAFETY: that was the last count: nobody else can reach `this` or
        // its segments, all leaked boxes, freed once here.
        unsafe {
            let this = Box::from_raw(this.as_ptr());
            for seg in &*this.segs.get() {
                drop(Box::from_raw(seg.as_ptr()));
            }
        }
    }
}

impl Node {
    #[inline]
    fn header(&self) -> &Header {
        // SAFETY: a node lives in its header's allocation, which whoever
        // reaches the node keeps alive (it owns or borrows a count).
        unsafe { self.header.as_ref() }
    }

    /// Queue the node unless it is queued; `true` if the stack was empty
    /// (the caller then wakes the parent).
    #[inline]
    fn queue(&self) -> bool {
        let claim = self.state.compare_exchange(IDLE, CLAIMED, Acquire, Relaxed);
        if claim.is_err() {
            return false;
        }
        let head = &self.header().head;
        let mut top = head.load(Relaxed);
        loop {
            // Ours alone while CLAIMED: published by the Release below.
            self.state.store(top, Relaxed);
            match head.compare_exchange_weak(top, self.index, Release, Relaxed) {
                Ok(_) => return top == NIL,
                Err(now) => top = now,
            }
        }
    }

    #[inline]
    fn wake(&self) {
        if self.queue() {
            self.header().wake_parent();
        }
    }
}

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// # Safety
///
/// `data` is a node of a live allocation (a branch waker's data pointer).
#[inline]
unsafe fn clone(data: *const ()) -> RawWaker {
    // SAFETY: the waker being cloned keeps the allocation alive (contract).
    let header = unsafe { &*data.cast::<Node>() }.header();
    // Relaxed: a count is only taken from a live one (as `Arc::clone`).
    if header.refs.fetch_add(1, Relaxed) > isize::MAX as usize {
        // Too many clones (leaked on purpose): never freed, so still sound.
        panic!("pasts: too many waker clones");
    }
    RawWaker::new(data, &VTABLE)
}

/// # Safety
///
/// `data` is a node of a live allocation and this waker owns a count.
#[inline]
unsafe fn wake(data: *const ()) {
    // SAFETY: the consumed waker, rebuilt: it gives up its count when
    // dropped, also if the parent's wake panics.
    let _count = unsafe { Waker::from_raw(RawWaker::new(data, &VTABLE)) };
    // SAFETY: as the caller's.
    unsafe { wake_by_ref(data) };
}

/// # Safety
///
/// `data` is a node of an allocation kept alive for the call.
#[inline]
unsafe fn wake_by_ref(data: *const ()) {
    // SAFETY: per the contract.
    unsafe { &*data.cast::<Node>() }.wake();
}

/// # Safety
///
/// `data` is a node of a live allocation and this waker owns a count,
/// given up here.
#[inline]
unsafe fn drop_waker(data: *const ()) {
    // SAFETY: per the contract; `data` is not used afterwards.
    unsafe { Header::release((*data.cast::<Node>()).header) };
}

/// The owner's handle: lends branch wakers and serves woken branches.
pub(crate) struct WakeSet {
    header: NonNull<Header>,
    /// Segment 0 (a copy: the one most nodes are found in).
    first: NonNull<[Node]>,
    /// The sweep: the next branch to visit and how many are left.
    sweep: usize,
    sweep_left: usize,
    /// The taken batch: the next node to serve, or `NIL`.
    batch: u32,
}

// SAFETY: the allocation is shared through atomics and the lock protocol of
// the module docs; `Waker` is `Send + Sync`; the owner-only parts (`segs`,
// a taken batch's links) are used through `&mut self` only.
unsafe impl Send for WakeSet {}
// SAFETY: `&self` methods use atomics, or read the segment list that only
// `&mut self` writes.
unsafe impl Sync for WakeSet {}

/// Sets of at most this many branches are kept for reuse (`std`).
#[cfg(feature = "std")]
const SPARE_MAX: usize = 1024;

#[cfg(feature = "std")]
std::thread_local! {
    /// The thread's spare set (one count of it).
    static SPARE: Spare = const { Spare(core::cell::Cell::new(None)) };
}

#[cfg(feature = "std")]
struct Spare(core::cell::Cell<Option<NonNull<Header>>>);

#[cfg(feature = "std")]
impl Drop for Spare {
    #[inline]
    fn drop(&mut self) {
        if let Some(header) = self.0.take() {
            // SAFETY: the spare's count, given up once.
            unsafe { Header::release(header) };
        }
    }
}

impl WakeSet {
    /// The owner of `header`'s count. Its first polls visit branches
    /// `start..len` then `0..start`, woken or not (a new combinator's sweep).
    #[inline]
    fn from_header(header: NonNull<Header>, start: usize, len: usize) -> Self {
        // SAFETY: the new owner's; only owners touch the list.
        let first = unsafe { (&*header.as_ref().segs.get())[0] };
        Self {
            header,
            first,
            sweep: start,
            sweep_left: len,
            batch: NIL,
        }
    }

    /// A set for `len` branches that never grows (with `std`, the thread's
    /// spare if it has room), swept from `start`.
    #[inline(always)]
    pub(crate) fn new(len: usize, start: usize) -> Self {
        #[cfg(feature = "std")]
        if let Ok(Some(header)) = SPARE.try_with(|spare| spare.0.take()) {
            let spare = Self::from_header(header, start, len);
            if spare.cap() >= len {
                return spare;
            }
        }
        Self::from_header(Header::allocate(len), start, len)
    }

    /// A set for `len` branches, swept from 0, that can grow (`reserve`).
    #[inline]
    pub(crate) fn growable(len: usize) -> Self {
        Self::from_header(Header::allocate(len.max(4).next_power_of_two()), 0, len)
    }

    #[inline]
    fn header(&self) -> &Header {
        // SAFETY: `self` owns a count.
        unsafe { self.header.as_ref() }
    }

    #[inline]
    fn segs(&self) -> &[NonNull<[Node]>] {
        // SAFETY: only the owner touches the list (`&self` here, `&mut
        // self` in `reserve`); it always holds segment 0.
        unsafe { &*self.header().segs.get() }
    }

    /// The number of branches it has room for.
    #[inline]
    pub(crate) fn cap(&self) -> usize {
        self.segs()[0].len() << (self.segs().len() - 1)
    }

    /// Room for at least `cap` branches (a growable set): new segments,
    /// each doubling the room.
    #[inline]
    pub(crate) fn reserve(&mut self, cap: usize) {
        while self.cap() < cap {
            let seg = segment(self.header, self.cap(), 2 * self.cap());
            // SAFETY: only the owner (`&mut self`) touches the list.
            unsafe { (*self.header().segs.get()).push(seg) };
        }
    }

    /// Node `j` (`j < cap`).
    #[inline]
    fn node(&self, j: usize) -> &Node {
        let cap0 = self.first.len();
        let (base, at) = if j < cap0 {
            (self.first, j)
        } else {
            // In segment `k + 1` (see `Header::segs`).
            let k = (j >> cap0.trailing_zeros()).ilog2() as usize;
            (self.segs()[k + 1], j - (cap0 << k))
        };
        // SAFETY: `at` is inside that segment, which `self` keeps alive.
        unsafe { &*base.as_ptr().cast::<Node>().add(at) }
    }

    /// Queue branch `j` and wake the task that polls the set.
    #[inline]
    pub(crate) fn wake(&self, j: usize) {
        self.node(j).wake();
    }

    /// The next branch to visit: swept, or served from the taken batch.
    #[inline]
    fn next(&mut self, len: usize) -> Option<usize> {
        if self.sweep_left > 0 {
            self.sweep_left -= 1;
            let j = self.sweep;
            self.sweep = if j + 1 >= len { 0 } else { j + 1 };
            return Some(j);
        }
        if self.batch == NIL {
            return None;
        }
        let j = self.batch as usize;
        let node = self.node(j);
        let next = node.state.load(Relaxed);
        // Before the poll: a wake during it queues the node again.
        node.state.store(IDLE, Release);
        self.batch = next;
        Some(j)
    }

    /// Take the woken stack as the next batch; `false` if it is empty.
    #[inline]
    fn take(&mut self) -> bool {
        let head = &self.header().head;
        if head.load(Relaxed) != NIL {
            self.batch = head.swap(NIL, Acquire);
        }
        self.batch != NIL
    }

    /// Poll branch `j` again in the next batch (a winner that stays in
    /// place, so it registers again), not waking the task: it polls now.
    #[inline]
    pub(crate) fn again(&self, j: usize) {
        self.node(j).queue();
    }

    /// Visit the branches below `len` that need a poll (swept, or woken
    /// since their last poll), each with its own waker, until `visit`
    /// is ready or none is left. At most `len` visits per call, then the
    /// task is woken to come back (a branch that wakes itself on every
    /// poll must not keep the poll going).
    #[inline]
    pub(crate) fn poll_each<R>(
        &mut self,
        len: usize,
        cx: &mut Context<'_>,
        mut visit: impl FnMut(usize, &mut Context<'_>) -> Poll<R>,
    ) -> Poll<R> {
        let mut budget = len.max(1);
        // `false`: kept the old waker and woke the task to retry.
        let _ = self.header().register(Some(cx.waker()));
        loop {
            if budget == 0 && (self.sweep_left > 0 || self.batch != NIL) {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let Some(j) = self.next(len) else {
                if self.take() {
                    continue;
                }
                return Poll::Pending;
            };
            // A stale wake of a branch that is gone.
            if j >= len {
                continue;
            }
            budget -= 1;
            let raw = RawWaker::new((self.node(j) as *const Node).cast(), &VTABLE);
            // SAFETY: a node of the allocation `self` keeps alive for all of
            // `visit`, the only user of this waker; the vtable keeps the
            // `RawWaker` contract, and is `Send + Sync` (atomics). The waker
            // owns no count: never dropped, and `visit` gets only `&Waker`.
            let waker = ManuallyDrop::new(unsafe { Waker::from_raw(raw) });
            if let Poll::Ready(out) = visit(j, &mut Context::from_waker(&waker)) {
                return Poll::Ready(out);
            }
        }
    }
}

impl Drop for WakeSet {
    #[inline]
    fn drop(&mut self) {
        #[cfg(feature = "std")]
        // Kept as the spare only without its parent waker (a wake reading
        // it keeps it: then the set is released instead).
        if self.cap() <= SPARE_MAX && self.header().register(None) {
            // Quiet: nothing queued (a stale wake may still queue a node: a
            // spurious poll for the next owner).
            self.sweep_left = 0;
            while self.next(0).is_some() {}
            if self.take() {
                while self.next(0).is_some() {}
            }
            if let Ok(old) = SPARE.try_with(|spare| spare.0.replace(Some(self.header))) {
                // The spare it replaces, if any, is released.
                drop(Spare(core::cell::Cell::new(old)));
                return;
            }
        }
        // SAFETY: `self`'s count, given up once.
        unsafe { Header::release(self.header) };
    }
}

impl core::fmt::Debug for WakeSet {
    #[inline]
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WakeSet").field("cap", &self.cap()).finish()
    }
}
