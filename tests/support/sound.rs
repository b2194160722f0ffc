//! The guest's sound cards: snd-dummy (a playback and capture card paced in
//! real time by the kernel, data discarded / silence) and snd-aloop (a
//! loopback: what is played on device 0 subdevice N is captured, bit-exact,
//! from device 1 subdevice N, and the other way round). Found by driver in
//! `/proc/asound/cards`, so their card numbers do not matter.

use std::fs;
use std::io;
use std::path::PathBuf;

/// A sound card as `/proc/asound/cards` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Card {
    /// The card number (`N` in `hw:N`, `/dev/snd/pcmCN...`).
    pub index: u32,
    /// The card id (`Dummy` in `hw:Dummy`).
    pub id: String,
    /// The driver (`Dummy`, `Loopback`).
    pub driver: String,
}

/// Which way a PCM moves samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Playback,
    Capture,
}

impl Card {
    /// The ALSA name of a PCM device of this card, e.g. `hw:Dummy,0`.
    pub fn hw(&self, device: u32) -> String {
        format!("hw:{},{device}", self.id)
    }

    /// The ALSA name of one subdevice, e.g. `hw:Loopback,1,0`.
    pub fn hw_sub(&self, device: u32, subdevice: u32) -> String {
        format!("hw:{},{device},{subdevice}", self.id)
    }

    /// The device node of a PCM, e.g. `/dev/snd/pcmC0D0p`.
    pub fn node(&self, device: u32, stream: Stream) -> PathBuf {
        let dir = match stream {
            Stream::Playback => 'p',
            Stream::Capture => 'c',
        };
        PathBuf::from(format!("/dev/snd/pcmC{}D{device}{dir}", self.index))
    }

    /// The PCM device numbers of this card (from `/proc/asound/pcm`).
    pub fn pcm_devices(&self) -> io::Result<Vec<u32>> {
        let pcm = read("/proc/asound/pcm")?;
        Ok(pcm_devices(&pcm, self.index))
    }
}

/// Every card, from `/proc/asound/cards` (none if ALSA is not loaded).
pub fn cards() -> io::Result<Vec<Card>> {
    match fs::read_to_string("/proc/asound/cards") {
        Ok(text) => Ok(parse_cards(&text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(super::sys::context(e, "read /proc/asound/cards")),
    }
}

/// The first card of `driver`, or an error that says the module is missing.
pub fn card(driver: &str, module: &str) -> io::Result<Card> {
    cards()?
        .into_iter()
        .find(|c| c.driver == driver)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("no {driver} sound card (is {module} loaded?)"),
            )
        })
}

/// The snd-dummy card.
pub fn dummy() -> io::Result<Card> {
    card("Dummy", "snd-dummy")
}

/// The snd-aloop card.
pub fn loopback() -> io::Result<Card> {
    card("Loopback", "snd-aloop")
}

/// The ALSA names of a loopback pair on snd-aloop: what is played on the
/// first is captured from the second.
pub fn loopback_pair(card: &Card) -> (String, String) {
    (card.hw_sub(0, 0), card.hw_sub(1, 0))
}

fn read(path: &str) -> io::Result<String> {
    fs::read_to_string(path).map_err(|e| super::sys::context(e, format!("read {path}")))
}

/// Parses lines like ` 0 [Dummy          ]: Dummy - Dummy`; the indented
/// second line of each card (its long name) is skipped.
pub fn parse_cards(text: &str) -> Vec<Card> {
    text.lines()
        .filter_map(|line| {
            let (index, rest) = line.trim_start().split_once(" [")?;
            let (id, rest) = rest.split_once("]: ")?;
            let driver = rest.split(" - ").next()?;
            Some(Card {
                index: index.trim().parse().ok()?,
                id: id.trim().into(),
                driver: driver.trim().into(),
            })
        })
        .collect()
}

/// Parses `/proc/asound/pcm` lines like `01-00: Loopback PCM : ...` for
/// the device numbers of card `index`.
pub fn pcm_devices(text: &str, index: u32) -> Vec<u32> {
    text.lines()
        .filter_map(|line| {
            let (card, rest) = line.split_once('-')?;
            let card: u32 = card.trim().parse().ok()?;
            let device: u32 = rest.split_once(':')?.0.trim().parse().ok()?;
            (card == index).then_some(device)
        })
        .collect()
}
