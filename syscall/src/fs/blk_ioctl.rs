//! `ioctl(2)` on block devices and `/dev/loop-control`: the guest's `struct loop_info`,
//! `struct loop_info64` and `struct loop_config` decoded and encoded here; the devices are
//! `vfs`'s (`vfs::LoopDevice`, `Vfs::loop_control`).
//!
//! Block requests: `BLKGETSIZE64`, `BLKGETSIZE`, `BLKSSZGET`, `BLKPBSZGET`, `BLKBSZGET`,
//! `BLKIOMIN`, `BLKIOOPT`, `BLKALIGNOFF`, `BLKROGET`/`BLKROSET`, `BLKRAGET`/`BLKRASET`
//! (and `BLKFRAGET`/`BLKFRASET`, the same value), `BLKDISCARDZEROES`,
//! `BLKFLSBUF`, `BLKRRPART` (`EINVAL`: no partition scanning), `BLKDISCARD` and
//! `BLKZEROOUT` (the range reads as zeros); other requests on a loop device are `EINVAL`
//! (Linux's `lo_ioctl`), on the control device `ENOSYS` (Linux's `loop_control_ioctl`).

use abi::flags::blk::*;
use abi::{Errno, SysResult, UserAddr};
use vfs::{FileRef, LoopDevice, LoopInfo};

use crate::caps::CAP_SYS_ADMIN;
use crate::Ctx;

/// `ioctl` `request` with `arg` on `f`, if it is a loop device or the loop control device
/// (`None`: it is neither).
pub(super) fn ioctl(ctx: &mut Ctx<'_>, f: &FileRef, request: u32, arg: u64) -> Option<SysResult> {
    if f.is_loop_control() {
        return Some(match request {
            LOOP_CTL_GET_FREE | LOOP_CTL_ADD | LOOP_CTL_REMOVE => {
                // The argument is an `int` index.
                ctx.vfs.loop_control(request, i64::from(arg as u32 as i32))
            }
            _ => Err(Errno::ENOSYS),
        });
    }
    let dev = f.loop_device()?.clone();
    Some(loop_ioctl(ctx, f, &dev, request, UserAddr(arg)))
}

fn loop_ioctl(
    ctx: &mut Ctx<'_>,
    f: &FileRef,
    dev: &LoopDevice,
    request: u32,
    arg: UserAddr,
) -> SysResult {
    let writable = f.flags().writable();
    let admin = ctx.proc.cred.caps.has(CAP_SYS_ADMIN);
    match request {
        LOOP_SET_FD => {
            let backing = ctx.file(arg.0 as u32 as i32)?;
            dev.set_fd(backing, writable)?;
        }
        LOOP_CONFIGURE => {
            let mut raw = [0u8; 304];
            ctx.copy_in(arg, &mut raw)?;
            let fd = u32::from_ne_bytes(raw[0..4].try_into().unwrap_or_default());
            let block_size = u32::from_ne_bytes(raw[4..8].try_into().unwrap_or_default());
            let info = decode64(&raw[8..240])?;
            let backing = ctx.file(fd as i32)?;
            dev.configure(backing, writable, block_size, info)?;
        }
        LOOP_CHANGE_FD => {
            let backing = ctx.file(arg.0 as u32 as i32)?;
            dev.change_fd(backing)?;
        }
        LOOP_CLR_FD => dev.clear()?,
        LOOP_SET_STATUS | LOOP_SET_STATUS64 => {
            if !writable && !admin {
                return Err(Errno::EPERM);
            }
            let info = if request == LOOP_SET_STATUS64 {
                let mut raw = [0u8; 232];
                ctx.copy_in(arg, &mut raw)?;
                decode64(&raw)?
            } else {
                let mut raw = [0u8; 168];
                ctx.copy_in(arg, &mut raw)?;
                decode_old(&raw)?
            };
            dev.set_status(&info)?;
        }
        LOOP_GET_STATUS64 => {
            if arg.is_null() {
                return Err(Errno::EINVAL);
            }
            let raw = encode64(&dev.status()?);
            ctx.copy_out(arg, &raw)?;
        }
        LOOP_GET_STATUS => {
            if arg.is_null() {
                return Err(Errno::EINVAL);
            }
            let raw = encode_old(&dev.status()?)?;
            ctx.copy_out(arg, &raw)?;
        }
        LOOP_SET_CAPACITY | LOOP_SET_DIRECT_IO | LOOP_SET_BLOCK_SIZE => {
            if !writable && !admin {
                return Err(Errno::EPERM);
            }
            match request {
                LOOP_SET_CAPACITY => dev.set_capacity()?,
                LOOP_SET_DIRECT_IO => dev.set_direct_io(arg.0 != 0)?,
                _ => dev.set_block_size(arg.0)?,
            }
        }
        BLKGETSIZE64 => ctx.write_val(arg, &dev.size())?,
        BLKGETSIZE => ctx.write_val(arg, &(dev.size() >> 9))?,
        BLKSSZGET | BLKIOMIN => ctx.write_val(arg, &dev.block_size())?,
        BLKPBSZGET => ctx.write_val(arg, &dev.block_size())?,
        BLKBSZGET => ctx.write_val(arg, &4096u32)?,
        BLKIOOPT | BLKALIGNOFF | BLKDISCARDZEROES => ctx.write_val(arg, &0u32)?,
        BLKROGET => ctx.write_val(arg, &u32::from(dev.read_only()))?,
        BLKROSET => {
            if !admin {
                return Err(Errno::EACCES);
            }
            let on: i32 = ctx.read_val(arg)?;
            dev.set_read_only(on != 0);
        }
        BLKRAGET | BLKFRAGET => {
            if arg.is_null() {
                return Err(Errno::EINVAL);
            }
            ctx.write_val(arg, &dev.read_ahead())?;
        }
        // The argument is the value itself.
        BLKRASET | BLKFRASET => {
            if !admin {
                return Err(Errno::EACCES);
            }
            dev.set_read_ahead(arg.0);
        }
        BLKFLSBUF => {
            if !admin {
                return Err(Errno::EACCES);
            }
        }
        BLKRRPART => {
            if !admin {
                return Err(Errno::EACCES);
            }
            return Err(Errno::EINVAL);
        }
        BLKDISCARD | BLKZEROOUT => {
            if !writable {
                return Err(Errno::EBADF);
            }
            let range: [u64; 2] = ctx.read_val(arg)?;
            dev.discard(range[0], range[1])?;
        }
        _ => return Err(Errno::EINVAL),
    }
    Ok(0)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_ne_bytes(b[at..at + 8].try_into().unwrap_or_default())
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(b[at..at + 4].try_into().unwrap_or_default())
}

