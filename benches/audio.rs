//! Criterion benches of `linux::audio` on ALSA's `null` PCM (no card, no
//! timing: always room): the library's own cost per sink (the whole
//! four-period buffer, 1,024 stereo frames at the defaults), conversion
//! included — await a `Sink`, fill it, convert and write it on drop.
//!
//! Device figures (CPU per second of audio on snd-dummy, wake-up latency,
//! the smallest period without xruns) are the `perf_*` tests in
//! `tests/audio.rs`, run in the guest by `scripts/vm-test`.

use criterion::{criterion_group, criterion_main, Criterion};
use pasts::linux::audio::{Config, Speakers};

fn sink_per_period(c: &mut Criterion) {
    let mut speakers = match Speakers::open("null", Config::default()) {
        Ok(speakers) => speakers,
        Err(err) => {
            println!("audio benches skipped: {err}");
            return;
        }
    };
    c.bench_function("audio_null_sink_1024_frames_stereo", |b| {
        b.iter(|| {
            pasts::block_on(async {
                let mut sink = speakers.play().await.unwrap();
                sink.fill(0.25);
            })
        })
    });
}

criterion_group!(benches, sink_per_period);
criterion_main!(benches);
