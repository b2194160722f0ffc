//! The guest's libasound and its configuration work: the snd-dummy and
//! snd-aloop PCMs open by name through a dlopen()ed libasound, and an
//! unknown card fails. Needs the device guest (scripts/vm-test); skipped
//! elsewhere.

mod support;

use support::sound::{self, Stream};

#[test]
fn hw_pcms_open_through_libasound() {
    if !support::in_guest() {
        return;
    }
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
fn unknown_card_fails_to_open() {
    if !support::in_guest() {
        return;
    }
    let err = sound::alsa_open("hw:NoSuchCard,0", Stream::Playback).unwrap_err();
    assert!(err.contains("hw:NoSuchCard"), "{err}");
}
