//! [`Selector`]: a select that lives across rounds, for event loops.

use alloc::vec::Vec;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{ready, Context, Poll};

use crate::wake_set::WakeSet;

/// The event-loop select: long-lived sources, awaited again and again, each
/// wake costing O(1) however many sources there are.
///
/// A `Selector` is a future of `(index, output)`, awaited through `&mut` in a
/// loop; a source stays in place after it fires (a device, an interval). It
/// keeps each source's waker across rounds, so a round polls only the sources
/// woken since their last poll ([waking](crate::Select#waking)), plus the
/// previous winner (so it registers again); the sources woken together are
/// all polled before any of them again. An empty selector is pending. After
/// `Ready`, poll it again for the next event: a wake is owed only after
/// `Pending`.
///
/// ```rust
/// use core::future::poll_fn;
/// use core::task::Poll;
///
/// // Re-pollable sources (devices, intervals): here, always ready.
/// let source = || poll_fn(|_| Poll::Ready(()));
/// let mut selector = pasts::Selector::new([source(), source()]);
/// let mut fired = [0; 2];
/// pasts::block_on(async {
///     for _ in 0..4 {
///         let (i, ()) = (&mut selector).await;
///         fired[i] += 1;
///     }
/// });
/// assert_eq!(fired, [2, 2]); // fair: neither source starves
/// ```
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct Selector<F> {
    sources: Vec<F>,
    set: WakeSet,
}

impl<F: Future + Unpin> Selector<F> {
    /// A selector over `sources`: a `Vec`, an array, or any iterator (also
    /// by `collect()`).
    ///
    /// ```rust
    /// let selector = pasts::Selector::new(vec![core::future::ready(1)]);
    /// assert_eq!(selector.len(), 1);
    /// ```
    pub fn new(sources: impl IntoIterator<Item = F>) -> Self {
        let sources: Vec<F> = sources.into_iter().collect();
        let set = WakeSet::growable(sources.len());
        Self { sources, set }
    }

    /// Add a source, polled on the next round (this wakes the task that
    /// awaits the selector); returns its index.
    ///
    /// ```rust
    /// use pasts::prelude::*;
    ///
    /// let mut selector = pasts::Selector::new([]);
    /// assert_eq!(selector.push(async { 5 }.fut()), 0);
    /// assert_eq!(pasts::block_on(&mut selector), (0, 5));
    /// ```
    pub fn push(&mut self, source: F) -> usize {
        let i = self.sources.len();
        self.sources.push(source);
        self.set.reserve(i + 1);
        self.set.wake(i);
        i
    }

    /// Put `source` at index `i`, polled on the next round, and drop the
    /// source it replaces (to keep it: `core::mem::replace` on
    /// [`get_mut`](Self::get_mut)). Panics if `i` is out of bounds.
    ///
    /// ```rust
    /// use core::future::{pending, ready};
    /// use pasts::prelude::*;
    ///
    /// let mut selector = pasts::Selector::new([pending().fut()]);
    /// selector.replace(0, ready('x').fut());
    /// assert_eq!(pasts::block_on(&mut selector), (0, 'x'));
    /// ```
    pub fn replace(&mut self, i: usize, source: F) {
        let slot = &mut self.sources[i];
        self.set.wake(i);
        *slot = source;
    }

    /// Remove and drop the source at `i`: the last source takes its index
    /// (as `Vec::swap_remove`) and is polled on the next round. O(1). Panics
    /// if `i` is out of bounds.
    ///
    /// ```rust
    /// use core::future::{pending, ready};
    /// use pasts::prelude::*;
    ///
    /// let mut selector = pasts::Selector::new([pending().fut(), ready(3).fut()]);
    /// selector.remove(0);
    /// assert_eq!(pasts::block_on(&mut selector), (0, 3));
    /// ```
    pub fn remove(&mut self, i: usize) {
        let old = self.sources.swap_remove(i);
        if i < self.sources.len() {
            self.set.wake(i);
        }
        drop(old);
    }
}

impl<F> Selector<F> {
    /// The number of sources.
    ///
    /// ```rust
    /// let selector: pasts::Selector<_> = (0..3).map(core::future::ready).collect();
    /// assert_eq!(selector.len(), 3);
    /// ```
    pub fn len(&self) -> usize {
        self.sources.len()
    }

    /// `true` if there are no sources.
    ///
    /// ```rust
    /// let selector = pasts::Selector::<core::future::Ready<()>>::new([]);
    /// assert!(selector.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// The source at `i`, if any.
    ///
    /// ```rust
    /// let selector = pasts::Selector::new([core::future::ready(4)]);
    /// assert!(selector.get(0).is_some());
    /// assert!(selector.get(1).is_none());
    /// ```
    pub fn get(&self, i: usize) -> Option<&F> {
        self.sources.get(i)
    }

    /// The source at `i`, if any, to change; it is polled on the next round
    /// (a change may have made it ready).
    ///
    /// ```rust
    /// let mut selector = pasts::Selector::new([core::future::ready(4)]);
    /// assert!(selector.get_mut(0).is_some());
    /// ```
    pub fn get_mut(&mut self, i: usize) -> Option<&mut F> {
        let source = self.sources.get_mut(i)?;
        self.set.wake(i);
        Some(source)
    }

    /// All sources, in index order.
    ///
    /// ```rust
    /// let selector = pasts::Selector::new([core::future::ready(4)]);
    /// assert_eq!(selector.iter().count(), 1);
    /// ```
    pub fn iter(&self) -> core::slice::Iter<'_, F> {
        self.sources.iter()
    }
}

impl<F: Future + Unpin> Future for Selector<F> {
    type Output = (usize, F::Output);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let sources = &mut this.sources;
        let (i, output) = ready!(this.set.poll_each(sources.len(), cx, |i, cx| {
            Pin::new(&mut sources[i]).poll(cx).map(|output| (i, output))
        }));
        // The winner stays in place: poll it next round to re-register.
        this.set.again(i);
        Poll::Ready((i, output))
    }
}

impl<F: Future + Unpin> FromIterator<F> for Selector<F> {
    fn from_iter<I: IntoIterator<Item = F>>(sources: I) -> Self {
        Self::new(sources)
    }
}

impl<F> fmt::Debug for Selector<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Selector")
            .field("len", &self.sources.len())
            .field("set", &self.set)
            .finish()
    }
}
