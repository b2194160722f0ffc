//! The timer queue: an indexed 4-ary min-heap of deadlines over a slab of
//! slots. Pure data structure, no clock and no syscall, so Miri can run its
//! tests.
//!
//! A slot (its [`Key`]) is FREE or QUEUED:
//!
//! ```text
//!            insert
//!   FREE ------------> QUEUED --+ reschedule, set_waker
//!    ^                 |   ^    |
//!    |  remove, expire |   +----+
//!    +-----------------+
//! ```
//!
//! A QUEUED slot's `pos` is its index in the heap and it holds the waker to
//! call; a FREE slot's `pos` links the free list. `expire` frees the slots it
//! fires, so a timer's slot is gone once its deadline passed: whoever holds
//! a key must learn from elsewhere whether it is still theirs (the driver
//! keeps a generation per slot for that). Each heap entry copies its
//! deadline, so sifting reads only the heap.
//!
//! Why a heap and not a timing wheel: the driver needs the *exact* earliest
//! deadline to arm a single timerfd with sub-millisecond precision; a heap
//! gives it in O(1) and costs O(log n) per insert and removal, O(1) in the
//! common case of a timer armed and cancelled before anything earlier comes
//! (it sits at the bottom; `benches/timer.rs`). A wheel would either round
//! deadlines to its tick (tokio's: 1 ms) or need a sorted list per slot.
//! Four children per node measured faster than two or eight (the figures
//! are in the CHANGELOG).

use core::task::Waker;
use std::vec::Vec;

/// A timer's handle into the queue: the index of its slot.
pub(crate) type Key = usize;

/// Children per heap node: a shallower heap than a binary one (fewer cache
/// lines touched when sifting up, the insert path) at a few more comparisons
/// when sifting down.
const ARITY: usize = 4;

/// End of the free list.
const NIL: usize = usize::MAX;

/// One heap node: a deadline and the slot it belongs to.
#[derive(Clone, Copy, Debug)]
struct Entry {
    deadline: u64,
    key: Key,
}

#[derive(Debug)]
struct Slot {
    /// QUEUED: index in `heap`; FREE: next free slot.
    pos: usize,
    /// The waker to call at expiry (`None` when FREE).
    waker: Option<Waker>,
}

/// Deadlines (in any monotonic unit, here CLOCK_MONOTONIC nanoseconds) with
/// the wakers to call when they pass.
#[derive(Debug)]
pub(crate) struct Queue {
    heap: Vec<Entry>,
    slots: Vec<Slot>,
    free: usize,
}

impl Queue {
    /// An empty queue; allocates nothing.
    pub(crate) const fn new() -> Self {
        Self {
            heap: Vec::new(),
            slots: Vec::new(),
            free: NIL,
        }
    }

