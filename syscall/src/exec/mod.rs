//! Loading a program into a fresh address space: ELF parsing ([`elf`]), the initial stack
//! with argv, envp and the auxiliary vector ([`stack`]), the vDSO ([`vdso`]), and finding a
//! command on `PATH`.

mod elf;
mod stack;
pub mod vdso;

use abi::structs::UserRegs;
use abi::Errno;
use mm::{MmId, MmService};
use vfs::{At, Dentry, VfsService};

pub use elf::ElfError;
pub use stack::ArgAreas;

/// Why a program could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The file could not be found or opened (`ENOENT`, `EACCES`, ...).
    #[error("{0}")]
    Open(Errno),
    /// The file is not a loadable x86-64 ELF program.
    #[error(transparent)]
    Elf(#[from] ElfError),
    /// Building the address space failed (e.g. `ENOMEM` past `--mem`).
    #[error("loading: {0}")]
    Load(Errno),
}

impl ExecError {
    /// The errno `execve` returns for this failure.
    pub fn errno(&self) -> Errno {
        match self {
            ExecError::Open(e) | ExecError::Load(e) => *e,
            ExecError::Elf(ElfError::BadInterp) => Errno::ELIBBAD,
            ExecError::Elf(_) => Errno::ENOEXEC,
        }
    }
}

/// A program ready to run: its address space and its first registers.
pub struct Loaded {
    /// The new address space.
    pub mm: MmId,
    /// The ids the program runs with (a set-user-ID file's owner, ...).
    pub cred: crate::Cred,
    /// Registers at the entry point.
    pub regs: UserRegs,
    /// What `/proc/PID` shows of it.
    pub program: Program,
}

/// What `/proc/PID` shows of the program a process runs: its file (`exe`; the interpreter
/// of a `#!` script, as on Linux) and where its argv and envp strings are in its memory.
#[derive(Clone, Debug)]
pub struct Program {
    /// The ELF file executed.
    pub file: Dentry,
    /// Its identity (device, inode number): no one may open it for writing meanwhile.
    pub ino: (u64, u64),
    /// Where the strings are.
    pub areas: ArgAreas,
}

/// Most bytes of argv and envp strings together (a quarter of the 8 MiB stack, as Linux).
pub const ARG_MAX: usize = (mm::layout::STACK_SIZE / 4) as usize;

/// How many `#!` interpreters may be chained (Linux's `BINPRM_MAX_RECURSION`).
const MAX_INTERP_DEPTH: usize = 4;

/// Longest `#!` line Linux reads (`BINPRM_BUF_SIZE`).
const BINPRM_BUF_SIZE: usize = 256;

/// Loads the program at `path` (resolved from `cwd`) into a new address space of `mm`, with
/// `argv` and `envp` on its stack. `#!` scripts run their interpreter with the script's path
/// inserted, as Linux does. The program runs with `cred` as a set-user-ID or set-group-ID
/// ELF file changes them ([`crate::Cred::after_exec`]; only when `setid`, i.e. without
/// `PR_SET_NO_NEW_PRIVS`). On failure the new space is destroyed and nothing else changed.
#[allow(clippy::too_many_arguments)]
pub fn load<'b>(
    mm: &mut MmService,
    vfs: &VfsService,
    cwd: impl Into<At<'b>>,
    path: &[u8],
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    cred: crate::Cred,
    setid: bool,
) -> Result<Loaded, ExecError> {
    let cwd: At<'_> = cwd.into();
    let mut argv = argv.to_vec();
    let mut target = path.to_vec();
    for _ in 0..=MAX_INTERP_DEPTH {
        let file = vfs.open_exec(cwd, &target).map_err(ExecError::Open)?;
        let mut head = [0u8; BINPRM_BUF_SIZE];
        let n = file.read_at(0, &mut head).map_err(ExecError::Open)?;
        let Some((interp, arg)) = shebang(&head[..n]) else {
            let st = file.stat().map_err(ExecError::Open)?;
            let setid = setid && !file.on_nosuid_mount();
            let cred = cred.after_exec(st.st_mode, st.st_uid, st.st_gid, setid);
            let ino = (st.st_dev, st.st_ino);
            return load_elf(mm, vfs, (&file, ino, cwd.root), path, &argv, envp, cred);
        };
        // argv becomes: interpreter [arg] script original-argv[1..]
        let mut new_argv = vec![interp.clone()];
        new_argv.extend(arg);
        new_argv.push(target.clone());
        new_argv.extend(argv.iter().skip(1).cloned());
        argv = new_argv;
        target = interp;
    }
    Err(ExecError::Open(Errno::ELOOP))
}

