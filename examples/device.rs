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
    use std::io::{self, Read, Write};
    use std::os::fd::{AsFd, OwnedFd};
    use std::os::unix::net::UnixStream;
    use std::time::Duration;

    /// Read everything `device` delivers until end of file, awaiting readiness
    /// whenever the fd has nothing to read yet.
    async fn read_all(mut device: Device) -> io::Result<()> {
        // A second handle on the same open file to read through.
        let mut reader = std::fs::File::from(device.as_fd().try_clone_to_owned()?);
        let mut buf = [0; 256];
        loop {
            (&mut device).await;
            match reader.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => print!("got: {}", String::from_utf8_lossy(&buf[..n])),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
    }

    pub(crate) fn main() -> io::Result<()> {
        let fd: OwnedFd = if std::env::args().nth(1).as_deref() == Some("stdin") {
            io::stdin().as_fd().try_clone_to_owned()?
        } else {
            let (mut tx, rx) = UnixStream::pair()?;
            rx.set_nonblocking(true)?;
            std::thread::spawn(move || {
                for i in 1..=3 {
                    std::thread::sleep(Duration::from_millis(100));
                    // Ignored: the reader only stops at end of file.
                    let _ = writeln!(tx, "line {i}");
                }
            });
            rx.into()
        };
        pasts::block_on(read_all(Device::new(fd, Watch::INPUT)?))
    }
}
