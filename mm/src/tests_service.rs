//! Unit tests of mm as a service: requests as messages, the record log, and replaying it
//! against a fresh mm.

use std::sync::{Arc, Mutex};

use abi::flags::{MapFlags, Prot};

use super::*;
use crate::replay::Replayer;

const P: u64 = PAGE_SIZE;
const RW: Prot = Prot::READ.union(Prot::WRITE);
const A: UserAddr = UserAddr(0x100_0000);
const MEM: u64 = 16 << 20;

/// A shared, writable in-memory file that can grow and shrink between messages.
struct Growing(Mutex<Vec<u8>>);

impl PageSource for Growing {
    fn read_at(&self, offset: u64, dst: &mut [u8]) -> std::io::Result<usize> {
        let d = self.0.lock().expect("lock");
        let off = (offset as usize).min(d.len());
        let n = dst.len().min(d.len() - off);
        dst[..n].copy_from_slice(&d[off..off + n]);
        Ok(n)
    }
    fn key(&self) -> Option<FileKey> {
        Some(FileKey { dev: 1, ino: 2 })
    }
    fn write_at(&self, offset: u64, src: &[u8]) -> std::io::Result<usize> {
        let mut d = self.0.lock().expect("lock");
        let end = offset as usize + src.len();
        if d.len() < end {
            d.resize(end, 0);
        }
        d[offset as usize..end].copy_from_slice(src);
        Ok(src.len())
    }
    fn size(&self) -> u64 {
        self.0.lock().expect("lock").len() as u64
    }
    fn writable(&self) -> bool {
        true
    }
}

/// A run that touches every kind of message: spaces, anonymous and file mappings, faults,
/// copies, copy-on-write after fork, a file that shrinks under its mapping, brk, the vDSO's
/// kind of special mapping, and errors.
fn workload(svc: &mut MmService) {
    let id = svc.create_space();
    let anon = MapFlags::PRIVATE | MapFlags::ANONYMOUS;
    let a = svc.mmap(id, A, 4 * P, RW, anon, None).expect("mmap");
    svc.copy_out(id, a, b"hello").expect("copy_out");
    let mut buf = [0u8; 5];
    svc.copy_in(id, a, &mut buf).expect("copy_in");
    assert_eq!(&buf, b"hello");
    assert_eq!(
        svc.handle_fault(id, UserAddr(a.0 + P), Access::Write, false),
        Ok(())
    );
    assert_eq!(
        svc.copy_in(id, UserAddr(0x10), &mut buf),
        Err(Errno::EFAULT)
    );
    let file = Arc::new(Growing(Mutex::new(vec![7u8; 3 * P as usize])));
    let fm = svc
        .mmap(
            id,
            UserAddr::NULL,
            4 * P,
            RW,
            MapFlags::SHARED,
            Some(FileMapping {
                source: file.clone(),
                offset: 0,
            }),
        )
        .expect("file mmap");
    assert_eq!(svc.handle_fault(id, fm, Access::Write, false), Ok(()));
    // Beyond the end of the file: SIGBUS.
    assert_eq!(
        svc.handle_fault(id, UserAddr(fm.0 + 3 * P), Access::Read, false),
        Err(FaultError::Bus)
    );
    let child = svc.fork_space(id).expect("fork");
    svc.copy_out(child, a, b"child")
        .expect("child write breaks COW");
    svc.sync_file(FileKey { dev: 1, ino: 2 });
    file.0.lock().expect("lock").truncate(P as usize);
    svc.file_truncated(FileKey { dev: 1, ino: 2 });
    assert_eq!(
        svc.handle_fault(id, UserAddr(fm.0 + P), Access::Read, false),
        Err(FaultError::Bus)
    );
    svc.set_brk_start(id, UserAddr(0x80_0000));
    assert_eq!(
        svc.brk(id, UserAddr(0x80_0000 + 3 * P)).0,
        0x80_0000 + 3 * P
    );
    let vdso = svc.special("[test-special]", b"\x7fELF").expect("special");
    svc.map_special(id, UserAddr(0x200_0000), &vdso, Prot::READ)
        .expect("map special");
    assert_eq!(svc.read_cstr(id, a, 64).expect("cstr"), b"hello");
    assert_eq!(svc.munmap(id, UserAddr(a.0 + 1), P), Err(Errno::EINVAL));
    assert!(svc.host_ops(id).is_some_and(|ops| !ops.is_empty()));
    assert!(svc.destroy_space(child));
    assert!(svc.destroy_space(id));
    assert!(!svc.destroy_space(id));
}

