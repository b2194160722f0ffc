//! [`Tasks`]: a growing set of one-shot futures, in `Pinned` chunks.

use alloc::vec::Vec;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use crate::pinned::Pinned;
use crate::wake_set::WakeSet;

/// A set of one-shot futures that grows as work starts: what
/// `FuturesUnordered` or a `JoinSet` is, without spawning.
///
/// Each await (through `&mut`) gives the output of one finished future and
/// drops that future; a wake costs O(1) however many the set holds
/// ([waking](crate::Select#waking)). An empty set is pending. A future whose
/// poll panics is dropped before the panic goes on; the set stays usable.
///
/// ```rust
/// async fn square(x: u32) -> u32 {
///     x * x
/// }
///
/// let mut tasks: pasts::Tasks<_> = (1..=3).map(square).collect();
/// let mut sum = 0;
/// pasts::block_on(async {
///     while !tasks.is_empty() {
///         sum += (&mut tasks).await;
///     }
/// });
/// assert_eq!(sum, 1 + 4 + 9);
/// ```
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct Tasks<F> {
    /// Chunks of `CHUNK` slots; a slot's index is its waker's.
    slots: Vec<Pinned<Option<F>>>,
    /// Slots below `used` that are empty.
    free: Vec<usize>,
    /// Slots ever used: `used - free.len()` hold a future.
    used: usize,
    set: WakeSet,
}

impl<F: Future> Tasks<F> {
    /// An empty set.
    ///
    /// ```rust
    /// let tasks = pasts::Tasks::<core::future::Ready<()>>::new();
    /// assert!(tasks.is_empty());
    /// ```
    pub fn new() -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            used: 0,
            set: WakeSet::growable(0),
        }
    }

    /// Add a future, polled by the next await (this wakes the task that
    /// awaits the set).
    ///
    /// ```rust
    /// let mut tasks = pasts::Tasks::new();
    /// tasks.push(async { "done" });
    /// assert_eq!(pasts::block_on(&mut tasks), "done");
    /// ```
    pub fn push(&mut self, future: F) {
        let j = self.free.pop().unwrap_or_else(|| {
            let j = self.used;
            if j == self.slots.len() * CHUNK {
                self.slots
                    .push(Pinned::new((0..CHUNK).map(|_| None).collect()));
                self.set.reserve(j + CHUNK);
            }
            self.used += 1;
            j
        });
        slot(&mut self.slots, j).set(Some(future));
        self.set.wake(j);
    }
}

/// Slots per chunk.
const CHUNK: usize = 64;

/// Slot `j` of `slots`.
fn slot<F>(slots: &mut [Pinned<Option<F>>], j: usize) -> Pin<&mut Option<F>> {
    slots[j / CHUNK].get(j % CHUNK)
}

impl<F> Tasks<F> {
    /// The number of futures in the set.
    ///
    /// ```rust
    /// let tasks: pasts::Tasks<_> = [async { 1 }].into_iter().collect();
    /// assert_eq!(tasks.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.used - self.free.len()
    }

    /// `true` if the set holds no future.
    ///
    /// ```rust
    /// assert!(pasts::Tasks::<core::future::Ready<()>>::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Frees slot `j` and drops its future after a `Ready` or a panic in `poll`,
/// counted first (a destructor that panics leaves the set whole).
struct Finish<'a, F> {
    slot: Pin<&'a mut Option<F>>,
    free: &'a mut Vec<usize>,
    j: usize,
}

impl<F> Drop for Finish<'_, F> {
    fn drop(&mut self) {
        self.free.push(self.j);
        // In place; should the drop panic, the slot is `None` all the same.
        self.slot.set(None);
    }
}

impl<F: Future> Future for Tasks<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        let (slots, free) = (&mut this.slots, &mut this.free);
        this.set.poll_each(this.used, cx, |j, cx| {
            let slot = slot(slots, j);
            let mut finish = Finish { slot, free, j };
            // `as_pin_mut`, not `is_some` (a shared borrow of a running
            // `async fn` would clash with the borrows it holds of itself).
            if let Some(future) = finish.slot.as_mut().as_pin_mut() {
                if let Poll::Ready(output) = future.poll(cx) {
                    return Poll::Ready(output);
                }
            }
            // Still running, or a stale wake of a finished future.
            core::mem::forget(finish);
            Poll::Pending
        })
    }
}

impl<F: Future> Default for Tasks<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: Future> FromIterator<F> for Tasks<F> {
    fn from_iter<I: IntoIterator<Item = F>>(futures: I) -> Self {
        let mut tasks = Self::new();
        futures.into_iter().for_each(|future| tasks.push(future));
        tasks
    }
}

impl<F> fmt::Debug for Tasks<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tasks")
            .field("len", &self.len())
            .field("set", &self.set)
            .finish()
    }
}
