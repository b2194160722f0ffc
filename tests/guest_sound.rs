//! The guest's snd-dummy and snd-aloop cards have PCM nodes, found by
//! driver; the /proc/asound parsers behind that. The card tests need the
//! device guest (scripts/vm-test) and are skipped elsewhere.

mod support;

use support::sound::{self, Stream};

#[test]
fn dummy_card_has_playback_and_capture_nodes() {
    if !support::in_guest() {
        return;
    }
    let card = sound::dummy().unwrap();
    assert_eq!(card.hw(0), "hw:Dummy,0");
    assert!(card.pcm_devices().unwrap().contains(&0));
    for stream in [Stream::Playback, Stream::Capture] {
        let node = card.node(0, stream);
        assert!(node.exists(), "{} missing", node.display());
    }
}

#[test]
fn loopback_card_has_both_ends() {
    if !support::in_guest() {
        return;
    }
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
