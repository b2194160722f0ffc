//! The waker core (feature `alloc`): per-branch wakers for select, join,
//! [`Selector`](crate::Selector) and [`Tasks`](crate::Tasks).
//!
//! One allocation holds a header, one more the *nodes*, one per branch. The waker of
//! branch `j` points at node `j`, which holds `j` and a pointer to the
//! header. A combinator's [`WakeSet`] owns one count of the allocation and
//! each waker clone owns one more; the last count frees it, so a waker may
//! outlive its combinator (kept, sent to another thread, leaked) and stay
//! sound. Sets that grow add segments (allocations of their own that never
//! move, so node pointers stay valid), listed in the header and freed with it.
//!
//! **Woken stack.** `head` is a lock-free stack (Treiber) of woken nodes,
//! linked through their `state`. A node's `state` is:
//!
//! ```text
//!   IDLE --wake: CAS--> CLAIMED --push: CAS on head--> link (queued)
//!   link --owner takes the whole stack (swap), serves the node--> IDLE
//! ```
//!
//! A wake claims its node with one CAS (already claimed or queued: nothing
//! to do, the node will be served) and pushes it with a CAS loop on `head`.
//! Only the owner removes nodes, always the whole stack at once, so a push
//! never races with a pop (no ABA). The owner serves a taken batch node by
//! node: it reads the link, stores `IDLE`, then polls the branch, so a wake
//! during that poll queues the node again (for the next batch: fairness).
//! Nobody else writes a queued node's `state`, so those stores race with
//! nothing. The owner may also queue a node itself, as a batch of its own
//! (`again`: CAS `IDLE` to `NIL`, served before the next stack it takes).
//! A new combinator's first poll visits every branch (a *sweep*) without
//! touching their states.
//!
//! **Parent waker** (the task that polls the combinator). Only the owner
//! writes it, and only while no wake reads it; `lock` counts the wakes
//! reading it (`READER` each) and has `WRITING` set while the owner writes:
//!
//! ```text
//!   wake:  +READER; unless WRITING, wake the parent (by reference); -READER
//!   owner: 0 --CAS--> WRITING --store the waker, -WRITING--> 0
//!          (a reader in flight: the CAS fails; the owner keeps the old
//!          waker this time and wakes the new one, to be polled again)
//! ```
//!
//! A wake that pushes onto an empty stack wakes the parent; one that finds
//! the stack non-empty stops: the pusher of the bottom node wakes the
//! parent after its push, and the owner takes the stack after that. The
//! owner returns `Pending` only after registering the parent and then
//! finding the stack empty, so a later push finds it empty too and wakes
//! the registered parent. A wake that skips the read (the owner is
//! writing) pushed before the owner's write ended, so the owner's take that
//! follows finds its node. Every waker wakes the parent itself (none relies
//! on another that may be slow), and no step waits for another thread, so
//! a wake may come from any thread, any number of times, during a poll,
//! after the owner is gone, or from a signal handler that interrupted the
//! owner or another wake on the same thread: no wake after `Pending` is
//! lost.
//!
//! With `std`, a dropped set of at most `SPARE_MAX` branches is kept (one per
//! thread) for the next select or join on the thread: branches that kept
//! their wakers find the new ones equal (no clone). It drops its parent
//! waker and its queue first; its old wakers still point at it and at worst
//! cause a spurious poll of the new owner's branch with that index.
#![allow(unsafe_code)]

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::mem::ManuallyDrop;
use core::ops::ControlFlow;
use core::ptr::NonNull;
use core::sync::atomic::{fence, AtomicUsize, Ordering};
use core::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

/// Node `state`: not queued; a wake queues it.
const IDLE: usize = usize::MAX;
/// Node `state`: a wake claimed it and is pushing it.
const CLAIMED: usize = usize::MAX - 1;
/// End of a list; `head` of an empty stack.
const NIL: usize = usize::MAX - 2;

/// `lock`: the owner writes the parent waker.
const WRITING: usize = 1;
/// `lock`: one wake reads the parent waker (a count in the other bits).
const READER: usize = 2;

/// The shared part: the woken stack, the parent waker and the nodes.
struct Header {
    /// Owners: the `WakeSet` and every cloned branch waker.
    refs: AtomicUsize,
    /// Top of the woken stack (a node index), or `NIL`.
    head: AtomicUsize,
    /// Who uses `parent` (see the module docs).
    lock: AtomicUsize,
    parent: UnsafeCell<Option<Waker>>,
    /// Boxed node segments, never moved: segment 0 holds `cap0` nodes (a
    /// power of two if the set grows), segment `k > 0` holds `cap0 << (k -
    /// 1)`. Only the owner touches the list (and the last `release`).
    segs: UnsafeCell<Vec<NonNull<[Node]>>>,
}

