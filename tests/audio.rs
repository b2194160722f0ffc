//! `pasts::linux::audio`: speakers and microphones over ALSA.
//!
//! On any machine with libasound (no card needed): 1 s of a known signal
//! through ALSA's `file` plugin, compared sample-exact after conversion;
//! capture from the plugin's `infile`; the `null` PCM; the documented
//! errors (unknown PCM, impossible rate or channels, no libasound), with
//! nothing on stderr (each test runs in a child process whose stderr is
//! checked); no allocation per period. In the device guest
//! (`scripts/vm-test`, snd-dummy and snd-aloop): pacing, a bit-exact
//! loopback round trip, xrun recovery, other executors, and the figures of
//! the performance report (printed by the `perf_*` tests).
#![cfg(feature = "audio")]

mod common;
mod support;

use common::{park_block_on, within};
use pasts::linux::audio::{self, Config, Microphone, Speakers};
use std::fs;
use std::future::Future;
use std::io::{self, ErrorKind};
use std::path::Path;
use std::pin::pin;
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};
use support::sound::{self, isolated, Stream};

const RATE: usize = 48_000;

// ---------------------------------------------------------------- helpers

/// The test signal, sample by interleaved sample: many distinct values in
/// [-1, 1], plus NaN and out-of-range values that must be clamped.
fn signal(i: usize) -> f32 {
    match i % 1000 {
        0 => f32::NAN,
        1 => 1.5,
        2 => -3.0,
        3 => 1.0,
        4 => -1.0,
        _ => ((i * 7919) % 20_001) as f32 / 10_000.0 - 1.0,
    }
}

/// What a device is given for `x`: clamped to [-1, 1], NaN as 0.
fn clamped(x: f32) -> f32 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(-1.0, 1.0)
    }
}

/// The documented S32 conversion: `round(x * 2147483647)`, in f64.
fn s32(x: f32) -> i32 {
    (f64::from(clamped(x)) * 2_147_483_647.0).round() as i32
}

/// Plays `total` samples of `wave` (then silence to the end of the last
/// sink); returns the sinks' lengths in frames.
async fn play(
    speakers: &mut Speakers,
    total: usize,
    wave: impl Fn(usize) -> f32,
) -> io::Result<Vec<usize>> {
    let channels = usize::from(speakers.config().channels);
    let mut sinks = Vec::new();
    let mut next = 0;
    while next < total {
        let mut sink = speakers.play().await?;
        assert_eq!(sink.len() % channels, 0, "whole frames");
        sinks.push(sink.len() / channels);
        let n = sink.len().min(total - next);
        for (k, sample) in sink[..n].iter_mut().enumerate() {
            *sample = wave(next + k);
        }
        next += n;
    }
    Ok(sinks)
}

/// Records at least `total` samples.
async fn record(mic: &mut Microphone, total: usize) -> io::Result<Vec<f32>> {
    let mut got = Vec::with_capacity(total);
    while got.len() < total {
        got.extend_from_slice(&mic.record().await?);
    }
    Ok(got)
}

fn chunks<const N: usize>(bytes: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
    bytes.chunks_exact(N).map(|c| c.try_into().unwrap())
}

/// A file-plugin PCM named `name` writing raw frames to `out`, over
/// `null`, optionally behind a `linear` plugin that makes the device take
/// only `format`.
fn file_pcm(name: &str, out: &Path, format: Option<&str>) -> String {
    let file = format!(
        "{{ type file slave.pcm {{ type null }} file \"{}\" format raw }}",
        out.display()
    );
    match format {
        None => format!("pcm.{name} {file}"),
        Some(format) => {
            format!("pcm.{name} {{ type linear slave {{ pcm {file} format {format} }} }}")
        }
    }
}

