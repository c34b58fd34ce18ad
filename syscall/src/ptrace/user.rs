//! The tracee's `struct user` as `PTRACE_PEEKUSER`/`POKEUSER` see it (x86-64): the
//! general registers at offset 0, the debug registers at `u_debugreg`, zeros elsewhere;
//! and the registers' write rules (`putreg`, `ptrace_set_debugreg`).

use abi::structs::UserRegs;
use abi::Errno;

/// `sizeof(struct user)` in the kernel (the area `PEEKUSER` accepts offsets in).
pub const USER_SIZE: u64 = 928;
/// `offsetof(struct user, u_debugreg)`.
pub const DEBUGREG_OFFSET: u64 = 848;
/// `sizeof(struct user_regs_struct)`.
pub const REGS_SIZE: u64 = 216;
/// `TASK_SIZE_MAX`: the first address not in user space.
const TASK_SIZE_MAX: u64 = (1 << 47) - 4096;

/// The eflags bits a tracer may change (`FLAG_MASK`), less the trap flag, which would
/// single-step uml's own stub (`PTRACE_SINGLESTEP` is not implemented).
const FLAG_MASK: u64 = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x400 | 0x800 | 0x10000 | 0x40000;

/// The x86 debug registers of a tracee (`DR0`-`DR3`, `DR6`, `DR7`), as ptrace keeps them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DebugRegs {
    /// Breakpoint addresses.
    pub addr: [u64; 4],
    /// The status register.
    pub dr6: u64,
    /// The control register as last written.
    pub dr7: u64,
}

impl DebugRegs {
    /// `ptrace_get_debugreg`: `DR4`/`DR5` read as 0.
    pub fn get(&self, n: u64) -> u64 {
        match n {
            0..=3 => self.addr[n as usize],
            6 => self.dr6,
            7 => self.dr7,
            _ => 0,
        }
    }

    /// `ptrace_set_debugreg`: an address must be a user address for an enabled
    /// breakpoint (`EINVAL`), `DR7` must describe valid breakpoints, `DR4`/`DR5` are
    /// `EIO`.
    pub fn set(&mut self, n: u64, v: u64) -> Result<(), Errno> {
        match n {
            0..=3 => {
                let i = n as usize;
                let mut next = self.addr;
                next[i] = v;
                check_breakpoint(&next, self.dr7, i)?;
                self.addr = next;
                Ok(())
            }
            6 => {
                self.dr6 = v;
                Ok(())
            }
            7 => {
                for i in 0..4 {
                    check_breakpoint(&self.addr, v, i)?;
                }
                self.dr7 = v;
                Ok(())
            }
            _ => Err(Errno::EIO),
        }
    }
}

/// Linux's checks of breakpoint `i` (`decode_dr7`, `arch_bp_generic_fields`,
/// `hw_breakpoint_arch_parse`): an enabled one needs a valid type and length, an aligned
/// address, and an address in user space; a disabled one's address must still be a user
/// address.
fn check_breakpoint(addr: &[u64; 4], dr7: u64, i: usize) -> Result<(), Errno> {
    let enabled = (dr7 >> (i * 2)) & 3 != 0;
    let info = dr7 >> (16 + i * 4);
    let (rw, len_bits) = (info & 3, (info >> 2) & 3);
    let len = match len_bits {
        0 => 1,
        1 => 2,
        2 => 8,
        _ => 4,
    };
    let a = addr[i];
    if enabled {
        // I/O breakpoints are not for user space; an execute breakpoint has length 1.
        if rw == 2 || rw == 0 && len_bits != 0 {
            return Err(Errno::EINVAL);
        }
        if rw != 0 && a & (len - 1) != 0 {
            return Err(Errno::EINVAL);
        }
    }
    if a >= TASK_SIZE_MAX || a.saturating_add(len - 1) >= TASK_SIZE_MAX {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// The register at byte offset `off` (8-aligned, below [`REGS_SIZE`]).
pub fn reg(regs: &UserRegs, off: u64) -> u64 {
    let words: [u64; 27] = bytemuck::cast(*regs);
    words[(off / 8) as usize]
}

/// `putreg`: writes the register at byte offset `off` as Linux lets a tracer. Segment
/// selectors must be null or of privilege level 3 (`cs` and `ss` not null) and are then
/// left as they are (uml runs every guest with the host's selectors); `fs_base` and
/// `gs_base` must be user addresses; only the arithmetic and control flags of `eflags`
/// change.
pub fn put_reg(regs: &mut UserRegs, off: u64, v: u64) -> Result<(), Errno> {
    let mut words: [u64; 27] = bytemuck::cast(*regs);
    let i = (off / 8) as usize;
    match i {
        // cs, ss
        17 | 20 if v == 0 => return Err(Errno::EIO),
        // cs, ss, ds, es, fs, gs
        17 | 20 | 23..=26 => {
            return if v != 0 && v & 3 != 3 {
                Err(Errno::EIO)
            } else {
                Ok(())
            };
        }
        // eflags
        18 => words[i] = (words[i] & !FLAG_MASK) | (v & FLAG_MASK),
        // fs_base, gs_base
        21 | 22 if v >= TASK_SIZE_MAX => return Err(Errno::EIO),
        _ => words[i] = v,
    }
    *regs = bytemuck::cast(words);
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn dr7_rules() {
        let mut d = DebugRegs::default();
        d.set(0, 1).unwrap();
        d.set(7, 1).unwrap();
        // An enabled breakpoint's address may not move into the kernel's half.
        assert_eq!(d.set(0, 0xffff_8000_0000_0000), Err(Errno::EINVAL));
        assert_eq!(d.get(0), 1);
        // A write watchpoint of 4 bytes needs a 4-aligned address.
        d.set(0, 0x1001).unwrap();
        assert_eq!(d.set(7, 0xd0001), Err(Errno::EINVAL));
        d.set(0, 0x1000).unwrap();
        d.set(7, 0xd0001).unwrap();
        // I/O breakpoints are refused.
        assert_eq!(d.set(7, 0x20001), Err(Errno::EINVAL));
        assert_eq!(d.set(4, 0), Err(Errno::EIO));
        assert_eq!(d.get(5), 0);
    }

    #[test]
    fn putreg_rules() {
        let mut r = UserRegs {
            cs: 0x33,
            ..Default::default()
        };
        put_reg(&mut r, 17 * 8, 0).unwrap_err();
        put_reg(&mut r, 17 * 8, 0x10).unwrap_err();
        put_reg(&mut r, 17 * 8, 0x2b).unwrap();
        assert_eq!(r.cs, 0x33);
        put_reg(&mut r, 18 * 8, u64::MAX).unwrap();
        assert_eq!(r.eflags, FLAG_MASK);
        put_reg(&mut r, 21 * 8, TASK_SIZE_MAX).unwrap_err();
        put_reg(&mut r, 10 * 8, 7).unwrap();
        assert_eq!(reg(&r, 10 * 8), 7);
        assert_eq!(r.rax, 7);
    }
}
