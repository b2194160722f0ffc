//! A branch woken while another branch's wake of the parent is still under
//! way (its parent waker has not returned yet), after the owner already
//! polled for that first wake, must still get the parent woken.
#![cfg(feature = "alloc")]

use pasts::prelude::*;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

/// Pending until its flag is set; keeps the waker it was polled with.
struct Gate {
    open: Arc<AtomicBool>,
    waker: Arc<Mutex<Option<Waker>>>,
}

impl Future for Gate {
    type Output = ();
    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        *self.waker.lock().unwrap() = Some(cx.waker().clone());
        if self.open.load(Ordering::SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// Tells the owner it was woken, then (the first time) takes long to return.
struct SlowParent {
    wakes: AtomicUsize,
    tx: Mutex<mpsc::Sender<()>>,
}

impl Wake for SlowParent {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        let first = self.wakes.fetch_add(1, Ordering::SeqCst) == 0;
        let _ = self.tx.lock().unwrap().send(());
        if first {
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

#[test]
#[cfg_attr(miri, ignore = "sleeps")]
fn wake_during_slow_parent_wake_is_not_lost() {
    let gates: Vec<_> = (0..2)
        .map(|_| {
            (
                Arc::new(AtomicBool::new(false)),
                Arc::new(Mutex::new(None::<Waker>)),
            )
        })
        .collect();
    let futures = [0, 1].map(|i| Gate {
        open: Arc::clone(&gates[i].0),
        waker: Arc::clone(&gates[i].1),
    });
    let (tx, rx) = mpsc::channel();
    let parent = Arc::new(SlowParent {
        wakes: AtomicUsize::new(0),
        tx: Mutex::new(tx),
    });
    let waker = Waker::from(Arc::clone(&parent));
    let mut cx = Context::from_waker(&waker);
    let mut join = pin!(futures.join());
    assert!(join.as_mut().poll(&mut cx).is_pending());
    // Branch 0 is woken (it stays pending); its parent wake is slow.
    let w0 = gates[0].1.lock().unwrap().clone().unwrap();
    let a = std::thread::spawn(move || w0.wake());
    rx.recv().unwrap();
    assert!(join.as_mut().poll(&mut cx).is_pending());
    // Now branch 1 becomes ready and is woken, while the first parent wake
    // has not returned yet.
    gates[1].0.store(true, Ordering::SeqCst);
    let w1 = gates[1].1.lock().unwrap().clone().unwrap();
    w1.wake();
    a.join().unwrap();
    rx.recv_timeout(Duration::from_secs(2))
        .expect("lost wake-up: branch 1 was woken but the parent never was");
}
