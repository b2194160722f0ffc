//! No branch starves: with two branches always ready, each wins about half
//! of the rounds, for every select form.
#![cfg(feature = "std")]

mod select_util;

use pasts::prelude::*;
use select_util::Board;

/// Rounds each test runs; each side must win at least a third of them.
/// (Starts are pseudo-random: 200 rounds keep a 1/3 floor safe.)
fn rounds() -> usize {
    if cfg!(miri) {
        200
    } else {
        1000
    }
}

fn assert_fair(wins: [usize; 2]) {
    let floor = rounds() / 3;
    assert!(
        wins[0] >= floor && wins[1] >= floor,
        "unfair split {wins:?}"
    );
}

#[test]
fn array_select_is_fair() {
    let board = Board::new(2);
    board.set_always(0);
    board.set_always(1);
    let mut wins = [0; 2];
    for _ in 0..rounds() {
        let (i, _) = pasts::block_on(board.children::<2>().select());
        wins[i] += 1;
    }
    assert_fair(wins);
}

#[test]
fn tuple_select_is_fair() {
    let board = Board::new(2);
    board.set_always(0);
    board.set_always(1);
    let mut wins = [0; 2];
    for _ in 0..rounds() {
        let (i, _) = pasts::block_on((board.child(0), board.child(1)).select());
        wins[i] += 1;
    }
    assert_fair(wins);
}

#[test]
fn slice_select_is_fair() {
    let board = Board::new(2);
    board.set_always(0);
    board.set_always(1);
    let mut children = board.children::<2>();
    let mut wins = [0; 2];
    for _ in 0..rounds() {
        let (i, _) = pasts::block_on(children.as_mut_slice().select());
        wins[i] += 1;
    }
    assert_fair(wins);
}

#[test]
fn selector_is_fair() {
    let board = Board::new(100);
    // Far apart: in different bitset words.
    board.set_always(3);
    board.set_always(97);
    let mut selector = pasts::Selector::new((0..100).map(|i| board.child(i)));
    let mut wins = [0; 2];
    pasts::block_on(async {
        for _ in 0..rounds() {
            let (i, _) = (&mut selector).await;
            wins[usize::from(i == 97)] += 1;
        }
    });
    assert_fair(wins);
}
