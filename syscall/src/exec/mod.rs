//! Loading a program into a fresh address space: ELF parsing ([`elf`]), the initial stack
//! with argv, envp and the auxiliary vector ([`stack`]), and finding a command on `PATH`.

mod elf;
mod stack;

use abi::structs::UserRegs;
use abi::Errno;
use mm::{Mm, MmId};
use vfs::{Dentry, Vfs};

pub use elf::ElfError;

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
            ExecError::Elf(ElfError::NotElf) | ExecError::Elf(ElfError::Malformed(_)) => {
                Errno::ENOEXEC
            }
            ExecError::Elf(ElfError::Unsupported(_)) => Errno::ENOEXEC,
            ExecError::Elf(ElfError::Dynamic) => Errno::ENOEXEC,
        }
    }
}

/// A program ready to run: its address space and its first registers.
pub struct Loaded {
    /// The new address space.
    pub mm: MmId,
    /// Registers at the entry point.
    pub regs: UserRegs,
}

/// Loads the program at `path` (resolved from `cwd`) into a new address space of `mm`, with
/// `argv` and `envp` on its stack. On failure the new space is destroyed and nothing else
/// changed.
pub fn load(
    mm: &mut Mm,
    vfs: &Vfs,
    cwd: &Dentry,
    path: &[u8],
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    cred: crate::Cred,
) -> Result<Loaded, ExecError> {
    let file = vfs.open_exec(cwd, path).map_err(ExecError::Open)?;
    let image = elf::Image::parse(&file)?;
    let id = mm.create_space();
    let result = image
        .map(mm, id, &file)
        .and_then(|layout| stack::build(mm, id, &layout, path, argv, envp, cred))
        .map_err(ExecError::Load);
    match result {
        Ok(regs) => Ok(Loaded { mm: id, regs }),
        Err(e) => {
            mm.destroy_space(id);
            Err(e)
        }
    }
}

/// Finds `cmd` the way `execvp` does: a name with a `/` is used as it is; otherwise each
/// directory of `path_var` (`PATH`) is tried in order for an executable regular file.
pub fn find_command(
    vfs: &Vfs,
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