struct Node {
    header: NonNull<Header>,
    index: usize,
    /// `IDLE`, `CLAIMED`, or the next node's index (`NIL`: last) while
    /// queued.
    state: AtomicUsize,
}

/// Segment and offset of node `j` in a set whose first segment holds
/// `cap0` nodes (see `Header::segs`).
#[inline]
pub(crate) fn locate(j: usize, cap0: usize) -> (usize, usize) {
    if j < cap0 {
        return (0, j);
    }
    let k = (j >> cap0.trailing_zeros()).ilog2() as usize;
    (k + 1, j - (cap0 << k))
}

/// A boxed segment of nodes `from..to` of `header`, never moved.
fn segment(header: NonNull<Header>, from: usize, to: usize) -> NonNull<[Node]> {
    let nodes: Box<[Node]> = (from..to)
        .map(|index| Node {
            header,
            index,
            state: AtomicUsize::new(IDLE),
        })
        .collect();
    NonNull::from(Box::leak(nodes))
}

impl Header {
    /// A new set: one count (the caller's), `cap0` idle nodes.
    #[cold]
    fn allocate(cap0: usize) -> NonNull<Self> {
        let header = NonNull::from(Box::leak(Box::new(Self {
            refs: AtomicUsize::new(1),
            head: AtomicUsize::new(NIL),
            lock: AtomicUsize::new(0),
            parent: UnsafeCell::new(None),
            segs: UnsafeCell::new(Vec::new()),
        })));
        let first = segment(header, 0, cap0);
        // SAFETY: nobody else sees the new header yet.
        unsafe { (*header.as_ref().segs.get()).push(first) };
        header
    }

    /// Wake the parent task, if one is registered (see the module docs).
    fn wake_parent(&self) {
        /// Leaves, also if the parent's wake panics.
        struct Leave<'a>(&'a AtomicUsize);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(READER, Ordering::Release);
            }
        }
        let before = self.lock.fetch_add(READER, Ordering::AcqRel);
        let _leave = Leave(&self.lock);
        if before & WRITING == 0 {
            // SAFETY: a reader counted while nobody wrote: the owner does
            // not write `parent` until the count is back to zero.
            if let Some(parent) = unsafe { &*self.parent.get() } {
                parent.wake_by_ref();
            }
        }
    }

    /// Store `waker` as the parent (`None`: drop the stored one), unless it
    /// is stored already. Owner only.
    fn register(&self, waker: Option<&Waker>) {
        // SAFETY: only the owner writes `parent`: reading it races with
        // reads only.
        match (unsafe { &*self.parent.get() }, waker) {
            (Some(old), Some(new)) if old.will_wake(new) => return,
            (None, None) => return,
            _ => {}
        }
        // Cloned first: user code, which must not run while WRITING.
        let new = waker.cloned();
        let write = self
            .lock
            .compare_exchange(0, WRITING, Ordering::Acquire, Ordering::Relaxed);
        if write.is_err() {
            // A wake reads the old one: keep it, and poll again to retry.
            if let Some(waker) = waker {
                waker.wake_by_ref();
            }
            return;
        }
        // SAFETY: WRITING with no reader: wakes that come now skip `parent`.
        let old = unsafe { core::mem::replace(&mut *self.parent.get(), new) };
        self.lock.fetch_sub(WRITING, Ordering::AcqRel);
        // Dropped with no lock held: it may run any code.
        drop(old);
    }

    /// Give up one count; the last one frees the allocation.
    ///
    /// # Safety
    ///
    /// The caller owns a count of `this` and does not use it afterwards.
    unsafe fn release(this: NonNull<Self>) {
        // SAFETY: the caller's count keeps the header alive until here.
        if unsafe { this.as_ref() }
            .refs
            .fetch_sub(1, Ordering::Release)
            != 1
        {
            return;
        }
        // Every other owner's last use happens before the free (as `Arc`).
        fence(Ordering::Acquire);
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
    fn header(&self) -> &Header {
        // SAFETY: a node lives in its header's allocation, which whoever
        // reaches the node keeps alive (it owns or borrows a count).
        unsafe { self.header.as_ref() }
    }

    /// Queue the node unless it is queued; `true` if the stack was empty
    /// (the caller then wakes the parent).
    fn queue(&self) -> bool {
        let claim =
            self.state
                .compare_exchange(IDLE, CLAIMED, Ordering::Acquire, Ordering::Relaxed);
        if claim.is_err() {
            return false;
        }
        let head = &self.header().head;
        let mut top = head.load(Ordering::Relaxed);
        loop {
            // Ours alone while CLAIMED: published by the Release below.
            self.state.store(top, Ordering::Relaxed);
            match head.compare_exchange_weak(top, self.index, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return top == NIL,
                Err(now) => top = now,
            }
        }
    }

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
unsafe fn clone(data: *const ()) -> RawWaker {
    // SAFETY: the waker being cloned keeps the allocation alive (contract).
    let header = unsafe { &*data.cast::<Node>() }.header();
    // Relaxed: a count is only taken from a live one (as `Arc::clone`).
    if header.refs.fetch_add(1, Ordering::Relaxed) > isize::MAX as usize {
        // Too many clones (leaked on purpose): never freed, so still sound.
        panic!("pasts: too many waker clones");
    }
    RawWaker::new(data, &VTABLE)
}

/// # Safety
///
/// `data` is a node of a live allocation and this waker owns a count.
unsafe fn wake(data: *const ()) {
    /// Gives up the count even if the parent's wake panics.
    struct Release(*const ());
    impl Drop for Release {
        fn drop(&mut self) {
            // SAFETY: the consumed waker's count, given up once.
            unsafe { drop_waker(self.0) };
        }
    }
    let _release = Release(data);
    // SAFETY: as the caller's.
    unsafe { wake_by_ref(data) };
}

/// # Safety
///
/// `data` is a node of an allocation kept alive for the call.
unsafe fn wake_by_ref(data: *const ()) {
    // SAFETY: per the contract.
    unsafe { &*data.cast::<Node>() }.wake();
}

/// # Safety
///
/// `data` is a node of a live allocation and this waker owns a count,
/// given up here.
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
    batch: usize,
    /// A branch to serve before the next batch taken (`NIL`: none).
    again: usize,
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
    fn drop(&mut self) {
        if let Some(header) = self.0.take() {
            // SAFETY: the spare's count, given up once.
            unsafe { Header::release(header) };
        }
    }
}

