//! Builds the vDSO (`vdso/vdso.c`, `vdso/vdso.lds`) with the host C compiler into a small
//! position-independent shared object, checks that it can be mapped as it is, and records
//! it and the layout of its data page (`[vvar]`) for `src/exec/vdso.rs`. The layout lives
//! only here: the C code gets it as `-D` definitions, the kernel as constants.

use std::path::PathBuf;
use std::process::Command;

/// Word indices of the data page, and the values the C code needs, in one list.
const VVAR_LAYOUT: &[(&str, u64, &str)] = &[
    ("SEQ", 0, "Sequence count: odd while the kernel writes."),
    ("MODE", 1, "`MODE_TSC` when counter-based clocks are published, `MODE_SYSCALL` when none are, else 0 (only the coarse ones)."),
    ("TSC_BASE", 2, "The counter value the clocks' bases were taken at."),
    ("SHIFT", 3, "Fraction bits of `SNSEC` and of each clock's `MULT`."),
    ("COARSE_RES", 4, "Resolution of the coarse clocks, in nanoseconds."),
    ("CLOCKS", 8, "First word of clock 0; clock `id` starts at `CLOCKS + id * CLOCK_WORDS`."),
    ("CLOCK_WORDS", 4, "Words per clock."),
    ("NCLOCKS", 12, "Clock ids with a slot (0..NCLOCKS)."),
    ("SEC", 0, "A clock's word: whole seconds at `TSC_BASE`."),
    ("SNSEC", 1, "A clock's word: nanoseconds at `TSC_BASE`, shifted left by `SHIFT`."),
    ("MULT", 2, "A clock's word: nanoseconds per counter tick, shifted left by `SHIFT` (0: a coarse clock)."),
    ("MODE_TSC", 1, "`MODE`'s value when the counter may be used."),
    ("MODE_SYSCALL", 2, "`MODE`'s value in a time namespace's page: every clock is the syscall's."),
];

const EXPORTS: &[&str] = &[
    "__vdso_clock_gettime",
    "__vdso_gettimeofday",
    "__vdso_time",
    "__vdso_getcpu",
    "__vdso_clock_getres",
];

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let so = out.join("vdso.so");
    println!("cargo:rerun-if-changed=vdso/vdso.c");
    println!("cargo:rerun-if-changed=vdso/vdso.lds");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let mut cmd = Command::new(&cc);
    cmd.args([
        "-shared",
        "-nostdlib",
        "-fPIC",
        "-O2",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-ffreestanding",
        "-fno-builtin",
        "-fno-stack-protector",
        "-fcf-protection=none",
        "-Wl,-T,vdso/vdso.lds",
        "-Wl,-soname=linux-vdso.so.1",
        "-Wl,--hash-style=both",
        "-Wl,--no-undefined",
        "-Wl,-z,max-page-size=4096",
        "-Wl,-z,noexecstack",
        "-Wl,--build-id=none",
        "-Wl,--strip-all",
    ]);
    for (name, value, _) in VVAR_LAYOUT {
        cmd.arg(format!("-DVVAR_{name}={value}"));
    }
    let status = cmd
        .arg("-o")
        .arg(&so)
        .arg("vdso/vdso.c")
        .status()
        .unwrap_or_else(|e| panic!("running {cc}: {e}"));
    assert!(status.success(), "building the vDSO with {cc} failed");

    let bytes = std::fs::read(&so).expect("reading the vDSO");
    let elf = goblin::elf::Elf::parse(&bytes).expect("parsing the vDSO");
    use goblin::elf::program_header::{PF_R, PF_W, PF_X, PT_INTERP, PT_LOAD};
    let loads: Vec<_> = elf
        .program_headers
        .iter()
        .filter(|p| p.p_type == PT_LOAD)
        .collect();
    assert!(
        loads.len() == 1
            && loads[0].p_offset == 0
            && loads[0].p_vaddr == 0
            && loads[0].p_flags & (PF_R | PF_W | PF_X) == PF_R | PF_X
            && loads[0].p_filesz == loads[0].p_memsz
            && loads[0].p_filesz as usize <= bytes.len(),
        "the vDSO must be one read+exec segment at file offset and address 0"
    );
    assert!(
        !elf.program_headers.iter().any(|p| p.p_type == PT_INTERP),
        "the vDSO must not ask for an interpreter"
    );
    assert!(
        elf.dynrelas.is_empty() && elf.dynrels.is_empty() && elf.pltrelocs.is_empty(),
        "the vDSO must have no relocations"
    );
    for name in EXPORTS {
        assert!(
            elf.dynsyms
                .iter()
                .any(|s| elf.dynstrtab.get_at(s.st_name) == Some(name) && s.st_value != 0),
            "the vDSO does not export {name}"
        );
    }

    let mut gen =
        String::from("/// Word indices and values of the vDSO's data page.\npub mod vvar {\n");
    for (name, value, doc) in VVAR_LAYOUT {
        gen.push_str(&format!(
            "    /// {doc}\n    pub const {name}: usize = {value};\n"
        ));
    }
    gen.push_str("}\n");
    gen.push_str(&format!(
        "/// The vDSO image (a shared object linked at 0).\npub static VDSO_IMAGE: &[u8] = include_bytes!({:?});\n",
        so.display().to_string()
    ));
    std::fs::write(out.join("vdso_layout.rs"), gen).expect("writing vdso_layout.rs");
}
