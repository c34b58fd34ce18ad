//! ELF64 executables: parsing the headers (with `goblin`) and mapping the loadable segments.

use abi::flags::{MapFlags, Prot};
use abi::{Errno, UserAddr, PAGE_SIZE};
use goblin::elf::header::{Header, EM_X86_64, ET_DYN, ET_EXEC};
use goblin::elf::program_header::{ProgramHeader, PF_R, PF_W, PF_X, PT_INTERP, PT_LOAD, PT_PHDR};
use mm::{MmId, MmService};
use vfs::FileRef;

/// Why a file is not a program uml can load.
#[derive(Debug, thiserror::Error)]
pub enum ElfError {
    /// No ELF magic (a script without `#!`, a text file).
    #[error("not an ELF executable")]
    NotElf,
    /// An ELF file uml cannot run (wrong class, machine or type).
    #[error("unsupported ELF file: {0}")]
    Unsupported(&'static str),
    /// Inconsistent headers.
    #[error("malformed ELF file: {0}")]
    Malformed(&'static str),
    /// An interpreter that itself asks for an interpreter, or is not a shared object.
    #[error("bad ELF interpreter")]
    BadInterp,
}

/// Most program headers accepted (Linux caps the table at 64 KiB).
const MAX_PHDRS: usize = 65536 / 56;

/// The parsed headers of an executable.
pub struct Image {
    header: Header,
    phdrs: Vec<ProgramHeader>,
    /// The `PT_INTERP` path (the dynamic loader), without its NUL.
    pub interp: Option<Vec<u8>>,
}

/// Where the program landed, for the auxiliary vector.
pub struct Layout {
    /// `AT_BASE`: where the interpreter was loaded (0 without one).
    pub base: u64,
    /// Where execution starts: the interpreter's entry point, or the program's.
    pub start: u64,
    /// End of the highest segment (the heap starts here).
    pub end: u64,
    /// `AT_PHDR`: the program headers in guest memory.
    pub phdr: u64,
    /// `AT_PHENT`.
    pub phent: u64,
    /// `AT_PHNUM`.
    pub phnum: u64,
    /// `AT_ENTRY`: the entry point.
    pub entry: u64,
    /// `AT_SYSINFO_EHDR`: the vDSO (set by the loader after mapping it).
    pub vdso: u64,
}

fn read_exact(file: &FileRef, off: u64, buf: &mut [u8]) -> Result<(), ElfError> {
    match file.read_at(off, buf) {
        Ok(n) if n == buf.len() => Ok(()),
        _ => Err(ElfError::Malformed("truncated file")),
    }
}

impl Image {
    /// Reads and checks the ELF header and program headers of `file`.
    pub fn parse(file: &FileRef) -> Result<Image, ElfError> {
        let mut ehdr = [0u8; 64];
        let n = file.read_at(0, &mut ehdr).map_err(|_| ElfError::NotElf)?;
        if n < 4 || &ehdr[..4] != b"\x7fELF" {
            return Err(ElfError::NotElf);
        }
        if n < ehdr.len() {
            return Err(ElfError::Malformed("truncated header"));
        }
        let header =
            goblin::elf::Elf::parse_header(&ehdr).map_err(|_| ElfError::Malformed("header"))?;
        if header.e_ident[goblin::elf::header::EI_CLASS] != goblin::elf::header::ELFCLASS64 {
            return Err(ElfError::Unsupported("not a 64-bit program"));
        }
        if header.e_machine != EM_X86_64 {
            return Err(ElfError::Unsupported("not an x86-64 program"));
        }
        if header.e_type != ET_EXEC && header.e_type != ET_DYN {
            return Err(ElfError::Unsupported("not an executable"));
        }
        let (phnum, phentsize) = (usize::from(header.e_phnum), usize::from(header.e_phentsize));
        if phentsize != 56 || phnum == 0 || phnum > MAX_PHDRS {
            return Err(ElfError::Malformed("program header table"));
        }
        let mut table = vec![0u8; phnum * phentsize];
        read_exact(file, header.e_phoff, &mut table)?;
        let ctx = goblin::container::Ctx::new(
            goblin::container::Container::Big,
            goblin::container::Endian::Little,
        );
        let phdrs = ProgramHeader::parse(&table, 0, phnum, ctx)
            .map_err(|_| ElfError::Malformed("program headers"))?;
        if !phdrs.iter().any(|p| p.p_type == PT_LOAD) {
            return Err(ElfError::Malformed("no loadable segment"));
        }
        let interp = match phdrs.iter().find(|p| p.p_type == PT_INTERP) {
            Some(p) if p.p_filesz < 2 || p.p_filesz > abi::flags::PATH_MAX as u64 => {
                return Err(ElfError::Malformed("interpreter path"))
            }
            Some(p) => {
                let mut path = vec![0u8; p.p_filesz as usize];
                read_exact(file, p.p_offset, &mut path)?;
                if path.pop() != Some(0) || path.contains(&0) {
                    return Err(ElfError::Malformed("interpreter path"));
                }
                Some(path)
            }
            None => None,
        };
        Ok(Image {
            header,
            phdrs,
            interp,
        })
    }

    /// Whether the file is position independent (loaded at a chosen base).
    pub fn is_dyn(&self) -> bool {
        self.header.e_type == ET_DYN
    }

    /// The page-aligned extent of the loadable segments, relative to their link addresses.
    fn span(&self) -> Result<(u64, u64), Errno> {
        let loads = self.phdrs.iter().filter(|p| p.p_type == PT_LOAD);
        let lo = loads.clone().map(|p| p.p_vaddr).min().unwrap_or(0) & !(PAGE_SIZE - 1);
        let hi = loads
            .map(|p| p.p_vaddr.saturating_add(p.p_memsz))
            .max()
            .unwrap_or(0);
        Ok((lo, page_up(hi)?))
    }

    /// Maps a position-independent interpreter wherever the address space has room (as
    /// `mmap` would place it) and returns its load bias.
    pub fn map_anywhere(
        &self,
        mm: &mut MmService,
        id: MmId,
        file: &FileRef,
    ) -> Result<(u64, Layout), Errno> {
        let (lo, hi) = self.span()?;
        let reserve = MapFlags::PRIVATE | MapFlags::ANONYMOUS;
        let at = mm.mmap(id, UserAddr(0), hi - lo, Prot::empty(), reserve, None)?;
        let bias = at.0.wrapping_sub(lo);
        Ok((bias, self.map(mm, id, file, bias)?))
    }

    /// Maps the loadable segments into `id` at `bias` (file-backed private mappings,
    /// zeroed bss) and returns where things landed.
    pub fn map(
        &self,
        mm: &mut MmService,
        id: MmId,
        file: &FileRef,
        bias: u64,
    ) -> Result<Layout, Errno> {
        let mut end_max = 0u64;
        for p in self.phdrs.iter().filter(|p| p.p_type == PT_LOAD) {
            if p.p_filesz > p.p_memsz || p.p_vaddr % PAGE_SIZE != p.p_offset % PAGE_SIZE {
                return Err(Errno::EINVAL);
            }
            let vaddr = bias.wrapping_add(p.p_vaddr);
            if vaddr >= mm::layout::TASK_SIZE {
                return Err(Errno::EINVAL);
            }
            let start = vaddr & !(PAGE_SIZE - 1);
            let file_end = vaddr.checked_add(p.p_filesz).ok_or(Errno::EINVAL)?;
            let mem_end = vaddr.checked_add(p.p_memsz).ok_or(Errno::EINVAL)?;
            let prot = prot_of(p.p_flags);
            let fixed = MapFlags::PRIVATE | MapFlags::FIXED;
            let file_map_end = page_up(file_end)?;
            if p.p_filesz > 0 {
                let source = crate::mem::file_pages(file.clone(), p.p_offset & !(PAGE_SIZE - 1));
                mm.mmap(
                    id,
                    UserAddr(start),
                    file_map_end - start,
                    prot,
                    fixed,
                    Some(source),
                )?;
                // The rest of the last file page belongs to the bss: zero it, as Linux does.
                if mem_end > file_end && file_map_end > file_end && prot.contains(Prot::WRITE) {
                    let zeros = vec![0u8; (file_map_end - file_end) as usize];
                    mm.copy_out(id, UserAddr(file_end), &zeros)?;
                }
            }
            let anon_start = if p.p_filesz > 0 { file_map_end } else { start };
            let anon_end = page_up(mem_end)?;
            if anon_end > anon_start {
                mm.mmap(
                    id,
                    UserAddr(anon_start),
                    anon_end - anon_start,
                    prot,
                    fixed | MapFlags::ANONYMOUS,
                    None,
                )?;
            }
            end_max = end_max.max(anon_end.max(file_map_end));
        }
        let phdr = self
            .phdrs
            .iter()
            .find(|p| p.p_type == PT_PHDR)
            .map(|p| p.p_vaddr)
            .or_else(|| {
                self.phdrs
                    .iter()
                    .find(|p| p.p_type == PT_LOAD && p.p_offset == 0)
                    .map(|p| p.p_vaddr + self.header.e_phoff)
            })
            .unwrap_or(0);
        Ok(Layout {
            base: 0,
            start: bias + self.header.e_entry,
            end: end_max,
            phdr: bias + phdr,
            phent: u64::from(self.header.e_phentsize),
            phnum: u64::from(self.header.e_phnum),
            entry: bias + self.header.e_entry,
            vdso: 0,
        })
    }
}

fn page_up(v: u64) -> Result<u64, Errno> {
    UserAddr(v).page_up().map(|a| a.0).ok_or(Errno::EINVAL)
}

fn prot_of(flags: u32) -> Prot {
    let mut prot = Prot::empty();
    if flags & PF_R != 0 {
        prot |= Prot::READ;
    }
    if flags & PF_W != 0 {
        prot |= Prot::WRITE;
    }
    if flags & PF_X != 0 {
        prot |= Prot::EXEC;
    }
    prot
}