impl WakeSet {
    fn from_header(header: NonNull<Header>) -> Self {
        // SAFETY: the new owner's; only owners touch the list.
        let first = unsafe { (&*header.as_ref().segs.get())[0] };
        Self {
            header,
            first,
            sweep: 0,
            sweep_left: 0,
            batch: NIL,
            again: NIL,
        }
    }

    /// A set for `cap` branches that never grows; with `std`, the thread's
    /// spare if it has room.
    pub(crate) fn new(cap: usize) -> Self {
        #[cfg(feature = "std")]
        if let Ok(Some(header)) = SPARE.try_with(|spare| spare.0.take()) {
            let spare = Self::from_header(header);
            if spare.cap() >= cap {
                return spare;
            }
        }
        Self::from_header(Header::allocate(cap))
    }

    /// A set with room for `cap` branches that can grow (`reserve`).
    pub(crate) fn growable(cap: usize) -> Self {
        Self::from_header(Header::allocate(cap.max(4).next_power_of_two()))
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
    pub(crate) fn cap(&self) -> usize {
        self.segs()[0].len() << (self.segs().len() - 1)
    }

    /// Room for at least `cap` branches (a growable set): new segments,
    /// each doubling the room.
    pub(crate) fn reserve(&mut self, cap: usize) {
        while self.cap() < cap {
            let seg = segment(self.header, self.cap(), 2 * self.cap());
            // SAFETY: only the owner (`&mut self`) touches the list.
            unsafe { (*self.header().segs.get()).push(seg) };
        }
    }

    /// Node `j` (`j < cap`).
    #[inline]
    fn node(&self, j: usize) -> NonNull<Node> {
        let (seg, at) = locate(j, self.first.len());
        let base = match seg {
            0 => self.first,
            _ => self.segs()[seg],
        };
        let base = base.as_ptr().cast::<Node>();
        // SAFETY: `at` is inside that segment (`locate`), so not null.
        unsafe { NonNull::new_unchecked(base.add(at)) }
    }

    #[inline]
    fn node_ref(&self, j: usize) -> &Node {
        // SAFETY: a node of the allocation `self` keeps alive.
        unsafe { self.node(j).as_ref() }
    }

    /// Visit branches `start..len` then `0..start` on the next polls (all
    /// of them, whether woken or not): a new combinator's first round.
    #[inline]
    pub(crate) fn sweep(&mut self, start: usize, len: usize) {
        self.sweep = start;
        self.sweep_left = len;
    }

    /// Queue branch `j` and wake the task that polls the set.
    #[inline]
    pub(crate) fn wake(&self, j: usize) {
        self.node_ref(j).wake();
    }

    /// Lend `f` the waker of branch `j` (`j < cap`), without a count.
    #[inline]
    fn with_waker<R>(&self, j: usize, f: impl FnOnce(&Waker) -> R) -> R {
        let raw = RawWaker::new(self.node(j).as_ptr().cast_const().cast(), &VTABLE);
        // SAFETY: a node of the allocation `self` keeps alive for all of
        // `f`, the only user of the lent waker; the vtable keeps the
        // `RawWaker` contract, and is `Send + Sync` (atomics). The lent
        // waker owns no count: never dropped, and `f` gets only `&Waker`.
        let waker = ManuallyDrop::new(unsafe { Waker::from_raw(raw) });
        f(&waker)
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
        let j = self.batch;
        let node = self.node_ref(j);
        let next = node.state.load(Ordering::Relaxed);
        // Before the poll: a wake during it queues the node again.
        node.state.store(IDLE, Ordering::Release);
        self.batch = next;
        Some(j)
    }

    /// Take the woken stack as the next batch, behind the branch kept by
    /// `again`; `false` if there is nothing.
    #[inline]
    fn take(&mut self) -> bool {
        let head = &self.header().head;
        let mut top = NIL;
        if head.load(Ordering::Relaxed) != NIL {
            top = head.swap(NIL, Ordering::Acquire);
        }
        if self.again != NIL {
            // Queued by `again`: only the owner writes its link.
            self.node_ref(self.again)
                .state
                .store(top, Ordering::Relaxed);
            top = core::mem::replace(&mut self.again, NIL);
        }
        self.batch = top;
        top != NIL
    }

    /// Poll branch `j` again in the next batch (a winner that stays in
    /// place, so it registers again), not waking the task: it polls now.
    #[inline]
    pub(crate) fn again(&mut self, j: usize) {
        if self.again != NIL {
            self.node_ref(j).queue();
            return;
        }
        let node = self.node_ref(j);
        // Claimed as a batch of one (the owner's): no shared push needed.
        let claim = node
            .state
            .compare_exchange(IDLE, NIL, Ordering::Relaxed, Ordering::Relaxed);
        if claim.is_ok() {
            self.again = j;
        }
    }

    /// Visit the branches below `len` that need a poll (swept, or woken
    /// since their last poll), each with its own waker, until `visit`
    /// breaks or none is left. At most `len` visits per call, then the
    /// task is woken to come back (a branch that wakes itself on every
    /// poll must not keep the poll going).
    #[inline]
    pub(crate) fn poll_each<R>(
        &mut self,
        len: usize,
        cx: &mut Context<'_>,
        mut visit: impl FnMut(usize, &mut Context<'_>) -> ControlFlow<R>,
    ) -> Poll<R> {
        let mut budget = len.max(1);
        let mut registered = false;
        loop {
            if budget == 0 && (self.sweep_left > 0 || self.batch != NIL) {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let Some(j) = self.next(len) else {
                if !registered {
                    self.header().register(Some(cx.waker()));
                    registered = true;
                }
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
            let flow = self.with_waker(j, |waker| visit(j, &mut Context::from_waker(waker)));
            if let ControlFlow::Break(out) = flow {
                return Poll::Ready(out);
            }
        }
    }
}

impl Drop for WakeSet {
    fn drop(&mut self) {
        #[cfg(feature = "std")]
        if self.cap() <= SPARE_MAX {
            // Quiet first: no parent, nothing queued (a stale wake may still
            // queue a node: a spurious poll for the next owner).
            self.header().register(None);
            self.sweep_left = 0;
            while self.next(0).is_some() {}
            if self.take() {
                while self.next(0).is_some() {}
            }
            let header = self.header;
            if let Ok(old) = SPARE.try_with(|spare| spare.0.replace(Some(header))) {
                if let Some(old) = old {
                    // SAFETY: the count the spare held, given up once.
                    unsafe { Header::release(old) };
                }
                return;
            }
        }
        // SAFETY: `self`'s count, given up once.
        unsafe { Header::release(self.header) };
    }
}

impl core::fmt::Debug for WakeSet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WakeSet").field("cap", &self.cap()).finish()
    }
}
