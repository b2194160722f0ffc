//! Every fd the crate makes (the reactor's epoll fd and eventfd) is
//! `O_CLOEXEC | O_NONBLOCK`, checked with `fcntl`.
#![cfg(feature = "linux")]

#[path = "support/sys.rs"]
mod sys;

use pasts::linux::{Device, Watch};
use sys::{fd_flags, new_eventfd, FD_CLOEXEC, O_NONBLOCK};

#[test]
#[cfg_attr(miri, ignore = "FFI")]
fn crate_fds_are_cloexec_nonblock() {
    // The first device starts the reactor, which makes its fds. Every
    // anonymous-inode fd of the process is then the crate's or this test's
    // (made CLOEXEC | NONBLOCK too).
    let device = Device::new(new_eventfd(), Watch::INPUT).unwrap();
    let fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    let mut kinds = Vec::new();
    for fd in fds {
        let Ok(target) = std::fs::read_link(format!("/proc/self/fd/{fd}")) else {
            continue; // read_dir's own fd, closed by now
        };
        let target = target.to_string_lossy().into_owned();
        if !target.starts_with("anon_inode:") {
            continue;
        }
        let (fd_flags, status) = fd_flags(fd);
        assert_ne!(fd_flags & FD_CLOEXEC, 0, "fd {fd} ({target}) not CLOEXEC");
        assert_ne!(status & O_NONBLOCK, 0, "fd {fd} ({target}) not NONBLOCK");
        kinds.push(target);
    }
    assert!(
        kinds.iter().any(|k| k.contains("eventpoll")),
        "no epoll fd among {kinds:?}"
    );
    let eventfds = kinds.iter().filter(|k| k.contains("eventfd")).count();
    assert!(
        eventfds >= 2,
        "expected the test's and the reactor's eventfd among {kinds:?}"
    );
    drop(device);
}
