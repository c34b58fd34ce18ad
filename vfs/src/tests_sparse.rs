//! Unit tests of sparse in-memory file data ([`crate::sparse`]).

use std::io::{IoSlice, IoSliceMut};

use abi::Errno;

use crate::sparse::FileData;

fn write(f: &mut FileData, off: u64, bytes: &[u8]) {
    assert_eq!(
        f.write(&[IoSlice::new(bytes)], off, u64::MAX),
        Ok(bytes.len())
    );
}

fn read(f: &FileData, off: u64, n: usize) -> Vec<u8> {
    let mut v = vec![0xaa; n];
    let got = f.read(&mut [IoSliceMut::new(&mut v)], off);
    v.truncate(got);
    v
}

#[test]
fn a_far_write_allocates_one_block_and_reads_zeros_before_it() {
    let mut f = FileData::new(1024);
    write(&mut f, 5 << 30, b"xyz");
    assert_eq!(f.len(), (5 << 30) + 3);
    assert_eq!(f.allocated(), 1024);
    assert_eq!(read(&f, (5 << 30) - 2, 8), b"\0\0xyz");
    assert_eq!(f.seek(0, false), Ok(5 << 30));
    assert_eq!(f.seek(0, true), Ok(0));
    assert_eq!(f.seek(5 << 30, true), Ok((5 << 30) + 3));
    assert_eq!(f.seek((5 << 30) + 3, false), Err(Errno::ENXIO));
}

#[test]
fn punch_frees_whole_blocks_and_zeroes_partial_ones() {
    let mut f = FileData::new(1024);
    write(&mut f, 0, &[7; 4096]);
    f.punch(1000, 3000);
    assert_eq!(f.allocated(), 3072);
    assert_eq!(read(&f, 998, 4), [7, 7, 0, 0]);
    assert_eq!(read(&f, 2998, 4), [0, 0, 7, 7]);
    assert_eq!(f.seek(0, true), Ok(1024));
    assert_eq!(f.seek(1024, false), Ok(2048));
    assert_eq!(f.len(), 4096);
}

#[test]
fn allocated_blocks_read_as_zeros_and_are_data_to_seek() {
    let mut f = FileData::new(4096);
    f.allocate(4096, 12288, true);
    assert_eq!((f.len(), f.allocated()), (0, 8192));
    f.allocate(4096, 8192, false);
    assert_eq!(f.len(), 8192);
    assert_eq!(f.seek(0, false), Ok(4096));
    assert_eq!(f.seek(4096, true), Ok(8192));
    assert_eq!(read(&f, 4095, 2), [0, 0]);
    write(&mut f, 4096, b"a");
    assert_eq!(read(&f, 4096, 2), [b'a', 0]);
    assert_eq!(f.allocated(), 8192);
}

#[test]
fn zero_range_allocates_and_collapse_and_insert_move_blocks() {
    let mut f = FileData::new(1024);
    write(&mut f, 0, &[1; 1024]);
    write(&mut f, 2048, &[3; 1024]);
    f.zero_range(1023, 2050, false);
    assert_eq!(f.allocated(), 3072);
    assert_eq!(read(&f, 1022, 2), [1, 0]);
    assert_eq!(read(&f, 2049, 2), [0, 3]);
    f.collapse(1024, 1024);
    assert_eq!(f.len(), 2048);
    assert_eq!(read(&f, 1025, 2), [0, 3]);
    f.insert(1024, 2048);
    assert_eq!(f.len(), 4096);
    assert_eq!(f.allocated(), 2048);
    assert_eq!(read(&f, 3072, 3), [0, 0, 3]);
    assert_eq!(f.seek(1024, false), Ok(3072));
    assert_eq!(f.seek(0, true), Ok(1024));
}

