//! [`BufPool`]: payload buffers of stream sends, kept for reuse once a receive has copied
//! them out. A stream's queue holds its sends' buffers as they are (`bytes`), so a fast
//! writer fills megabytes of fresh heap that the reader then frees; without reuse the
//! allocator hands that memory back to the host and takes it again page by page (a page
//! fault each), a fifth of the kernel's time in a bulk transfer. Small sends do not come
//! here: the allocator keeps those itself.

/// Sends of at least this many bytes use pooled buffers.
const MIN: usize = 4096;
/// Buffers larger than this are not kept.
const MAX: usize = 1 << 20;
/// Bytes kept at most: about what one connection's queues hold
/// ([`crate::TCP_RMEM_MAX`] + [`crate::TCP_WMEM_MAX`]).
const KEEP: usize = crate::TCP_RMEM_MAX + crate::TCP_WMEM_MAX;

/// Spare buffers, most recently returned last.
#[derive(Debug, Default)]
pub(crate) struct BufPool {
    bufs: Vec<Vec<u8>>,
    bytes: usize,
}

impl BufPool {
    /// An empty buffer with room for `len` bytes.
    pub(crate) fn take(&mut self, len: usize) -> Vec<u8> {
        if len >= MIN && self.bufs.last().is_some_and(|b| b.capacity() >= len) {
            if let Some(b) = self.bufs.pop() {
                self.bytes -= b.capacity();
                return b;
            }
        }
        Vec::with_capacity(len)
    }

    /// Keeps `buf` for a later [`BufPool::take`] if it is worth keeping and there is room.
    pub(crate) fn give(&mut self, mut buf: Vec<u8>) {
        let cap = buf.capacity();
        if (MIN..=MAX).contains(&cap) && self.bytes + cap <= KEEP {
            buf.clear();
            self.bytes += cap;
            self.bufs.push(buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::BufPool;

    #[test]
    fn reuses_large_buffers_only() {
        let mut p = BufPool::default();
        let mut b = p.take(65536);
        b.extend_from_slice(&[1; 65536]);
        let at = b.as_ptr();
        p.give(b);
        let b = p.take(100);
        assert!(b.capacity() < 65536, "a small send takes a fresh buffer");
        let b2 = p.take(65536);
        assert!(b2.is_empty() && b2.as_ptr() == at);
        p.give(b);
        assert!(p.bufs.is_empty(), "small buffers are not kept");
    }
}