fn recorded() -> Vec<MmEntry> {
    let mut svc = MmService::new(Mm::new(MEM).expect("mm"));
    svc.record();
    workload(&mut svc);
    svc.take_log()
}

#[test]
fn a_recorded_run_replays_with_every_reply_matching() {
    let log = recorded();
    assert!(log.len() > 20, "{} messages", log.len());
    // The file's answers and the bytes read from guest memory are in the log.
    assert!(log.iter().any(|e| e.io.contains(&FileIo::Size(3 * P))));
    assert!(log
        .iter()
        .any(|e| e.data.as_deref() == Some(b"hello".as_slice())));
    let mut r = Replayer::new(MEM, crate::backend::MmKind::PerProcess).expect("mm");
    for (i, e) in log.iter().enumerate() {
        assert_eq!(r.step(e).as_ref(), Ok(&e.reply), "message {i}: {:?}", e.msg);
    }
    assert_eq!(
        r.mm().stats().free_bytes,
        MEM - P,
        "only the special page stays"
    );
}

#[test]
fn the_log_survives_bincode() {
    let log = recorded();
    let bytes = bincode::serialize(&log).expect("serialize");
    let back: Vec<MmEntry> = bincode::deserialize(&bytes).expect("deserialize");
    assert_eq!(back, log);
}

#[test]
fn a_changed_log_diverges() {
    let log = recorded();
    // A fault past the end of the file, whose file now has data there: it resolves.
    let i = log
        .iter()
        .position(|e| matches!(e.reply, MmReply::Fault(FaultError::Bus)))
        .expect("a SIGBUS fault");
    let mut bad = log.clone();
    for io in &mut bad[i].io {
        if let FileIo::Read { got, .. } = io {
            *got = Ok(P);
        }
    }
    let mut r = Replayer::new(MEM, crate::backend::MmKind::PerProcess).expect("mm");
    for e in &bad[..i] {
        r.step(e).expect("same as recorded");
    }
    assert_eq!(r.step(&bad[i]), Ok(MmReply::Done));
    // A recorded answer that is never asked for is a divergence too.
    let mut extra = log[0].clone();
    extra.io.push(FileIo::Size(1));
    assert!(Replayer::new(MEM, crate::backend::MmKind::PerProcess)
        .expect("mm")
        .step(&extra)
        .is_err());
}

#[test]
fn without_recording_nothing_is_logged() {
    let mut svc = MmService::new(Mm::new(MEM).expect("mm"));
    workload(&mut svc);
    assert!(svc.take_log().is_empty());
}

#[test]
fn messages_from_a_bad_log_are_errors_not_panics() {
    let mut mm = Mm::new(MEM).expect("mm");
    let nobody = MmId(99);
    for msg in [
        MmMsg::DestroySpace { id: nobody },
        MmMsg::HostOps { id: nobody },
        MmMsg::Munmap {
            id: nobody,
            addr: 0,
            len: u64::MAX,
        },
        MmMsg::Mmap {
            id: nobody,
            addr: u64::MAX,
            len: u64::MAX,
            prot: u32::MAX,
            flags: u32::MAX,
            file: None,
        },
        MmMsg::MapSpecial {
            id: nobody,
            addr: 0,
            name: "none".into(),
            prot: 0,
        },
        MmMsg::UserAccess {
            id: nobody,
            addr: u64::MAX,
            len: u64::MAX,
            write: true,
            whole: true,
            force: true,
        },
    ] {
        assert_ne!(mm.handle(msg), MmReply::Done);
    }
    // A file mapping whose file is not in the message (never written by uml).
    let id = mm.create_space();
    let msg = MmMsg::Mmap {
        id,
        addr: 0,
        len: P,
        prot: 1,
        flags: MapFlags::SHARED.bits(),
        file: Some(MappedFile {
            offset: 0,
            key: None,
            writable: false,
            source: None,
        }),
    };
    assert_eq!(mm.handle(msg), MmReply::Err(Errno::EBADF));
}

#[test]
fn on_its_own_thread_mm_answers_as_on_the_loop() {
    let mut svc = MmService::on_thread(Mm::new(MEM).expect("mm")).expect("thread");
    svc.record();
    workload(&mut svc);
    let threaded = svc.take_log();
    drop(svc);
    assert_eq!(threaded, recorded());
}