    /// The earliest queued deadline.
    #[inline]
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.heap.first().map(|e| e.deadline)
    }

    /// Queue `waker` to be woken at `deadline`; the key is the caller's until
    /// it passes it to [`remove`](Self::remove).
    pub(crate) fn insert(&mut self, deadline: u64, waker: &Waker) -> Key {
        let slot = Slot {
            pos: self.heap.len(),
            waker: Some(waker.clone()),
        };
        let key = if self.free == NIL {
            self.slots.push(slot);
            self.slots.len() - 1
        } else {
            let key = self.free;
            self.free = self.slots[key].pos;
            self.slots[key] = slot;
            key
        };
        self.heap.push(Entry { deadline, key });
        self.sift_up(self.heap.len() - 1);
        key
    }

    /// Replace the waker of a QUEUED slot (no clone if it would wake the same
    /// task); returns the replaced one, for the caller to drop.
    pub(crate) fn set_waker(&mut self, key: Key, waker: &Waker) -> Option<Waker> {
        match &mut self.slots[key].waker {
            Some(old) if old.will_wake(waker) => None,
            old => old.replace(waker.clone()),
        }
    }

    /// Give a QUEUED slot a new deadline, keeping its waker (an `Interval`
    /// moving to its next tick).
    pub(crate) fn reschedule(&mut self, key: Key, deadline: u64) {
        let pos = self.slots[key].pos;
        let old = core::mem::replace(&mut self.heap[pos].deadline, deadline);
        if deadline < old {
            self.sift_up(pos);
        } else {
            self.sift_down(pos);
        }
    }

    /// Free a QUEUED slot and return its waker, for the caller to drop (never
    /// to call). The slot is reused by a later `insert`.
    pub(crate) fn remove(&mut self, key: Key) -> Option<Waker> {
        self.unlink(self.slots[key].pos);
        self.free_slot(key)
    }

    /// Free up to `max` slots whose deadline is at or before `now`, earliest
    /// first, handing each key and waker to `fired`. Returns how many fired.
    pub(crate) fn expire(
        &mut self,
        now: u64,
        max: usize,
        mut fired: impl FnMut(Key, Option<Waker>),
    ) -> usize {
        let mut count = 0;
        while count < max {
            match self.heap.first() {
                Some(e) if e.deadline <= now => {}
                _ => break,
            }
            let key = self.heap[0].key;
            self.unlink(0);
            let waker = self.free_slot(key);
            fired(key, waker);
            count += 1;
        }
        count
    }

    /// Take the entry at heap index `pos` out of the heap.
    fn unlink(&mut self, pos: usize) {
        self.heap.swap_remove(pos);
        if let Some(moved) = self.heap.get(pos).copied() {
            self.slots[moved.key].pos = pos;
            // The former last entry may belong above or below `pos`.
            self.sift_up(pos);
            self.sift_down(self.slots[moved.key].pos);
        }
    }

    /// Put `key` on the free list; returns its waker.
    fn free_slot(&mut self, key: Key) -> Option<Waker> {
        let slot = core::mem::replace(
            &mut self.slots[key],
            Slot {
                pos: self.free,
                waker: None,
            },
        );
        self.free = key;
        slot.waker
    }

    /// Restore the heap order above `pos` (its deadline got earlier).
    fn sift_up(&mut self, mut pos: usize) {
        let entry = self.heap[pos];
        while pos > 0 {
            let parent = (pos - 1) / ARITY;
            if self.heap[parent].deadline <= entry.deadline {
                break;
            }
            self.place(pos, self.heap[parent]);
            pos = parent;
        }
        self.place(pos, entry);
    }

    /// Restore the heap order below `pos` (its deadline got later).
    fn sift_down(&mut self, mut pos: usize) {
        let entry = self.heap[pos];
        let len = self.heap.len();
        loop {
            let first = pos * ARITY + 1;
            if first >= len {
                break;
            }
            let mut min = first;
            for child in first + 1..(first + ARITY).min(len) {
                if self.heap[child].deadline < self.heap[min].deadline {
                    min = child;
                }
            }
            if entry.deadline <= self.heap[min].deadline {
                break;
            }
            self.place(pos, self.heap[min]);
            pos = min;
        }
        self.place(pos, entry);
    }

    /// Write `entry` at heap index `pos` and record the index in its slot.
    #[inline]
    fn place(&mut self, pos: usize, entry: Entry) {
        self.heap[pos] = entry;
        self.slots[entry.key].pos = pos;
    }
}