#[test]
fn shrinking_frees_blocks_and_zeroes_the_tail() {
    let mut f = FileData::new(4096);
    write(&mut f, 0, &[9; 10000]);
    f.set_len(5000);
    assert_eq!(f.allocated(), 8192);
    f.set_len(9000);
    assert_eq!(read(&f, 4999, 3), [9, 0, 0]);
    assert_eq!(f.seek(5000, true), Ok(8192));
}

#[test]
fn the_space_a_write_needs_counts_only_absent_blocks() {
    let mut f = FileData::new(1024);
    write(&mut f, 1024, b"x");
    assert_eq!(f.absent_blocks(0, 4096), 3);
    assert_eq!(f.fitting_end(0, 4096, 1), 2048);
    assert_eq!(f.fitting_end(1500, 4096, 0), 2048);
    assert_eq!(f.fitting_end(0, 4096, 3), 4096);
    assert_eq!(f.write(&[IoSlice::new(b"abcdef")], 10, 2), Ok(2));
}

/// The block map answers as an ordered map of block numbers would, through inserts,
/// removals and splits that cross its runs.
#[test]
fn block_map_is_an_ordered_map() {
    use crate::blockmap::BlockMap;
    use std::collections::BTreeMap;
    let mut m: BlockMap<u64> = BlockMap::new();
    let mut model: BTreeMap<u64, u64> = BTreeMap::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rand = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    for step in 0..4000 {
        let b = rand(200);
        match rand(5) {
            0 | 1 => assert_eq!(m.insert(b, step), model.insert(b, step)),
            2 => assert_eq!(m.remove(b), model.remove(&b)),
            3 => {
                m.insert_absent(b, step);
                model.entry(b).or_insert(step);
            }
            _ => {
                let (lo, hi) = (rand(220), rand(220));
                let got: Vec<(u64, u64)> = m.range(lo, hi).map(|(k, v)| (k, *v)).collect();
                let want: Vec<(u64, u64)> =
                    model.range(lo..hi.max(lo)).map(|(k, v)| (*k, *v)).collect();
                assert_eq!(got, want, "range {lo}..{hi}");
            }
        }
        assert_eq!(m.len(), model.len());
        assert_eq!(m.contains(b), model.contains_key(&b));
    }
    let at = 37;
    let tail = m.split_off(at);
    let model_tail = model.split_off(&at);
    assert_eq!(m.len(), model.len());
    assert_eq!(tail.len(), model_tail.len());
    let got: Vec<(u64, u64)> = tail.into_blocks().collect();
    assert_eq!(got, model_tail.into_iter().collect::<Vec<_>>());
    let got: Vec<(u64, u64)> = m.range(0, u64::MAX).map(|(k, v)| (k, *v)).collect();
    assert_eq!(got, model.into_iter().collect::<Vec<_>>());
}

#[test]
fn a_short_last_block_reads_zeros_past_its_bytes_and_grows_on_later_writes() {
    let mut f = FileData::new(1024);
    write(&mut f, 0, b"hello");
    assert_eq!(read(&f, 0, 2048), b"hello");
    // Growing the file past a short block: the rest reads as zeros.
    f.set_len(1030);
    assert_eq!(read(&f, 3, 4), b"lo\0\0");
    assert_eq!(read(&f, 1020, 20), [0; 10]);
    // A write past its bytes, inside the block and then across its end.
    write(&mut f, 100, b"ab");
    write(&mut f, 1022, b"cdef");
    assert_eq!(read(&f, 98, 6), b"\0\0ab\0\0");
    assert_eq!(read(&f, 1020, 10), b"\0\0cdef\0\0\0\0");
    assert_eq!(&read(&f, 0, 5), b"hello");
    // Shrinking into a short block and growing again zeroes what was cut.
    let mut g = FileData::new(1024);
    write(&mut g, 0, b"0123456789");
    g.set_len(4);
    g.set_len(10);
    assert_eq!(read(&g, 0, 10), b"0123\0\0\0\0\0\0");
    g.punch(2, 3);
    assert_eq!(read(&g, 0, 4), b"01\x003");
    assert_eq!(g.allocated(), 1024);
}
