//! Deadlines closer together than the driver's slack (25 µs) are waited for
//! by the `block_on` thread running passes back to back, without arming the
//! timerfd: every timer still fires, never early. Once deadlines are sparse
//! again the driver arms the timerfd and sleeps, so waiting costs no CPU.
#![cfg(feature = "linux")]

use pasts::linux::Timer;
use pasts::prelude::*;
use std::time::{Duration, Instant};

/// CPU time used by the whole process so far (all threads, user + system),
/// from `/proc/self/stat`, to the kernel's 10 ms tick (`USER_HZ` = 100).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // The command name, in parentheses, may hold spaces: count from after
    // it, where field 3 (`state`) comes first.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn dense_timers_are_never_early_and_sparse_ones_cost_no_cpu() {
    let cpu = cpu_time();
    let start = Instant::now();
    // 2,000 deadlines 5 µs apart, far enough ahead to register them all,
    // and one 300 ms after them: the pass that fires the last dense timer
    // must arm the timerfd for that one, not keep running passes.
    let base = start + Duration::from_millis(50);
    let lone = base + Duration::from_millis(300);
    let on_time = pasts::block_on(
        (0..2000u64)
            .map(|i| base + Duration::from_micros(5 * i))
            .chain([lone])
            .map(|at| async move {
                Timer::at(at).unwrap().await;
                Instant::now() >= at
            })
            .collect::<Vec<_>>()
            .join(),
    );
    let early = on_time.iter().filter(|&&ok| !ok).count();
    assert_eq!(early, 0, "timers ready before their deadline");
    // Nothing queued: the reactor thread, the dispatcher now, sleeps too.
    std::thread::sleep(Duration::from_millis(300));
    // Only making the timers and the 10 ms of dense deadlines cost CPU.
    let (used, wall) = (cpu_time() - cpu, start.elapsed());
    assert!(used < wall / 3, "{used:?} of CPU time in {wall:?}");
}
