//! A TCP echo server on `Device<TcpListener>` and `Device<TcpStream>`: each
//! connection is a future in a `Tasks` set, with an idle timeout pushed
//! back on every packet (`Timer::reset`). A client thread checks that every
//! byte comes back and that a quiet connection is closed, then the server
//! stops.
//!
//! `cargo run --example echo --features linux`

#[cfg(not(feature = "linux"))]
fn main() {
    println!("run with `--features linux`");
}

#[cfg(feature = "linux")]
fn main() -> std::io::Result<()> {
    echo::main()
}

#[cfg(feature = "linux")]
mod echo {
    use pasts::linux::{Device, Timer, Watch};
    use pasts::prelude::*;
    use std::io::{self, Read, Write};
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::time::{Duration, Instant};

    /// A connection quiet for this long is closed.
    const IDLE: Duration = Duration::from_millis(500);

    /// Echo one connection until the peer closes it or stays quiet.
    async fn connection(stream: TcpStream) -> io::Result<()> {
        let mut stream = Device::new(stream, Watch::INPUT)?;
        let mut idle = Timer::new(IDLE)?;
        let mut buf = [0; 4096];
        loop {
            let read = async { Some(stream.read_with(|io| io.read(&mut buf)).await) };
            let quiet = async {
                (&mut idle).await;
                None
            };
            let n = match (read, quiet).select().await.1 {
                Some(read) => read?,
                None => return Ok(()), // idle: dropping the stream closes it
            };
            if n == 0 {
                return Ok(()); // the peer closed
            }
            idle.reset(Instant::now() + IDLE);
            let mut sent = 0;
            while sent < n {
                sent += stream.write_with(|io| io.write(&buf[sent..n])).await?;
            }
        }
    }

    /// Serve until `count` connections were accepted and have ended.
    pub async fn serve(listener: TcpListener, count: usize) -> io::Result<()> {
        let mut listener = Device::new(listener, Watch::INPUT)?;
        let mut connections = pasts::Tasks::new();
        let mut accepted = 0;
        while accepted < count || !connections.is_empty() {
            let accept = async { Ok(Some(listener.read_with(|io| io.accept()).await?)) };
            let end = async {
                let ended: io::Result<()> = (&mut connections).await;
                ended.map(|()| None)
            };
            match (accept, end).select().await.1 {
                Ok(Some((stream, _))) if accepted < count => {
                    connections.push(connection(stream));
                    accepted += 1;
                }
                Ok(_) => {}
                Err(e) => println!("a connection failed: {e}"),
            }
        }
        Ok(())
    }

    /// `clients` connections that each send 64 KiB and read it back, and
    /// one that stays quiet until the server closes it.
    fn client(addr: SocketAddr, clients: usize) -> io::Result<()> {
        let quiet = TcpStream::connect(addr)?;
        let start = Instant::now();
        for i in 0..clients {
            let mut stream = TcpStream::connect(addr)?;
            let msg: Vec<u8> = (0..65536).map(|b| (b * 7 + i) as u8).collect();
            let writer = stream.try_clone()?;
            let sent = msg.clone();
            let send = std::thread::spawn(move || (&writer).write_all(&sent));
            let mut back = vec![0; msg.len()];
            stream.read_exact(&mut back)?;
            send.join()
                .map_err(|_| io::Error::other("the sender panicked"))??;
            assert_eq!(back, msg, "client {i}: every byte comes back");
        }
        println!("{clients} clients: every byte came back");
        let closed = (&quiet).read(&mut [0])?;
        println!(
            "the quiet client was closed ({closed} bytes) after {:?}",
            start.elapsed()
        );
        Ok(())
    }

    pub(crate) fn main() -> io::Result<()> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let clients = 10;
        let client = std::thread::spawn(move || client(addr, clients));
        pasts::block_on(serve(listener, clients + 1))?;
        client
            .join()
            .map_err(|_| io::Error::other("the client panicked"))?
    }
}
