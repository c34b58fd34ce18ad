//! The initial stack of a new program: argc, argv, envp, the auxiliary vector, and the
//! strings they point to, laid out as Linux's `create_elf_tables` does.

use abi::flags::auxv::*;
use abi::flags::{MapFlags, Prot};
use abi::structs::UserRegs;
use abi::{Errno, UserAddr};
use mm::layout::{STACK_SIZE, STACK_TOP};
use mm::{MmId, MmService};

use super::elf::Layout;
use crate::Cred;

/// Values of the host's own auxiliary vector that describe the CPU, which the guest shares.
struct HostAuxv {
    hwcap: u64,
    hwcap2: u64,
    minsigstksz: u64,
}

fn host_auxv() -> &'static HostAuxv {
    static AUXV: std::sync::OnceLock<HostAuxv> = std::sync::OnceLock::new();
    AUXV.get_or_init(|| {
        let raw = std::fs::read("/proc/self/auxv").unwrap_or_default();
        let mut aux = HostAuxv {
            hwcap: 0,
            hwcap2: 0,
            minsigstksz: 0,
        };
        for pair in raw.chunks_exact(16) {
            let key = u64::from_ne_bytes(pair[..8].try_into().unwrap_or_default());
            let val = u64::from_ne_bytes(pair[8..].try_into().unwrap_or_default());
            match key {
                AT_HWCAP => aux.hwcap = val,
                AT_HWCAP2 => aux.hwcap2 = val,
                AT_MINSIGSTKSZ => aux.minsigstksz = val,
                _ => {}
            }
        }
        if aux.minsigstksz == 0 {
            aux.minsigstksz = abi::signal::MINSIGSTKSZ;
        }
        aux
    })
}

/// Where the argument and environment strings of a new program lie (`[start, end)` each),
/// for `/proc/PID/cmdline` and `environ`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArgAreas {
    /// The argv strings.
    pub args: (u64, u64),
    /// The envp strings.
    pub env: (u64, u64),
    /// The initial stack pointer (Linux's `start_stack`).
    pub stack: u64,
}

/// Maps the stack of `id`, writes the initial stack, and returns the registers at entry and
/// where the strings are.
pub fn build(
    mm: &mut MmService,
    id: MmId,
    layout: &Layout,
    execfn: &[u8],
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    cred: Cred,
) -> Result<(UserRegs, ArgAreas), Errno> {
    let strings: usize = argv.iter().chain(envp).map(|s| s.len() + 1).sum();
    if strings > super::ARG_MAX {
        return Err(Errno::E2BIG);
    }
    let stack_base = STACK_TOP - STACK_SIZE;
    // Not reserved: Linux charges a stack as it grows, not for its whole rlimit, so a
    // process's (and each fork's) commit charge is not 8 MiB of stack it never touches; its
    // pages count as they are used.
    mm.mmap(
        id,
        UserAddr(stack_base),
        STACK_SIZE,
        Prot::READ | Prot::WRITE,
        MapFlags::PRIVATE
            | MapFlags::ANONYMOUS
            | MapFlags::FIXED
            | MapFlags::GROWSDOWN
            | MapFlags::NORESERVE,
        None,
    )?;

    // Strings, from the top down: an end marker, the file name, envp, argv.
    let mut area: Vec<u8> = Vec::new();
    let mut p = STACK_TOP - 8;
    let push = |bytes: &[u8], area: &mut Vec<u8>, p: &mut u64| -> u64 {
        *p -= bytes.len() as u64 + 1;
        let mut s = bytes.to_vec();
        s.push(0);
        s.extend_from_slice(area);
        *area = s;
        *p
    };
    let execfn_at = push(execfn, &mut area, &mut p);
    let mut env_at: Vec<u64> = envp
        .iter()
        .rev()
        .map(|s| push(s, &mut area, &mut p))
        .collect();
    env_at.reverse();
    let mut arg_at: Vec<u64> = argv
        .iter()
        .rev()
        .map(|s| push(s, &mut area, &mut p))
        .collect();
    arg_at.reverse();
    let env_start = env_at.first().copied().unwrap_or(execfn_at);
    let areas = ArgAreas {
        args: (arg_at.first().copied().unwrap_or(env_start), env_start),
        env: (env_start, execfn_at),
        stack: 0,
    };
    let platform_at = push(b"x86_64", &mut area, &mut p);
    let mut random = [0u8; 16];
    getrandom(&mut random);
    p -= 16;
    let random_at = p;
    let mut with_random = random.to_vec();
    with_random.extend_from_slice(&area);
    area = with_random;
    // Pad so that the strings area starts 16-byte aligned.
    let aligned = p & !15;
    let mut padded = vec![0u8; (p - aligned) as usize];
    padded.extend_from_slice(&area);
    area = padded;
    p = aligned;

    let host = host_auxv();
    let auxv: [(u64, u64); 20] = [
        (AT_SYSINFO_EHDR, layout.vdso),
        (AT_PHDR, layout.phdr),
        (AT_PHENT, layout.phent),
        (AT_PHNUM, layout.phnum),
        (AT_PAGESZ, abi::PAGE_SIZE),
        (AT_BASE, layout.base),
        (AT_FLAGS, 0),
        (AT_ENTRY, layout.entry),
        (AT_UID, cred.uid.into()),
        (AT_EUID, cred.euid.into()),
        (AT_GID, cred.gid.into()),
        (AT_EGID, cred.egid.into()),
        (AT_SECURE, u64::from(cred.secure())),
        (AT_HWCAP, host.hwcap),
        (AT_HWCAP2, host.hwcap2),
        (AT_CLKTCK, 100),
        (AT_RANDOM, random_at),
        (AT_EXECFN, execfn_at),
        (AT_PLATFORM, platform_at),
        (AT_MINSIGSTKSZ, host.minsigstksz),
    ];
    let mut words: Vec<u64> = vec![argv.len() as u64];
    words.extend(&arg_at);
    words.push(0);
    words.extend(&env_at);
    words.push(0);
    for (k, v) in auxv {
        words.extend([k, v]);
    }
    words.extend([AT_NULL, 0]);
    let mut sp = p - 8 * words.len() as u64;
    let pad = sp - (sp & !15);
    sp &= !15;
    let mut image: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
    image.resize(image.len() + pad as usize, 0);
    image.extend_from_slice(&area);
    mm.copy_out(id, UserAddr(sp), &image)?;

    let regs = UserRegs {
        rip: layout.start,
        rsp: sp,
        eflags: 0x202,
        ..UserRegs::default()
    };
    Ok((regs, ArgAreas { stack: sp, ..areas }))
}

/// Fills `buf` from the host's entropy source.
fn getrandom(buf: &mut [u8]) {
    use std::io::Read;
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = f.read_exact(buf);
    }
}
