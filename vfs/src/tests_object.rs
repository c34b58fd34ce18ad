//! Unit tests: kernel-object files forward to their object; pipes keep event counts.
#![allow(clippy::unwrap_used)]

use std::io::{IoSlice, IoSliceMut};
use std::time::{Duration, Instant};

use abi::flags::OFlags;
use abi::Errno;
use parking_lot::Mutex;

use crate::object::{gather, new_wait_id, scatter};
use crate::{open_object, Arc, FileObject, PollEvents, Poller, WaitSet};

/// A one-byte mailbox: readable when full, writable when empty; ready by itself at `at`.
struct Mailbox {
    id: u64,
    byte: Mutex<Option<u8>>,
    at: Instant,
}

impl FileObject for Mailbox {
    fn read(&self, bufs: &mut [IoSliceMut<'_>]) -> Result<usize, Errno> {
        let b = self.byte.lock().take().ok_or(Errno::EAGAIN)?;
        Ok(scatter(bufs, &[b]))
    }

    fn write(&self, bufs: &[IoSlice<'_>]) -> Result<usize, Errno> {
        let mut b = [0u8];
        gather(bufs, &mut b);
        *self.byte.lock() = Some(b[0]);
        Ok(1)
    }

    fn poll(&self, who: &Poller) -> PollEvents {
        let full = self.byte.lock().is_some();
        PollEvents {
            readable: full || who.signals != 0,
            writable: !full,
            ..PollEvents::default()
        }
    }

    fn wait_id(&self) -> u64 {
        self.id
    }

    fn waits(&self, ws: &mut WaitSet) {
        ws.ids.push(self.id);
        ws.wake_at(self.at);
    }
}

#[test]
fn object_file_forwards_to_its_object() {
    let at = Instant::now() + Duration::from_secs(5);
    let obj = Arc::new(Mailbox {
        id: new_wait_id(),
        byte: Mutex::new(None),
        at,
    });
    let id = obj.id;
    let f = open_object(obj, OFlags::NONBLOCK | OFlags::CLOEXEC);
    assert!(f.flags().contains(OFlags::NONBLOCK));
    assert!(f.flags().readable() && f.flags().writable());
    assert_eq!(f.wait_id(), Some(id));
    assert!(f.can_poll());
    assert!(!f.write_waits_for_all());
    let mut buf = [0u8; 4];
    assert_eq!(f.read(&mut [IoSliceMut::new(&mut buf)]), Err(Errno::EAGAIN));
    assert!(!f.poll_ready().readable && f.poll_ready().writable);
    assert!(f.poll_for(&Poller { signals: 1 }).readable);
    assert_eq!(f.write(&[IoSlice::new(b"x")]), Ok(1));
    assert!(f.poll_ready().readable);
    assert_eq!(f.read(&mut [IoSliceMut::new(&mut buf)]), Ok(1));
    assert_eq!(buf[0], b'x');
    assert_eq!(f.lseek(3, 0), Ok(0));
    assert_eq!(
        f.pread(&mut [IoSliceMut::new(&mut buf)], 0),
        Err(Errno::ESPIPE)
    );
    assert!(!f.is_seekable());
    let st = f.stat().unwrap();
    assert_eq!((st.st_mode, st.st_ino), (0o600, id));
    let mut ws = WaitSet::default();
    f.waits(&mut ws);
    assert_eq!(ws.ids, vec![id]);
    assert_eq!(ws.deadline, Some(at));
    assert!(ws.host.is_empty());
}

#[test]
fn pipe_event_counts_move_per_end() {
    let t = crate::tests::TempDir::new("obj");
    let v = crate::tests::vfs(t.path(), false);
    let (r, w) = v.pipe(OFlags::empty()).unwrap();
    let (r0, w0) = (r.poll_ready().seq.unwrap(), w.poll_ready().seq.unwrap());
    w.write(&[IoSlice::new(b"ab")]).unwrap();
    assert_eq!(r.poll_ready().seq, Some(r0 + 1));
    assert_eq!(w.poll_ready().seq, Some(w0));
    let mut buf = [0u8; 1];
    r.read(&mut [IoSliceMut::new(&mut buf)]).unwrap();
    assert_eq!(r.poll_ready().seq, Some(r0 + 1));
    assert_eq!(w.poll_ready().seq, Some(w0 + 1));
    drop(w);
    assert_eq!(r.poll_ready().seq, Some(r0 + 2));
    let mut ws = WaitSet::default();
    r.waits(&mut ws);
    assert_eq!(ws.ids, vec![r.wait_id().unwrap()]);
    assert_eq!(ws.deadline, None);
}
