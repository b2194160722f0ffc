//! How late a task on another executor is served by pasts' reactor while a
//! `pasts::block_on` thread alternates 1 ms waits and 50 ms CPU bursts
//! (during which that thread collects no events).
//!
//! Not a criterion bench: the figure is the distribution of lateness, from
//! the moment the event exists (a timer's deadline, a write to a socket) to
//! the moment the reactor wakes the waiting task. Prints p50, p99 and max of
//! 1,000 one-millisecond timers and of 1,000 socket writes 1 ms apart, each
//! awaited on a tokio-like executor (a run queue drained by a worker
//! thread), and the floor: a thread that sleeps to each deadline itself.
//! The workloads are the foreign-lateness tests' (`tests/exec`), with 1,000
//! rounds instead of 200.
//!
//! Run: `cargo bench -p pasts-benches --bench lateness`.

#[path = "../tests/exec/mod.rs"]
mod exec;

use exec::{beside_cpu_bursts, queue_block_on, readiness_lateness, timer_lateness};
use std::thread;
use std::time::{Duration, Instant};

const ROUNDS: usize = 1_000;

/// The floor: how late a thread that sleeps to each 1 ms deadline wakes.
fn sleeps() -> Vec<Duration> {
    (0..ROUNDS)
        .map(|_| {
            let deadline = Instant::now() + Duration::from_millis(1);
            thread::sleep(deadline - Instant::now());
            Instant::now().saturating_duration_since(deadline)
        })
        .collect()
}

fn report(what: &str, mut late: Vec<Duration>) {
    late.sort();
    let at = |q: usize| late[(late.len() - 1) * q / 100].as_micros();
    println!(
        "foreign lateness beside CPU bursts, {what}: p50 {} µs, p99 {} µs, max {} µs ({} samples)",
        at(50),
        at(99),
        at(100),
        late.len()
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing
    // of the kind: then only check that it runs.
    if !std::env::args().any(|arg| arg == "--bench") {
        return;
    }
    let timers = beside_cpu_bursts(|| queue_block_on(timer_lateness(ROUNDS)).0);
    report("1 ms timers", timers);
    report("1 ms thread::sleep (floor)", beside_cpu_bursts(sleeps));
    let readiness = beside_cpu_bursts(|| readiness_lateness(ROUNDS, |fut| queue_block_on(fut).0));
    report("socket readiness", readiness);
}
