//! A tour of pasts: `cargo run --example tour --all-features`.
//!
//! Needs no device: every stop prints what it shows. Without `--all-features`
//! the Linux stops are left out.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use pasts::prelude::*;
use pasts::Selector;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A `static` interrupt drives `block_on` with no allocation: the shape an
/// embedded program has (there `wait_for` would be a `WFE` loop).
static INTERRUPT: pasts::ThreadInterrupt = pasts::ThreadInterrupt::new();

/// A long-lived source: ready every `every`-th poll, and woken in between,
/// as a channel or a device would be.
struct Ticker {
    name: &'static str,
    every: u32,
    polls: u32,
}

impl Future for Ticker {
    type Output = &'static str;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.polls += 1;
        if self.polls % self.every == 0 {
            return Poll::Ready(self.name);
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

async fn after(ms: u64, name: &'static str) -> &'static str {
    pasts::spawn_blocking(move || std::thread::sleep(Duration::from_millis(ms))).await;
    name
}

fn main() {
    // 1. Run a future on this thread.
    let answer = pasts::block_on(async { 6 * 7 });
    println!("1. block_on: the answer is {answer}");

    // 2. A static interrupt, woken from another thread.
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || tx.send("hello from a thread"));
    let message = INTERRUPT.block_on(async move { rx.recv() });
    println!("2. static interrupt: {message:?}");
    let _ = worker.join();

    pasts::block_on(async {
        // 3. select: the first to finish wins; the others are dropped.
        let (index, name) = [after(30, "slow"), after(5, "fast")].select().await;
        println!("3. select over an array: branch {index} ({name}) won");

        // 4. Futures of different types: a tuple, or boxed with .fut().
        let (index, _) = (after(20, "blocking"), async { "ready" }).select().await;
        println!("4. select over a tuple: branch {index} won");
        let (index, _) = [after(20, "boxed").fut(), async { "ready" }.fut()]
            .select()
            .await;
        println!("   select over .fut() boxes: branch {index} won");

        // 5. join: all must finish; the waits overlap.
        let start = Instant::now();
        let names = [after(20, "a"), after(20, "b"), after(20, "c")]
            .join()
            .await;
        println!(
            "5. join: {names:?} in {} ms (three 20 ms jobs at once)",
            start.elapsed().as_millis()
        );

        // 6. A Selector: an event loop over long-lived sources.
        let mut events = Selector::new([
            Ticker {
                name: "every 2nd",
                every: 2,
                polls: 0,
            },
            Ticker {
                name: "every 3rd",
                every: 3,
                polls: 0,
            },
        ]);
        let mut seen = Vec::new();
        for _ in 0..5 {
            let (_, name) = (&mut events).await;
            seen.push(name);
        }
        println!("6. Selector, five events: {seen:?}");

        // 7. Tasks: one-shot futures pushed as work comes; each await gives
        // the output of one that finished.
        let mut tasks: pasts::Tasks<_> = [after(30, "slow"), after(10, "quick")]
            .into_iter()
            .collect();
        tasks.push(after(20, "pushed later"));
        let mut order = Vec::new();
        while !tasks.is_empty() {
            order.push((&mut tasks).await);
        }
        println!("7. Tasks, in the order they finished: {order:?}");
    });

    #[cfg(feature = "linux")]
    if let Err(err) = linux::tour() {
        println!("the linux stops failed: {err}");
    }
    #[cfg(feature = "gamepad")]
    gamepad::tour();
    #[cfg(feature = "audio")]
    audio::tour();
}

#[cfg(feature = "gamepad")]
mod gamepad {
    use pasts::linux::gamepad::{Event, Gamepads};
    use pasts::linux::Timer;
    use pasts::prelude::*;
    use std::time::Duration;

    pub(crate) fn tour() {
        let mut pads = match Gamepads::new() {
            Ok(pads) => pads,
            Err(err) => return println!("10. Gamepads: cannot watch /dev/input: {err}"),
        };
        // Pads present at start arrive as `Connected` events right away.
        let names = pasts::block_on(async {
            let mut names = Vec::new();
            let Ok(mut window) = Timer::new(Duration::from_millis(100)) else {
                return names;
            };
            loop {
                let event = async { Some((&mut pads).await) };
                let timeout = async {
                    (&mut window).await;
                    None
                };
                match (event, timeout).select().await.1 {
                    Some(Ok((id, Event::Connected))) => {
                        let name = pads.get(id).map(|pad| pad.name().to_string());
                        names.push(name.unwrap_or_default());
                    }
                    Some(Ok(_)) => {}
                    Some(Err(err)) => names.push(format!("({err})")),
                    None => return names,
                }
            }
        });
        if names.is_empty() {
            println!("10. Gamepads: no gamepad is plugged in (try `--example gamepad`)");
        } else {
            println!("10. Gamepads: {names:?}");
        }
    }
}

#[cfg(feature = "audio")]
mod audio {
    use pasts::linux::audio::{self, Config, Speakers};

    pub(crate) fn tour() {
        match audio::pcms() {
            Ok(pcms) => println!("11. Audio: PCMs ALSA knows: {}", pcms.len()),
            // No libasound: the error names the package to install.
            Err(err) => return println!("11. Audio: {err}"),
        }
        // The `null` PCM takes samples and discards them: no card needed.
        let played = Speakers::open("null", Config::default()).and_then(|mut speakers| {
            pasts::block_on(async {
                let mut frames = 0;
                for _ in 0..4 {
                    let mut sink = speakers.play().await?;
                    sink.fill(0.0);
                    frames += sink.len() / 2;
                }
                Ok(frames)
            })
        });
        match played {
            Ok(frames) => println!("    played {frames} frames of silence to the null PCM"),
            Err(err) => println!("    the null PCM failed: {err}"),
        }
    }
}

#[cfg(feature = "linux")]
mod linux {
    use pasts::linux::{Device, Interval, Timer, Watch};
    use pasts::prelude::*;
    use std::io::{self, Read, Write};
    use std::os::unix::net::UnixStream;
    use std::time::{Duration, Instant};

    pub(crate) fn tour() -> io::Result<()> {
        pasts::block_on(async {
            // 8. Timers: one-shot and periodic, any number on one timerfd.
            let start = Instant::now();
            Timer::new(Duration::from_millis(15))?.await;
            println!("8. Timer: 15 ms later ({} µs)", start.elapsed().as_micros());
            let mut tick = Interval::new(Duration::from_millis(10))?;
            for n in 1..=3 {
                (&mut tick).await;
                println!("   Interval tick {n} at {} ms", start.elapsed().as_millis());
            }

            // 9. A Device: any fd as a re-pollable future (a socket here).
            let (mut tx, rx) = UnixStream::pair()?;
            let mut device = Device::new(rx, Watch::INPUT)?;
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(10));
                // Ignored: the reader below times out if this fails.
                let _ = tx.write_all(b"ping");
            });
            let timeout = async {
                // Ignored: a timer that cannot start only ends the race early.
                if let Ok(timer) = Timer::new(Duration::from_secs(5)) {
                    timer.await;
                }
            };
            let (index, ()) = (&mut device, timeout).select().await;
            let mut buf = [0; 16];
            let n = if index == 0 {
                device.get_mut().read(&mut buf)?
            } else {
                0
            };
            println!(
                "9. Device: read {:?} from a socket",
                String::from_utf8_lossy(&buf[..n])
            );
            Ok(())
        })
    }
}
