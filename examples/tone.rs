//! Plays a 440 Hz sine for about a second on ALSA's `"default"` PCM, and
//! says so when there is no sound device or no libasound (exiting 0 then
//! too, so it can run anywhere).
//!
//! Run: `cargo run --example tone --features audio`

use pasts::linux::audio::{self, Config, Speakers};
use std::f32::consts::TAU;
use std::io;

const HZ: f32 = 440.0;
const SECONDS: u32 = 1;

async fn tone(speakers: &mut Speakers) -> io::Result<()> {
    let config = speakers.config();
    let rate = config.rate;
    let channels = usize::from(config.channels);
    let step = HZ * TAU / rate as f32;
    let mut phase = 0.0f32;
    let mut frames = 0;
    // The tone, then a tenth of a second of silence: dropping the speakers
    // discards what is still queued, so the silence is what gets cut.
    while frames < (SECONDS * rate + rate / 10) as usize {
        let mut sink = speakers.play().await?;
        for frame in sink.chunks_mut(channels) {
            let loud = if frames < (SECONDS * rate) as usize {
                0.2
            } else {
                0.0
            };
            frame.fill(loud * phase.sin());
            phase = (phase + step) % TAU;
            frames += 1;
        }
    }
    Ok(())
}

fn main() {
    if let Err(err) = audio::pcms() {
        println!("no libasound, so no sound: {err}");
        return;
    }
    let mut speakers = match Speakers::open("default", Config::default()) {
        Ok(speakers) => speakers,
        Err(err) => {
            println!("no sound device to play on: {err}");
            return;
        }
    };
    println!(
        "playing {HZ} Hz for {SECONDS} s on \"default\" ({:?})",
        speakers.config()
    );
    match pasts::block_on(tone(&mut speakers)) {
        Ok(()) => println!("done ({} xruns)", speakers.xruns()),
        Err(err) => println!("playback stopped: {err}"),
    }
}
