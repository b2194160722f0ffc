//! Print every gamepad's events as they come: plug pads in and out, press
//! buttons, move sticks; Start rumbles a pad that can.
//!
//! `cargo run --example gamepad --features gamepad`
//!
//! With no pad plugged in it says so and waits 10 s for one, then exits
//! (so it ends by itself on a machine with none); while a pad is plugged in
//! it runs until interrupted.

use pasts::linux::gamepad::{Button, Event, Gamepads, PadId};
use pasts::linux::Timer;
use pasts::prelude::*;
use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long to wait while no pad is plugged in.
const WAIT: Duration = Duration::from_secs(10);

/// What woke the loop.
enum Wake {
    Pad(io::Result<(PadId, Event)>),
    Timeout,
}

fn main() -> io::Result<()> {
    if !Path::new("/dev/input").is_dir() {
        println!("There is no /dev/input here (a container?): no input devices to read.");
        return Ok(());
    }
    let mut pads = match Gamepads::new() {
        Ok(pads) => pads,
        Err(e) => {
            println!("Cannot watch /dev/input: {e}");
            return Ok(());
        }
    };
    pasts::block_on(run(&mut pads))
}

async fn run(pads: &mut Gamepads) -> io::Result<()> {
    println!("Looking for gamepads (Ctrl-C to stop).");
    let start = Instant::now();
    // Pads already plugged in are reported at once; after a moment with
    // none, say so, then give up after WAIT.
    let mut notice = Some(start + Duration::from_millis(200));
    let mut give_up = start + WAIT;
    let mut plugged = 0usize;
    loop {
        let deadline = if plugged == 0 {
            Some(notice.unwrap_or(give_up))
        } else {
            None
        };
        let wake = match deadline {
            Some(at) => {
                let mut timer = Timer::at(at)?;
                let next = async { Wake::Pad((&mut *pads).await) };
                let timeout = async {
                    (&mut timer).await;
                    Wake::Timeout
                };
                (next, timeout).select().await.1
            }
            None => Wake::Pad((&mut *pads).await),
        };
        let (id, event) = match wake {
            Wake::Timeout if notice.take().is_some() => {
                println!(
                    "No gamepad is plugged in: waiting {} s for one.",
                    WAIT.as_secs()
                );
                continue;
            }
            Wake::Timeout => {
                println!("No gamepad for {} s: bye.", WAIT.as_secs());
                return Ok(());
            }
            // One device failed (often: no permission to open it).
            Wake::Pad(Err(e)) => {
                println!("{e}");
                continue;
            }
            Wake::Pad(Ok(next)) => next,
        };
        match event {
            Event::Connected => {
                plugged += 1;
                notice = None;
                if let Some(pad) = pads.get(id) {
                    let ids = pad.id();
                    println!(
                        "{id:?} connected: {} ({:04x}:{:04x})",
                        pad.name(),
                        ids.vendor,
                        ids.product
                    );
                }
            }
            Event::Disconnected => {
                println!("{id:?} disconnected");
                plugged = plugged.saturating_sub(1);
                if plugged == 0 {
                    println!("No gamepad left: waiting {} s for one.", WAIT.as_secs());
                    give_up = Instant::now() + WAIT;
                }
            }
            Event::Button(Button::Start, pressed) => {
                println!("{id:?} {event:?}");
                if let Some(pad) = pads.get(id) {
                    let strength = if pressed { 0.6 } else { 0.0 };
                    if let Err(e) = pad.rumble(strength, strength) {
                        println!("  (no rumble: {e})");
                    }
                }
            }
            event => println!("{id:?} {event:?}"),
        }
    }
}