/// The first tick of a periodic schedule (`deadline`, `deadline + period`,
/// ...) that is strictly after `now`: where an interval goes after the tick
/// at `deadline` was delivered at `now`. Ticks that `now` already passed are
/// skipped and the phase is kept. Saturates at `u64::MAX` ("never").
pub(crate) fn next_tick(deadline: u64, period: u64, now: u64) -> u64 {
    let period = period.max(1);
    let missed = now.saturating_sub(deadline) / period;
    deadline.saturating_add(period.saturating_mul(missed.saturating_add(1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::task::Wake;

    /// Counts its wakes and appends its `id` to `log` at each.
    struct Counter {
        id: u64,
        wakes: AtomicUsize,
        log: Arc<Mutex<Vec<u64>>>,
    }

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.wakes.fetch_add(1, Ordering::Relaxed);
            self.log.lock().unwrap().push(self.id);
        }
    }

    fn logged(id: u64, log: &Arc<Mutex<Vec<u64>>>) -> (Arc<Counter>, Waker) {
        let c = Arc::new(Counter {
            id,
            wakes: AtomicUsize::new(0),
            log: Arc::clone(log),
        });
        (Arc::clone(&c), Waker::from(c))
    }

    fn counter(id: u64) -> (Arc<Counter>, Waker) {
        logged(id, &Arc::default())
    }

    /// `expire` into a vector of wakers.
    fn expire(q: &mut Queue, now: u64, max: usize, wakers: &mut Vec<Waker>) -> usize {
        q.expire(now, max, |_, w| wakers.extend(w))
    }

    /// Checks the heap order and that every slot knows its position.
    fn check(q: &Queue) {
        for (i, e) in q.heap.iter().enumerate() {
            assert_eq!(q.slots[e.key].pos, i);
            if i > 0 {
                assert!(q.heap[(i - 1) / ARITY].deadline <= e.deadline);
            }
        }
    }

    /// A small deterministic generator (xorshift).
    fn rng(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn expires_in_deadline_order() {
        let mut q = Queue::new();
        let mut seed = 0x9E37_79B9_7F4A_7C15;
        let n = if cfg!(miri) { 60 } else { 2000 };
        let log = Arc::default();
        let mut counters = Vec::new();
        for i in 0..n {
            // The id is the deadline, so the log must come out sorted.
            let deadline = rng(&mut seed) % 1000;
            let (c, w) = logged(deadline, &log);
            q.insert(deadline, &w);
            counters.push(c);
            if i % 7 == 0 {
                check(&q);
            }
        }
        check(&q);
        let mut wakers = Vec::new();
        let mut last = 0;
        for now in (0..1000).step_by(50) {
            expire(&mut q, now, usize::MAX, &mut wakers);
            check(&q);
            assert!(q.next_deadline().map_or(true, |d| d > now));
            wakers.drain(..).for_each(Waker::wake);
            for id in log.lock().unwrap().drain(..) {
                assert!(id <= now && id >= last, "{id} after {last}, at {now}");
                last = id;
            }
        }
        expire(&mut q, u64::MAX, usize::MAX, &mut wakers);
        wakers.drain(..).for_each(Waker::wake);
        assert!(counters
            .iter()
            .all(|c| c.wakes.load(Ordering::Relaxed) == 1));
        assert_eq!(q.next_deadline(), None);
    }

    #[test]
    fn removed_waker_is_never_returned() {
        let mut q = Queue::new();
        let (kept, kept_w) = counter(0);
        let (gone, gone_w) = counter(1);
        let a = q.insert(10, &kept_w);
        let b = q.insert(5, &gone_w);
        q.remove(b);
        check(&q);
        drop(gone_w);
        // The queue dropped its clone: only `gone` itself holds the Arc.
        assert_eq!(Arc::strong_count(&gone), 1);
        let mut wakers = Vec::new();
        assert_eq!(expire(&mut q, 100, usize::MAX, &mut wakers), 1);
        wakers.drain(..).for_each(Waker::wake);
        assert_eq!(kept.wakes.load(Ordering::Relaxed), 1);
        assert_eq!(gone.wakes.load(Ordering::Relaxed), 0);
        // The expired slot is free and the queue holds no clone any more.
        assert_eq!(Arc::strong_count(&kept), 2); // `kept` + `kept_w`
        assert_eq!(q.insert(1, &kept_w), a);
    }

    #[test]
    fn random_removals_keep_the_heap_valid() {
        let mut q = Queue::new();
        let (_, w) = counter(0);
        let mut seed = 0x2545_F491_4F6C_DD1D;
        let mut live: Vec<(Key, u64)> = Vec::new();
        let rounds = if cfg!(miri) { 300 } else { 20_000 };
        for _ in 0..rounds {
            let r = rng(&mut seed);
            if r % 3 == 0 && !live.is_empty() {
                let (key, _) = live.swap_remove((r / 3) as usize % live.len());
                q.remove(key);
            } else {
                let d = r % 500;
                live.push((q.insert(d, &w), d));
            }
        }
        check(&q);
        assert_eq!(q.heap.len(), live.len());
        // Slots are reused: never more slots than the peak of live timers.
        assert!(q.slots.len() <= rounds);
        let min = live.iter().map(|&(_, d)| d).min();
        assert_eq!(q.next_deadline(), min);
    }

    #[test]
    fn slots_are_reused() {
        let mut q = Queue::new();
        let (_, w) = counter(0);
        for i in 0..100 {
            let k = q.insert(i, &w);
            q.remove(k);
        }
        assert_eq!(q.slots.len(), 1);
    }

    #[test]
    fn set_waker_replaces_and_expire_frees() {
        let mut q = Queue::new();
        let (first, w1) = counter(0);
        let (second, w2) = counter(1);
        let k = q.insert(10, &w1);
        drop(q.set_waker(k, &w1)); // same task (`will_wake`): kept
        assert_eq!(Arc::strong_count(&first), 3);
        drop(q.set_waker(k, &w2));
        assert_eq!(Arc::strong_count(&first), 2); // the old clone was dropped
        let mut keys = Vec::new();
        q.expire(10, usize::MAX, |key, w| {
            keys.push(key);
            w.unwrap().wake();
        });
        assert_eq!(keys, [k]);
        assert_eq!(first.wakes.load(Ordering::Relaxed), 0);
        assert_eq!(second.wakes.load(Ordering::Relaxed), 1);
        // Expired slots are free again: the next insert reuses it.
        assert_eq!(q.insert(20, &w1), k);
    }

    #[test]
    fn reschedule_moves_both_ways() {
        let mut q = Queue::new();
        let (c, w) = counter(0);
        let keys: Vec<Key> = (0..50).map(|i| q.insert(100 + i, &w)).collect();
        q.reschedule(keys[0], 1000);
        check(&q);
        assert_eq!(q.next_deadline(), Some(101));
        q.reschedule(keys[49], 1);
        check(&q);
        assert_eq!(q.next_deadline(), Some(1));
        let mut wakers = Vec::new();
        assert_eq!(expire(&mut q, 1, usize::MAX, &mut wakers), 1);
        assert_eq!(expire(&mut q, 999, usize::MAX, &mut wakers), 48);
        assert_eq!(q.next_deadline(), Some(1000));
        assert_eq!(expire(&mut q, u64::MAX, 10, &mut wakers), 1);
        wakers.drain(..).for_each(Waker::wake);
        assert_eq!(c.wakes.load(Ordering::Relaxed), 50);
    }

    #[test]
    fn next_tick_keeps_phase_and_skips_missed() {
        // On time or early: the very next tick.
        assert_eq!(next_tick(100, 10, 100), 110);
        assert_eq!(next_tick(100, 10, 50), 110);
        // Late by less than a period: the next tick, no drift.
        assert_eq!(next_tick(100, 10, 109), 110);
        // Late by several periods: skip to the first tick after now.
        assert_eq!(next_tick(100, 10, 110), 120);
        assert_eq!(next_tick(100, 10, 135), 140);
        // Saturates instead of overflowing.
        assert_eq!(next_tick(u64::MAX - 5, 10, 0), u64::MAX);
        assert_eq!(next_tick(0, u64::MAX, u64::MAX), u64::MAX);
    }
}
