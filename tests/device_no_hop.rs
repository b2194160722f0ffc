//! `pasts::block_on` waits in the reactor's `epoll_wait` itself: a device
//! event is dispatched on the thread that awaits it, not on the reactor
//! thread (one thread hop less).
#![cfg(feature = "linux")]

mod common;
#[path = "support/sys.rs"]
mod sys;

use common::{within, Recording};
use pasts::linux::{Device, Watch};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;
use sys::{bump_every, file, new_eventfd, try_read};

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn device_events_dispatched_on_the_awaiting_thread() {
    within(Duration::from_secs(20), || {
        let fd = new_eventfd();
        let (reader, writer) = (file(&fd), file(&fd));
        let mut device = Device::new(fd, Watch::INPUT).unwrap();
        let threads = Arc::new(Mutex::new(Vec::new()));
        let bumper = bump_every(writer, 100, Duration::from_micros(500));
        let mut total = 0;
        while total < 100 {
            pasts::block_on(poll_fn(|cx| {
                let waker = Waker::from(Arc::new(Recording {
                    inner: cx.waker().clone(),
                    threads: Arc::clone(&threads),
                }));
                match Pin::new(&mut device).poll(&mut Context::from_waker(&waker)) {
                    Poll::Ready(()) => Poll::Ready(()),
                    Poll::Pending => Poll::Pending,
                }
            }));
            let mut buf = [0; 8];
            if try_read(&reader, &mut buf).is_some() {
                total += u64::from_ne_bytes(buf);
            }
        }
        bumper.join().unwrap();
        let me = thread::current().id();
        let threads = threads.lock().unwrap();
        let here = threads.iter().filter(|&&id| id == me).count();
        // The first wakes may come from the reactor thread, which owns the
        // role until this thread first sleeps (and may take it again when
        // this thread is descheduled for long on a loaded machine); the
        // rest run here. Without the integration, none would.
        assert!(
            here * 2 >= threads.len(),
            "{here} of {} wakes ran on the awaiting thread",
            threads.len()
        );
    });
}
