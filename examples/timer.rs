//! Print a line once a second, three times.
//!
//! `cargo run --example timer --features linux`

#[cfg(not(feature = "linux"))]
fn main() {
    println!("run with `--features linux`");
}

#[cfg(feature = "linux")]
fn main() -> std::io::Result<()> {
    use pasts::linux::Interval;
    use std::time::Duration;

    let mut second = Interval::new(Duration::from_secs(1))?;
    pasts::block_on(async {
        for n in 1..=3 {
            (&mut second).await;
            println!("{n} s");
        }
    });
    Ok(())
}