/// Parses a `#!` line: the interpreter and at most one argument (the rest of the line).
fn shebang(head: &[u8]) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    let line = head.strip_prefix(b"#!")?;
    let line = &line[..line.iter().position(|&b| b == b'\n').unwrap_or(line.len())];
    let is_space = |b: &u8| *b == b' ' || *b == b'\t';
    let start = line.iter().position(|b| !is_space(b))?;
    let line = &line[start..];
    let end = line.iter().position(is_space).unwrap_or(line.len());
    let interp = line[..end].to_vec();
    let rest = &line[end..];
    let arg = rest.iter().position(|b| !is_space(b)).map(|s| {
        let a = &rest[s..];
        let e = a.iter().rposition(|b| !is_space(b)).map_or(0, |e| e + 1);
        a[..e].to_vec()
    });
    Some((interp, arg))
}

/// `file` is the program; `at_root` the caller's root (`chroot`), where the dynamic
/// loader is looked up.
fn load_elf(
    mm: &mut MmService,
    vfs: &VfsService,
    (file, ino, at_root): (&vfs::FileRef, (u64, u64), Option<&vfs::Dentry>),
    execfn: &[u8],
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    cred: crate::Cred,
) -> Result<Loaded, ExecError> {
    let image = elf::Image::parse(file)?;
    // The dynamic loader, if the program names one: an ELF shared object without one.
    let interp = match &image.interp {
        Some(path) => {
            // Resolved from the caller's root, as Linux opens it.
            let root = vfs.root();
            let base = vfs::At::from(at_root.unwrap_or(&root));
            let f = vfs
                .open_exec(base.rooted(at_root), path)
                .map_err(ExecError::Open)?;
            let i = elf::Image::parse(&f)?;
            if i.interp.is_some() || !i.is_dyn() {
                return Err(ElfError::BadInterp.into());
            }
            Some((i, f))
        }
        None => None,
    };
    let id = mm.create_space();
    let result = (|| {
        let bias = if image.is_dyn() {
            mm::layout::ELF_ET_DYN_BASE
        } else {
            0
        };
        let mut layout = image.map(mm, id, file, bias)?;
        mm.set_brk_start(id, abi::UserAddr(layout.end));
        if let Some((i, f)) = &interp {
            let (base, il) = i.map_anywhere(mm, id, f)?;
            layout.base = base;
            layout.start = il.start;
        }
        layout.vdso = vdso::map(mm, id)?;
        stack::build(mm, id, &layout, execfn, argv, envp, cred)
    })()
    .map_err(ExecError::Load);
    match result {
        Ok((regs, areas)) => Ok(Loaded {
            mm: id,
            cred,
            regs,
            program: Program {
                file: file.dentry().ok_or(ExecError::Open(Errno::EACCES))?,
                ino,
                areas,
            },
        }),
        Err(e) => {
            mm.destroy_space(id);
            Err(e)
        }
    }
}

/// Finds `cmd` the way `execvp` does: a name with a `/` is used as it is; otherwise each
/// directory of `path_var` (`PATH`) is tried in order for an executable regular file.
pub fn find_command(
    vfs: &VfsService,
    cwd: &Dentry,
    cmd: &[u8],
    path_var: &[u8],
) -> Result<Vec<u8>, Errno> {
    if cmd.is_empty() {
        return Err(Errno::ENOENT);
    }
    if cmd.contains(&b'/') {
        return Ok(cmd.to_vec());
    }
    let mut first_err = Errno::ENOENT;
    for dir in path_var.split(|&b| b == b':') {
        let dir: &[u8] = if dir.is_empty() { b"." } else { dir };
        let mut candidate = dir.to_vec();
        candidate.push(b'/');
        candidate.extend_from_slice(cmd);
        match vfs.stat(cwd, &candidate, true) {
            Ok(st) if st.st_mode & abi::flags::mode::S_IFMT == abi::flags::mode::S_IFREG => {
                match vfs.access(cwd, &candidate, abi::flags::access::X_OK, true) {
                    Ok(()) => return Ok(candidate),
                    Err(e) => first_err = e,
                }
            }
            Ok(_) => {}
            Err(Errno::EACCES) => first_err = Errno::EACCES,
            Err(_) => {}
        }
    }
    Err(first_err)
}

#[cfg(test)]
mod tests {
    use super::shebang;

    #[test]
    fn shebang_lines() {
        assert_eq!(
            shebang(b"#!/bin/sh\necho"),
            Some((b"/bin/sh".to_vec(), None))
        );
        assert_eq!(
            shebang(b"#! /usr/bin/env  python3 -u \n"),
            Some((b"/usr/bin/env".to_vec(), Some(b"python3 -u".to_vec())))
        );
        assert_eq!(shebang(b"#!\n"), None);
        assert_eq!(shebang(b"\x7fELF"), None);
    }
}
