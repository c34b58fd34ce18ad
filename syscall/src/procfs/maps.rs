//! `/proc/PID/maps` and `/proc/PID/smaps`: the address space's VMAs with the guest path of
//! each mapped file and Linux's names for the heap and the stack.

use mm::{Mm, VmaReport, PAGE_SIZE};
use vfs::Vfs;

use crate::process::Process;

/// `prot` bits as `maps` shows them.
fn perms(r: &VmaReport) -> String {
    let p = r.info.prot;
    format!(
        "{}{}{}{}",
        if p & 1 != 0 { 'r' } else { '-' },
        if p & 2 != 0 { 'w' } else { '-' },
        if p & 4 != 0 { 'x' } else { '-' },
        if r.info.shared { 's' } else { 'p' },
    )
}

/// The name column of a VMA: the file's guest path, `[heap]`, `[stack]`, the name of a
/// special mapping (`[vdso]`, `[vvar]`), or nothing.
fn name(vfs: &Vfs, mm: &Mm, p: &Process, r: &VmaReport) -> (String, u64, u64) {
    if let Some(special) = r.info.name {
        return (special.to_string(), 0, 0);
    }
    if let Some(f) = r.file.as_deref().and_then(crate::mem::mapped_file) {
        let st = f.stat().unwrap_or_default();
        let (ma, mi) = abi::structs::dev_split(st.st_dev);
        let path = f.dentry().map_or_else(Vec::new, |d| vfs.path_of(&d));
        return (
            String::from_utf8_lossy(&path).into_owned(),
            abi::structs::makedev(ma, mi),
            st.st_ino,
        );
    }
    let (brk_start, brk) = mm.brk_range(p.mm);
    let (s, e) = (r.info.start, r.info.end);
    // Linux's tests: the VMA meets [start_brk, brk], or holds the initial stack pointer.
    let name = if brk_start != 0 && s <= brk && e >= brk_start {
        "[heap]"
    } else if s <= p.exe.areas.stack && p.exe.areas.stack < e {
        "[stack]"
    } else {
        ""
    };
    (name.to_string(), 0, 0)
}

/// One `maps` line (the header line of an `smaps` record).
fn line(vfs: &Vfs, mm: &Mm, p: &Process, r: &VmaReport) -> String {
    let (path, dev, ino) = name(vfs, mm, p, r);
    let (ma, mi) = abi::structs::dev_split(dev);
    let mut l = format!(
        "{:08x}-{:08x} {} {:08x} {:02x}:{:02x} {} ",
        r.info.start,
        r.info.end,
        perms(r),
        r.info.file_offset.unwrap_or(0),
        ma,
        mi,
        ino
    );
    if !path.is_empty() {
        while l.len() < 73 {
            l.push(' ');
        }
        l += &path;
    }
    l.push('\n');
    l
}

/// `/proc/PID/maps`.
pub(super) fn maps(vfs: &Vfs, mm: &Mm, p: &Process) -> Vec<u8> {
    mm.vma_report(p.mm)
        .iter()
        .map(|r| line(vfs, mm, p, r))
        .collect::<String>()
        .into_bytes()
}

/// `/proc/PID/smaps`: each VMA with its memory use. uml keeps no dirty or referenced bits:
/// resident pages of writable private mappings count as dirty, the others as clean, and
/// every resident page as referenced.
pub(super) fn smaps(vfs: &Vfs, mm: &Mm, p: &Process) -> Vec<u8> {
    let mut out = String::new();
    for r in mm.vma_report(p.mm) {
        out += &line(vfs, mm, p, &r);
        let size = r.info.end - r.info.start;
        let rss = r.rss_pages * PAGE_SIZE;
        let shared = r.shared_pages * PAGE_SIZE;
        let private = rss - shared;
        let dirty = r.info.prot & 2 != 0 && !r.info.shared;
        let (sc, sd, pc, pd) = if dirty {
            (0, shared, 0, private)
        } else {
            (shared, 0, private, 0)
        };
        let pss_dirty = if dirty { r.pss_bytes } else { 0 };
        let f = |k: &str, v: u64| format!("{:<16}{:>8} kB\n", format!("{k}:"), v / 1024);
        out += &f("Size", size);
        out += &f("KernelPageSize", PAGE_SIZE);
        out += &f("MMUPageSize", PAGE_SIZE);
        out += &f("Rss", rss);
        out += &f("Pss", r.pss_bytes);
        out += &f("Pss_Dirty", pss_dirty);
        out += &f("Shared_Clean", sc);
        out += &f("Shared_Dirty", sd);
        out += &f("Private_Clean", pc);
        out += &f("Private_Dirty", pd);
        out += &f("Referenced", rss);
        out += &f("Anonymous", r.anon_pages * PAGE_SIZE);
        for k in [
            "KSM",
            "LazyFree",
            "AnonHugePages",
            "ShmemPmdMapped",
            "FilePmdMapped",
            "Shared_Hugetlb",
            "Private_Hugetlb",
            "Swap",
            "SwapPss",
        ] {
            out += &f(k, 0);
        }
        out += &f("Locked", if r.info.locked { r.pss_bytes } else { 0 });
        out += "THPeligible:    0\n";
        out += &format!("VmFlags:{}\n", vm_flags(&r));
    }
    out.into_bytes()
}

/// `VmFlags` of a VMA (the readable, writable, executable, shared and may-* bits).
fn vm_flags(r: &VmaReport) -> String {
    let p = r.info.prot;
    let mut s = String::new();
    for (bit, name) in [(1, "rd"), (2, "wr"), (4, "ex")] {
        if p & bit != 0 {
            s += " ";
            s += name;
        }
    }
    if r.info.shared {
        s += " sh";
    }
    s += " mr mw me";
    if r.info.shared {
        s += " ms";
    }
    if r.info.locked {
        s += " lo";
    }
    s += " ";
    s
}