/// Plays 1 s of [`signal`] (stereo, 48 kHz) into a file through a file
/// PCM (see [`file_pcm`]); then, in the parent process, checks that the
/// file holds `want(i)` for each sample `i` as `decode` reads it, then
/// silence (`T::default()`) to the end.
fn check_file_plugin<const N: usize, T: PartialEq + Default + std::fmt::Debug>(
    test: &str,
    format: Option<&str>,
    decode: fn([u8; N]) -> T,
    want: impl Fn(usize) -> T,
) {
    let dir = sound::scratch(test);
    let out = dir.join("out.raw");
    let config = sound::alsa_config(&dir, &file_pcm("pasts_out", &out, format));
    let total = RATE * 2;
    let played = isolated(&[("ALSA_CONFIG_PATH", &config)], || {
        let mut speakers = Speakers::open("pasts_out", Config::default()).unwrap();
        pasts::block_on(play(&mut speakers, total, signal)).unwrap();
        assert_eq!(speakers.xruns(), 0);
    });
    if played.is_none() {
        return; // the child process
    }
    let bytes = fs::read(&out).unwrap();
    let got: Vec<T> = chunks::<N>(&bytes).map(decode).collect();
    assert!(got.len() >= total, "{} bytes", bytes.len());
    for (i, v) in got[..total].iter().enumerate() {
        assert_eq!(*v, want(i), "sample {i}");
    }
    assert!(
        got[total..].iter().all(|v| *v == T::default()),
        "silence after"
    );
}

