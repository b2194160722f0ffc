//! A tour of pasts: run `cargo run --example tour --all-features`.
//! Needs no device; every part prints what it shows.

use pasts::prelude::*;
use std::sync::mpsc;

/// A `static` interrupt drives `block_on` with no allocation: the shape an
/// embedded program has.
static INTERRUPT: pasts::ThreadInterrupt = pasts::ThreadInterrupt::new();

fn main() {
    // 1. Block on a future on this thread.
    let answer = pasts::block_on(async { 6 * 7 });
    println!("1. block_on: the answer is {answer}");

    // 2. A future woken from another thread.
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || tx.send("hello from a thread"));
    let message = INTERRUPT.block_on(async move { rx.recv() });
    println!("2. static interrupt: {message:?}");
    let _ = worker.join();
}
