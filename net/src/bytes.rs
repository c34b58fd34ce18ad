//! [`ByteQueue`]: a stream's receive queue as the buffers its sends brought, so that
//! moving bytes from a sender to a receiver copies nothing: a send's buffer is queued as
//! it is, and a receive that takes a whole buffer takes it as it is (only a receive
//! smaller than the buffer at the head copies the part it takes).

use std::collections::VecDeque;

/// Bytes queued in order, as the buffers they came in.
#[derive(Debug, Default)]
pub(crate) struct ByteQueue {
    bufs: VecDeque<Vec<u8>>,
    /// Bytes of the head buffer already taken.
    head: usize,
    len: usize,
}

impl ByteQueue {
    /// Bytes queued.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Queues `data` at the end.
    pub(crate) fn push(&mut self, data: Vec<u8>) {
        if data.is_empty() {
            return;
        }
        self.len += data.len();
        self.bufs.push_back(data);
    }

    /// The first `max` bytes (fewer if fewer are queued); `take` removes them.
    pub(crate) fn read(&mut self, max: usize, take: bool) -> Vec<u8> {
        let n = max.min(self.len);
        if take && n > 0 && self.head == 0 && self.bufs.front().is_some_and(|b| b.len() == n) {
            // The whole head buffer: moved, not copied.
            self.len -= n;
            return self.bufs.pop_front().unwrap_or_default();
        }
        let mut out = Vec::with_capacity(n);
        let mut skip = self.head;
        for b in &self.bufs {
            if out.len() == n {
                break;
            }
            let k = (b.len() - skip).min(n - out.len());
            out.extend_from_slice(&b[skip..skip + k]);
            skip = 0;
        }
        if take {
            self.consume(n);
        }
        out
    }

    /// Drops the first `n` bytes (at most all of them).
    fn consume(&mut self, mut n: usize) {
        n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let Some(front) = self.bufs.front() else {
                break;
            };
            let left = front.len() - self.head;
            if n < left {
                self.head += n;
                return;
            }
            n -= left;
            self.head = 0;
            self.bufs.pop_front();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::ByteQueue;

    #[test]
    fn reads_across_buffers_and_moves_whole_ones() {
        let mut q = ByteQueue::default();
        q.push(b"hello".to_vec());
        q.push(Vec::new());
        q.push(b" world".to_vec());
        assert_eq!(q.len(), 11);
        assert_eq!(q.read(3, false), b"hel");
        assert_eq!(q.read(3, true), b"hel");
        assert_eq!(q.read(4, true), b"lo w");
        assert_eq!(q.len(), 4);
        assert_eq!(q.read(100, false), b"orld");
        assert_eq!(q.read(4, true), b"orld");
        assert!(q.is_empty());
        assert_eq!(q.read(4, true), b"");
        q.push(b"abc".to_vec());
        assert_eq!(q.read(3, true), b"abc");
        assert!(q.is_empty());
    }
}
