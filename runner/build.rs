//! Builds the stub image (`stub/stub.S`) with the host C compiler into a tiny static ELF at
//! the top of the guest address space, and records its entry points for `src/stub.rs`.

use std::path::PathBuf;
use std::process::Command;

/// Where the stub's code starts: the end of guest address space (`mm::layout::TASK_SIZE`).
const STUB_CODE: u64 = 0x7f00_0000_0000;
/// Where the kernel maps the stub's data page.
const STUB_DATA: u64 = STUB_CODE + 0x1_0000;
/// Where a seccomp stub maps its read-only request pages.
const STUB_REQ: u64 = STUB_DATA + 0x1000;

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let exe = out.join("uml-stub");
    println!("cargo:rerun-if-changed=stub/stub.S");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args([
            "-nostdlib",
            "-static",
            "-no-pie",
            "-Wl,--build-id=none",
            "-Wl,-z,noexecstack",
        ])
        .arg(format!("-DSTUB_DATA={STUB_DATA:#x}"))
        .arg(format!("-DSTUB_REQ={STUB_REQ:#x}"))
        .arg(format!("-Wl,-Ttext-segment={STUB_CODE:#x}"))
        .arg("-o")
        .arg(&exe)
        .arg("stub/stub.S")
        .status()
        .unwrap_or_else(|e| panic!("running {cc}: {e}"));
    assert!(status.success(), "building the stub with {cc} failed");
    let bytes = std::fs::read(&exe).expect("reading the stub");
    let elf = goblin::elf::Elf::parse(&bytes).expect("parsing the stub");
    let sym = |name: &str| {
        elf.syms
            .iter()
            .find(|s| elf.strtab.get_at(s.st_name) == Some(name))
            .map(|s| s.st_value)
            .unwrap_or_else(|| panic!("stub symbol {name} missing"))
    };
    let end = elf
        .program_headers
        .iter()
        .map(|p| p.p_vaddr + p.p_memsz)
        .max()
        .unwrap_or(0);
    assert!(end <= STUB_DATA, "stub code overlaps its data page");
    let gen = format!(
        "/// Start of the stub's code.\npub const STUB_CODE: u64 = {STUB_CODE:#x};\n\
         /// The stub's data page.\npub const STUB_DATA: u64 = {STUB_DATA:#x};\n\
         /// `stub_syscall`: one syscall, then int3.\npub const STUB_SYSCALL: u64 = {:#x};\n\
         /// `stub_batch`: the data page's batch, then int3.\npub const STUB_BATCH: u64 = {:#x};\n\
         /// Seccomp mode: the read-only request pages.\npub const STUB_REQ: u64 = {STUB_REQ:#x};\n\
         /// `stub_ready`: the first trap of a seccomp stub.\npub const STUB_READY: u64 = {:#x};\n\
         /// `stub_restorer`: `rt_sigreturn`.\npub const STUB_RESTORER: u64 = {:#x};\n\
         /// `stub_clone`: clone, the child becomes the mapper thread.\npub const STUB_CLONE: u64 = {:#x};\n\
         /// `stub_handler`: the seccomp-mode signal handler.\npub const STUB_HANDLER: u64 = {:#x};\n\
         /// `stub_wait`: the handler's sleep loop.\npub const STUB_WAIT: u64 = {:#x};\n\
         /// End of the stub's code.\npub const STUB_CODE_END: u64 = {:#x};\n\
         /// The stub ELF image.\npub static STUB_IMAGE: &[u8] = include_bytes!({:?});\n",
        sym("stub_syscall"),
        sym("stub_batch"),
        sym("stub_ready"),
        sym("stub_restorer"),
        sym("stub_clone"),
        sym("stub_handler"),
        sym("stub_wait"),
        sym("stub_code_end"),
        exe.display().to_string()
    );
    std::fs::write(out.join("stub_layout.rs"), gen).expect("writing stub_layout.rs");
}
