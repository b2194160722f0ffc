//! A persistent `Selector` over 1,024 sources polls O(1) sources per wake:
//! the woken one and the previous winner, not all of them.
#![cfg(feature = "std")]

mod common;
mod select_util;

use common::{poll, Counter};
use select_util::{next_below, size, Board};
use std::pin::Pin;
use std::task::Poll;

#[test]
fn selector_polls_per_wake_stay_constant() {
    let n = size(1024);
    let rounds = size(1000);
    let board = Board::new(n);
    let (parent, waker) = Counter::new();
    let mut selector = pasts::Selector::new((0..n).map(|i| board.child(i)));
    // The first poll visits every source: nothing was registered before.
    assert!(poll(Pin::new(&mut selector), &waker).is_pending());
    assert_eq!(board.total_polls(), n);
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..rounds {
        let i = next_below(&mut rng, n);
        let before = board.total_polls();
        let wakes = parent.wakes();
        assert!(board.fire(i), "source {i} registered no waker");
        assert_eq!(parent.wakes(), wakes + 1, "the wake must reach the parent");
        assert_eq!(poll(Pin::new(&mut selector), &waker), Poll::Ready((i, i)));
        // The woken source, plus the previous winner re-polled to register.
        let polls = board.total_polls() - before;
        assert!(polls <= 2, "{polls} source polls for one wake");
        assert!(poll(Pin::new(&mut selector), &waker).is_pending());
    }
    assert!(board.total_polls() <= n + 3 * rounds);
    assert_eq!(board.drops(), 0, "sources stay in place");
}
