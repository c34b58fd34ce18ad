//! The `/proc/mm` protocol: [`MmFd`] is one host address space as the runner sees it, and
//! [`MmOp`] are the SKAS3 ops (`MM_MMAP`, `MM_MUNMAP`, `MM_MPROTECT`, `MM_COPY_SEGMENTS`)
//! as messages. `mm` queues ops; the runner applies them to the stub, in order, before the
//! next resume of a task in that space.
//!
//! Coalescing never changes the meaning of the queue: applying the coalesced queue leaves the
//! host address space exactly as applying the uncoalesced one would have.

use serde::{Deserialize, Serialize};

/// Address-space identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MmId(pub u64);

/// Host-level op on one address space: the SKAS3 /proc/mm ops as messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MmOp {
    /// Map `len` bytes of physical memory starting at byte `offset` at guest/host address
    /// `addr` with `prot` (PROT_* bits), `MAP_SHARED|MAP_FIXED`.
    Mmap {
        /// Guest (= host) address.
        addr: u64,
        /// Length in bytes (page multiple).
        len: u64,
        /// `PROT_*` bits.
        prot: u32,
        /// Byte offset in physical memory (the memfd).
        offset: u64,
    },
    /// Unmap `[addr, addr+len)` in the host.
    Munmap {
        /// Start address.
        addr: u64,
        /// Length in bytes.
        len: u64,
    },
    /// Change the host protection of `[addr, addr+len)`, which is entirely host-mapped.
    Mprotect {
        /// Start address.
        addr: u64,
        /// Length in bytes.
        len: u64,
        /// `PROT_*` bits.
        prot: u32,
    },
    /// SKAS3 semantics: copy only the segment (LDT) state from another space; no memory.
    /// A no-op for us today, kept for the protocol.
    CopySegments {
        /// Source space.
        from: MmId,
    },
}

/// One host address space as the runner sees it: a queue of ops to apply before the next
/// resume.
#[derive(Debug)]
pub struct MmFd {
    id: MmId,
    pending: Vec<MmOp>,
}

fn end(a: u64, l: u64) -> u64 {
    a.saturating_add(l)
}

impl MmFd {
    /// A fresh, empty address space called `id` (unique among its mm's spaces).
    pub fn open(id: MmId) -> MmFd {
        MmFd {
            id,
            pending: Vec::new(),
        }
    }

    /// Its id.
    pub fn id(&self) -> MmId {
        self.id
    }

    /// Queues `op`, coalescing it with the previously queued op where that is exact.
    pub fn write(&mut self, op: MmOp) {
        while let Some(last) = self.pending.last_mut() {
            match (last, &op) {
                (
                    MmOp::Mmap {
                        addr: a,
                        len: l,
                        prot: p,
                        offset: o,
                    },
                    &MmOp::Mmap {
                        addr,
                        len,
                        prot,
                        offset,
                    },
                ) if *p == prot => {
                    if end(*a, *l) == addr && end(*o, *l) == offset {
                        *l += len;
                        return;
                    }
                    if end(addr, len) == *a && end(offset, len) == *o {
                        *a = addr;
                        *o = offset;
                        *l += len;
                        return;
                    }
                    break;
                }
                (MmOp::Munmap { addr: a, len: l }, &MmOp::Munmap { addr, len }) => {
                    if addr <= end(*a, *l) && *a <= end(addr, len) {
                        let s = (*a).min(addr);
                        let e = end(*a, *l).max(end(addr, len));
                        *a = s;
                        *l = e - s;
                        return;
                    }
                    break;
                }
                (
                    MmOp::Mprotect {
                        addr: a,
                        len: l,
                        prot: p,
                    },
                    &MmOp::Mprotect { addr, len, prot },
                ) if *p == prot => {
                    if addr <= end(*a, *l) && *a <= end(addr, len) {
                        let s = (*a).min(addr);
                        let e = end(*a, *l).max(end(addr, len));
                        *a = s;
                        *l = e - s;
                        return;
                    }
                    break;
                }
                // A map or protect entirely undone by a later unmap is dropped.
                (
                    MmOp::Mmap {
                        addr: a, len: l, ..
                    },
                    &MmOp::Munmap { addr, len },
                )
                | (
                    MmOp::Mprotect {
                        addr: a, len: l, ..
                    },
                    &MmOp::Munmap { addr, len },
                ) if addr <= *a && end(*a, *l) <= end(addr, len) => {
                    self.pending.pop();
                    continue;
                }
                // Map then protect of exactly the same range: map with the final prot.
                (
                    MmOp::Mmap {
                        addr: a,
                        len: l,
                        prot: p,
                        ..
                    },
                    &MmOp::Mprotect { addr, len, prot },
                ) if *a == addr && *l == len => {
                    *p = prot;
                    return;
                }
                _ => break,
            }
        }
        self.pending.push(op);
    }

