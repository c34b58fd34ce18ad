//! The block map of an in-memory file ([`sparse`](crate::sparse)): block number to block,
//! for files with holes anywhere.
//!
//! Blocks are kept in runs of [`RUN`] consecutive numbers, each run one entry of an ordered
//! map with its blocks side by side in an array. A sequential read or write then walks the
//! map once per run rather than once per block: with one map entry per block, the walk's
//! cache misses on the map's nodes cost a 64 KiB read of a large file more than copying its
//! bytes. A run is kept while one of its blocks exists; its slots go as far as its last
//! block that was made, so a file of one block (most small files) has a run of one slot.

use std::collections::BTreeMap;

/// Blocks per run.
const RUN: u64 = 16;

/// A run of blocks: slot `i` is block `RUN * run + i` (at most [`RUN`] slots; a missing
/// slot is a missing block).
struct Run<T> {
    slots: Vec<Option<T>>,
    used: usize,
}

impl<T> Run<T> {
    fn new() -> Run<T> {
        Run {
            slots: Vec::new(),
            used: 0,
        }
    }

    /// Slot `i`, made if missing: a run past its first block (a file of more than one
    /// block) gets room for all its slots at once.
    fn slot(&mut self, i: usize) -> &mut Option<T> {
        if self.slots.len() <= i {
            if i > 0 {
                self.slots.reserve_exact(RUN as usize - self.slots.len());
            }
            self.slots.resize_with(i + 1, || None);
        }
        &mut self.slots[i]
    }
}

/// See the module doc.
pub(crate) struct BlockMap<T> {
    runs: BTreeMap<u64, Run<T>>,
    len: usize,
}

impl<T> BlockMap<T> {
    /// An empty map.
    pub fn new() -> BlockMap<T> {
        BlockMap {
            runs: BTreeMap::new(),
            len: 0,
        }
    }

    /// How many blocks exist.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Block `b`, if it exists.
    pub fn get_mut(&mut self, b: u64) -> Option<&mut T> {
        self.runs
            .get_mut(&(b / RUN))?
            .slots
            .get_mut((b % RUN) as usize)?
            .as_mut()
    }

    /// Whether block `b` exists.
    pub fn contains(&self, b: u64) -> bool {
        self.runs
            .get(&(b / RUN))
            .is_some_and(|r| r.slots.get((b % RUN) as usize).is_some_and(Option::is_some))
    }

    /// Makes block `b` `v`; the block it replaces.
    pub fn insert(&mut self, b: u64, v: T) -> Option<T> {
        let run = self.runs.entry(b / RUN).or_insert_with(Run::new);
        let old = run.slot((b % RUN) as usize).replace(v);
        if old.is_none() {
            run.used += 1;
            self.len += 1;
        }
        old
    }

    /// Makes block `b` `v` unless it exists.
    pub fn insert_absent(&mut self, b: u64, v: T) {
        let run = self.runs.entry(b / RUN).or_insert_with(Run::new);
        let slot = run.slot((b % RUN) as usize);
        if slot.is_none() {
            *slot = Some(v);
            run.used += 1;
            self.len += 1;
        }
    }

    /// Removes block `b`; the block it was.
    pub fn remove(&mut self, b: u64) -> Option<T> {
        let run = self.runs.get_mut(&(b / RUN))?;
        let old = run.slots.get_mut((b % RUN) as usize)?.take()?;
        run.used -= 1;
        self.len -= 1;
        if run.used == 0 {
            self.runs.remove(&(b / RUN));
        }
        Some(old)
    }

    /// The blocks numbered `first..last`, in order.
    pub fn range(&self, first: u64, last: u64) -> impl Iterator<Item = (u64, &T)> + '_ {
        self.runs
            .range(first / RUN..)
            .take_while(move |(&r, _)| r.saturating_mul(RUN) < last)
            .flat_map(|(&r, run)| {
                run.slots
                    .iter()
                    .enumerate()
                    .filter_map(move |(i, s)| s.as_ref().map(|v| (r * RUN + i as u64, v)))
            })
            .skip_while(move |&(b, _)| b < first)
            .take_while(move |&(b, _)| b < last)
    }

    /// Takes out the blocks numbered `b` and up.
    pub fn split_off(&mut self, b: u64) -> BlockMap<T> {
        let mut tail = BlockMap {
            runs: self.runs.split_off(&(b / RUN)),
            len: 0,
        };
        // The run `b` falls in goes back in part: its slots before `b`.
        if let Some(run) = tail.runs.get_mut(&(b / RUN)) {
            let mut head = Run::new();
            for i in 0..(b % RUN) as usize {
                if let Some(v) = run.slots.get_mut(i).and_then(Option::take) {
                    *head.slot(i) = Some(v);
                    head.used += 1;
                    run.used -= 1;
                }
            }
            if run.used == 0 {
                tail.runs.remove(&(b / RUN));
            }
            if head.used > 0 {
                self.runs.insert(b / RUN, head);
            }
        }
        tail.len = tail.runs.values().map(|r| r.used).sum();
        self.len -= tail.len;
        tail
    }

    /// Every block with its number, in order.
    pub fn into_blocks(self) -> impl Iterator<Item = (u64, T)> {
        self.runs.into_iter().flat_map(|(r, run)| {
            run.slots
                .into_iter()
                .enumerate()
                .filter_map(move |(i, s)| s.map(|v| (r * RUN + i as u64, v)))
        })
    }
}