/// A name field: up to its NUL, at most `LO_NAME_SIZE - 1` bytes.
fn name(b: &[u8]) -> Vec<u8> {
    let b = &b[..LO_NAME_SIZE - 1];
    b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())].to_vec()
}

/// `struct loop_info64` (232 bytes) to set: `EINVAL` for a key longer than `LO_KEY_SIZE`,
/// `EOVERFLOW` for an offset or size limit past `LLONG_MAX`.
fn decode64(b: &[u8]) -> Result<LoopInfo, Errno> {
    let info = LoopInfo {
        offset: u64_at(b, 24),
        sizelimit: u64_at(b, 32),
        flags: u32_at(b, 52),
        file_name: name(&b[56..120]),
        crypt_name: name(&b[120..184]),
        ..LoopInfo::default()
    };
    if u32_at(b, 48) as usize > LO_KEY_SIZE {
        return Err(Errno::EINVAL);
    }
    if info.offset > i64::MAX as u64 || info.sizelimit > i64::MAX as u64 {
        return Err(Errno::EOVERFLOW);
    }
    Ok(info)
}

fn encode64(i: &LoopInfo) -> [u8; 232] {
    let mut b = [0u8; 232];
    for (at, v) in [
        (0, i.device),
        (8, i.inode),
        (16, i.rdevice),
        (24, i.offset),
        (32, i.sizelimit),
    ] {
        b[at..at + 8].copy_from_slice(&v.to_ne_bytes());
    }
    b[40..44].copy_from_slice(&i.number.to_ne_bytes());
    b[52..56].copy_from_slice(&i.flags.to_ne_bytes());
    b[56..56 + i.file_name.len()].copy_from_slice(&i.file_name);
    b[120..120 + i.crypt_name.len()].copy_from_slice(&i.crypt_name);
    b
}

/// The old `struct loop_info` (168 bytes on x86-64) to set.
fn decode_old(b: &[u8]) -> Result<LoopInfo, Errno> {
    if u32_at(b, 40) as usize > LO_KEY_SIZE {
        return Err(Errno::EINVAL);
    }
    // `lo_offset` is an `int`, taken sign-extended as Linux does.
    let offset = u32_at(b, 32) as i32 as i64 as u64;
    if offset > i64::MAX as u64 {
        return Err(Errno::EOVERFLOW);
    }
    Ok(LoopInfo {
        offset,
        flags: u32_at(b, 44),
        file_name: name(&b[48..112]),
        ..LoopInfo::default()
    })
}

/// The old `struct loop_info`: `EOVERFLOW` if the offset does not fit its `int`.
fn encode_old(i: &LoopInfo) -> Result<[u8; 168], Errno> {
    let offset = i32::try_from(i.offset).map_err(|_| Errno::EOVERFLOW)?;
    let mut b = [0u8; 168];
    b[0..4].copy_from_slice(&i.number.to_ne_bytes());
    b[8..16].copy_from_slice(&i.device.to_ne_bytes());
    b[16..24].copy_from_slice(&i.inode.to_ne_bytes());
    b[24..32].copy_from_slice(&i.rdevice.to_ne_bytes());
    b[32..36].copy_from_slice(&offset.to_ne_bytes());
    b[44..48].copy_from_slice(&i.flags.to_ne_bytes());
    b[48..48 + i.file_name.len()].copy_from_slice(&i.file_name);
    Ok(b)
}