    /// The queued ops, oldest first.
    pub fn pending(&self) -> &[MmOp] {
        &self.pending
    }

    /// Takes the queued ops for the runner to apply.
    pub fn take_pending(&mut self) -> Vec<MmOp> {
        std::mem::take(&mut self.pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mmap(addr: u64, len: u64, prot: u32, offset: u64) -> MmOp {
        MmOp::Mmap {
            addr,
            len,
            prot,
            offset,
        }
    }

    #[test]
    fn ids_are_unique() {
        assert_eq!(MmFd::open(MmId(7)).id(), MmId(7));
    }

    #[test]
    fn coalesces_adjacent_mmaps() {
        let mut fd = MmFd::open(MmId(1));
        fd.write(mmap(0x1000, 0x1000, 3, 0x5000));
        fd.write(mmap(0x2000, 0x1000, 3, 0x6000));
        fd.write(mmap(0x0000, 0x1000, 3, 0x4000));
        assert_eq!(fd.pending(), &[mmap(0, 0x3000, 3, 0x4000)]);
        // Different prot, or non-contiguous frames, start a new op.
        fd.write(mmap(0x3000, 0x1000, 1, 0x7000));
        fd.write(mmap(0x4000, 0x1000, 1, 0x9000));
        assert_eq!(fd.pending().len(), 3);
        assert_eq!(fd.take_pending().len(), 3);
        assert!(fd.pending().is_empty());
    }

    #[test]
    fn coalesces_unmaps_and_protects() {
        let mut fd = MmFd::open(MmId(1));
        fd.write(MmOp::Munmap {
            addr: 0x1000,
            len: 0x1000,
        });
        fd.write(MmOp::Munmap {
            addr: 0x2000,
            len: 0x2000,
        });
        fd.write(MmOp::Mprotect {
            addr: 0x8000,
            len: 0x1000,
            prot: 1,
        });
        fd.write(MmOp::Mprotect {
            addr: 0x9000,
            len: 0x1000,
            prot: 1,
        });
        fd.write(MmOp::Mprotect {
            addr: 0xa000,
            len: 0x1000,
            prot: 3,
        });
        assert_eq!(
            fd.pending(),
            &[
                MmOp::Munmap {
                    addr: 0x1000,
                    len: 0x3000
                },
                MmOp::Mprotect {
                    addr: 0x8000,
                    len: 0x2000,
                    prot: 1
                },
                MmOp::Mprotect {
                    addr: 0xa000,
                    len: 0x1000,
                    prot: 3
                },
            ]
        );
    }

    #[test]
    fn unmap_cancels_covered_map() {
        let mut fd = MmFd::open(MmId(1));
        fd.write(MmOp::Munmap {
            addr: 0x1000,
            len: 0x1000,
        });
        fd.write(mmap(0x2000, 0x2000, 3, 0));
        fd.write(MmOp::Munmap {
            addr: 0x2000,
            len: 0x2000,
        });
        // The map is gone and the unmap merged with the earlier one; the host range ends
        // unmapped either way.
        assert_eq!(
            fd.pending(),
            &[MmOp::Munmap {
                addr: 0x1000,
                len: 0x3000
            }]
        );
        // A partial unmap does not cancel.
        fd.write(mmap(0x8000, 0x2000, 3, 0));
        fd.write(MmOp::Munmap {
            addr: 0x8000,
            len: 0x1000,
        });
        assert_eq!(fd.pending().len(), 3);
    }

    #[test]
    fn protect_folds_into_map() {
        let mut fd = MmFd::open(MmId(1));
        fd.write(mmap(0x2000, 0x2000, 3, 0));
        fd.write(MmOp::Mprotect {
            addr: 0x2000,
            len: 0x2000,
            prot: 1,
        });
        assert_eq!(fd.pending(), &[mmap(0x2000, 0x2000, 1, 0)]);
    }

    #[test]
    fn ops_serialize() {
        let ops = vec![mmap(1, 2, 3, 4), MmOp::CopySegments { from: MmId(3) }];
        let bytes = bincode::serialize(&ops).expect("serialize");
        let back: Vec<MmOp> = bincode::deserialize(&bytes).expect("deserialize");
        assert_eq!(back, ops);
    }
}
