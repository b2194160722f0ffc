//! Await a file descriptor: a thread writes lines into a socket pair and
//! the main task reads each as soon as it arrives.
//!
//! `cargo run --example device --features linux`
//!
//! With an argument, reads standard input instead (try
//! `echo hi | cargo run --example device --features linux -- stdin`).

#[cfg(not(feature = "linux"))]
fn main() {
    println!("run with `--features linux`");
}

#[cfg(feature = "linux")]
fn main() -> std::io::Result<()> {
    demo::main()
}

#[cfg(feature = "linux")]
mod demo {
    use pasts::linux::{Device, Watch};
    use std::fs::File;
    use std::io::{self, Read, Write};
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;
    use std::time::Duration;

    /// Print everything `io` delivers until end of file: each read waits for
    /// the fd to be readable whenever it has nothing to read yet.
    async fn read_all<T: AsFd + Read>(io: T) -> io::Result<()> {
        let mut device = Device::new(io, Watch::INPUT)?;
        let mut buf = [0; 256];
        loop {
            match device.read_with(|io| io.read(&mut buf)).await? {
                0 => return Ok(()),
                n => print!("got: {}", String::from_utf8_lossy(&buf[..n])),
            }
        }
    }

    pub(crate) fn main() -> io::Result<()> {
        if std::env::args().nth(1).as_deref() == Some("stdin") {
            let stdin = File::from(io::stdin().as_fd().try_clone_to_owned()?);
            return pasts::block_on(read_all(stdin));
        }
        let (mut tx, rx) = UnixStream::pair()?;
        std::thread::spawn(move || {
            for i in 1..=3 {
                std::thread::sleep(Duration::from_millis(100));
                // Ignored: the reader only stops at end of file.
                let _ = writeln!(tx, "line {i}");
            }
        });
        pasts::block_on(read_all(rx))
    }
}