// ---------------------------------------------------------------- host: data

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn file_plugin_float_is_sample_exact() {
    // The plain file plugin takes FLOAT_LE: the samples, clamped.
    let bits = |b| f32::from_le_bytes(b).to_bits();
    check_file_plugin("float", None, bits, |i| clamped(signal(i)).to_bits());
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn file_plugin_s32_is_sample_exact() {
    // `linear` to S32_LE refuses FLOAT; S32_LE is passed through as is.
    check_file_plugin("s32", Some("S32_LE"), i32::from_le_bytes, |i| {
        s32(signal(i))
    });
    assert_eq!((s32(1.0), s32(-1.0)), (i32::MAX, -i32::MAX));
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn file_plugin_s16_through_linear() {
    // `linear` to S16_LE takes S32 from us and keeps its high 16 bits
    // (ALSA's linear conversion): our S32, shifted.
    let want = |i| (s32(signal(i)) >> 16) as i16;
    check_file_plugin("s16", Some("S16_LE"), i16::from_le_bytes, want);
}

/// Records 1 s (stereo, 48 kHz) from a file PCM whose input file holds
/// `input`, optionally behind a `linear` plugin to `format`; checks that
/// sample `i` is `want(i)`.
fn check_infile(test: &str, input: Vec<u8>, format: Option<&str>, want: impl Fn(usize) -> f32) {
    let dir = sound::scratch(test);
    let path = dir.join("in.raw");
    fs::write(&path, input).unwrap();
    let file = format!(
        "{{ type file slave.pcm {{ type null }} file \"/dev/null\" infile \"{}\" format raw }}",
        path.display()
    );
    let pcm = match format {
        None => format!("pcm.pasts_in {file}"),
        Some(format) => {
            format!("pcm.pasts_in {{ type linear slave {{ pcm {file} format {format} }} }}")
        }
    };
    let config = sound::alsa_config(&dir, &pcm);
    isolated(&[("ALSA_CONFIG_PATH", &config)], || {
        let total = RATE * 2;
        let mut mic = Microphone::open("pasts_in", Config::default()).unwrap();
        let got = pasts::block_on(record(&mut mic, total)).unwrap();
        for (i, &x) in got[..total].iter().enumerate() {
            assert_eq!(x.to_bits(), want(i).to_bits(), "sample {i}");
        }
    });
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn capture_from_infile() {
    // FLOAT_LE frames in the input file come back as they are, clamped.
    let input = (0..RATE * 2)
        .flat_map(|i| signal(i).to_le_bytes())
        .collect();
    check_infile("infile", input, None, |i| clamped(signal(i)));
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn capture_s16_infile_through_linear() {
    // S16 frames widened by `linear` to S32 (v << 16), read as v / 2^31-1.
    let wave = |i: usize| ((i * 7919) % 65_536) as i16;
    let input = (0..RATE * 2).flat_map(|i| wave(i).to_le_bytes()).collect();
    check_infile("infile16", input, Some("S16_LE"), |i| {
        let wide = i32::from(wave(i)) << 16;
        ((f64::from(wide) / 2_147_483_647.0) as f32).clamp(-1.0, 1.0)
    });
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn null_plays_and_records_without_stalling() {
    isolated(&[], || {
        within(Duration::from_secs(20), || {
            let mut speakers = Speakers::open("null", Config::default()).unwrap();
            let sinks = pasts::block_on(play(&mut speakers, RATE * 2, |_| 0.5)).unwrap();
            assert!(sinks.iter().all(|&n| n >= 256), "{sinks:?}");
            let mut mic = Microphone::open("null", Config::default()).unwrap();
            let got = pasts::block_on(record(&mut mic, RATE * 2)).unwrap();
            assert!(got.iter().all(|&x| x == 0.0), "null records silence");
            assert_eq!((speakers.xruns(), mic.xruns()), (0, 0));
        });
    });
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn period_is_honoured_and_reported() {
    isolated(&[], || {
        for period in [64, 100, 1024] {
            let config = Config {
                period,
                channels: 1,
                rate: 44_100,
            };
            let mut speakers = Speakers::open("null", config).unwrap();
            assert_eq!(speakers.config(), config);
            let sink = pasts::block_on(speakers.play()).unwrap();
            // The whole (four-period) buffer at first: no stall at start.
            assert_eq!(sink.len(), period as usize * 4);
        }
    });
}

// ---------------------------------------------------------------- host: errors

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn unknown_pcm_is_an_error_naming_it() {
    isolated(&[], || {
        let err = Speakers::open("pasts_no_such_pcm", Config::default()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        assert!(err.to_string().contains("\"pasts_no_such_pcm\""), "{err}");
        let err = Microphone::open("pasts_no_such_pcm", Config::default()).unwrap_err();
        assert!(err.to_string().contains("\"pasts_no_such_pcm\""), "{err}");
        let err = Speakers::open("nul\0l", Config::default()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    });
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn impossible_rate_or_channels_name_what_is_supported() {
    let dir = sound::scratch("ranges");
    // `multi` over two null channels takes exactly two.
    let pcm = "pcm.pasts_two { type multi slaves.a { pcm \"null\" channels 2 } \
               bindings { 0 { slave a channel 0 } 1 { slave a channel 1 } } }";
    let config = sound::alsa_config(&dir, pcm);
    isolated(&[("ALSA_CONFIG_PATH", &config)], || {
        let rate = Config {
            rate: u32::MAX,
            ..Config::default()
        };
        let err = Speakers::open("null", rate).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        let text = err.to_string();
        assert!(
            text.contains("at 4294967295 Hz") && text.contains("supports 1 to"),
            "{text}"
        );
        assert!(text.contains("48000"), "lists usual rates: {text}");

        let three = Config {
            channels: 3,
            ..Config::default()
        };
        let err = Speakers::open("pasts_two", three).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert!(
            err.to_string().contains("3 channels: it supports 2 to 2"),
            "{err}"
        );
        Speakers::open("pasts_two", Config::default()).unwrap();

        let zero = Config {
            period: 0,
            ..Config::default()
        };
        let err = Microphone::open("null", zero).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    });
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn missing_libasound_is_not_found_naming_library_and_package() {
    let missing = "libasound-missing-for-pasts-test.so.2";
    isolated(&[("PASTS_LIBASOUND", missing)], || {
        let errors = [
            Speakers::open("null", Config::default()).unwrap_err(),
            Microphone::open("null", Config::default()).unwrap_err(),
            audio::pcms().unwrap_err(),
        ];
        for err in errors {
            assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
            let text = err.to_string();
            for part in [missing, "libasound2", "alsa-lib"] {
                assert!(text.contains(part), "{part:?} missing in: {text}");
            }
        }
    });
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn pcms_lists_null_both_ways() {
    isolated(&[], || {
        let pcms = audio::pcms().unwrap();
        let null = pcms
            .iter()
            .find(|p| p.name() == "null")
            .expect("null is listed");
        assert!(null.playback() && null.capture(), "{null:?}");
        assert!(!null.description().is_empty());
    });
}

#[test]
fn config_default_and_traits() {
    assert_eq!(
        Config::default(),
        Config {
            rate: 48_000,
            channels: 2,
            period: 256
        }
    );
    fn send_sync<T: Send + Sync + std::fmt::Debug>() {}
    fn send<T: Send + std::fmt::Debug>() {}
    send_sync::<Speakers>();
    send_sync::<Microphone>();
    send_sync::<audio::Pcm>();
    send::<audio::Play<'static>>();
    send::<audio::Record<'static>>();
    send::<audio::Sink<'static>>();
    send::<audio::Source<'static>>();
}

// ---------------------------------------------------------------- allocations

#[global_allocator]
static GLOBAL: support::counting::Counting = support::counting::Counting;

/// Rust allocations on this thread while playing `periods` sinks on `pcm`
/// after the first ten.
fn allocs_per_period(pcm: &str, periods: usize) -> u64 {
    let mut speakers = Speakers::open(pcm, Config::default()).unwrap();
    pasts::block_on(async {
        // Started, and waited at least once (the reactor's first wait).
        for _ in 0..10 {
            drop(speakers.play().await.unwrap());
        }
        let before = support::counting::allocs();
        for _ in 0..periods {
            speakers.play().await.unwrap().fill(0.1);
        }
        support::counting::allocs() - before
    })
}

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn no_allocation_per_period_on_null() {
    isolated(&[], || assert_eq!(allocs_per_period("null", 200), 0));
}

// ---------------------------------------------------------------- guest: cards

/// Taken by the tests that use the guest's cards: one at a time, so none
/// starves another of CPU (an xrun) or finds snd-dummy unplugged.
fn cards() -> MutexGuard<'static, ()> {
    static CARDS: Mutex<()> = Mutex::new(());
    CARDS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[test]
#[ignore = "needs devices: run by scripts/vm-test"]
fn dummy_card_has_playback_and_capture_nodes() {
    let _cards = cards();
    let card = sound::dummy().unwrap();
    assert_eq!(card.hw(0), "hw:Dummy,0");
    assert!(card.pcm_devices().unwrap().contains(&0));
    for stream in [Stream::Playback, Stream::Capture] {
        let node = card.node(0, stream);
        assert!(node.exists(), "{} missing", node.display());
    }
}

#[test]
#[ignore = "needs devices: run by scripts/vm-test"]
fn loopback_card_has_both_ends() {
    let card = sound::loopback().unwrap();
    assert_eq!(
        sound::loopback_pair(&card),
        ("hw:Loopback,0,0".into(), "hw:Loopback,1,0".into())
    );
    assert_eq!(card.pcm_devices().unwrap(), [0, 1]);
    for device in [0, 1] {
        for stream in [Stream::Playback, Stream::Capture] {
            let node = card.node(device, stream);
            assert!(node.exists(), "{} missing", node.display());
        }
    }
}

const CARDS: &str = " 0 [Dummy          ]: Dummy - Dummy
                      Dummy 1
 1 [Loopback       ]: Loopback - Loopback
                      Loopback 1
10 [PCH            ]: HDA-Intel - HDA Intel PCH
                      HDA Intel PCH at 0xf7f10000 irq 33
";

#[test]
fn cards_are_parsed_by_driver() {
    let cards = sound::parse_cards(CARDS);
    let summary: Vec<_> = cards
        .iter()
        .map(|c| (c.index, c.id.as_str(), c.driver.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (0, "Dummy", "Dummy"),
            (1, "Loopback", "Loopback"),
            (10, "PCH", "HDA-Intel")
        ]
    );
    assert_eq!(
        cards[1].node(1, Stream::Capture),
        std::path::Path::new("/dev/snd/pcmC1D1c")
    );
}

#[test]
fn pcm_devices_are_parsed_per_card() {
    let pcm = "00-00: Dummy PCM : Dummy PCM : playback 8 : capture 8
01-00: Loopback PCM : Loopback PCM : playback 8 : capture 8
01-01: Loopback PCM : Loopback PCM : playback 8 : capture 8
";
    assert_eq!(sound::pcm_devices(pcm, 0), [0]);
    assert_eq!(sound::pcm_devices(pcm, 1), [0, 1]);
    assert_eq!(sound::pcm_devices(pcm, 2), [] as [u32; 0]);
}

#[test]
#[ignore = "needs devices: run by scripts/vm-test"]
fn hw_pcms_open_through_libasound() {
    let _cards = cards();
    let dummy = sound::dummy().unwrap();
    let loopback = sound::loopback().unwrap();
    let (play, capture) = sound::loopback_pair(&loopback);
    for (name, stream) in [
        (dummy.hw(0), Stream::Playback),
        (dummy.hw(0), Stream::Capture),
        (play, Stream::Playback),
        (capture, Stream::Capture),
        // plughw: resolves through /usr/share/alsa/alsa.conf.
        (format!("plug{}", dummy.hw(0)), Stream::Playback),
    ] {
        sound::alsa_open(&name, stream).unwrap();
    }
}

#[test]
#[ignore = "needs devices: run by scripts/vm-test"]
fn unknown_card_fails_to_open() {
    let child = isolated(&[], || {
        let err = Speakers::open("hw:NoSuchCard,0", Config::default()).unwrap_err();
        assert!(err.to_string().contains("\"hw:NoSuchCard,0\""), "{err}");
    });
    if child.is_some() {
        // The helper's libasound prints (no handler): not in the child.
        let err = sound::alsa_open("hw:NoSuchCard,0", Stream::Playback).unwrap_err();
        assert!(err.contains("hw:NoSuchCard"), "{err}");
    }
}

// ---------------------------------------------------------------- guest: streams

#[test]
#[ignore = "needs devices: run by scripts/vm-test"]
fn dummy_paces_playback() {
    let _cards = cards();
    let name = sound::dummy().unwrap().hw(0);
    isolated(&[], || {
        let mut speakers = Speakers::open(&name, Config::default()).unwrap();
        let (start, cpu) = (Instant::now(), sound::process_cpu());
        pasts::block_on(play(&mut speakers, RATE * 2, |i| (i as f32 * 0.01).sin())).unwrap();
        let (wall, cpu) = (start.elapsed(), sound::process_cpu() - cpu);
        // 1 s of audio, less the buffer queued at once (four periods).
        assert!(wall >= Duration::from_millis(900), "not paced: {wall:?}");
        assert!(wall < Duration::from_secs(10), "too slow: {wall:?}");
        // The process sleeps between periods (a bound for a spin, not a
        // speed claim).
        assert!(cpu < wall / 2, "busy: {cpu:?} of CPU in {wall:?}");
    });
}

#[test]
#[ignore = "needs devices: run by scripts/vm-test"]
fn dummy_refuses_rates_it_cannot_do() {
    let _cards = cards();
    let name = sound::dummy().unwrap().hw(0);
    isolated(&[], || {
        let config = Config {
            rate: 192_000,
            ..Config::default()
        };
        let err = Speakers::open(&name, config).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        let text = err.to_string();
        assert!(
            text.contains("192000 Hz") && text.contains("to 48000 Hz"),
            "{text}"
        );
        let err = Speakers::open(
            &name,
            Config {
                channels: 8,
                ..Config::default()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("it supports 1 to 2"), "{err}");
    });
}

#[test]
#[ignore = "needs devices: run by scripts/vm-test"]
fn loopback_round_trip_is_bit_exact() {
    let _cards = cards();
    let card = sound::loopback().unwrap();
    let dir = sound::scratch("loop");
    let pcms = format!(
        "pcm.pasts_loop_out {{ type hw card {id} device 0 subdevice 0 format S16_LE }}\n\
         pcm.pasts_loop_in {{ type hw card {id} device 1 subdevice 0 format S16_LE }}",
        id = card.id
    );
    let config = sound::alsa_config(&dir, &pcms);
    isolated(&[("ALSA_CONFIG_PATH", &config)], || {
        // Every value is an S16 sample k / 32767, none zero.
        let wave = |i: usize| {
            let k = ((i * 7919) % 65_533) as i32 - 32_766;
            (if k == 0 { 1 } else { k }) as f32 / 32_767.0
        };
        let total = RATE; // half a second of stereo
                          // A long buffer: an emulated guest on a loaded host can be late by
                          // tens of milliseconds, and an xrun would cut the signal.
        let config = Config {
            period: 4096,
            ..Config::default()
        };
        let (ready, mic_ready) = mpsc::channel();
        let recorder = thread::spawn(move || {
            let mut mic = Microphone::open("pasts_loop_in", config).unwrap();
            ready.send(()).unwrap();
            let got = pasts::block_on(async {
                let mut got = Vec::new();
                let mut start = None;
                loop {
                    let seen = got.len();
                    got.extend_from_slice(&mic.record().await.unwrap());
                    // The first sound: the signal's first frame.
                    start =
                        start.or_else(|| Some(seen + got[seen..].iter().position(|&x| x != 0.0)?));
                    if let Some(start) = start {
                        if got.len() >= start + total {
                            return got[start..start + total].to_vec();
                        }
                    }
                }
            });
            (got, format!("{mic:?}"))
        });
        within(Duration::from_secs(20), move || mic_ready.recv().unwrap());
        let mut speakers = Speakers::open("pasts_loop_out", config).unwrap();
        pasts::block_on(async {
            play(&mut speakers, total, wave).await.unwrap();
            // Silence, so the end gets out before the close.
            play(&mut speakers, RATE / 2, |_| 0.0).await.unwrap();
        });
        let (got, mic) = within(Duration::from_secs(20), move || recorder.join().unwrap());
        for (i, x) in got.iter().enumerate() {
            assert_eq!(
                x.to_bits(),
                wave(i).to_bits(),
                "sample {i}: {mic} {speakers:?}"
            );
        }
    });
}

#[test]
#[ignore = "needs devices: run by scripts/vm-test"]
fn forced_xrun_recovers_and_is_counted() {
    let _cards = cards();
    let name = sound::dummy().unwrap().hw(0);
    isolated(&[], || {
        let mut speakers = Speakers::open(&name, Config::default()).unwrap();
        let mut mic = Microphone::open(&name, Config::default()).unwrap();
        pasts::block_on(async {
            play(&mut speakers, RATE / 5, |_| 0.1).await.unwrap();
            assert!(!mic.record().await.unwrap().is_empty());
            // Stop feeding and reading for 200 ms: far past the buffer.
            thread::sleep(Duration::from_millis(200));
            play(&mut speakers, RATE / 5, |_| 0.1).await.unwrap();
            record(&mut mic, RATE / 5).await.unwrap();
        });
        assert!(speakers.xruns() >= 1, "underrun not counted");
        assert!(mic.xruns() >= 1, "overrun not counted");
    });
}

#[test]
#[ignore = "needs devices: run by scripts/vm-test"]
fn unplugged_card_is_an_error_not_a_hang() {
    let _cards = cards();
    let name = sound::dummy().unwrap().hw(0);
    isolated(&[], || {
        let mut speakers = Speakers::open(&name, Config::default()).unwrap();
        let mut mic = Microphone::open(&name, Config::default()).unwrap();
        pasts::block_on(play(&mut speakers, RATE / 10, |_| 0.1)).unwrap();
        // Unbinding disconnects the card at once, then waits until its
        // files are closed: on a thread of its own.
        let unplug = thread::spawn(sound::unplug_dummy);
        let (errors, speakers, mic) = within(Duration::from_secs(20), move || {
            let errors = pasts::block_on(async {
                let played = loop {
                    if let Err(err) = speakers.play().await {
                        break err;
                    }
                };
                let recorded = loop {
                    if let Err(err) = mic.record().await {
                        break err;
                    }
                };
                // And again at once: an error each time, never a wait.
                let again = [
                    speakers.play().await.unwrap_err(),
                    mic.record().await.unwrap_err(),
                ];
                [
                    played,
                    recorded,
                    again[0].kind().into(),
                    again[1].kind().into(),
                ]
            });
            (errors, speakers, mic)
        });
        for err in &errors[..2] {
            assert!(err.to_string().contains("disconnected"), "{err}");
        }
        drop((speakers, mic));
        unplug.join().unwrap().unwrap();
        sound::replug_dummy().unwrap();
    });
}

/// A tokio-like executor: the future runs on a worker thread that sleeps
/// on a queue; a wake sends a message to that queue from whichever thread
/// wakes it.
fn queue_block_on<F: Future + Send + 'static>(fut: F) -> F::Output
where
    F::Output: Send + 'static,
{
    struct Queue(mpsc::SyncSender<()>);
    impl Wake for Queue {
        fn wake(self: Arc<Self>) {
            let _ = self.0.try_send(()); // a full queue is already a wake
        }
    }
    thread::spawn(move || {
        let (tx, rx) = mpsc::sync_channel(1);
        let waker = Waker::from(Arc::new(Queue(tx)));
        let mut fut = pin!(fut);
        loop {
            if let Poll::Ready(out) = fut.as_mut().poll(&mut Context::from_waker(&waker)) {
                return out;
            }
            rx.recv().unwrap();
        }
    })
    .join()
    .unwrap()
}

#[test]
#[ignore = "needs devices: run by scripts/vm-test"]
fn speakers_on_other_executors() {
    let _cards = cards();
    let name = sound::dummy().unwrap().hw(0);
    // A longer buffer: emulated guests are slow to switch threads.
    let config = Config {
        period: 1024,
        ..Config::default()
    };
    isolated(&[], || {
        let mut speakers = Speakers::open(&name, config).unwrap();
        let start = Instant::now();
        let (sinks, polls, wakes) = park_block_on(play(&mut speakers, RATE / 2, |_| 0.2));
        let sinks = sinks.unwrap();
        // Woken by the device, not polled in a loop; paced.
        assert!(
            wakes > 0 && polls <= 2 * sinks.len() + 2,
            "{polls} polls, {wakes} wakes"
        );
        assert!(start.elapsed() >= Duration::from_millis(100), "paced");
        drop(speakers);

        let speakers = Speakers::open(&name, config).unwrap();
        let start = Instant::now();
        let sinks = queue_block_on(async move {
            let mut speakers = speakers;
            play(&mut speakers, RATE / 2, |_| 0.2).await.unwrap()
        });
        assert!(
            sinks.len() > 1 && start.elapsed() >= Duration::from_millis(100),
            "paced"
        );
    });
}

#[test]
#[ignore = "needs devices: run by scripts/vm-test"]
fn no_allocation_per_period_on_dummy() {
    let _cards = cards();
    let name = sound::dummy().unwrap().hw(0);
    isolated(&[], || assert_eq!(allocs_per_period(&name, 50), 0));
}

// ---------------------------------------------------------------- guest: figures

/// Prints CPU time per second of audio (48 kHz stereo, period 256) on
/// snd-dummy, and the wake-up lateness: when each `Sink` was handed out,
/// against when its period was due (the frames handed out before it, less
/// the buffer, played at the rate since the buffer was filled: at the start
/// and after each xrun), less the smallest such difference of its timeline
/// (the unknown start offset), so the earliest wake counts 0.
#[test]
#[ignore = "needs devices: run by scripts/vm-test"]
fn perf_cpu_and_wake_latency_on_dummy() {
    let _cards = cards();
    let name = sound::dummy().unwrap().hw(0);
    let out = isolated(&[], || {
        let seconds = 1;
        let mut speakers = Speakers::open(&name, Config::default()).unwrap();
        let period = speakers.config().period as usize;
        // (time, frames handed out before, xruns before) of each sink.
        let mut handed = Vec::with_capacity(1024);
        let (start, cpu, own) = (Instant::now(), sound::process_cpu(), sound::thread_cpu());
        pasts::block_on(async {
            let mut frames = 0;
            while frames < RATE * seconds {
                let xruns = speakers.xruns();
                let mut sink = speakers.play().await.unwrap();
                handed.push((Instant::now(), frames, xruns));
                sink.fill(0.1);
                frames += sink.len() / 2;
            }
        });
        let (wall, cpu) = (start.elapsed(), sound::process_cpu() - cpu);
        let own = sound::thread_cpu() - own;
        // A sink that filled the buffer (the first, or the first after an
        // xrun) starts a timeline: the next is due a period after it. Each
        // timeline's earliest wake counts 0 (its start offset is unknown).
        let mut late = Vec::new();
        let mut timeline: Vec<f64> = Vec::new();
        let mut base: Option<(Instant, usize)> = None;
        for (i, &(t, before, xruns)) in handed.iter().enumerate() {
            let restart = handed.get(i + 1).is_some_and(|next| next.2 != xruns);
            match base {
                Some((t0, filled)) if !restart => {
                    let due = (before + period - filled) as f64 / RATE as f64;
                    timeline.push((t - t0).as_secs_f64() - due);
                }
                _ => {
                    let min = timeline.iter().copied().fold(f64::INFINITY, f64::min);
                    late.extend(timeline.drain(..).map(|x| x - min));
                    let filled = handed.get(i + 1).map_or(before, |next| next.1);
                    base = Some((t, filled));
                }
            }
        }
        let min = timeline.iter().copied().fold(f64::INFINITY, f64::min);
        late.extend(timeline.drain(..).map(|x| x - min));
        late.sort_by(f64::total_cmp);
        let pct = |p: usize| late[(late.len() - 1) * p / 100] * 1e6;
        println!(
            "PERF pasts: {:.1} ms CPU per s of audio ({:.1} on the block_on thread; wall \
             {wall:.2?}, {} sinks, {} xruns); wake lateness us: p50 {:.0} p90 {:.0} p99 {:.0} \
             max {:.0}",
            cpu.as_secs_f64() * 1e3 / seconds as f64,
            own.as_secs_f64() * 1e3 / seconds as f64,
            handed.len(),
            speakers.xruns(),
            pct(50),
            pct(90),
            pct(99),
            pct(100)
        );
        let raw = sound::raw_play(&name, RATE * seconds, 256).unwrap();
        println!(
            "PERF raw libasound poll loop: {:.1} ms CPU per s of audio ({} frames, {} wakes, \
             {} xruns)",
            raw.cpu.as_secs_f64() * 1e3 / seconds as f64,
            raw.frames,
            raw.wakes,
            raw.xruns
        );
    });
    if let Some(out) = out {
        show_perf(&out.stdout);
    }
}

/// Writes the child's `PERF` lines to stdout, past libtest's capture, so
/// the guest's console shows them.
fn show_perf(stdout: &[u8]) {
    let mut lines = String::new();
    // libtest may print "test name ... " first on the line.
    for line in String::from_utf8_lossy(stdout).lines() {
        let Some(at) = line.find("PERF") else {
            continue;
        };
        lines += &line[at..];
        lines += "\n";
    }
    let _ = io::Write::write_all(&mut io::stdout(), lines.as_bytes()); // a report only
}

/// Milliseconds each period plays in [`perf_smallest_period_on_dummy`].
const PERIOD_MILLIS: usize = 500;

/// Prints, for small periods, how many xruns `PERIOD_MILLIS` of audio
/// had on snd-dummy, with pasts and with a plain libasound loop.
#[test]
#[ignore = "needs devices: run by scripts/vm-test"]
fn perf_smallest_period_on_dummy() {
    let _cards = cards();
    let name = sound::dummy().unwrap().hw(0);
    let out = isolated(&[], || {
        for period in [64, 128, 256] {
            let config = Config {
                period,
                ..Config::default()
            };
            let mut speakers = Speakers::open(&name, config).unwrap();
            let got = speakers.config().period;
            let frames = RATE * PERIOD_MILLIS / 1000;
            pasts::block_on(play(&mut speakers, frames * 2, |_| 0.1)).unwrap();
            let raw = sound::raw_play(&name, frames, period).unwrap();
            println!(
                "PERF period {period} (got {got}): {} xruns in {PERIOD_MILLIS} ms; \
                 raw libasound loop: {} xruns",
                speakers.xruns(),
                raw.xruns
            );
        }
    });
    if let Some(out) = out {
        show_perf(&out.stdout);
    }
}
