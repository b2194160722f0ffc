//! [`DynFut`]: `.fut()` boxes any future, so futures of different types fit
//! one array.

use alloc::boxed::Box;
use core::future::Future;
use core::pin::Pin;

/// Box a future as a pinned `dyn Future`, so futures of different types fit
/// one array, `Vec` or [`Selector`](crate::Selector). The box is `Unpin`, so
/// it also works with `(&mut [F]).select()`.
///
/// ```rust
/// use pasts::prelude::*;
///
/// # pasts::block_on(async {
/// // Two `async` blocks: two types.
/// let (i, value) = [async { 1 }.fut(), async { 2 }.fut()].select().await;
/// assert_eq!(value, i + 1);
/// # });
/// ```
pub trait DynFut: Future {
    /// Box this future as a pinned `dyn Future`.
    ///
    /// ```rust
    /// use pasts::prelude::*;
    ///
    /// let futures = vec![async { 1 }.fut(), core::future::ready(2).fut()];
    /// assert_eq!(pasts::block_on(futures.join()), [1, 2]);
    /// ```
    fn fut<'a>(self) -> Pin<Box<dyn Future<Output = Self::Output> + 'a>>
    where
        Self: Sized + 'a,
    {
        Box::pin(self)
    }

    /// Box this future as a pinned `dyn Future + Send`, to move it to
    /// another thread.
    ///
    /// ```rust
    /// use pasts::prelude::*;
    ///
    /// let fut = async { 6 * 7 }.fut_send();
    /// let answer = std::thread::spawn(move || pasts::block_on(fut)).join();
    /// assert_eq!(answer.unwrap(), 42);
    /// ```
    fn fut_send<'a>(self) -> Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>
    where
        Self: Sized + Send + 'a,
    {
        Box::pin(self)
    }
}

impl<F: Future + ?Sized> DynFut for F {}
