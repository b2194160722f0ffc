//! `spawn_blocking`: blocking calls (sleeps, file reads) on the pool, awaited
//! like any future. Run with `cargo run --example blocking`.

use pasts::prelude::*;
use std::time::{Duration, Instant};

fn main() {
    // The seed program: one blocking call, awaited on this thread.
    pasts::ThreadInterrupt::block_on(pasts::spawn_blocking(|| {
        std::thread::sleep(Duration::from_millis(100));
    }));
    println!("slept 100 ms on a pool thread");

    pasts::block_on(async {
        // Jobs that block side by side: the pool grows for them (a thread
        // per job once the queue stalls), so four 100 ms sleeps take about
        // 100 ms, not 400.
        let start = Instant::now();
        let squares = (1..=4u64)
            .map(|i| {
                pasts::spawn_blocking(move || {
                    std::thread::sleep(Duration::from_millis(100));
                    i * i
                })
            })
            .collect::<Vec<_>>()
            .join()
            .await;
        println!("{squares:?} from four sleeps in {:?}", start.elapsed());

        // A file read that does not block the executor's thread.
        match pasts::spawn_blocking(|| std::fs::read_to_string("Cargo.toml")).await {
            Ok(text) => println!("Cargo.toml has {} lines", text.lines().count()),
            Err(error) => println!("could not read Cargo.toml: {error}"),
        }
    });
}
